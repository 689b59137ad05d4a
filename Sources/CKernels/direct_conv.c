#include "ckernels.h"
#include "kernel_paths.h"
#include <string.h>

// Direct convolution (no padding, any stride) on the row-wise kernel's blocks. im2col's matrix is never
// written: a block's rows are consecutive positions of one output row, whose receptive fields start
// `stride_width * channels` floats apart in NHWC x, and each kernel row (kx, c) of a field is one
// contiguous span, so im2col's row i is x read with that row stride, in `window_height` runs
// `width * channels` apart. The sums run over the same elements in the same order as the im2col
// route's, so the bits are its bits.

static int stride_y(const struct ck_conv *v) { return v->stride_height > 1 ? v->stride_height : 1; }
static int stride_x(const struct ck_conv *v) { return v->stride_width > 1 ? v->stride_width : 1; }
static int output_height(const struct ck_conv *v) { return (v->height - v->window_height) / stride_y(v) + 1; }
static int output_width(const struct ck_conv *v) { return (v->width - v->window_width) / stride_x(v) + 1; }

void ck_conv_forward(const struct ck_conv *v, const float *x, const float *kernel, const float *bias, int relu, float *y) {
    struct ck_row_blocks kernel_rows = ck_row_blocks();
    int oh = output_height(v), ow = output_width(v), span = v->window_width * v->channels;
    long row = (long)v->width * v->channels;
    for (int n = 0; n < v->batch; n++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox += kernel_rows.max_rows) {
                int rows = ow - ox < kernel_rows.max_rows ? ow - ox : kernel_rows.max_rows;
                const float *a = x + ((long)n * v->height + (long)oy * stride_y(v)) * row + (long)ox * stride_x(v) * v->channels;
                float *out = y + (((long)n * oh + oy) * ow + ox) * v->filters;
                kernel_rows.block(rows, v->filters, v->window_height, span, a, (long)stride_x(v) * v->channels, 1, row,
                                  kernel, v->filters, (long)span * v->filters, out, 0, v->filters, bias, relu, 0);
            }
}

// Rows: a run of patch elements (ky, kx, c) inside one kernel row, contiguous in x; the sum: over the
// positions, one run per output row. One sample after another, so each dk element gets its samples in order.
void ck_conv_weight_gradient(const struct ck_conv *v, const float *x, const float *dy, double *dk) {
    struct ck_row_blocks kernel_rows = ck_row_blocks();
    int oh = output_height(v), ow = output_width(v), span = v->window_width * v->channels;
    long row = (long)v->width * v->channels, image = (long)v->height * row, outputs = (long)oh * ow * v->filters;
    for (int n = 0; n < v->batch; n++)
        for (int ky = 0; ky < v->window_height; ky++)
            for (int i = 0; i < span; i += kernel_rows.max_rows) {
                int rows = span - i < kernel_rows.max_rows ? span - i : kernel_rows.max_rows;
                double *target = dk + ((long)ky * span + i) * v->filters;
                // c gets target's address only so that no offset is computed from a null pointer; unused.
                kernel_rows.block(rows, v->filters, oh, ow, x + n * image + ky * row + i, 1, (long)stride_x(v) * v->channels,
                                  stride_y(v) * row,
                                  dy + n * outputs, v->filters, (long)ow * v->filters, (float *)target, target,
                                  v->filters, 0, 0, 0);
            }
}

// Gathered per pixel (ck_gather_fn): window rows ky descending, then columns kx descending, so that a
// pixel's sums arrive in increasing output position order (oy = iy - ky, ox = ix - kx), like col2im's.
// Pixels whose every kx falls inside the output row go in blocks of equal size, at most
// ck_gather_blocks().max_rows; the border pixels, which lack some kx, one at a time.
void ck_conv_input_gradient_window(const struct ck_conv *v, const float *dy, const float *kernel_t, int top, int left,
                                   int out_height, int out_width, float *dx) {
    struct ck_gather gather = ck_gather_blocks();
    int oh = output_height(v), ow = output_width(v), kh = v->window_height, kw = v->window_width;
    int c = v->channels, f = v->filters, patch = kh * kw * c;
    long dy_row = (long)ow * f;
    for (int n = 0; n < v->batch; n++)
        for (int i = 0; i < out_height; i++) {
            int iy = top + i, ky_last = iy < kh - 1 ? iy : kh - 1, ky_first = iy - oh + 1 > 0 ? iy - oh + 1 : 0;
            const float *dy_rows = dy + ((long)n * oh + iy - ky_last) * dy_row;
            const float *kernel_rows = kernel_t + (long)ky_last * kw * c;
            float *out = dx + ((long)n * out_height + i) * out_width * c;
            for (int j = 0; j < out_width;) {
                int ix = left + j, kx_last = ix < kw - 1 ? ix : kw - 1, kx_first = ix - ow + 1 > 0 ? ix - ow + 1 : 0;
                int rows = 1;
                if (kx_last == kw - 1 && kx_first == 0) {   // blocks of equal size over the inner pixels
                    int inner = out_width - j < ow - ix ? out_width - j : ow - ix;
                    rows = inner / ((inner + gather.max_rows - 1) / gather.max_rows);
                }
                gather.block(rows, c, f, ky_last - ky_first + 1, kx_last - kx_first + 1, dy_rows + (long)(ix - kx_last) * f,
                             dy_row, kernel_rows + (long)kx_last * c, patch, -(long)kw * c, -(long)c, out + (long)j * c, c);
                j += rows;
            }
        }
}

