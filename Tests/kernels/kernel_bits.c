// Bit test of every CKernels entry point: fixed pseudo-random inputs (odd sizes, tails, zeros, ties,
// infinities), one line per result, "name hash", the hash an FNV-1a of the result's bytes with every
// NaN written as one canonical NaN (x86 and ARM make NaNs with different sign and payload bits; which
// NaN is not part of the kernels' contract, that a NaN comes out is). Every kernel path, on every
// architecture, must print the same lines: tools/test-kernels-aarch64 compares them with expected.txt.
//
// Usage: kernel_bits [PATH]   PATH as for ck_select_kernels (default: the best); the first line,
// "path NAME", names the path the matrix kernels took, and is not part of the comparison.
#include "ckernels.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__aarch64__) && !defined(__ARM_NEON)
#error "aarch64 without NEON: the vector path would not be built"
#endif

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint32_t next_u32(void) {   // xorshift64*
    state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
    return (uint32_t)((state * 0x2545F4914F6CDD1Dull) >> 32);
}
// Uniform in [-1, 1), with a share of exact zeros (ReLU outputs; the outer products skip them).
static float next_float(int zero_percent) {
    if ((int)(next_u32() % 100) < zero_percent) return 0.0f;
    return (float)(next_u32() >> 8) / 8388608.0f - 1.0f;
}
static float *floats(long count, int zero_percent) {
    float *p = malloc(sizeof(float) * (size_t)(count ? count : 1));
    for (long i = 0; i < count; i++) p[i] = next_float(zero_percent);
    return p;
}
static double *doubles(long count) {   // no -0 (ck_weight_gradient's contract)
    double *p = malloc(sizeof(double) * (size_t)(count ? count : 1));
    for (long i = 0; i < count; i++) p[i] = (double)next_float(10) * 3.0 + 0.0;
    return p;
}

static uint64_t hash_bytes(uint64_t h, const void *data, size_t size) {
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++) { h ^= p[i]; h *= 0x100000001B3ull; }
    return h;
}
static void print_floats(const char *name, const float *x, long count) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (long i = 0; i < count; i++) {
        float v = isnan(x[i]) ? NAN : x[i];
        uint32_t bits; memcpy(&bits, &v, 4);
        if (isnan(x[i])) bits = 0x7FC00000u;
        h = hash_bytes(h, &bits, 4);
    }
    printf("%s %016llx\n", name, (unsigned long long)h);
}
static void print_doubles(const char *name, const double *x, long count) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (long i = 0; i < count; i++) {
        uint64_t bits; memcpy(&bits, &x[i], 8);
        if (isnan(x[i])) bits = 0x7FF8000000000000ull;
        h = hash_bytes(h, &bits, 8);
    }
    printf("%s %016llx\n", name, (unsigned long long)h);
}

// Row blocks of 12, 8 and 6 with remainders; column panels of 32, 16, 8 and 4 with masked and scalar
// tails; k from 1 to 70 (the weight gradient's three routes: k = 1, k < 32, k >= 32).
static const int shapes[][3] = {
    {1, 1, 1}, {25, 71, 29}, {13, 10, 64}, {7, 5, 3}, {12, 48, 1}, {31, 40, 17}, {31, 40, 40}, {31, 10, 17},
    {6, 16, 9}, {12, 32, 32}, {24, 64, 9}, {5, 3, 70}, {17, 33, 2}, {9, 20, 31}, {2, 100, 1}, {40, 7, 1},
};

