#include "row_blocks.h"
#include <string.h>

// Weight gradients with k = 1, a dense layer's: cd[i, j] += (double)fma(x_s[i], dz_s[j], 0) for each
// sample s in order (x_s is A^T's only row, dz_s B's). The same bits as the row-wise kernel's short
// path: each product is one fused multiply-add from 0 in Float, added to cd in Double in sample order.
//
// Why a kernel of its own: there the Float to Double conversions set the pace, one per product, and
// after ReLU most inputs of a dense layer are 0 (60% of dense_1's inputs once the reference model has
// trained an epoch, measured). A row whose x_s[i] is 0 gets +-0 from sample s in every column, and
// adding +-0 leaves cd unchanged: cd starts at +0 and a Double sum is -0 only when both terms are, so
// cd is never -0. So that row skips that sample, unless dz_s holds an infinity or a NaN (0 times it is
// NaN, which must reach cd as before): exact, for any input.
//
// One row of cd at a time, up to 64 (AVX-512) or 32 (AVX2) columns of it held in Double registers
// across the samples, which go in order.

#if defined(__x86_64__)
#include <immintrin.h>

// Samples per pass over the rows: one bit each in a row's mask of samples to add. Rows are
// independent, so each row still gets its samples in order.
enum { SAMPLE_GROUP = 64 };

// Bit s set when sample s's dz holds an infinity or a NaN.
static unsigned long long non_finite_samples(const float *dz, long sb, int samples, int n) {
    unsigned long long mask = 0;
    for (int s = 0; s < samples; s++)
        for (int j = 0; j < n; j++) {
            unsigned bits;
            memcpy(&bits, dz + s * sb + j, sizeof bits);
            if ((bits & 0x7f800000u) == 0x7f800000u) { mask |= 1ull << s; break; }
        }
    return mask;
}

// The samples row i must add: those whose x is not 0, and those with a non-finite dz. Iterating over
// a mask's bits, rather than testing each sample, keeps the branch predictor out of it (x's zeros
// are random: a test per sample made the kernel slower than adding every product).
static inline unsigned long long samples_to_add(const float *x, long sa, int samples, unsigned long long non_finite) {
    unsigned long long mask = non_finite;
    for (int s = 0; s < samples; s++) mask |= (unsigned long long)(x[s * sa] != 0.0f) << s;
    return mask;
}

// Columns [0, 16 * vectors) of one row (the last vector's lanes masked by `last`), adding the samples in `used`.
__attribute__((target("avx512f")))
static inline __attribute__((always_inline))
void outer_row16(int vectors, __mmask16 last, unsigned long long used, const float *x, long sa,
                 const float *dz, long sb, double *cd) {
    __m512d sum[4][2];
    for (int v = 0; v < vectors; v++) {
        __mmask16 m = v == vectors - 1 ? last : (__mmask16)0xFFFF;
        sum[v][0] = _mm512_maskz_loadu_pd((__mmask8)(m & 0xFF), cd + 16 * v);
        sum[v][1] = _mm512_maskz_loadu_pd((__mmask8)(m >> 8), cd + 16 * v + 8);
    }
    for (unsigned long long left = used; left; left &= left - 1) {
        int s = __builtin_ctzll(left);
        __m512 xv = _mm512_set1_ps(x[s * sa]);
        for (int v = 0; v < vectors; v++) {
            __mmask16 m = v == vectors - 1 ? last : (__mmask16)0xFFFF;
            __m512 p = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, dz + s * sb + 16 * v), _mm512_setzero_ps());
            sum[v][0] = _mm512_add_pd(sum[v][0], _mm512_cvtps_pd(_mm512_castps512_ps256(p)));
            sum[v][1] = _mm512_add_pd(sum[v][1], _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(p), 1))));
        }
    }
    for (int v = 0; v < vectors; v++) {
        __mmask16 m = v == vectors - 1 ? last : (__mmask16)0xFFFF;
        _mm512_mask_storeu_pd(cd + 16 * v, (__mmask8)(m & 0xFF), sum[v][0]);
        _mm512_mask_storeu_pd(cd + 16 * v + 8, (__mmask8)(m >> 8), sum[v][1]);
    }
}

// Every column of one row, 64 at a time.
__attribute__((target("avx512f")))
static void outer_row_avx512(int n, unsigned long long used, const float *x, long sa, const float *dz, long sb, double *row) {
    for (int j = 0; j < n; j += 64) {
        int width = n - j < 64 ? n - j : 64, vectors = (width + 15) / 16;
        __mmask16 last = (__mmask16)(width % 16 ? (1u << (width % 16)) - 1 : 0xFFFF);
        switch (vectors) {
        case 4: outer_row16(4, last, used, x, sa, dz + j, sb, row + j); break;
        case 3: outer_row16(3, last, used, x, sa, dz + j, sb, row + j); break;
        case 2: outer_row16(2, last, used, x, sa, dz + j, sb, row + j); break;
        default: outer_row16(1, last, used, x, sa, dz + j, sb, row + j); break;
        }
    }
}

