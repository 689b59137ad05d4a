#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "ctomlguard.h"

// toml++ (TOMLKit's parser) checks internal invariants with assert(), and SwiftPM builds it with
// asserts on, so some malformed configs (found by tools/fuzz config, e.g. the 3 bytes "[?o") abort
// the process. This definition of glibc's assertion handler takes precedence over libc's for the
// code linked into convnet-dist: while a config is being parsed, a failed check becomes the same
// one-line error and exit status as any other bad config; elsewhere it behaves as glibc's.
static const char *current_source = NULL;

void ctg_set_source(const char *name) { current_source = name; }

void __assert_fail(const char *assertion, const char *file, unsigned int line, const char *function) {
    if (current_source != NULL) {
        fprintf(stderr, "convnet-dist: error: %s: invalid TOML (the parser stopped at an internal check)\n", current_source);
        fflush(stderr);
        _exit(1);
    }
    fprintf(stderr, "%s:%u: %s: Assertion `%s' failed.\n", file, line, function, assertion);
    abort();
}