static void gemm_tests(void) {
    char name[96];
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int m = shapes[t][0], n = shapes[t][1], k = shapes[t][2];
        int lda = k + 3, ldb = n + 5, ldc = n + 2;   // strides wider than the matrices
        float *a = floats((long)m * lda, 5), *b = floats((long)k * ldb, 5), *bias = floats(n, 0);
        float *start = floats((long)m * ldc, 0), *c = malloc(sizeof(float) * (size_t)m * ldc);
        for (int variant = 0; variant < 5; variant++) {
            memcpy(c, start, sizeof(float) * (size_t)m * ldc);
            // plain, bias, bias + ReLU, accumulate, ReLU alone
            ck_rowwise_gemm(m, n, k, a, lda, b, ldb, c, ldc, variant == 1 || variant == 2 ? bias : 0, variant == 3,
                            variant == 2 || variant == 4);
            snprintf(name, sizeof name, "gemm %dx%dx%d variant %d", m, n, k, variant);
            print_floats(name, c, (long)m * ldc);
        }
        // Weight gradients: 3 samples of A^T [k, m] and B [k, n]; one sample's dz with an infinity
        // (its products with x's zeros are NaN, which must reach c).
        int samples = 3, ldt = m + 3;   // A^T is [k, m]
        long sa = (long)k * ldt + 7, sb = (long)k * ldb + 3;
        float *at = floats(samples * sa, 40), *bs = floats(samples * sb, 0);
        double *cd = doubles((long)m * ldc);
        ck_weight_gradient(samples, m, n, k, at, ldt, sa, bs, ldb, sb, cd, ldc);
        snprintf(name, sizeof name, "weight_gradient %dx%dx%d", m, n, k);
        print_doubles(name, cd, (long)m * ldc);
        bs[sb + (n > 1 ? 1 : 0)] = INFINITY;
        ck_weight_gradient(samples, m, n, k, at, ldt, sa, bs, ldb, sb, cd, ldc);
        snprintf(name, sizeof name, "weight_gradient %dx%dx%d infinity", m, n, k);
        print_doubles(name, cd, (long)m * ldc);
        // 70 samples: more than one group of 64 in the outer products.
        float *at70 = floats(70 * sa, 60), *b70 = floats(70 * sb, 0);
        ck_weight_gradient(70, m, n, k, at70, ldt, sa, b70, ldb, sb, cd, ldc);
        snprintf(name, sizeof name, "weight_gradient %dx%dx%d 70 samples", m, n, k);
        print_doubles(name, cd, (long)m * ldc);
        free(a); free(b); free(bias); free(start); free(c); free(at); free(bs); free(cd); free(at70); free(b70);
    }
}

static void conv_tests(void) {
    static const struct ck_conv convs[] = {
        {2, 9, 13, 1, 3, 3, 5}, {1, 14, 14, 2, 3, 3, 16}, {2, 8, 11, 3, 2, 4, 33}, {1, 16, 16, 16, 3, 3, 20},
        {1, 5, 5, 7, 5, 5, 3}, {3, 6, 19, 1, 3, 3, 32}, {1, 13, 13, 32, 3, 3, 64},
    };
    char name[96];
    for (size_t t = 0; t < sizeof convs / sizeof convs[0]; t++) {
        const struct ck_conv *v = &convs[t];
        int oh = v->height - v->window_height + 1, ow = v->width - v->window_width + 1;
        long xs = (long)v->batch * v->height * v->width * v->channels, ys = (long)v->batch * oh * ow * v->filters;
        long ks = (long)v->window_height * v->window_width * v->channels * v->filters;
        float *x = floats(xs, 30), *kernel = floats(ks, 0), *bias = floats(v->filters, 0), *y = malloc(sizeof(float) * (size_t)ys);
        float *dy = floats(ys, 20), *kt = floats(ks, 0), *dx = malloc(sizeof(float) * (size_t)xs);
        double *dk = doubles(ks);
        for (int relu = 0; relu < 2; relu++) {
            ck_conv_forward(v, x, kernel, relu ? bias : 0, relu, y);
            snprintf(name, sizeof name, "conv_forward %zu relu %d", t, relu);
            print_floats(name, y, ys);
        }
        ck_conv_weight_gradient(v, x, dy, dk);
        snprintf(name, sizeof name, "conv_weight_gradient %zu", t);
        print_doubles(name, dk, ks);
        ck_conv_input_gradient(v, dy, kt, dx);
        snprintf(name, sizeof name, "conv_input_gradient %zu", t);
        print_floats(name, dx, xs);
        // im2col, with and without the ones column
        long rows = (long)v->batch * oh * ow, patch = (long)v->window_height * v->window_width * v->channels;
        float *col = malloc(sizeof(float) * (size_t)(rows * (patch + 1)));
        for (int ones = 0; ones < 2; ones++) {
            ck_im2col_dense(x, v->batch, v->height, v->width, v->channels, v->window_height, v->window_width, ones, col);
            snprintf(name, sizeof name, "im2col %zu ones %d", t, ones);
            print_floats(name, col, rows * (patch + ones));
        }
        free(x); free(kernel); free(bias); free(y); free(dy); free(kt); free(dx); free(dk); free(col);
    }
}

