#include "ckernels.h"
#include <math.h>

// One generic product serves three entry points:
//   A's element (i, p) is a[i * ars + p * aps]: (lda, 1) for A, (1, lda) for A stored transposed;
//   the result goes to c (Float: init + product, optional ReLU) or, when cd is non-null, is added to
//   cd in Double (cd[i, j] += (double)product, the product computed from 0 in Float).

// Portable path: one row at a time, one column at a time, fmaf in k order.
static void gemm_portable(int m, int n, int k, const float *a, long ars, long aps, const float *b, int ldb,
                          float *c, double *cd, int ldc, const float *bias, int accumulate, int relu) {
    for (int i = 0; i < m; i++) {
        const float *ai = a + i * ars;
        for (int j = 0; j < n; j++) {
            float acc = cd ? 0.0f : bias ? bias[j] : accumulate ? c[(long)i * ldc + j] : 0.0f;
            for (int p = 0; p < k; p++) acc = fmaf(ai[p * aps], b[(long)p * ldb + j], acc);
            if (cd) cd[(long)i * ldc + j] += (double)acc;
            else c[(long)i * ldc + j] = relu && !(acc > 0.0f) ? 0.0f : acc;
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define ROWS 6

// max(x, 0), with NaN mapped to 0 like the portable path's !(x > 0).
__attribute__((target("avx2,fma")))
static inline __m256 relu8(__m256 x) { return _mm256_and_ps(x, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ)); }

// Initial value of an 8-column accumulator.
__attribute__((target("avx2,fma")))
static inline __attribute__((always_inline))
__m256 start8(const float *c, const double *cd, const float *bias, int accumulate) {
    return cd ? _mm256_setzero_ps() : bias ? _mm256_loadu_ps(bias) : accumulate ? _mm256_loadu_ps(c) : _mm256_setzero_ps();
}

// Writes an 8-column accumulator: to c (with ReLU if asked), or added to cd in Double.
__attribute__((target("avx2,fma")))
static inline __attribute__((always_inline))
void finish8(__m256 acc, float *c, double *cd, int relu) {
    if (cd) {
        _mm256_storeu_pd(cd, _mm256_add_pd(_mm256_loadu_pd(cd), _mm256_cvtps_pd(_mm256_castps256_ps128(acc))));
        _mm256_storeu_pd(cd + 4, _mm256_add_pd(_mm256_loadu_pd(cd + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(acc, 1))));
    } else {
        _mm256_storeu_ps(c, relu ? relu8(acc) : acc);
    }
}

// acc[r][h] += sum over p of A[r, p] * B[p, 8h .. 8h + 7], for r < rows and h < halves.
__attribute__((target("avx2,fma")))
static inline __attribute__((always_inline))
void multiply_add(int halves, int rows, int k, const float *a, long ars, long aps, const float *b, int ldb,
                  __m256 acc[ROWS][2]) {
    for (int p = 0; p < k; p++) {
        __m256 bp[2];
        for (int h = 0; h < halves; h++) bp[h] = _mm256_loadu_ps(b + (long)p * ldb + 8 * h);
        for (int r = 0; r < rows; r++) {
            __m256 x = _mm256_broadcast_ss(a + r * ars + p * aps);
            for (int h = 0; h < halves; h++) acc[r][h] = _mm256_fmadd_ps(x, bp[h], acc[r][h]);
        }
    }
}

// A block of up to ROWS rows and 8 * halves columns (halves is 1 or 2, a constant at each call).
// Each (row, column) accumulator goes through the same chain of _mm256_fmadd_ps over k, so neither
// the row count nor the width of the block changes any result.
__attribute__((target("avx2,fma")))
static inline __attribute__((always_inline))
void block(int halves, int rows, int k, const float *a, long ars, long aps, const float *b, int ldb,
           float *c, double *cd, int ldc, const float *bias, int accumulate, int relu) {
    __m256 acc[ROWS][2];
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++)
            acc[r][h] = start8(c + (long)r * ldc + 8 * h, cd, bias ? bias + 8 * h : 0, accumulate);
    // A full block gets a constant row count, so its row loop unrolls and acc stays in registers.
    if (rows == ROWS) multiply_add(halves, ROWS, k, a, ars, aps, b, ldb, acc);
    else multiply_add(halves, rows, k, a, ars, aps, b, ldb, acc);
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++)
            finish8(acc[r][h], c + (long)r * ldc + 8 * h, cd ? cd + (long)r * ldc + 8 * h : 0, relu);
}

