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

/// Weight gradients of `samples` samples added in Double: for s = 0, 1, ..., samples - 1 in order,
/// c[i, j] += (double)(sum_p At_s[p, i] * B_s[p, j]), where At_s is sample s's A stored transposed
/// (row-major [k, m], row stride lda, e.g. its im2col matrix) starting sample_stride_a floats after
/// At_{s-1}, and B_s ([k, n], row stride ldb, e.g. its dY) likewise. Each Float sum runs from 0
/// through the same fused multiply-add chain as ck_rowwise_gemm on the materialised transpose, so
/// the result is the same bits as per-sample products added to c one sample after another.
/// c must hold no -0 (sums that start at +0 never become -0): with k = 1, a sample whose products
/// in a row are all +-0 is not added to that row (outer_body.h).
void ck_weight_gradient(int samples, int m, int n, int k, const float *a, int lda, long sample_stride_a,
                        const float *b, int ldb, long sample_stride_b, double *c, int ldc);

/// Name of the code path the matrix kernels use: "avx512", "avx2-fma", "neon" or "portable".
const char *ck_rowwise_gemm_path(void);

/// Makes the kernels take path `name` ("portable", "avx2", "avx512", "neon"; "best" or null: the
/// best this CPU runs). Returns 0, changing nothing, for an unknown name or a path this CPU lacks.
/// Without a call, the environment variable CONVNET_KERNELS is read once. Every path gives the same bits.
int ck_select_kernels(const char *name);

/// Name of the best path this CPU runs (what the kernels take unless told otherwise).
const char *ck_best_kernels(void);

/// dy[i] = y[i] > 0 ? dy[i] : 0 (ReLU's backward pass, given its output y; NaN counts as not positive).
void ck_relu_backward(const float *y, float *dy, long count);

/// total[i] += (double)part[i].
void ck_accumulate(const float *part, long count, double *total);

/// sums[j] = sum over r of m[r, j] for row-major m[rows, columns], summed in row order.
void ck_column_sums(const float *m, int rows, int columns, float *sums);

/// sums[s, j] = sum over r of m[s, r, j] for `samples` row-major [rows, columns] matrices one after
/// another: the same sums, in the same row order, as ck_column_sums on each, several samples at a time.
void ck_column_sums_samples(const float *m, int samples, int rows, int columns, float *sums);

/// im2col for stride 1 and no padding (see Im2Col.im2col): col[n * oh * ow, kh * kw * c + ones] from
/// NHWC x, one contiguous span of kw * c floats per kernel row, then, when ones is 1, a 1.
void ck_im2col_dense(const float *x, int batch, int height, int width, int channels,
                     int window_height, int window_width, int ones, float *col);

/// RMSprop (Keras 3): v = rho * v + (1 - rho) * g * g; w -= lr * g / sqrt(v + epsilon), per element.
void ck_rmsprop_step(float *w, const float *g, float *v, long count, float learning_rate, float rho, float epsilon);

/// Max pooling with pool x pool windows that tile the NHWC input (stride pool, no padding): forward,
/// and backward (each dy split equally among the inputs equal to the maximum; every element of dx written,
/// 0 for inputs no window covers when the pool does not divide the height or width).
/// With input_relu, x is a ReLU's output and the backward pass also applies that ReLU's backward: a
/// window whose maximum is not positive passes no gradient.
void ck_maxpool_tiles_forward(const float *x, float *y, int batch, int height, int width, int channels, int pool);
void ck_maxpool_tiles_backward(const float *x, const float *y, const float *dy, float *dx, int batch, int height,
                               int width, int channels, int pool, int input_relu);

/// out[columns, rows] = m[rows, columns]^T (row-major).
void ck_transpose(const float *m, int rows, int columns, float *out);

/// mean[i] = (float)(sums[i] * scale) for every i; returns 1 when all are finite, else 0.
int ck_scaled_to_float(const double *sums, double scale, float *mean, long count);

/// total[i] = ((parts[0][i] + parts[1][i]) + parts[2][i]) + ... (in part order) for start <= i <
/// start + count, in one pass over total; total overlaps none of the parts.
void ck_sum_in_order(const double *const *parts, int part_count, long start, long count, double *total);

/// target[i] += source[i]; the two must not overlap.
void ck_add(float *target, const float *source, long count);

/// y[i] = x[i] > 0 ? x[i] : 0 (ReLU; NaN and -0 give +0). x and y may be the same buffer.
void ck_relu(const float *x, float *y, long count);

/// dx[i] = y[i] > 0 ? dy[i] : 0: ck_relu_backward written to another buffer (or the same).
void ck_relu_backward_into(const float *y, const float *dy, float *dx, long count);

/// y[i] = a[i] + b[i].
void ck_add_into(const float *a, const float *b, float *y, long count);