static void elementwise_tests(void) {
    char name[96];
    static const long counts[] = {1, 7, 16, 33, 1000, 4099};
    for (size_t t = 0; t < sizeof counts / sizeof counts[0]; t++) {
        long n = counts[t];
        float *y = floats(n, 30), *dy = floats(n, 0), *g = floats(n, 0), *w = floats(n, 0), *v = floats(n, 0);
        y[0] = NAN;
        for (long i = 0; i < n; i++) v[i] = fabsf(v[i]);
        ck_relu_backward(y, dy, n);
        snprintf(name, sizeof name, "relu_backward %ld", n); print_floats(name, dy, n);
        double *total = doubles(n);
        ck_accumulate(dy, n, total);
        snprintf(name, sizeof name, "accumulate %ld", n); print_doubles(name, total, n);
        ck_add(w, g, n);
        snprintf(name, sizeof name, "add %ld", n); print_floats(name, w, n);
        ck_rmsprop_step(w, g, v, n, 0.001f, 0.9f, 1e-7f);
        snprintf(name, sizeof name, "rmsprop w %ld", n); print_floats(name, w, n);
        snprintf(name, sizeof name, "rmsprop v %ld", n); print_floats(name, v, n);
        double *sums = doubles(n);
        float *mean = malloc(sizeof(float) * (size_t)n);
        int finite = ck_scaled_to_float(sums, 1.0 / 3.0, mean, n);
        snprintf(name, sizeof name, "scaled_to_float %ld finite %d", n, finite); print_floats(name, mean, n);
        sums[n / 2] = 1e300;
        finite = ck_scaled_to_float(sums, 1.0 / 3.0, mean, n);
        snprintf(name, sizeof name, "scaled_to_float %ld finite %d", n, finite); print_floats(name, mean, n);
        const double *parts[5];
        double *storage[5];
        for (int p = 0; p < 5; p++) parts[p] = storage[p] = doubles(n + 3);
        double *summed = doubles(n + 3);
        ck_sum_in_order(parts, 5, 3, n, summed);
        snprintf(name, sizeof name, "sum_in_order %ld", n); print_doubles(name, summed, n + 3);
        for (int p = 0; p < 5; p++) free(storage[p]);
        free(y); free(dy); free(g); free(w); free(v); free(total); free(sums); free(mean); free(summed);
    }
    static const int sums_shapes[][3] = {{5, 9, 16}, {9, 7, 32}, {3, 11, 10}, {4, 121, 64}, {8, 3, 48}};
    for (size_t t = 0; t < sizeof sums_shapes / sizeof sums_shapes[0]; t++) {
        int samples = sums_shapes[t][0], rows = sums_shapes[t][1], columns = sums_shapes[t][2];
        float *m = floats((long)samples * rows * columns, 10), *out = malloc(sizeof(float) * (size_t)samples * columns);
        ck_column_sums_samples(m, samples, rows, columns, out);
        snprintf(name, sizeof name, "column_sums_samples %dx%dx%d", samples, rows, columns);
        print_floats(name, out, (long)samples * columns);
        ck_column_sums(m, samples * rows, columns, out);
        snprintf(name, sizeof name, "column_sums %dx%d", samples * rows, columns);
        print_floats(name, out, columns);
        free(m); free(out);
    }
    static const int transposes[][2] = {{1, 1}, {8, 8}, {576, 64}, {13, 29}, {24, 17}, {9, 40}};
    for (size_t t = 0; t < sizeof transposes / sizeof transposes[0]; t++) {
        int rows = transposes[t][0], columns = transposes[t][1];
        float *m = floats((long)rows * columns, 0), *out = malloc(sizeof(float) * (size_t)rows * columns);
        ck_transpose(m, rows, columns, out);
        snprintf(name, sizeof name, "transpose %dx%d", rows, columns);
        print_floats(name, out, (long)rows * columns);
        free(m); free(out);
    }
    // Max pooling: 2 x 2 with 16-channel vectors and tails, 3 x 3, uncovered edges; values quantised
    // to eighths so that windows hold ties (2, 3 and 4 equal maxima).
    static const int pools[][5] = {{2, 8, 8, 20, 2}, {1, 9, 11, 3, 2}, {2, 7, 10, 32, 2}, {1, 10, 9, 5, 3}, {1, 12, 12, 70, 4}};
    for (size_t t = 0; t < sizeof pools / sizeof pools[0]; t++) {
        int batch = pools[t][0], height = pools[t][1], width = pools[t][2], channels = pools[t][3], pool = pools[t][4];
        long xs = (long)batch * height * width * channels, ys = (long)batch * (height / pool) * (width / pool) * channels;
        float *x = floats(xs, 10), *y = malloc(sizeof(float) * (size_t)ys), *dy = floats(ys, 0), *dx = malloc(sizeof(float) * (size_t)xs);
        for (long i = 0; i < xs; i++) x[i] = floorf(x[i] * 4.0f) / 8.0f;
        ck_maxpool_tiles_forward(x, y, batch, height, width, channels, pool);
        snprintf(name, sizeof name, "maxpool_forward %zu", t); print_floats(name, y, ys);
        for (int input_relu = 0; input_relu < 2; input_relu++) {
            ck_maxpool_tiles_backward(x, y, dy, dx, batch, height, width, channels, pool, input_relu);
            snprintf(name, sizeof name, "maxpool_backward %zu relu %d", t, input_relu); print_floats(name, dx, xs);
        }
        free(x); free(y); free(dy); free(dx);
    }
}

