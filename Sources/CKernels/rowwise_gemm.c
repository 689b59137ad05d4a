#include "ckernels.h"
#include "row_blocks.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>

// One generic product serves every entry point:
//   A's element (i, p) is a[i * ars + p * aps]: (lda, 1) for A, (1, lda) for A stored transposed;
//   the result goes to c (Float: init + product, optional ReLU) or, when cd is non-null, is added to
//   cd in Double (cd[i, j] += (double)product, the product computed from 0 in Float); with add, the
//   product, computed from 0, is added to c in Float (a scatter-add such as col2im's).
//   The sum over k runs as `runs` runs of run_k steps, A and B moving on a_run and b_run floats from
//   one run to the next: 1 run for a plain product; a direct convolution's sum runs over kernel rows
//   or output rows (direct_conv.c). Each element's fused multiply-adds form one chain in k order
//   whatever the runs, so the bits are those of one product over runs * run_k.

// Portable path: one row at a time, one column at a time, fmaf in k order.
static void block_portable(int rows, int n, int runs, int run_k, const float *a, long ars, long aps, long a_run,
                           const float *b, int ldb, long b_run, float *c, double *cd, int ldc, const float *bias,
                           int accumulate, int relu, int add) {
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < n; j++) {
            float *target = c + (long)i * ldc + j;
            float acc = cd || add ? 0.0f : bias ? bias[j] : accumulate ? *target : 0.0f;
            for (int s = 0; s < runs; s++) {
                const float *ai = a + i * ars + s * a_run, *bj = b + s * b_run + j;
                for (int p = 0; p < run_k; p++) acc = fmaf(ai[p * aps], bj[(long)p * ldb], acc);
            }
            if (cd) cd[(long)i * ldc + j] += (double)acc;
            else if (add) *target += acc;
            else *target = relu && !(acc > 0.0f) ? 0.0f : acc;
        }
}

static void gemm_portable(int m, int n, int k, const float *a, long ars, long aps, const float *b, int ldb,
                          float *c, double *cd, int ldc, const float *bias, int accumulate, int relu) {
    block_portable(m, n, 1, k, a, ars, aps, 0, b, ldb, 0, c, cd, ldc, bias, accumulate, relu, 0);
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
void block_runs(int halves, int rows, int runs, int run_k, const float *a, long ars, long aps, long a_run,
                const float *b, int ldb, long b_run, float *c, double *cd, int ldc, const float *bias,
                int accumulate, int relu, int add) {
    __m256 acc[ROWS][2];
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++)
            acc[r][h] = add ? _mm256_setzero_ps() : start8(c + (long)r * ldc + 8 * h, cd, bias ? bias + 8 * h : 0, accumulate);
    // A constant row count at every call, so the row loop unrolls and acc stays in registers also for
    // short blocks (a direct convolution's output rows of 11 positions are blocks of 6 and 5).
    for (int s = 0; s < runs; s++) {
        const float *as = a + s * a_run, *bs = b + s * b_run;
        switch (rows) {
#define ROWS_CASE(r) case r: multiply_add(halves, r, run_k, as, ars, aps, bs, ldb, acc); break;
        ROWS_CASE(1) ROWS_CASE(2) ROWS_CASE(3) ROWS_CASE(4) ROWS_CASE(5) ROWS_CASE(6)
#undef ROWS_CASE
        }
    }
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++) {
            float *target = c + (long)r * ldc + 8 * h;
            if (add) _mm256_storeu_ps(target, _mm256_add_ps(_mm256_loadu_ps(target), acc[r][h]));
            else finish8(acc[r][h], target, cd ? cd + (long)r * ldc + 8 * h : 0, relu);
        }
}

