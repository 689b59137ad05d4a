#ifndef CKERNELS_KERNEL_PATHS_H
#define CKERNELS_KERNEL_PATHS_H

// The kernel paths behind ckernels.h's matrix entry points: the portable one (kernel_paths.c) and
// the vector ones, each built from the width-generic bodies (matrix_body.h, outer_body.h) in a
// translation unit of its own (kernels_avx512.c, kernels_avx2.c, kernels_neon.c).

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

/// The portable path's block, the reference every vector path matches bit for bit, and the vector
/// paths' code for column tails narrower than a vector: as ck_row_block_fn, and with accumulate (and
/// no bias, cd or add) the result starts from c itself. One row, one column at a time, fmaf in k order.
void ck_block_portable(int rows, int n, int runs, int run_k, const float *a, long ars, long aps, long a_run,
                       const float *b, int ldb, long b_run, float *c, double *cd, int ldc, const float *bias,
                       int accumulate, int relu, int add);

/// A direct convolution's input gradient for `rows` consecutive pixels of one row (ldc floats apart in dx)
/// and n channels, gathered: the pixel r's sum over window rows s < ky_count and columns t < kx_count,
///   dx[r, j] = (((+0 + c[0, 0]) + c[0, 1]) + ...) + c[ky_count - 1, kx_count - 1],
///   c[s, t] = sum over p < k of dy[s * dy_ky + (r + t) * k + p] * b[s * b_ky + t * b_kx + p * ldb + j],
/// each c one chain of fused multiply-adds from 0 in p order (k: the filters; b: the transposed kernel).
/// The caller orders (s, t) so that the contributions come in increasing output position, as col2im's.
typedef void (*ck_gather_fn)(int rows, int n, int k, int ky_count, int kx_count, const float *dy, long dy_ky,
                             const float *b, int ldb, long b_ky, long b_kx, float *dx, int ldc);

/// The portable path's gather (ck_gather_fn), the reference the vector paths match bit for bit, and their
/// code for column tails narrower than a vector.
void ck_gather_portable(int rows, int n, int k, int ky_count, int kx_count, const float *dy, long dy_ky,
                        const float *b, int ldb, long b_ky, long b_kx, float *dx, int ldc);

/// The selected path's gather and the most pixels it takes at once.
struct ck_gather { ck_gather_fn block; int max_rows; };
struct ck_gather ck_gather_blocks(void);

/// Winograd's 16 products of `count` tiles (winograd_body.h has the layout): per tile element e,
/// M[e][t, :] = V[e][t, :] x U[e] with c channels and k filters, each element one chain of fused
/// multiply-adds from 0 in channel order, the bits of ck_rowwise_gemm's product without bias on every path.
void ck_winograd_products(int count, int c, int k, const float *v, long v_row, const float *u, float *m, long m_row);

/// The Winograd kernel gradient's 16 products of `count` tiles (winograd_body.h has the layout): per
/// tile element e, dU[e] (+)= V[e]^T x W[e] over the tiles, each element one chain of fused
/// multiply-adds from 0 in tile order, stored or (add) added in Float, as the row block's on every path.
void ck_winograd_gradient_products(int count, int c, int k, const float *v, long v_row, const float *w, long w_row,
                                   float *du, long du_step, int add);

/// One vector path: ck_rowwise_gemm, ck_weight_gradient, the row block, the gather and Winograd's
/// products on vectors of one width.
struct ck_vector_path {
    void (*gemm)(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                 const float *bias, int accumulate, int relu);
    void (*weight_gradient)(int samples, int m, int n, int k, const float *a, int lda, long sample_stride_a,
                            const float *b, int ldb, long sample_stride_b, double *c, int ldc);
    struct ck_row_blocks row_blocks;
    struct ck_gather gather;
    void (*winograd_products)(int count, int c, int k, const float *v, long v_row, const float *u, float *m, long m_row);
    void (*winograd_gradient_products)(int count, int c, int k, const float *v, long v_row, const float *w, long w_row,
                                       float *du, long du_step, int add);
};

#if defined(__x86_64__)
extern const struct ck_vector_path ck_path_avx512, ck_path_avx2;
#endif
#if defined(__aarch64__)
extern const struct ck_vector_path ck_path_neon;
#endif

#endif
