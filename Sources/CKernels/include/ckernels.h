#ifndef CKERNELS_H
#define CKERNELS_H

/// Row-wise matrix multiply: C[m, n] = act(init[m, n] + sum_k A[m, k] * B[k, n]), all row-major with
/// row strides lda, ldb, ldc, where init is bias[n] when bias is non-null, else C itself when
/// accumulate is non-zero, else 0; and act is max(., 0) when relu is non-zero, else the identity.
///
/// Every row of C is computed by the same sequence of fused multiply-adds over k = 0, 1, ..., K-1,
/// whatever its position in the matrix, so equal rows of A give bit-equal rows of C and a sample's
/// result never depends on which other samples share the call. (BLAS kernels treat edge tiles
/// differently, which breaks exact ties such as max-pool windows over uniform regions.)
void ck_rowwise_gemm(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, const float *bias, int accumulate, int relu);

/// The same product with A given transposed: C[m, n] = init + sum_k At[k, m] * B[k, n], where At is
/// row-major [k, m] with row stride lda (e.g. a weight gradient col^T * dY without materialising
/// col^T). Same per-row instruction sequence guarantee; init is C when accumulate, else 0.
void ck_rowwise_gemm_at(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                        float *c, int ldc, int accumulate);

/// Name of the code path ck_rowwise_gemm uses on this CPU ("avx2-fma" or "portable").
const char *ck_rowwise_gemm_path(void);

/// dy[i] = y[i] > 0 ? dy[i] : 0 (ReLU's backward pass, given its output y; NaN counts as not positive).
void ck_relu_backward(const float *y, float *dy, long count);

/// total[i] += (double)part[i].
void ck_accumulate(const float *part, long count, double *total);

/// total[i, j] += (double)(x[i] * z[j]) for i < m, j < n, total row-major [m, n]: a Float outer
/// product added in Double.
void ck_outer_accumulate(const float *x, int m, const float *z, int n, double *total);

/// sums[j] = sum over r of m[r, j] for row-major m[rows, columns], summed in row order.
void ck_column_sums(const float *m, int rows, int columns, float *sums);

/// target[i] += source[i]; the two must not overlap.
void ck_add(float *target, const float *source, long count);

#endif