__attribute__((target("avx2,fma")))
static inline __attribute__((always_inline))
void block(int halves, int rows, int k, const float *a, long ars, long aps, const float *b, int ldb,
           float *c, double *cd, int ldc, const float *bias, int accumulate, int relu) {
    block_runs(halves, rows, 1, k, a, ars, aps, 0, b, ldb, 0, c, cd, ldc, bias, accumulate, relu, 0);
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


// The AVX-512 path: the same per-element chains as the AVX2 path (one fused multiply-add per k, in
// k order, from the same initial value), on 16-float vectors in blocks of up to ROWS512 rows and 32
// columns, and masked lanes for a last panel narrower than 16 columns. A lane's arithmetic does not
// depend on the vector width or its neighbours, so all three paths give the same bits.
#define ROWS512 12

__attribute__((target("avx512f")))
static inline __attribute__((always_inline))
__m512 start16(const float *c, const double *cd, const float *bias, int accumulate, __mmask16 mask) {
    return cd ? _mm512_setzero_ps() : bias ? _mm512_maskz_loadu_ps(mask, bias)
         : accumulate ? _mm512_maskz_loadu_ps(mask, c) : _mm512_setzero_ps();
}

__attribute__((target("avx512f")))
static inline __attribute__((always_inline))
void finish16(__m512 acc, float *c, double *cd, int relu, __mmask16 mask) {
    if (cd) {
        __m512d low = _mm512_cvtps_pd(_mm512_castps512_ps256(acc));
        __m512d high = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1)));
        __mmask8 lowMask = (__mmask8)(mask & 0xFF), highMask = (__mmask8)(mask >> 8);
        _mm512_mask_storeu_pd(cd, lowMask, _mm512_add_pd(_mm512_maskz_loadu_pd(lowMask, cd), low));
        _mm512_mask_storeu_pd(cd + 8, highMask, _mm512_add_pd(_mm512_maskz_loadu_pd(highMask, cd + 8), high));
    } else {
        // max(x, 0) with NaN and -0 mapped to +0, as the other paths do.
        if (relu) acc = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(acc, _mm512_setzero_ps(), _CMP_GT_OQ), acc);
        _mm512_mask_storeu_ps(c, mask, acc);
    }
}

// acc[r][h] += sum over p of A[r, p] * B[p, 16h .. 16h + 15]; the last half's loads are masked.
__attribute__((target("avx512f")))
static inline __attribute__((always_inline))
void multiply_add16(int halves, int rows, int k, const float *a, long ars, long aps, const float *b, int ldb,
                    __mmask16 mask, __m512 acc[ROWS512][2]) {
    for (int p = 0; p < k; p++) {
        __m512 bp[2];
        for (int h = 0; h < halves; h++)
            bp[h] = h == halves - 1 ? _mm512_maskz_loadu_ps(mask, b + (long)p * ldb + 16 * h) : _mm512_loadu_ps(b + (long)p * ldb + 16 * h);
        for (int r = 0; r < rows; r++) {
            __m512 x = _mm512_set1_ps(a[r * ars + p * aps]);
            for (int h = 0; h < halves; h++) acc[r][h] = _mm512_fmadd_ps(x, bp[h], acc[r][h]);
        }
    }
}