// Residual networks' memory-bound passes and "same" padding (after the others, so their inputs stay as they were).
static void residual_tests(void) {
    char name[96];
    static const int shapes[][3] = {{2, 9, 16}, {3, 7, 12}, {1, 5, 64}, {2, 4, 37}, {5, 9, 32}};   // samples, positions, channels
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int samples = shapes[t][0], positions = shapes[t][1], c = shapes[t][2];
        long n = (long)samples * positions * c;
        float *x = floats(n, 10), *dy = floats(n, 10), *y = malloc(sizeof(float) * (size_t)n), *dx = malloc(sizeof(float) * (size_t)n);
        float *mean = floats(c, 0), *inverse = floats(c, 0), *gain = floats(c, 0), *mdy = floats(c, 0), *mdx = floats(c, 0);
        float *scratch = malloc(sizeof(float) * 2 * (size_t)c);
        double *sums = doubles(4 * (long)c);
        x[0] = NAN; x[1] = -0.0f;
        ck_relu(x, y, n);
        snprintf(name, sizeof name, "relu %zu", t); print_floats(name, y, n);
        ck_relu_backward_into(y, dy, dx, n);
        snprintf(name, sizeof name, "relu_backward_into %zu", t); print_floats(name, dx, n);
        ck_add_into(x, dy, y, n);
        snprintf(name, sizeof name, "add_into %zu", t); print_floats(name, y, n);
        x[0] = 0.25f;
        ck_batch_norm_forward(x, (long)samples * positions, c, gain, mean, y);
        snprintf(name, sizeof name, "batch_norm_forward %zu", t); print_floats(name, y, n);
        ck_batch_norm_sums(x, 0, 0, 0, samples, positions, c, scratch, sums, sums + c);
        ck_batch_norm_sums(x, dy, mean, inverse, samples, positions, c, scratch, sums + 2 * c, sums + 3 * c);
        snprintf(name, sizeof name, "batch_norm_sums %zu", t); print_doubles(name, sums, 4 * (long)c);
        ck_batch_norm_input_gradient(x, dy, (long)samples * positions, c, mean, inverse, gain, mdy, mdx, dx);
        snprintf(name, sizeof name, "batch_norm_input_gradient %zu", t); print_floats(name, dx, n);
        free(x); free(dy); free(y); free(dx); free(mean); free(inverse); free(gain); free(mdy); free(mdx); free(scratch); free(sums);
    }
    // "same" convolutions as direct ones on padded inputs: 3x3 (1 each side), 2x4 (0 above, 1 below, 1 left, 2 right).
    static const struct ck_conv padded[] = {{2, 10, 12, 16, 3, 3, 16}, {1, 9, 15, 8, 2, 4, 19}};
    static const int pads[][4] = {{1, 1, 1, 1}, {0, 1, 1, 2}};   // top, bottom, left, right
    for (size_t t = 0; t < sizeof padded / sizeof padded[0]; t++) {
        const struct ck_conv *v = &padded[t];
        int h = v->height - pads[t][0] - pads[t][1], w = v->width - pads[t][2] - pads[t][3];
        long xs = (long)v->batch * h * w * v->channels, ps = (long)v->batch * v->height * v->width * v->channels;
        long ys = (long)v->batch * h * w * v->filters, ks = (long)v->window_height * v->window_width * v->channels * v->filters;
        float *x = floats(xs, 30), *p = malloc(sizeof(float) * (size_t)ps), *kernel = floats(ks, 0), *y = malloc(sizeof(float) * (size_t)ys);
        float *dy = floats(ys, 20), *dx = malloc(sizeof(float) * (size_t)xs);
        double *dk = doubles(ks);
        ck_pad_images(x, v->batch, h, w, v->channels, pads[t][0], pads[t][1], pads[t][2], pads[t][3], p);
        snprintf(name, sizeof name, "pad_images %zu", t); print_floats(name, p, ps);
        ck_conv_forward(v, p, kernel, 0, 0, y);
        snprintf(name, sizeof name, "padded_conv_forward %zu", t); print_floats(name, y, ys);
        ck_conv_weight_gradient(v, p, dy, dk);
        snprintf(name, sizeof name, "padded_conv_weight_gradient %zu", t); print_doubles(name, dk, ks);
        ck_conv_input_gradient(v, dy, kernel, p);
        ck_crop_images(p, v->batch, h, w, v->channels, pads[t][0], pads[t][1], pads[t][2], pads[t][3], dx);
        snprintf(name, sizeof name, "padded_conv_input_gradient %zu", t); print_floats(name, dx, xs);
        for (long i = 0; i < xs; i++) dx[i] = NAN;   // a pixel the window path skips would keep the crop's value
        ck_conv_input_gradient_window(v, dy, kernel, pads[t][0], pads[t][2], h, w, dx);   // the same bits as the crop's
        snprintf(name, sizeof name, "padded_conv_input_gradient %zu", t); print_floats(name, dx, xs);
        free(x); free(p); free(kernel); free(y); free(dy); free(dx); free(dk);
    }
}