/// Batch norm forward over x[rows, channels]: y = x * scale[k] + shift[k].
void ck_batch_norm_forward(const float *x, long rows, int channels, const float *scale, const float *shift, float *y);

/// Per sample n in order, Float sums over its positions in position order, then added in Double:
/// with dy, first[k] += sum dy, second[k] += sum dy * (x - mean[k]) * inverse[k]; without (null),
/// first[k] += sum x, second[k] += sum x * x. x, dy: [samples, positions, channels]; scratch: 2 * channels.
void ck_batch_norm_sums(const float *x, const float *dy, const float *mean, const float *inverse, int samples,
                        int positions, int channels, float *scratch, double *first, double *second);

/// Batch norm's input gradient over [rows, channels]: xhat = (x - mean[k]) * inverse[k],
/// dx = gain[k] * (dy - mean_dy[k] - xhat * mean_dy_xhat[k]).
void ck_batch_norm_input_gradient(const float *x, const float *dy, long rows, int channels, const float *mean,
                                  const float *inverse, const float *gain, const float *mean_dy,
                                  const float *mean_dy_xhat, float *dx);

// Batch norm, or add, and the ReLU after it in one pass (fused_relu.c), bit for bit the separate passes.

/// ck_batch_norm_forward then ck_relu: v = x * scale[k] + shift[k], y = v > 0 ? v : 0.
void ck_batch_norm_relu_forward(const float *x, long rows, int channels, const float *scale, const float *shift, float *y);

/// ck_batch_norm_sums with dy, of the gradient d = v > 0 ? dy : 0 that the ReLU's backward would pass
/// down (v = x * scale[k] + shift[k], the pre-activation of ck_batch_norm_relu_forward).
void ck_batch_norm_relu_sums(const float *x, const float *dy, const float *scale, const float *shift, const float *mean,
                             const float *inverse, int samples, int positions, int channels, float *scratch,
                             double *first, double *second);

/// ck_batch_norm_input_gradient of d = v > 0 ? dy : 0, v as in ck_batch_norm_relu_sums.
void ck_batch_norm_relu_input_gradient(const float *x, const float *dy, long rows, int channels, const float *scale,
                                       const float *shift, const float *mean, const float *inverse, const float *gain,
                                       const float *mean_dy, const float *mean_dy_xhat, float *dx);

/// ck_add_into then ck_relu: s = a[i] + b[i], y[i] = s > 0 ? s : 0.
void ck_add_relu(const float *a, const float *b, float *y, long count);

/// ck_relu_backward_into to two buffers: dx0[i] = dx1[i] = y[i] > 0 ? dy[i] : 0 (none of them overlapping).
void ck_relu_backward_twice(const float *y, const float *dy, float *dx0, float *dx1, long count);

// Batch norm(s), then add, then ReLU in one pass (normalize_add_relu.c), bit for bit the separate passes.

/// ck_batch_norm_forward of each input with a scale (a null scale: the input as it is), then
/// ck_add_relu: s = a' + b', y = s > 0 ? s : 0, over NHWC [rows, channels].
void ck_normalize_add_relu(const float *a, const float *a_scale, const float *a_shift, const float *b,
                           const float *b_scale, const float *b_shift, long rows, int channels, float *y);

/// ck_relu_backward_twice into da and db, and for x0 (and x1 unless null) ck_batch_norm_sums of the masked
/// gradient d = y > 0 ? dy : 0 with that batch norm's mean and inverse: first += sum d, second += sum
/// d * (x - mean) * inverse, per sample in Float, added in Double. scratch: 4 * channels floats.
void ck_add_relu_backward_sums(const float *y, const float *dy, float *da, float *db, const float *x0,
                               const float *mean0, const float *inverse0, double *first0, double *second0,
                               const float *x1, const float *mean1, const float *inverse1, double *first1,
                               double *second1, int samples, int positions, int channels, float *scratch);

/// A direct convolution's shapes: no padding, NHWC input x[batch, height, width, channels], HWIO
/// kernel[window_height, window_width, channels, filters], strides stride_height and stride_width (0 is
/// taken as 1, so stride-1 initialisers may leave them out), output y[batch, oh, ow, filters] with
/// oh = (height - window_height) / stride_height + 1 and ow = (width - window_width) / stride_width + 1
/// (trailing input rows and columns that no window reaches are never read).
struct ck_conv { int batch, height, width, channels, window_height, window_width, filters, stride_height, stride_width; };

/// The im2col route without its matrix, and the same bits: y = act(bias + col * kernel), each element's
/// fused multiply-adds over (ky, kx, c) in that order, as ck_rowwise_gemm on im2col's matrix.
void ck_conv_forward(const struct ck_conv *shape, const float *x, const float *kernel, const float *bias, int relu, float *y);