// Columns [0, 8 * vectors) of one row, adding the samples in `used` (AVX2 has 16 registers: 32 columns at most).
__attribute__((target("avx2,fma")))
static inline __attribute__((always_inline))
void outer_row8(int vectors, unsigned long long used, const float *x, long sa,
                const float *dz, long sb, double *cd) {
    __m256d sum[4][2];
    for (int v = 0; v < vectors; v++) {
        sum[v][0] = _mm256_loadu_pd(cd + 8 * v);
        sum[v][1] = _mm256_loadu_pd(cd + 8 * v + 4);
    }
    for (unsigned long long left = used; left; left &= left - 1) {
        int s = __builtin_ctzll(left);
        __m256 xv = _mm256_set1_ps(x[s * sa]);
        for (int v = 0; v < vectors; v++) {
            __m256 p = _mm256_fmadd_ps(xv, _mm256_loadu_ps(dz + s * sb + 8 * v), _mm256_setzero_ps());
            sum[v][0] = _mm256_add_pd(sum[v][0], _mm256_cvtps_pd(_mm256_castps256_ps128(p)));
            sum[v][1] = _mm256_add_pd(sum[v][1], _mm256_cvtps_pd(_mm256_extractf128_ps(p, 1)));
        }
    }
    for (int v = 0; v < vectors; v++) {
        _mm256_storeu_pd(cd + 8 * v, sum[v][0]);
        _mm256_storeu_pd(cd + 8 * v + 4, sum[v][1]);
    }
}

// Columns past the last full vector of 8, one at a time (the same fused multiply-add and Double add).
static void outer_columns(int columns, unsigned long long used, const float *x, long sa, const float *dz, long sb,
                          double *cd) {
    for (int j = 0; j < columns; j++) {
        double sum = cd[j];
        for (unsigned long long left = used; left; left &= left - 1) {
            int s = __builtin_ctzll(left);
            sum += (double)__builtin_fmaf(x[s * sa], dz[s * sb + j], 0.0f);
        }
        cd[j] = sum;
    }
}

// Every column of one row: 32 at a time, then 24, 16 or 8, then one at a time.
__attribute__((target("avx2,fma")))
static void outer_row_avx2(int n, unsigned long long used, const float *x, long sa, const float *dz, long sb, double *row) {
    int j = 0;
    for (; j + 32 <= n; j += 32) outer_row8(4, used, x, sa, dz + j, sb, row + j);
    switch ((n - j) / 8) {
    case 3: outer_row8(3, used, x, sa, dz + j, sb, row + j); break;
    case 2: outer_row8(2, used, x, sa, dz + j, sb, row + j); break;
    case 1: outer_row8(1, used, x, sa, dz + j, sb, row + j); break;
    default: break;
    }
    j += (n - j) / 8 * 8;
    outer_columns(n - j, used, x, sa, dz + j, sb, row + j);
}

// Row by row, the samples of each group of SAMPLE_GROUP that the row must add (none: the row is left
// alone). Inlined into each path's entry point, where add_row is a constant and its call direct.
static inline __attribute__((always_inline))
void outer_products(int samples, int m, int n, const float *x, long sa, const float *dz, long sb, double *cd,
                           int ldc, void (*add_row)(int, unsigned long long, const float *, long, const float *, long, double *)) {
    for (int s0 = 0; s0 < samples; s0 += SAMPLE_GROUP) {
        int count = samples - s0 < SAMPLE_GROUP ? samples - s0 : SAMPLE_GROUP;
        const float *xs = x + s0 * sa, *dzs = dz + s0 * sb;
        unsigned long long non_finite = non_finite_samples(dzs, sb, count, n);
        for (int i = 0; i < m; i++) {
            unsigned long long used = samples_to_add(xs + i, sa, count, non_finite);
            if (used) add_row(n, used, xs + i, sa, dzs, sb, cd + (long)i * ldc);
        }
    }
}

__attribute__((target("avx512f")))
void ck_outer_products_avx512(int samples, int m, int n, const float *x, long sa, const float *dz, long sb,
                              double *cd, int ldc) {
    outer_products(samples, m, n, x, sa, dz, sb, cd, ldc, outer_row_avx512);
}

__attribute__((target("avx2,fma")))
void ck_outer_products_avx2(int samples, int m, int n, const float *x, long sa, const float *dz, long sb,
                            double *cd, int ldc) {
    outer_products(samples, m, n, x, sa, dz, sb, cd, ldc, outer_row_avx2);
}
#endif