// Window elements along one axis reaching input index i (stride s, window k, n outputs): the largest
// and the count, stepping down by s; 0 when none does.
static int window_reach(int i, int s, int k, int n, int *last) {
    int high = i < k - 1 ? i : k - 1, low = i - (n - 1) * s > 0 ? i - (n - 1) * s : 0;
    *last = high - (s - (i - high) % s) % s;
    int first = low + (i - low) % s;
    return *last < first ? 0 : (*last - first) / s + 1;
}

// ck_conv_input_gradient_window for any stride, gathered per pixel as there: a pixel's window elements
// step down by the stride (ky, then kx, descending: increasing output position, col2im's order), and a
// block's pixels are `stride_width` apart, so that they read consecutive positions of dy. Pixels whose
// every kx of their residue reaches an output go in blocks of equal size; the others one at a time.
void ck_conv_input_gradient_strided(const struct ck_conv *v, const float *dy, const float *kernel_t, int top, int left,
                                    int out_height, int out_width, float *dx) {
    struct ck_gather gather = ck_gather_blocks();
    int oh = output_height(v), ow = output_width(v), kh = v->window_height, kw = v->window_width;
    int sy = stride_y(v), sx = stride_x(v), c = v->channels, f = v->filters, patch = kh * kw * c;
    long dy_row = (long)ow * f;
    for (int n = 0; n < v->batch; n++)
        for (int i = 0; i < out_height; i++) {
            int iy = top + i, ky_last, ky_count = window_reach(iy, sy, kh, oh, &ky_last);
            const float *dy_rows = dy + ((long)n * oh + (ky_count ? (iy - ky_last) / sy : 0)) * dy_row;
            const float *kernel_rows = kernel_t + (long)(ky_count ? ky_last : 0) * kw * c;
            float *out = dx + ((long)n * out_height + i) * out_width * c;
            for (int q = 0; q < sx; q++)
                for (int j = ((q - left) % sx + sx) % sx; j < out_width;) {
                    int ix = left + j, kx_last, kx_count = window_reach(ix, sx, kw, ow, &kx_last), rows = 1;
                    if (kx_count == 0) kx_last = 0;
                    if (ix >= kw - 1 && ix <= (ow - 1) * sx) {   // every kx of this residue: blocks of equal size
                        int end = (ow - 1) * sx < left + out_width - 1 ? (ow - 1) * sx : left + out_width - 1;
                        int inner = (end - ix) / sx + 1;
                        rows = inner / ((inner + gather.max_rows - 1) / gather.max_rows);
                    }
                    gather.block(rows, c, f, ky_count, kx_count, dy_rows + (long)(kx_count ? (ix - kx_last) / sx : 0) * f,
                                 dy_row, kernel_rows + (long)kx_last * c, patch, -(long)sy * kw * c, -(long)sx * c,
                                 out + (long)j * c, sx * c);
                    j += rows * sx;
                }
        }
}

// For each block of positions, dy's rows times each kernel element's column span of kernel_t, added
// straight into dx (a block's pixels `stride_width` pixels apart). kx descending, so that a pixel's
// sums from one block arrive in increasing position order, like col2im's; blocks go in increasing
// position order. For the whole input this beats gathering, whose border pixels (kw - 1 on each side,
// lacking some kx) go one at a time.
void ck_conv_input_gradient(const struct ck_conv *v, const float *dy, const float *kernel_t, float *dx) {
    struct ck_row_blocks kernel_rows = ck_row_blocks();
    int oh = output_height(v), ow = output_width(v), patch = v->window_height * v->window_width * v->channels;
    long image = (long)v->height * v->width * v->channels;
    for (int n = 0; n < v->batch; n++) {
        memset(dx + n * image, 0, sizeof(float) * image);   // a sample at a time: it stays in cache for the sums
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox += kernel_rows.max_rows) {
                int rows = ow - ox < kernel_rows.max_rows ? ow - ox : kernel_rows.max_rows;
                const float *a = dy + (((long)n * oh + oy) * ow + ox) * v->filters;
                for (int ky = 0; ky < v->window_height; ky++)
                    for (int kx = v->window_width - 1; kx >= 0; kx--) {
                        float *out = dx + (((long)n * v->height + (long)oy * stride_y(v) + ky) * v->width
                                           + (long)ox * stride_x(v) + kx) * v->channels;
                        kernel_rows.block(rows, v->channels, 1, v->filters, a, v->filters, 1, 0,
                                          kernel_t + (long)(ky * v->window_width + kx) * v->channels, patch, 0,
                                          out, 0, stride_x(v) * v->channels, 0, 0, 1);
                    }
            }
    }
}

void ck_pad_images(const float *x, int batch, int height, int width, int channels, int top, int bottom,
                   int left, int right, float *out) {
    long row = (long)width * channels, padded_row = (long)(width + left + right) * channels;
    long before = (long)top * padded_row + (long)left * channels, gap = (long)(left + right) * channels;
    long after = (long)bottom * padded_row + (long)right * channels;
    for (int n = 0; n < batch; n++) {
        memset(out, 0, sizeof(float) * before);
        out += before;
        for (int i = 0; i < height; i++, x += row) {
            memcpy(out, x, sizeof(float) * row);
            out += row;
            if (i + 1 < height) {
                memset(out, 0, sizeof(float) * gap);
                out += gap;
            }
        }
        memset(out, 0, sizeof(float) * after);
        out += after;
    }
}

void ck_crop_images(const float *padded, int batch, int height, int width, int channels, int top, int bottom,
                    int left, int right, float *x) {
    long row = (long)width * channels, padded_row = (long)(width + left + right) * channels;
    long image = (long)(height + top + bottom) * padded_row;
    for (int n = 0; n < batch; n++, padded += image) {
        const float *source = padded + (long)top * padded_row + (long)left * channels;
        for (int i = 0; i < height; i++, x += row, source += padded_row) memcpy(x, source, sizeof(float) * row);
    }
}