// A block of up to ROWS512 rows and 16 * halves columns, the last half's lanes masked.
__attribute__((target("avx512f")))
static inline __attribute__((always_inline))
void block16_runs(int halves, int rows, int runs, int run_k, const float *a, long ars, long aps, long a_run,
                  const float *b, int ldb, long b_run, float *c, double *cd, int ldc, const float *bias,
                  int accumulate, int relu, int add, __mmask16 mask) {
    __m512 acc[ROWS512][2];
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++)
            acc[r][h] = add ? _mm512_setzero_ps() : start16(c + (long)r * ldc + 16 * h, cd, bias ? bias + 16 * h : 0, accumulate,
                                h == halves - 1 ? mask : (__mmask16)0xFFFF);
    // A constant row count at every call, so the row loop unrolls and acc stays in registers also for
    // short blocks (conv1's weight gradient has 9 rows; chunks leave remainders). A full block keeps
    // acc in registers from one run to the next (a conv weight gradient's runs are output rows, 11
    // positions in conv2: 12% faster so, measured). Other row counts take a constant count per run and
    // store acc between runs: kept in registers, clang spilled an 11-row block's accumulators inside
    // its inner loop (2x slower).
    if (rows == ROWS512) {
        for (int s = 0; s < runs; s++) multiply_add16(halves, ROWS512, run_k, a + s * a_run, ars, aps, b + s * b_run, ldb, mask, acc);
    } else for (int s = 0; s < runs; s++) {
        const float *as = a + s * a_run, *bs = b + s * b_run;
        switch (rows) {
#define ROWS_CASE(r) case r: multiply_add16(halves, r, run_k, as, ars, aps, bs, ldb, mask, acc); break;
        ROWS_CASE(1) ROWS_CASE(2) ROWS_CASE(3) ROWS_CASE(4) ROWS_CASE(5) ROWS_CASE(6)
        ROWS_CASE(7) ROWS_CASE(8) ROWS_CASE(9) ROWS_CASE(10) ROWS_CASE(11)
#undef ROWS_CASE
        }
    }
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++) {
            __mmask16 m = h == halves - 1 ? mask : (__mmask16)0xFFFF;
            float *target = c + (long)r * ldc + 16 * h;
            if (add) _mm512_mask_storeu_ps(target, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, target), acc[r][h]));
            else finish16(acc[r][h], target, cd ? cd + (long)r * ldc + 16 * h : 0, relu, m);
        }
}

__attribute__((target("avx512f")))
static inline __attribute__((always_inline))
void block16(int halves, int rows, int k, const float *a, long ars, long aps, const float *b, int ldb,
             float *c, double *cd, int ldc, const float *bias, int accumulate, int relu, __mmask16 mask) {
    block16_runs(halves, rows, 1, k, a, ars, aps, 0, b, ldb, 0, c, cd, ldc, bias, accumulate, relu, 0, mask);
}

__attribute__((target("avx512f")))
static inline __attribute__((always_inline))
void column_panel16(int halves, __mmask16 mask, int j, int samples, long sa, long sb, int m, int k, const float *a,
                    long ars, long aps, const float *b, int ldb, float *c, double *cd, int ldc, const float *bias,
                    int accumulate, int relu) {
    for (int i = 0; i < m; i += ROWS512) {
        int rows = m - i < ROWS512 ? m - i : ROWS512;
        long offset = (long)i * ldc + j;
        for (int s = 0; s < samples; s++)
            block16(halves, rows, k, a + s * sa + i * ars, ars, aps, b + s * sb + j, ldb, c + offset,
                    cd ? cd + offset : 0, ldc, bias ? bias + j : 0, accumulate, relu, mask);
    }
}

// 32 columns at a time, then 16, then the last 1-15 with masked lanes.
__attribute__((target("avx512f")))
static inline __attribute__((always_inline))
void gemm_avx512(int samples, long sa, long sb, int m, int n, int k, const float *a, long ars, long aps,
                 const float *b, int ldb, float *c, double *cd, int ldc, const float *bias, int accumulate, int relu) {
    int j = 0;
    for (; j + 32 <= n; j += 32)
        column_panel16(2, 0xFFFF, j, samples, sa, sb, m, k, a, ars, aps, b, ldb, c, cd, ldc, bias, accumulate, relu);
    for (; j + 16 <= n; j += 16)
        column_panel16(1, 0xFFFF, j, samples, sa, sb, m, k, a, ars, aps, b, ldb, c, cd, ldc, bias, accumulate, relu);
    if (j < n)
        column_panel16(1, (__mmask16)((1u << (n - j)) - 1), j, samples, sa, sb, m, k, a, ars, aps, b, ldb, c, cd, ldc,
                       bias, accumulate, relu);
}

__attribute__((target("avx512f")))
static void gemm_avx512_plain(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                              float *c, int ldc, const float *bias, int accumulate, int relu) {
    gemm_avx512(1, 0, 0, m, n, k, a, lda, 1, b, ldb, c, 0, ldc, bias, accumulate, relu);
}