// Strided direct convolutions (ResNet-20's stride-2 3x3 and 1x1 projections, unequal strides, trailing
// rows no window reads) and a stem on 3 channels, on unpadded inputs.
static void strided_conv_tests(void) {
    static const struct ck_conv convs[] = {
        {2, 33, 33, 16, 3, 3, 32, 2, 2}, {1, 17, 17, 32, 3, 3, 64, 2, 2}, {2, 32, 32, 16, 1, 1, 32, 2, 2},
        {1, 20, 20, 12, 1, 1, 40, 2, 2}, {2, 16, 28, 8, 3, 3, 5, 2, 3}, {2, 34, 34, 3, 3, 3, 16, 1, 1},
    };
    char name[96];
    for (size_t t = 0; t < sizeof convs / sizeof convs[0]; t++) {
        const struct ck_conv *v = &convs[t];
        int oh = (v->height - v->window_height) / v->stride_height + 1, ow = (v->width - v->window_width) / v->stride_width + 1;
        long xs = (long)v->batch * v->height * v->width * v->channels, ys = (long)v->batch * oh * ow * v->filters;
        long ks = (long)v->window_height * v->window_width * v->channels * v->filters;
        float *x = floats(xs, 30), *kernel = floats(ks, 0), *bias = floats(v->filters, 0), *y = malloc(sizeof(float) * (size_t)ys);
        float *dy = floats(ys, 20), *dx = malloc(sizeof(float) * (size_t)xs);
        double *dk = doubles(ks);
        ck_conv_forward(v, x, kernel, bias, 1, y);
        snprintf(name, sizeof name, "strided_conv_forward %zu", t); print_floats(name, y, ys);
        ck_conv_weight_gradient(v, x, dy, dk);
        snprintf(name, sizeof name, "strided_conv_weight_gradient %zu", t); print_doubles(name, dk, ks);
        ck_conv_input_gradient(v, dy, kernel, dx);
        snprintf(name, sizeof name, "strided_conv_input_gradient %zu", t); print_floats(name, dx, xs);
        free(x); free(kernel); free(bias); free(y); free(dy); free(dx); free(dk);
    }
    // Padded strided windows' input gradients gathered per pixel of the unpadded input: 32x32 under
    // "same" stride 2 (0 above and left, 1 below and right), 17x19 (1 on every side), 1x3 stride 2.
    static const struct ck_conv padded[] = {{2, 33, 33, 16, 3, 3, 32, 2, 2}, {1, 19, 21, 12, 3, 3, 40, 2, 2}, {2, 16, 19, 16, 1, 3, 16, 2, 2}};
    static const int window[][4] = {{0, 0, 32, 32}, {1, 1, 17, 19}, {0, 0, 16, 18}};   // top, left, height, width
    for (size_t t = 0; t < sizeof padded / sizeof padded[0]; t++) {
        const struct ck_conv *v = &padded[t];
        int oh = (v->height - v->window_height) / v->stride_height + 1, ow = (v->width - v->window_width) / v->stride_width + 1;
        long xs = (long)v->batch * window[t][2] * window[t][3] * v->channels, ys = (long)v->batch * oh * ow * v->filters;
        float *kernel = floats((long)v->window_height * v->window_width * v->channels * v->filters, 0), *dy = floats(ys, 20);
        float *dx = malloc(sizeof(float) * (size_t)xs);
        for (long i = 0; i < xs; i++) dx[i] = NAN;   // every pixel must be written
        ck_conv_input_gradient_strided(v, dy, kernel, window[t][0], window[t][1], window[t][2], window[t][3], dx);
        snprintf(name, sizeof name, "strided_conv_input_gradient_window %zu", t); print_floats(name, dx, xs);
        free(kernel); free(dy); free(dx);
    }
}

