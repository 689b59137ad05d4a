#include "ckernels.h"
#include <math.h>

// Portable path: one row at a time, one column at a time, fmaf in k order.
// A's element (i, p) is a[i * ars + p * aps]: (lda, 1) for A, (1, lda) for A stored transposed.
static void gemm_portable(int m, int n, int k, const float *a, long ars, long aps, const float *b, int ldb,
                          float *c, int ldc, const float *bias, int accumulate, int relu) {
    for (int i = 0; i < m; i++) {
        const float *ai = a + i * ars;
        float *ci = c + (long)i * ldc;
        for (int j = 0; j < n; j++) {
            float acc = bias ? bias[j] : accumulate ? ci[j] : 0.0f;
            for (int p = 0; p < k; p++) acc = fmaf(ai[p * aps], b[(long)p * ldb + j], acc);
            ci[j] = relu && !(acc > 0.0f) ? 0.0f : acc;
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define ROWS 6

// max(x, 0), with NaN mapped to 0 like the portable path's !(x > 0).
__attribute__((target("avx2,fma")))
static inline __m256 relu8(__m256 x) { return _mm256_and_ps(x, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ)); }

// A block of up to ROWS rows and 16 columns. Each (row, column) accumulator goes through the same
// chain of _mm256_fmadd_ps over k, so the row count of the block does not change any result.
__attribute__((target("avx2,fma")))
static inline __attribute__((always_inline))
void block16(int rows, int k, const float *a, long ars, long aps, const float *b, int ldb,
                           float *c, int ldc, const float *bias, int accumulate, int relu) {
    __m256 acc[ROWS][2];
    for (int r = 0; r < rows; r++) {
        for (int h = 0; h < 2; h++)
            acc[r][h] = bias ? _mm256_loadu_ps(bias + 8 * h)
                      : accumulate ? _mm256_loadu_ps(c + (long)r * ldc + 8 * h) : _mm256_setzero_ps();
    }
    if (rows == ROWS) {
        for (int p = 0; p < k; p++) {
            __m256 b0 = _mm256_loadu_ps(b + (long)p * ldb), b1 = _mm256_loadu_ps(b + (long)p * ldb + 8);
            for (int r = 0; r < ROWS; r++) {
                __m256 x = _mm256_broadcast_ss(a + r * ars + p * aps);
                acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
            }
        }
    } else {
        for (int p = 0; p < k; p++) {
            __m256 b0 = _mm256_loadu_ps(b + (long)p * ldb), b1 = _mm256_loadu_ps(b + (long)p * ldb + 8);
            for (int r = 0; r < rows; r++) {
                __m256 x = _mm256_broadcast_ss(a + r * ars + p * aps);
                acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
            }
        }
    }
    for (int r = 0; r < rows; r++) {
        for (int h = 0; h < 2; h++)
            _mm256_storeu_ps(c + (long)r * ldc + 8 * h, relu ? relu8(acc[r][h]) : acc[r][h]);
    }
}

// Up to ROWS rows, 8 columns.
__attribute__((target("avx2,fma")))
static inline __attribute__((always_inline))
void block8(int rows, int k, const float *a, long ars, long aps, const float *b, int ldb,
                          float *c, int ldc, const float *bias, int accumulate, int relu) {
    __m256 acc[ROWS];
    for (int r = 0; r < rows; r++)
        acc[r] = bias ? _mm256_loadu_ps(bias) : accumulate ? _mm256_loadu_ps(c + (long)r * ldc) : _mm256_setzero_ps();
    for (int p = 0; p < k; p++) {
        __m256 b0 = _mm256_loadu_ps(b + (long)p * ldb);
        for (int r = 0; r < rows; r++)
            acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(a + r * ars + p * aps), b0, acc[r]);
    }
    for (int r = 0; r < rows; r++) _mm256_storeu_ps(c + (long)r * ldc, relu ? relu8(acc[r]) : acc[r]);
}

__attribute__((target("avx2,fma")))
static inline __attribute__((always_inline))
void gemm_avx2(int m, int n, int k, const float *a, long ars, long aps, const float *b, int ldb,
               float *c, int ldc, const float *bias, int accumulate, int relu) {
    int j = 0;
    for (; j + 16 <= n; j += 16)
        for (int i = 0; i < m; i += ROWS) {
            int rows = m - i < ROWS ? m - i : ROWS;
            block16(rows, k, a + i * ars, ars, aps, b + j, ldb, c + (long)i * ldc + j, ldc,
                    bias ? bias + j : 0, accumulate, relu);
        }
    for (; j + 8 <= n; j += 8)
        for (int i = 0; i < m; i += ROWS) {
            int rows = m - i < ROWS ? m - i : ROWS;
            block8(rows, k, a + i * ars, ars, aps, b + j, ldb, c + (long)i * ldc + j, ldc,
                   bias ? bias + j : 0, accumulate, relu);
        }
    if (j < n) gemm_portable(m, n - j, k, a, ars, aps, b + j, ldb, c + j, ldc, bias ? bias + j : 0, accumulate, relu);
}

// Two instances with constant A strides, so the plain case keeps unit-stride addressing.
__attribute__((target("avx2,fma")))
static void gemm_avx2_plain(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                            float *c, int ldc, const float *bias, int accumulate, int relu) {
    gemm_avx2(m, n, k, a, lda, 1, b, ldb, c, ldc, bias, accumulate, relu);
}

__attribute__((target("avx2,fma")))
static void gemm_avx2_transposed(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                                 float *c, int ldc, const float *bias, int accumulate, int relu) {
    gemm_avx2(m, n, k, a, 1, lda, b, ldb, c, ldc, bias, accumulate, relu);
}

static int has_avx2_fma(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return cached;
}
#endif

void ck_rowwise_gemm(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, const float *bias, int accumulate, int relu) {
#if defined(__x86_64__)
    if (has_avx2_fma()) { gemm_avx2_plain(m, n, k, a, lda, b, ldb, c, ldc, bias, accumulate, relu); return; }
#endif
    gemm_portable(m, n, k, a, lda, 1, b, ldb, c, ldc, bias, accumulate, relu);
}

void ck_rowwise_gemm_at(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                        float *c, int ldc, int accumulate) {
#if defined(__x86_64__)
    if (has_avx2_fma()) { gemm_avx2_transposed(m, n, k, a, lda, b, ldb, c, ldc, 0, accumulate, 0); return; }
#endif
    gemm_portable(m, n, k, a, 1, lda, b, ldb, c, ldc, 0, accumulate, 0);
}

const char *ck_rowwise_gemm_path(void) {
#if defined(__x86_64__)
    if (has_avx2_fma()) return "avx2-fma";
#endif
    return "portable";
}
