#include "ckernels.h"
#include "vectorised.h"
#include <math.h>

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

// Four samples' sums over one 16-column block at once: eight or more independent chains instead of
// one or two, so the adds' latency no longer sets the pace (each chain still runs in row order).
static inline void column_sums_4x16(const float *restrict m, long sample_stride, int rows, int columns,
                                    float *restrict sums, int sums_stride) {
    float acc[4][16];
    for (int s = 0; s < 4; s++)
        for (int j = 0; j < 16; j++) acc[s][j] = 0.0f;
    for (int r = 0; r < rows; r++)
        for (int s = 0; s < 4; s++)
            for (int j = 0; j < 16; j++) acc[s][j] += m[s * sample_stride + (long)r * columns + j];
    for (int s = 0; s < 4; s++)
        for (int j = 0; j < 16; j++) sums[s * sums_stride + j] = acc[s][j];
}

VECTORISED
void ck_column_sums_samples(const float *restrict m, int samples, int rows, int columns, float *restrict sums) {
    long stride = (long)rows * columns;
    int s = 0;
    if (columns % 16 == 0)
        for (; s + 4 <= samples; s += 4)
            for (int j = 0; j < columns; j += 16)
                column_sums_4x16(m + s * stride + j, stride, rows, columns, sums + (long)s * columns + j, columns);
    for (; s < samples; s++) ck_column_sums(m + s * stride, rows, columns, sums + (long)s * columns);
}

VECTORISED
void ck_sum_in_order(const double *const *parts, int part_count, long start, long count, double *restrict total) {
    for (long block = start; block < start + count; block += 1024) {   // 8 KB of total at a time, kept in L1
        long end = block + 1024 < start + count ? block + 1024 : start + count;
        for (long i = block; i < end; i++) total[i] = parts[0][i];
        for (int p = 1; p < part_count; p++) {
            const double *restrict part = parts[p];
            for (long i = block; i < end; i++) total[i] += part[i];
        }
    }
}

VECTORISED
void ck_add(float *restrict target, const float *restrict source, long count) {
    for (long i = 0; i < count; i++) target[i] += source[i];
}

VECTORISED
void ck_im2col_dense(const float *restrict x, int batch, int height, int width, int channels,
                     int window_height, int window_width, int ones, float *restrict col) {
    int out_height = height - window_height + 1, out_width = width - window_width + 1;
    long span = (long)window_width * channels, image = (long)height * width * channels;
    if (window_height == 3 && window_width == 3 && channels == 1) {   // conv1's 3x3 window over one channel: fixed-size copies
        for (int n = 0; n < batch; n++) {
            const float *restrict source = x + n * image;
            for (int oy = 0; oy < out_height; oy++) {
                const float *restrict r0 = source + (long)oy * width, *restrict r1 = r0 + width, *restrict r2 = r1 + width;
                for (int ox = 0; ox < out_width; ox++, col += 9 + ones) {
                    col[0] = r0[ox]; col[1] = r0[ox + 1]; col[2] = r0[ox + 2];
                    col[3] = r1[ox]; col[4] = r1[ox + 1]; col[5] = r1[ox + 2];
                    col[6] = r2[ox]; col[7] = r2[ox + 1]; col[8] = r2[ox + 2];
                    if (ones) col[9] = 1.0f;
                }
            }
        }
        return;
    }
    for (int n = 0; n < batch; n++) {
        const float *restrict source = x + n * image;
        for (int oy = 0; oy < out_height; oy++)
            for (int ox = 0; ox < out_width; ox++) {
                for (int ky = 0; ky < window_height; ky++) {
                    const float *restrict from = source + ((long)(oy + ky) * width + ox) * channels;
                    for (long i = 0; i < span; i++) col[i] = from[i];
                    col += span;
                }
                if (ones) *col++ = 1.0f;
            }
    }
}

