#ifndef CKERNELS_VECTORISED_H
#define CKERNELS_VECTORISED_H

// Plain loops over restrict pointers so the compiler vectorises them. Each output element sees the
// same operations in the same order as the scalar loop, so vectorising changes no result.
// target_clones builds AVX-512 and AVX2 copies beside the baseline one and picks at load time.
// (On aarch64 NEON is part of the baseline, so the plain loops vectorise there without clones.)
// Not under ThreadSanitizer: the clones' resolver runs while the dynamic loader relocates, before the
// sanitizer's runtime is up, and the instrumented resolver crashes (tools/sanitize).
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__x86_64__) && defined(__linux__) && !__has_feature(thread_sanitizer) && !defined(__SANITIZE_THREAD__)
#define VECTORISED __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTORISED
#endif

#endif
