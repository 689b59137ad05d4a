#ifndef CKERNELS_ROW_BLOCKS_H
#define CKERNELS_ROW_BLOCKS_H

// The row-wise kernel's building block, for kernels built on it in other files (direct_conv.c):
//   rows x n of  result = init + sum over s < runs, p < run_k of A[r, s, p] * B[s, p, j],
// A[r, s, p] = a[r * ars + s * a_run + p * aps], B[s, p, j] = b[s * b_run + p * ldb + j], each element
// one chain of fused multiply-adds in (s, p) order. Results: cd non-null: cd[r, j] += (double)sum
// (from 0); else add: c[r, j] += sum (from 0, in Float); else c[r, j] = act(bias[j] + sum) (bias may be
// null: 0), act being ReLU when relu. rows <= max_rows. Every path gives the same bits.
typedef void (*ck_row_block_fn)(int rows, int n, int runs, int run_k, const float *a, long ars, long aps, long a_run,
                                const float *b, int ldb, long b_run, float *c, double *cd, int ldc,
                                const float *bias, int relu, int add);

struct ck_row_blocks { ck_row_block_fn block; int max_rows; };

/// The row block of the selected kernel path and the most rows it takes at once (its register block).
struct ck_row_blocks ck_row_blocks(void);

/// Weight gradients with k = 1 (outer_products.c): cd[i, j] += (double)(x_s[i] * dz_s[j]) for each of
/// `samples` samples in order, x_s starting s * sa floats after x, dz_s s * sb after dz; the same bits
/// as ck_weight_gradient with k = 1.
void ck_outer_products_avx512(int samples, int m, int n, const float *x, long sa, const float *dz, long sb,
                              double *cd, int ldc);
void ck_outer_products_avx2(int samples, int m, int n, const float *x, long sa, const float *dz, long sb,
                            double *cd, int ldc);

#endif
