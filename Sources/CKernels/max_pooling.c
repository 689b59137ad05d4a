#include "ckernels.h"
#include "vectorised.h"
#include <string.h>

// Max pooling over windows that tile the input (pool x pool, stride pool, no padding), NHWC. The
// maximum is taken as Swift's max(best, v) does (v >= best ? v : best), cell by cell in row order.

// One 2 x 2 window over `count` channels (cells c00, c01 / c10, c11); inlined with count = 16 it is one
// vector per cell.
static inline void maxpool2_window(const float *restrict c00, const float *restrict c01, const float *restrict c10,
                                   const float *restrict c11, float *restrict y, int count) {
    for (int c = 0; c < count; c++) {
        float m = c00[c];
        m = c01[c] >= m ? c01[c] : m;
        m = c10[c] >= m ? c10[c] : m;
        y[c] = c11[c] >= m ? c11[c] : m;
    }
}

VECTORISED
void ck_maxpool_tiles_forward(const float *restrict x, float *restrict y, int batch, int height, int width,
                              int channels, int pool) {
    int out_height = height / pool, out_width = width / pool;
    if (pool == 2) {
        long row = (long)width * channels;
        for (int n = 0; n < batch; n++)
            for (int oy = 0; oy < out_height; oy++)
                for (int ox = 0; ox < out_width; ox++, y += channels) {
                    const float *c00 = x + (((long)n * height + (long)oy * 2) * width + (long)ox * 2) * channels;
                    const float *c01 = c00 + channels, *c10 = c00 + row, *c11 = c10 + channels;
                    int c = 0;
                    for (; c + 16 <= channels; c += 16) maxpool2_window(c00 + c, c01 + c, c10 + c, c11 + c, y + c, 16);
                    maxpool2_window(c00 + c, c01 + c, c10 + c, c11 + c, y + c, channels - c);
                }
        return;
    }
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

// One 2 x 2 window over `count` channels. dy / ties is computed as dy * 1, 0.5 or 0.25 for 1, 2 or 4
// ties, which is exact and so the same bits; only three ties (rare) need the division, done again
// afterwards, because the division's latency would otherwise dominate the pass.
static inline void maxpool2_window_backward(const float *restrict x00, const float *restrict x01, const float *restrict x10,
                                            const float *restrict x11, const float *restrict y, const float *restrict dy,
                                            float *restrict d00, float *restrict d01, float *restrict d10,
                                            float *restrict d11, int count, int input_relu) {
    int three = 0;
    for (int c = 0; c < count; c++) {
        float m = y[c], t = 0.0f;
        int e00 = x00[c] == m, e01 = x01[c] == m, e10 = x10[c] == m, e11 = x11[c] == m;
        t += e00 ? 1.0f : 0.0f;
        t += e01 ? 1.0f : 0.0f;
        t += e10 ? 1.0f : 0.0f;
        t += e11 ? 1.0f : 0.0f;
        float share = dy[c] * (t == 1.0f ? 1.0f : t == 2.0f ? 0.5f : 0.25f);
        if (input_relu) share = m > 0.0f ? share : 0.0f;
        three |= t == 3.0f;
        d00[c] = e00 ? share : 0.0f;
        d01[c] = e01 ? share : 0.0f;
        d10[c] = e10 ? share : 0.0f;
        d11[c] = e11 ? share : 0.0f;
    }
    if (!three) return;
    for (int c = 0; c < count; c++) {
        float m = y[c], share = dy[c] / 3.0f;
        if (input_relu) share = m > 0.0f ? share : 0.0f;
        if ((x00[c] == m) + (x01[c] == m) + (x10[c] == m) + (x11[c] == m) != 3) continue;
        d00[c] = x00[c] == m ? share : 0.0f;
        d01[c] = x01[c] == m ? share : 0.0f;
        d10[c] = x10[c] == m ? share : 0.0f;
        d11[c] = x11[c] == m ? share : 0.0f;
    }
}

// Zeros for sample n's inputs that no window covers: the columns right of the last window in each
// window row, and the rows below the last window row (what floor drops when the pool does not divide).
static void zero_uncovered(float *dx, int n, int height, int width, int channels, int pool) {
    int covered_height = height / pool * pool, covered_width = width / pool * pool;
    long row = (long)width * channels, image = (long)n * height * row;
    if (covered_width < width)
        for (int y = 0; y < covered_height; y++)
            memset(dx + image + y * row + (long)covered_width * channels, 0,
                   sizeof(float) * (size_t)(width - covered_width) * channels);
    if (covered_height < height) memset(dx + image + covered_height * row, 0, sizeof(float) * (size_t)(height - covered_height) * row);
}

VECTORISED
void ck_maxpool_tiles_backward(const float *restrict x, const float *restrict y, const float *restrict dy,
                               float *restrict dx, int batch, int height, int width, int channels, int pool,
                               int input_relu) {
    enum { BLOCK = 64 };
    float ties[BLOCK], share[BLOCK];
    int out_height = height / pool, out_width = width / pool;
    long out = 0;
    if (pool == 2) {
        long row = (long)width * channels;
        for (int n = 0; n < batch; n++) {
            for (int oy = 0; oy < out_height; oy++)
                for (int ox = 0; ox < out_width; ox++, out += channels) {
                    long c00 = (((long)n * height + (long)oy * 2) * width + (long)ox * 2) * channels;
                    long c01 = c00 + channels, c10 = c00 + row, c11 = c10 + channels;
                    maxpool2_window_backward(x + c00, x + c01, x + c10, x + c11, y + out, dy + out,
                                             dx + c00, dx + c01, dx + c10, dx + c11, channels, input_relu);
                }
            zero_uncovered(dx, n, height, width, channels, 2);
        }
        return;
    }
    for (int n = 0; n < batch; n++) zero_uncovered(dx, n, height, width, channels, pool);
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
                    if (input_relu)
                        for (int c = 0; c < count; c++) share[c] = maximum[c] > 0.0f ? share[c] : 0.0f;
                    for (int a = 0; a < pool; a++)
                        for (int b = 0; b < pool; b++) {
                            long offset = corner + ((long)a * width + b) * channels + c0;
                            for (int c = 0; c < count; c++) dx[offset + c] = x[offset + c] == maximum[c] ? share[c] : 0.0f;
                        }
                }
            }
}