__attribute__((target("avx512f")))
static void gemm_avx512_weight_gradient(int samples, int m, int n, int k, const float *a, int lda, long sa,
                                        const float *b, int ldb, long sb, double *cd, int ldc) {
    gemm_avx512(samples, sa, sb, m, n, k, a, 1, lda, b, ldb, (float *)cd, cd, ldc, 0, 0, 0);
}

// Weight gradients with short sums (k < 32: conv3's 9 positions, dense layers' 1): here the Double
// traffic, not the multiply-adds, sets the pace, so each 4-row block of c is held in Double registers
// across all samples: per sample, the Float product from 0 by the same FMA chain as above, then one
// Double add per element, in sample order (the same bits as adding each sample's product to c in turn).
#define WG_ROWS 4
__attribute__((target("avx512f")))
static inline __attribute__((always_inline))
void weight_gradient_block16(int halves, int rows, int samples, long sa, long sb, int k, const float *a, int lda,
                             const float *b, int ldb, double *cd, int ldc, __mmask16 mask) {
    __m512d sum[WG_ROWS][2][2];
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++) {
            __mmask16 m = h == halves - 1 ? mask : (__mmask16)0xFFFF;
            sum[r][h][0] = _mm512_maskz_loadu_pd((__mmask8)(m & 0xFF), cd + (long)r * ldc + 16 * h);
            sum[r][h][1] = _mm512_maskz_loadu_pd((__mmask8)(m >> 8), cd + (long)r * ldc + 16 * h + 8);
        }
    for (int s = 0; s < samples; s++) {
        const float *as = a + s * sa, *bs = b + s * sb;
        __m512 acc[WG_ROWS][2];
        for (int r = 0; r < rows; r++)
            for (int h = 0; h < halves; h++) acc[r][h] = _mm512_setzero_ps();
        for (int p = 0; p < k; p++) {
            __m512 bp[2];
            for (int h = 0; h < halves; h++)
                bp[h] = h == halves - 1 ? _mm512_maskz_loadu_ps(mask, bs + (long)p * ldb + 16 * h) : _mm512_loadu_ps(bs + (long)p * ldb + 16 * h);
            for (int r = 0; r < rows; r++) {
                __m512 x = _mm512_set1_ps(as[(long)p * lda + r]);
                for (int h = 0; h < halves; h++) acc[r][h] = _mm512_fmadd_ps(x, bp[h], acc[r][h]);
            }
        }
        for (int r = 0; r < rows; r++)
            for (int h = 0; h < halves; h++) {
                sum[r][h][0] = _mm512_add_pd(sum[r][h][0], _mm512_cvtps_pd(_mm512_castps512_ps256(acc[r][h])));
                sum[r][h][1] = _mm512_add_pd(sum[r][h][1],
                    _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[r][h]), 1))));
            }
    }
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++) {
            __mmask16 m = h == halves - 1 ? mask : (__mmask16)0xFFFF;
            _mm512_mask_storeu_pd(cd + (long)r * ldc + 16 * h, (__mmask8)(m & 0xFF), sum[r][h][0]);
            _mm512_mask_storeu_pd(cd + (long)r * ldc + 16 * h + 8, (__mmask8)(m >> 8), sum[r][h][1]);
        }
}

__attribute__((target("avx512f")))
static void weight_gradient_short_avx512(int samples, int m, int n, int k, const float *a, int lda, long sa,
                                         const float *b, int ldb, long sb, double *cd, int ldc) {
    for (int i = 0; i < m; i += WG_ROWS) {
        int rows = m - i < WG_ROWS ? m - i : WG_ROWS;
        int j = 0;
        for (; j + 32 <= n; j += 32) {
            if (rows == WG_ROWS) weight_gradient_block16(2, WG_ROWS, samples, sa, sb, k, a + i, lda, b + j, ldb, cd + (long)i * ldc + j, ldc, 0xFFFF);
            else weight_gradient_block16(2, rows, samples, sa, sb, k, a + i, lda, b + j, ldb, cd + (long)i * ldc + j, ldc, 0xFFFF);
        }
        for (; j + 16 <= n; j += 16)
            weight_gradient_block16(1, rows, samples, sa, sb, k, a + i, lda, b + j, ldb, cd + (long)i * ldc + j, ldc, 0xFFFF);
        if (j < n)
            weight_gradient_block16(1, rows, samples, sa, sb, k, a + i, lda, b + j, ldb, cd + (long)i * ldc + j, ldc,
                                    (__mmask16)((1u << (n - j)) - 1));
    }
}