// Columns j .. j + 8 * halves - 1 of the product, for every row block. `samples` > 1 only for weight
// gradients: then sample s's A and B start s * sa and s * sb floats further on and each is added to
// cd in turn, samples being the innermost loop so that a block of cd stays in L1 while every sample
// is added to it (the same sums, in the same order, as one call per sample).
__attribute__((target("avx2,fma")))
static inline __attribute__((always_inline))
void column_panel(int halves, int j, int samples, long sa, long sb, int m, int k, const float *a, long ars, long aps,
                  const float *b, int ldb, float *c, double *cd, int ldc, const float *bias, int accumulate, int relu) {
    for (int i = 0; i < m; i += ROWS) {
        int rows = m - i < ROWS ? m - i : ROWS;
        long offset = (long)i * ldc + j;
        for (int s = 0; s < samples; s++)
            block(halves, rows, k, a + s * sa + i * ars, ars, aps, b + s * sb + j, ldb, c + offset,
                  cd ? cd + offset : 0, ldc, bias ? bias + j : 0, accumulate, relu);
    }
}

// The whole product: 16 columns at a time, then 8, then the portable path for the rest.
__attribute__((target("avx2,fma")))
static inline __attribute__((always_inline))
void gemm_avx2(int samples, long sa, long sb, int m, int n, int k, const float *a, long ars, long aps,
               const float *b, int ldb, float *c, double *cd, int ldc, const float *bias, int accumulate, int relu) {
    int j = 0;
    for (; j + 16 <= n; j += 16) column_panel(2, j, samples, sa, sb, m, k, a, ars, aps, b, ldb, c, cd, ldc, bias, accumulate, relu);
    for (; j + 8 <= n; j += 8) column_panel(1, j, samples, sa, sb, m, k, a, ars, aps, b, ldb, c, cd, ldc, bias, accumulate, relu);
    if (j < n)
        for (int s = 0; s < samples; s++)
            gemm_portable(m, n - j, k, a + s * sa, ars, aps, b + s * sb + j, ldb, c + j, cd ? cd + j : 0, ldc,
                          bias ? bias + j : 0, accumulate, relu);
}

// Instances with constant strides and destinations, so each compiles to straight-line code.
__attribute__((target("avx2,fma")))
static void gemm_avx2_plain(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                            float *c, int ldc, const float *bias, int accumulate, int relu) {
    gemm_avx2(1, 0, 0, m, n, k, a, lda, 1, b, ldb, c, 0, ldc, bias, accumulate, relu);
}

// A read transposed, the product added to cd. c gets cd's address only so that no offset is ever
// computed from a null pointer; it is never read or written.
__attribute__((target("avx2,fma")))
static void gemm_avx2_weight_gradient(int samples, int m, int n, int k, const float *a, int lda, long sa,
                                      const float *b, int ldb, long sb, double *cd, int ldc) {
    gemm_avx2(samples, sa, sb, m, n, k, a, 1, lda, b, ldb, (float *)cd, cd, ldc, 0, 0, 0);
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
    gemm_portable(m, n, k, a, lda, 1, b, ldb, c, 0, ldc, bias, accumulate, relu);
}

void ck_weight_gradient(int samples, int m, int n, int k, const float *a, int lda, long sample_stride_a,
                        const float *b, int ldb, long sample_stride_b, double *c, int ldc) {
#if defined(__x86_64__)
    if (has_avx2_fma()) {
        // Short sums (conv3's 9 positions, dense's k = 1) are bound by the Double traffic: keep each
        // block of c in L1 across the samples. Long ones (conv2's 121) are bound by the Float work
        // and read A better one sample at a time. (Measured, 32 samples: 1.69 vs 1.93 ms for
        // conv2 one sample at a time; 0.61 vs 0.77 ms for conv3 and 0.33 vs 0.42 ms for dense_1
        // with samples inner.) Either order gives the same bits.
        if (k >= 32) {
            for (int s = 0; s < samples; s++)
                gemm_avx2_weight_gradient(1, m, n, k, a + s * sample_stride_a, lda, 0, b + s * sample_stride_b, ldb, 0, c, ldc);
        } else {
            gemm_avx2_weight_gradient(samples, m, n, k, a, lda, sample_stride_a, b, ldb, sample_stride_b, c, ldc);
        }
        return;
    }
#endif
    for (int s = 0; s < samples; s++)
        gemm_portable(m, n, k, a + s * sample_stride_a, 1, lda, b + s * sample_stride_b, ldb, (float *)c, c, ldc, 0, 0, 0);
}

const char *ck_rowwise_gemm_path(void) {
#if defined(__x86_64__)
    if (has_avx2_fma()) return "avx2-fma";
#endif
    return "portable";
}