// RMSprop's update, element by element, each product and sum rounded on its own (no contraction:
// -ffp-contract=off) in the formula's order, on vectors: v = rho * v + (1 - rho) * g * g;
// w -= lr * g / sqrt(v + eps).
VECTORISED
void ck_rmsprop_step(float *restrict w, const float *restrict g, float *restrict v, long count,
                     float learning_rate, float rho, float epsilon) {
    float one_minus_rho = 1.0f - rho;
    for (long i = 0; i < count; i++) {
        float gi = g[i];
        float vi = rho * v[i] + one_minus_rho * gi * gi;
        v[i] = vi;
        w[i] -= learning_rate * gi / sqrtf(vi + epsilon);
    }
}

// out[columns, rows] = m[rows, columns]^T. Scalar loops over 16 x 16 tiles keep reads and writes in
// cache lines; with AVX2, 8 x 8 tiles are transposed in registers instead (unpack, shuffle, permute:
// 24 shuffles and 16 vector moves for 64 floats, against 128 scalar ones), and the rest of the
// matrix, if any, takes the scalar loops. Only data moves, so the bits are the same either way.
static void transpose_scalar(const float *restrict m, int rows, int columns, float *restrict out,
                             int row_begin, int row_end, int column_begin, int column_end) {
    enum { TILE = 16 };
    for (int r0 = row_begin; r0 < row_end; r0 += TILE)
        for (int c0 = column_begin; c0 < column_end; c0 += TILE) {
            int r1 = r0 + TILE < row_end ? r0 + TILE : row_end, c1 = c0 + TILE < column_end ? c0 + TILE : column_end;
            for (int c = c0; c < c1; c++)
                for (int r = r0; r < r1; r++) out[(long)c * rows + r] = m[(long)r * columns + c];
        }
}

#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx2")))
static void transpose_avx2(const float *restrict m, int rows, int columns, float *restrict out) {
    for (int r0 = 0; r0 + 8 <= rows; r0 += 8)
        for (int c0 = 0; c0 + 8 <= columns; c0 += 8) {
            const float *a = m + (long)r0 * columns + c0;
            __m256 r[8], t[8], s[8];
            for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(a + (long)i * columns);
            for (int i = 0; i < 8; i += 2) {
                t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
                t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
            }
            for (int i = 0; i < 8; i += 4) {
                s[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
                s[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
                s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
                s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
            }
            float *o = out + (long)c0 * rows + r0;
            for (int i = 0; i < 4; i++) {
                _mm256_storeu_ps(o + (long)i * rows, _mm256_permute2f128_ps(s[i], s[i + 4], 0x20));
                _mm256_storeu_ps(o + (long)(i + 4) * rows, _mm256_permute2f128_ps(s[i], s[i + 4], 0x31));
            }
        }
}
#endif

void ck_transpose(const float *restrict m, int rows, int columns, float *restrict out) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) {
        int full_rows = rows / 8 * 8, full_columns = columns / 8 * 8;
        transpose_avx2(m, rows, columns, out);
        transpose_scalar(m, rows, columns, out, 0, full_rows, full_columns, columns);
        transpose_scalar(m, rows, columns, out, full_rows, rows, 0, columns);
        return;
    }
#endif
    transpose_scalar(m, rows, columns, out, 0, rows, 0, columns);
}

// mean[i] = (float)(sums[i] * scale); returns 1 when every mean is finite, else 0.
VECTORISED
int ck_scaled_to_float(const double *restrict sums, double scale, float *restrict mean, long count) {
    int finite = 1;
    for (long i = 0; i < count; i++) {
        float value = (float)(sums[i] * scale);
        mean[i] = value;
        finite &= value - value == 0.0f;   // false for infinities and NaN
    }
    return finite;
}

VECTORISED
void ck_relu(const float *x, float *y, long count) {
    for (long i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

VECTORISED
void ck_relu_backward_into(const float *y, const float *dy, float *dx, long count) {
    for (long i = 0; i < count; i++) {
        float d = dy[i];
        dx[i] = y[i] > 0.0f ? d : 0.0f;
    }
}

VECTORISED
void ck_add_into(const float *restrict a, const float *restrict b, float *restrict y, long count) {
    for (long i = 0; i < count; i++) y[i] = a[i] + b[i];
}