// Every column of a block of `rows` rows, n columns wide: 32 at a time, then 16, then the last 1-15 masked.
__attribute__((target("avx512f")))
static void row_block_avx512(int rows, int n, int runs, int run_k, const float *a, long ars, long aps, long a_run,
                             const float *b, int ldb, long b_run, float *c, double *cd, int ldc, const float *bias,
                             int relu, int add) {
    int j = 0;
    for (; j + 32 <= n; j += 32)
        block16_runs(2, rows, runs, run_k, a, ars, aps, a_run, b + j, ldb, b_run, c + j, cd ? cd + j : 0, ldc,
                     bias ? bias + j : 0, 0, relu, add, 0xFFFF);
    for (; j + 16 <= n; j += 16)
        block16_runs(1, rows, runs, run_k, a, ars, aps, a_run, b + j, ldb, b_run, c + j, cd ? cd + j : 0, ldc,
                     bias ? bias + j : 0, 0, relu, add, 0xFFFF);
    if (j < n)
        block16_runs(1, rows, runs, run_k, a, ars, aps, a_run, b + j, ldb, b_run, c + j, cd ? cd + j : 0, ldc,
                     bias ? bias + j : 0, 0, relu, add, (__mmask16)((1u << (n - j)) - 1));
}

// 16 columns at a time, then 8, then the portable path for the rest.
__attribute__((target("avx2,fma")))
static void row_block_avx2(int rows, int n, int runs, int run_k, const float *a, long ars, long aps, long a_run,
                           const float *b, int ldb, long b_run, float *c, double *cd, int ldc, const float *bias,
                           int relu, int add) {
    int j = 0;
    for (; j + 16 <= n; j += 16)
        block_runs(2, rows, runs, run_k, a, ars, aps, a_run, b + j, ldb, b_run, c + j, cd ? cd + j : 0, ldc,
                   bias ? bias + j : 0, 0, relu, add);
    for (; j + 8 <= n; j += 8)
        block_runs(1, rows, runs, run_k, a, ars, aps, a_run, b + j, ldb, b_run, c + j, cd ? cd + j : 0, ldc,
                   bias ? bias + j : 0, 0, relu, add);
    if (j < n)
        block_portable(rows, n - j, runs, run_k, a, ars, aps, a_run, b + j, ldb, b_run, c + j, cd ? cd + j : 0, ldc,
                       bias ? bias + j : 0, 0, relu, add);
}
#endif

// Which path the kernels take: the best this CPU runs, unless CONVNET_KERNELS (read once) or
// ck_select_kernels names another: "portable", "avx2" or "avx512". Every path gives the same bits.
enum path { PATH_PORTABLE, PATH_AVX2, PATH_AVX512 };
static const char *path_names[] = {"portable", "avx2-fma", "avx512"};

static int best_path(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return PATH_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return PATH_AVX2;
#endif
    return PATH_PORTABLE;
}

// Read by every worker thread: atomic, so a first use from two threads at once is not a data race.
static _Atomic int selected = -1;

int ck_select_kernels(const char *name) {
    int best = best_path();
    int wanted = !name || !*name || !strcmp(name, "best") ? best
               : !strcmp(name, "portable") ? PATH_PORTABLE
               : !strcmp(name, "avx2") ? PATH_AVX2
               : !strcmp(name, "avx512") ? PATH_AVX512 : -1;
    if (wanted < 0 || wanted > best) return 0;   // unknown, or not on this CPU
    selected = wanted;
    return 1;
}

