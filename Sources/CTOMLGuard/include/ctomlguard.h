#ifndef CTOMLGUARD_H
#define CTOMLGUARD_H

/// Names the config text being parsed (NULL when none). While one is set, an internal assertion of
/// the TOML parser (toml++, inside TOMLKit, built with its asserts on) ends the process with a
/// one-line error naming it and exit status 1, instead of an abort and a backtrace.
void ctg_set_source(const char *name);

#endif