/// dk += (double)(col_n^T * dy_n) for each sample n in order, as ck_weight_gradient on im2col's matrix.
void ck_conv_weight_gradient(const struct ck_conv *shape, const float *x, const float *dy, double *dk);

/// dx = col2im(dy * kernel_t) (kernel_t: [filters, window_height * window_width * channels]), each
/// pixel's sums added in increasing output position order, as ck_rowwise_gemm followed by col2im.
void ck_conv_input_gradient(const struct ck_conv *shape, const float *dy, const float *kernel_t, float *dx);

/// Rows top .. top + out_height - 1 and columns left .. left + out_width - 1 of ck_conv_input_gradient's
/// dx, the same bits, as dx[batch, out_height, out_width, channels]: for a convolution run on a padded
/// copy of its input (ck_pad_images), the unpadded input's gradient, the border never computed. Stride 1 only.
void ck_conv_input_gradient_window(const struct ck_conv *shape, const float *dy, const float *kernel_t, int top,
                                   int left, int out_height, int out_width, float *dx);

/// The same window of ck_conv_input_gradient's dx, the same bits, for any stride, gathered per pixel
/// (the border never computed): ck_conv_input_gradient_window's way with the window's steps strided.
void ck_conv_input_gradient_strided(const struct ck_conv *shape, const float *dy, const float *kernel_t, int top,
                                    int left, int out_height, int out_width, float *dx);

/// out[n, top + i, left + j, c] = x[n, i, j, c], zeros around: x[batch, height, width, channels] padded
/// to out[batch, height + top + bottom, width + left + right, channels], the zeros im2col reads under
/// "same" padding, so that a padded convolution runs as a direct one.
void ck_pad_images(const float *x, int batch, int height, int width, int channels, int top, int bottom,
                   int left, int right, float *out);

/// x[n, i, j, c] = padded[n, top + i, left + j, c]: ck_pad_images's inverse, dropping the border.
void ck_crop_images(const float *padded, int batch, int height, int width, int channels, int top, int bottom,
                    int left, int right, float *x);

/// A Winograd F(2x2, 3x3) convolution's shapes (winograd.c): NHWC input x[batch, height, width, channels]
/// read with `pad` zeros before each row and column (and as many after as the output needs), output
/// y[batch, out_height, out_width, filters], 3x3 kernel, stride 1: out_height = height + 2 pad - 2 for
/// a forward pass (pad 1: "same", 0: "valid"); the input gradient is the same convolution of dy with
/// the flipped kernel and pad 2 - pad.
struct ck_winograd { int batch, height, width, channels, pad, out_height, out_width, filters; };

/// U[e][c, k] = (G g_ck G^T)[e] for the 16 elements e of a 4x4 tile, from an HWIO kernel[3, 3, channels,
/// filters]; with flipped, the input gradient's kernel (rotated 180 degrees, channels and filters
/// swapped) as U'[e][k, c]. 16 * channels * filters floats.
void ck_winograd_kernel(const float *kernel, int channels, int filters, int flipped, float *u);

/// y = act(bias + conv(x, kernel)) by Winograd F(2x2, 3x3) with u from ck_winograd_kernel (bias may be
/// null; act is ReLU when relu). A 2x2 output block depends only on its 4x4 input tile and u, computed
/// by the same operations wherever it is, on every kernel path. scratch: ck_winograd_scratch floats.
void ck_winograd_conv(const struct ck_winograd *shape, const float *x, const float *u, const float *bias, int relu,
                      float *y, float *scratch);

/// Floats of scratch ck_winograd_conv needs (independent of the batch), and its tiles per block.
long ck_winograd_scratch(int channels, int filters);
int ck_winograd_tile_block(int channels, int filters);

/// dk[3, 3, channels, filters] += (double)dg_n for each sample n in order, dg_n the kernel gradient of
/// sample n's forward pass `shape` (x as ck_winograd_conv's input, dy its output's gradient) by the
/// transposed Winograd F(2x2, 3x3): dg_n = G^T [sum over n's tiles of (B^T d B) . (A dy A^T)] G, the
/// sum over the sample's `tiles` tiles in blocks of ck_winograd_gradient_tile_block tiles (each block's
/// sum from 0, in tile order, added to the previous blocks' in Float). Every kernel path gives the same
/// bits. scratch: ck_winograd_kernel_gradient_scratch floats (independent of the batch and image size).
void ck_winograd_kernel_gradient(const struct ck_winograd *shape, const float *x, const float *dy, double *dk,
                                 float *scratch);
long ck_winograd_kernel_gradient_scratch(int channels, int filters);
int ck_winograd_gradient_tile_block(int channels, int filters, long tiles);

#endif
