#include <string.h>

// Weight gradients with k = 1, a dense layer's, on vectors of any width (vector_width.h), included
// once per width by kernels_<width>.c: cd[i, j] += (double)fma(x_s[i], dz_s[j], 0) for each sample s
// in order (x_s is A^T's only row, dz_s B's). The same bits as the row-wise kernel's short path: each
// product is one fused multiply-add from 0 in Float, added to cd in Double in sample order.
//
// Why a kernel of its own: there the Float to Double conversions set the pace, one per product, and
// after ReLU most inputs of a dense layer are 0. A row whose x_s[i] is 0 gets +-0 from sample s in
// every column, and adding +-0 leaves cd unchanged: cd starts at +0 and a Double sum is -0 only when
// both terms are, so cd is never -0. So that row skips that sample, unless dz_s holds an infinity or a
// NaN (0 times it is NaN, which must reach cd as before): exact, for any input.
//
// One row of cd at a time, up to 4 vectors of it held in Double registers across the samples, which
// go in order.

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
// a mask's bits, rather than testing each sample, keeps the branch predictor out of it: x's zeros
// fall at random, and a branch per sample mispredicts on them.
static inline unsigned long long samples_to_add(const float *x, long sa, int samples, unsigned long long non_finite) {
    unsigned long long mask = non_finite;
    for (int s = 0; s < samples; s++) mask |= (unsigned long long)(x[s * sa] != 0.0f) << s;
    return mask;
}

// Columns [0, VW * vectors) of one row (the last vector's lanes `last`), adding the samples in `used`.
VECTOR_INLINE void outer_row_vectors(int vectors, vmask last, unsigned long long used, const float *x, long sa,
                                     const float *dz, long sb, double *cd) {
    vd sum[4][2];
    for (int v = 0; v < vectors; v++)
        for (int d = 0; d < 2; d++) sum[v][d] = vd_load(cd + VW * v, v == vectors - 1 ? last : VMASK_ALL, d);
    for (unsigned long long left = used; left; left &= left - 1) {
        int s = __builtin_ctzll(left);
        vf xv = vf_splat(x[s * sa]);
        for (int v = 0; v < vectors; v++) {
            vf p = vf_fma(xv, vf_load(dz + s * sb + VW * v, v == vectors - 1 ? last : VMASK_ALL), vf_zero());
            for (int d = 0; d < 2; d++) sum[v][d] = vd_add(sum[v][d], vf_half_to_vd(p, d));
        }
    }
    for (int v = 0; v < vectors; v++)
        for (int d = 0; d < 2; d++) vd_store(cd + VW * v, v == vectors - 1 ? last : VMASK_ALL, d, sum[v][d]);
}

#if !MASKED_TAILS
// Columns past the last whole vector, one at a time (the same fused multiply-add and Double add).
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
#endif

// Every column of one row, 4 vectors at a time; the last columns in a masked vector or one at a time.
static void outer_row(int n, unsigned long long used, const float *x, long sa, const float *dz, long sb, double *row) {
    for (int j = 0; j < n; j += 4 * VW) {
        int width = n - j < 4 * VW ? n - j : 4 * VW;
#if MASKED_TAILS
        int vectors = (width + VW - 1) / VW;
        vmask last = width % VW ? vmask_first(width % VW) : VMASK_ALL;
#else
        int vectors = width / VW;
        vmask last = VMASK_ALL;
#endif
        switch (vectors) {   // a constant count at each call keeps sum in registers
        case 4: outer_row_vectors(4, last, used, x, sa, dz + j, sb, row + j); break;
        case 3: outer_row_vectors(3, last, used, x, sa, dz + j, sb, row + j); break;
        case 2: outer_row_vectors(2, last, used, x, sa, dz + j, sb, row + j); break;
        case 1: outer_row_vectors(1, last, used, x, sa, dz + j, sb, row + j); break;
        default: break;
        }
#if !MASKED_TAILS
        int done = vectors * VW;
        outer_columns(width - done, used, x, sa, dz + j + done, sb, row + j + done);
#endif
    }
}

// Row by row, the samples of each group of SAMPLE_GROUP that the row must add (none: the row is left alone).
static void outer_products(int samples, int m, int n, const float *x, long sa, const float *dz, long sb, double *cd,
                           int ldc) {
    for (int s0 = 0; s0 < samples; s0 += SAMPLE_GROUP) {
        int count = samples - s0 < SAMPLE_GROUP ? samples - s0 : SAMPLE_GROUP;
        const float *xs = x + s0 * sa, *dzs = dz + s0 * sb;
        unsigned long long non_finite = non_finite_samples(dzs, sb, count, n);
        for (int i = 0; i < m; i++) {
            unsigned long long used = samples_to_add(xs + i, sa, count, non_finite);
            if (used) outer_row(n, used, xs + i, sa, dzs, sb, cd + (long)i * ldc);
        }
    }
}
