#include "ckernels.h"

// Plain loops over restrict pointers so the compiler vectorises them. Each output element sees the
// same operations in the same order as the scalar loop, so vectorising changes no result.
// target_clones builds an AVX2 copy beside the baseline one and picks at load time.
// Not under ThreadSanitizer: the clones' resolver runs while the dynamic loader relocates, before the
// sanitizer's runtime is up, and the instrumented resolver crashes (launch/sanitize).
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__x86_64__) && defined(__linux__) && !__has_feature(thread_sanitizer) && !defined(__SANITIZE_THREAD__)
#define VECTORISED __attribute__((target_clones("avx2", "default")))
#else
#define VECTORISED
#endif

VECTORISED
void ck_relu_backward(const float *restrict y, float *restrict dy, long count) {
    for (long i = 0; i < count; i++) {
        float d = dy[i];   // loaded unconditionally, so the select vectorises
        dy[i] = y[i] > 0.0f ? d : 0.0f;
    }
}

VECTORISED
void ck_accumulate(const float *restrict part, long count, double *restrict total) {
    for (long i = 0; i < count; i++) total[i] += (double)part[i];
}

VECTORISED
void ck_column_sums(const float *restrict m, int rows, int columns, float *restrict sums) {
    for (int j = 0; j < columns; j++) sums[j] = 0.0f;
    for (int r = 0; r < rows; r++) {
        const float *restrict row = m + (long)r * columns;
        for (int j = 0; j < columns; j++) sums[j] += row[j];
    }
}

VECTORISED
void ck_add(float *restrict target, const float *restrict source, long count) {
    for (long i = 0; i < count; i++) target[i] += source[i];
}