// Winograd F(2x2, 3x3): forward (bias and ReLU), input gradient and kernel gradient, so that the
// products of every path (ck_winograd_products) run here: 16, 32 and 64 channels (the constant
// counts), odd ones with vector tails and edge tiles, tile counts no multiple of the row block.
static void winograd_tests(void) {
    static const int shapes[][5] = {{3, 7, 9, 5, 6}, {2, 32, 32, 16, 16}, {2, 9, 10, 32, 32}, {1, 8, 8, 64, 64}, {2, 11, 13, 40, 36}};
    char name[96];
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int n = shapes[t][0], h = shapes[t][1], w = shapes[t][2], c = shapes[t][3], k = shapes[t][4];
        struct ck_winograd forward = {n, h, w, c, 1, h, w, k}, backward = {n, h, w, k, 1, h, w, c};
        long xs = (long)n * h * w * c, ys = (long)n * h * w * k;
        float *x = floats(xs, 30), *kernel = floats(9L * c * k, 0), *bias = floats(k, 0), *dy = floats(ys, 20);
        float *y = malloc(sizeof(float) * (size_t)ys), *dx = malloc(sizeof(float) * (size_t)xs);
        float *u = malloc(sizeof(float) * 16 * (size_t)c * k), *flipped = malloc(sizeof(float) * 16 * (size_t)c * k);
        long scratch_count = ck_winograd_scratch(c, k);
        if (ck_winograd_scratch(k, c) > scratch_count) scratch_count = ck_winograd_scratch(k, c);
        if (ck_winograd_kernel_gradient_scratch(c, k) > scratch_count) scratch_count = ck_winograd_kernel_gradient_scratch(c, k);
        float *scratch = malloc(sizeof(float) * (size_t)scratch_count);
        double *dk = doubles(9L * c * k);
        ck_winograd_kernel(kernel, c, k, 0, u);
        ck_winograd_kernel(kernel, c, k, 1, flipped);
        ck_winograd_conv(&forward, x, u, bias, 1, y, scratch);
        snprintf(name, sizeof name, "winograd_forward %zu", t); print_floats(name, y, ys);
        ck_winograd_conv(&backward, dy, flipped, 0, 0, dx, scratch);
        snprintf(name, sizeof name, "winograd_input_gradient %zu", t); print_floats(name, dx, xs);
        ck_winograd_kernel_gradient(&forward, x, dy, dk, scratch);
        snprintf(name, sizeof name, "winograd_kernel_gradient %zu", t); print_doubles(name, dk, 9L * c * k);
        free(x); free(kernel); free(bias); free(dy); free(y); free(dx); free(u); free(flipped); free(scratch); free(dk);
    }
}