static int kernel_path(void) {
    if (selected < 0 && !ck_select_kernels(getenv("CONVNET_KERNELS"))) selected = best_path();
    return selected;
}

void ck_rowwise_gemm(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, const float *bias, int accumulate, int relu) {
#if defined(__x86_64__)
    int path = kernel_path();
    if (path == PATH_AVX512) { gemm_avx512_plain(m, n, k, a, lda, b, ldb, c, ldc, bias, accumulate, relu); return; }
    if (path == PATH_AVX2) { gemm_avx2_plain(m, n, k, a, lda, b, ldb, c, ldc, bias, accumulate, relu); return; }
#endif
    gemm_portable(m, n, k, a, lda, 1, b, ldb, c, 0, ldc, bias, accumulate, relu);
}

void ck_weight_gradient(int samples, int m, int n, int k, const float *a, int lda, long sample_stride_a,
                        const float *b, int ldb, long sample_stride_b, double *c, int ldc) {
#if defined(__x86_64__)
    int path = kernel_path();
    // Short sums (conv3's 9 positions, dense's k = 1) are bound by the Double traffic: keep each
    // block of c in L1 across the samples. Long ones (conv2's 121) are bound by the Float work
    // and read A better one sample at a time. (Measured with AVX2, 32 samples: 1.69 vs 1.93 ms for
    // conv2 one sample at a time; 0.61 vs 0.77 ms for conv3 and 0.33 vs 0.42 ms for dense_1
    // with samples inner.) Either order gives the same bits.
    if (path != PATH_PORTABLE) {
        void (*product)(int, int, int, int, const float *, int, long, const float *, int, long, double *, int) =
            path == PATH_AVX512 ? gemm_avx512_weight_gradient : gemm_avx2_weight_gradient;
        if (k == 1) {
            if (path == PATH_AVX512) ck_outer_products_avx512(samples, m, n, a, sample_stride_a, b, sample_stride_b, c, ldc);
            else ck_outer_products_avx2(samples, m, n, a, sample_stride_a, b, sample_stride_b, c, ldc);
        } else if (k >= 32) {
            for (int s = 0; s < samples; s++)
                product(1, m, n, k, a + s * sample_stride_a, lda, 0, b + s * sample_stride_b, ldb, 0, c, ldc);
        } else {
            if (path == PATH_AVX512) weight_gradient_short_avx512(samples, m, n, k, a, lda, sample_stride_a, b, ldb, sample_stride_b, c, ldc);
            else product(samples, m, n, k, a, lda, sample_stride_a, b, ldb, sample_stride_b, c, ldc);
        }
        return;
    }
#endif
    for (int s = 0; s < samples; s++)
        gemm_portable(m, n, k, a + s * sample_stride_a, 1, lda, b + s * sample_stride_b, ldb, (float *)c, c, ldc, 0, 0, 0);
}

static void row_block_portable(int rows, int n, int runs, int run_k, const float *a, long ars, long aps, long a_run,
                               const float *b, int ldb, long b_run, float *c, double *cd, int ldc, const float *bias,
                               int relu, int add) {
    block_portable(rows, n, runs, run_k, a, ars, aps, a_run, b, ldb, b_run, c, cd, ldc, bias, 0, relu, add);
}

struct ck_row_blocks ck_row_blocks(void) {
#if defined(__x86_64__)
    int path = kernel_path();
    if (path == PATH_AVX512) return (struct ck_row_blocks){row_block_avx512, ROWS512};
    if (path == PATH_AVX2) return (struct ck_row_blocks){row_block_avx2, ROWS};
#endif
    return (struct ck_row_blocks){row_block_portable, 8};
}

const char *ck_rowwise_gemm_path(void) { return path_names[kernel_path()]; }

const char *ck_best_kernels(void) { return path_names[best_path()]; }

