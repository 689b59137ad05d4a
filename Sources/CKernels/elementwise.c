#include "ckernels.h"
#include <math.h>

// Plain loops over restrict pointers so the compiler vectorises them. Each output element sees the
// same operations in the same order as the scalar loop, so vectorising changes no result.
// target_clones builds AVX-512 and AVX2 copies beside the baseline one and picks at load time.
// Not under ThreadSanitizer: the clones' resolver runs while the dynamic loader relocates, before the
// sanitizer's runtime is up, and the instrumented resolver crashes (launch/sanitize).
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__x86_64__) && defined(__linux__) && !__has_feature(thread_sanitizer) && !defined(__SANITIZE_THREAD__)
#define VECTORISED __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTORISED
#endif

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

VECTORISED
void ck_add(float *restrict target, const float *restrict source, long count) {
    for (long i = 0; i < count; i++) target[i] += source[i];
}

VECTORISED
void ck_im2col_dense(const float *restrict x, int batch, int height, int width, int channels,
                     int window_height, int window_width, float *restrict col) {
    int out_height = height - window_height + 1, out_width = width - window_width + 1;
    long span = (long)window_width * channels, image = (long)height * width * channels;
    if (window_height == 3 && window_width == 3 && channels == 1) {   // conv1's 3x3 window over one channel: fixed-size copies
        for (int n = 0; n < batch; n++) {
            const float *restrict source = x + n * image;
            for (int oy = 0; oy < out_height; oy++) {
                const float *restrict r0 = source + (long)oy * width, *restrict r1 = r0 + width, *restrict r2 = r1 + width;
                for (int ox = 0; ox < out_width; ox++, col += 9) {
                    col[0] = r0[ox]; col[1] = r0[ox + 1]; col[2] = r0[ox + 2];
                    col[3] = r1[ox]; col[4] = r1[ox + 1]; col[5] = r1[ox + 2];
                    col[6] = r2[ox]; col[7] = r2[ox + 1]; col[8] = r2[ox + 2];
                }
            }
        }
        return;
    }
    for (int n = 0; n < batch; n++) {
        const float *restrict source = x + n * image;
        for (int oy = 0; oy < out_height; oy++)
            for (int ox = 0; ox < out_width; ox++)
                for (int ky = 0; ky < window_height; ky++) {
                    const float *restrict from = source + ((long)(oy + ky) * width + ox) * channels;
                    for (long i = 0; i < span; i++) col[i] = from[i];
                    col += span;
                }
    }
}

// RMSprop's update, element by element exactly as the Swift loop it replaces wrote it (no
// contraction: -ffp-contract=off), on vectors: v = rho * v + (1 - rho) * g * g; w -= lr * g / sqrt(v + eps).
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

// Max pooling over windows that tile the input (pool x pool, stride pool, no padding), NHWC. The
// maximum is taken as Swift's max(best, v) does (v >= best ? v : best), cell by cell in row order.
VECTORISED
void ck_maxpool_tiles_forward(const float *restrict x, float *restrict y, int batch, int height, int width,
                              int channels, int pool) {
    int out_height = height / pool, out_width = width / pool;
    for (int n = 0; n < batch; n++)
        for (int oy = 0; oy < out_height; oy++)
            for (int ox = 0; ox < out_width; ox++, y += channels) {
                const float *restrict corner = x + (((long)n * height + (long)oy * pool) * width + (long)ox * pool) * channels;
                for (int c = 0; c < channels; c++) y[c] = corner[c];
                for (int a = 0; a < pool; a++)
                    for (int b = 0; b < pool; b++) {
                        if (a == 0 && b == 0) continue;
                        const float *restrict cell = corner + ((long)a * width + b) * channels;
                        for (int c = 0; c < channels; c++) y[c] = cell[c] >= y[c] ? cell[c] : y[c];
                    }
            }
}

// Its backward pass: each dy is shared equally by the window's inputs equal to the maximum (share =
// dy / ties, in Float); the other inputs get 0. Every input of a window is written.
VECTORISED
void ck_maxpool_tiles_backward(const float *restrict x, const float *restrict y, const float *restrict dy,
                               float *restrict dx, int batch, int height, int width, int channels, int pool) {
    enum { BLOCK = 64 };
    float ties[BLOCK], share[BLOCK];
    int out_height = height / pool, out_width = width / pool;
    long out = 0;
    for (int n = 0; n < batch; n++)
        for (int oy = 0; oy < out_height; oy++)
            for (int ox = 0; ox < out_width; ox++, out += channels) {
                long corner = (((long)n * height + (long)oy * pool) * width + (long)ox * pool) * channels;
                for (int c0 = 0; c0 < channels; c0 += BLOCK) {
                    int count = channels - c0 < BLOCK ? channels - c0 : BLOCK;
                    const float *restrict maximum = y + out + c0;
                    for (int c = 0; c < count; c++) ties[c] = 0.0f;
                    for (int a = 0; a < pool; a++)
                        for (int b = 0; b < pool; b++) {
                            const float *restrict cell = x + corner + ((long)a * width + b) * channels + c0;
                            for (int c = 0; c < count; c++) ties[c] += cell[c] == maximum[c] ? 1.0f : 0.0f;
                        }
                    for (int c = 0; c < count; c++) share[c] = dy[out + c0 + c] / ties[c];
                    for (int a = 0; a < pool; a++)
                        for (int b = 0; b < pool; b++) {
                            long offset = corner + ((long)a * width + b) * channels + c0;
                            for (int c = 0; c < count; c++) dx[offset + c] = x[offset + c] == maximum[c] ? share[c] : 0.0f;
                        }
                }
            }
}

// out[columns, rows] = m[rows, columns]^T, in 16 x 16 tiles so that reads and writes both stay in cache lines.
VECTORISED
void ck_transpose(const float *restrict m, int rows, int columns, float *restrict out) {
    enum { TILE = 16 };
    for (int r0 = 0; r0 < rows; r0 += TILE)
        for (int c0 = 0; c0 < columns; c0 += TILE) {
            int r1 = r0 + TILE < rows ? r0 + TILE : rows, c1 = c0 + TILE < columns ? c0 + TILE : columns;
            for (int c = c0; c < c1; c++)
                for (int r = r0; r < r1; r++) out[(long)c * rows + r] = m[(long)r * columns + c];
        }
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