// The fused block passes (fused_relu.c, normalize_add_relu.c): batch norm + ReLU, add + ReLU, and a
// block's batch norm(s) folded into its add + ReLU, with either, both or no input normalized.
static void fused_tests(void) {
    char name[96];
    static const int shapes[][3] = {{2, 9, 16}, {3, 7, 5}, {1, 5, 64}, {2, 4, 19}, {5, 9, 32}};   // samples, positions, channels
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int samples = shapes[t][0], positions = shapes[t][1], c = shapes[t][2];
        long rows = (long)samples * positions, n = rows * c;
        float *x0 = floats(n, 10), *x1 = floats(n, 10), *dy = floats(n, 10), *y = malloc(sizeof(float) * (size_t)n);
        float *da = malloc(sizeof(float) * (size_t)n), *db = malloc(sizeof(float) * (size_t)n);
        float *scale0 = floats(c, 0), *shift0 = floats(c, 0), *scale1 = floats(c, 0), *shift1 = floats(c, 0);
        float *mean = floats(c, 0), *inverse = floats(c, 0), *gain = floats(c, 0), *mdy = floats(c, 0), *mdx = floats(c, 0);
        float *scratch = malloc(sizeof(float) * 4 * (size_t)c);
        double *sums = doubles(4 * (long)c);
        x0[1] = -0.0f; x1[2] = 0.0f; x1[3] = -x0[3];   // a sum of exactly 0: the ReLU's tie
        ck_batch_norm_relu_forward(x0, rows, c, scale0, shift0, y);
        snprintf(name, sizeof name, "batch_norm_relu_forward %zu", t); print_floats(name, y, n);
        ck_batch_norm_relu_sums(x0, dy, scale0, shift0, mean, inverse, samples, positions, c, scratch, sums, sums + c);
        snprintf(name, sizeof name, "batch_norm_relu_sums %zu", t); print_doubles(name, sums, 2 * (long)c);
        ck_batch_norm_relu_input_gradient(x0, dy, rows, c, scale0, shift0, mean, inverse, gain, mdy, mdx, da);
        snprintf(name, sizeof name, "batch_norm_relu_input_gradient %zu", t); print_floats(name, da, n);
        ck_add_relu(x0, x1, y, n);
        snprintf(name, sizeof name, "add_relu %zu", t); print_floats(name, y, n);
        ck_relu_backward_twice(y, dy, da, db, n);
        snprintf(name, sizeof name, "relu_backward_twice %zu", t); print_floats(name, da, n); print_floats(name, db, n);
        for (int which = 0; which < 4; which++) {   // which input(s) normalized: none, a, b, both
            const float *as = which & 1 ? scale0 : 0, *bs = which & 2 ? scale1 : 0;
            ck_normalize_add_relu(x0, as, shift0, x1, bs, shift1, rows, c, y);
            snprintf(name, sizeof name, "normalize_add_relu %d %zu", which, t); print_floats(name, y, n);
        }
        for (int two = 0; two < 2; two++) {   // y from both normalized; sums of x0, and of x1 when two
            ck_add_relu_backward_sums(y, dy, da, db, x0, mean, inverse, sums, sums + c, two ? x1 : 0, scale1, shift1,
                                      sums + 2 * c, sums + 3 * c, samples, positions, c, scratch);
            snprintf(name, sizeof name, "add_relu_backward_sums %d %zu", two, t);
            print_floats(name, da, n); print_floats(name, db, n); print_doubles(name, sums, 4 * (long)c);
        }
        free(x0); free(x1); free(dy); free(y); free(da); free(db); free(scale0); free(shift0); free(scale1); free(shift1);
        free(mean); free(inverse); free(gain); free(mdy); free(mdx); free(scratch); free(sums);
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && !ck_select_kernels(argv[1])) {
        fprintf(stderr, "kernel_bits: path '%s' is unknown or not on this CPU (best: %s)\n", argv[1], ck_best_kernels());
        return 1;
    }
    printf("path %s\n", ck_rowwise_gemm_path());
    gemm_tests();
    conv_tests();
    elementwise_tests();
    residual_tests();
    strided_conv_tests();
    winograd_tests();
    fused_tests();
    return 0;
}
