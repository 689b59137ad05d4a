#include "ckernels.h"
#include "vectorised.h"
#include "batch_norm_sums.h"

// Batch norm and add with the ReLU after them in one pass (see ckernels.h). Each element sees the
// operations of the separate passes in their order (no contraction: -ffp-contract=off), and the
// mask `y > 0` of the ReLU's output y = v > 0 ? v : 0 is `v > 0` (false for NaN, as y is then 0),
// so fusing changes no bit.

VECTORISED
void ck_batch_norm_relu_forward(const float *restrict x, long rows, int channels, const float *restrict scale,
                                const float *restrict shift, float *restrict y) {
    for (long r = 0; r < rows; r++, x += channels, y += channels)
        for (int k = 0; k < channels; k++) {
            float v = x[k] * scale[k] + shift[k];
            y[k] = v > 0.0f ? v : 0.0f;
        }
}

VECTORISED
void ck_batch_norm_relu_sums(const float *restrict x, const float *restrict dy, const float *restrict scale,
                             const float *restrict shift, const float *restrict mean, const float *restrict inverse,
                             int samples, int positions, int channels, float *restrict scratch,
                             double *restrict first, double *restrict second) {
    if (channels % SUMS_CHANNELS == 0) {
        batch_norm_blocked_sums(SUMS_OF_RELU_DY, x, dy, scale, shift, mean, inverse, samples, positions, channels, first, second);
        return;
    }
    long image = (long)positions * channels;
    for (int n = 0; n < samples; n++) {
        const float *restrict xs = x + n * image, *restrict ds = dy + n * image;
        float *restrict a = scratch, *restrict b = scratch + channels;
        for (int k = 0; k < 2 * channels; k++) scratch[k] = 0.0f;
        for (int p = 0; p < positions; p++, xs += channels, ds += channels)
            for (int k = 0; k < channels; k++) {
                float v = xs[k] * scale[k] + shift[k], d = ds[k];   // d loaded unconditionally, so the select vectorises
                d = v > 0.0f ? d : 0.0f;
                a[k] += d;
                b[k] += d * (xs[k] - mean[k]) * inverse[k];
            }
        for (int k = 0; k < channels; k++) {
            first[k] += (double)a[k];
            second[k] += (double)b[k];
        }
    }
}

VECTORISED
void ck_batch_norm_relu_input_gradient(const float *restrict x, const float *restrict dy, long rows, int channels,
                                       const float *restrict scale, const float *restrict shift,
                                       const float *restrict mean, const float *restrict inverse,
                                       const float *restrict gain, const float *restrict mean_dy,
                                       const float *restrict mean_dy_xhat, float *restrict dx) {
    for (long r = 0; r < rows; r++, x += channels, dy += channels, dx += channels)
        for (int k = 0; k < channels; k++) {
            float v = x[k] * scale[k] + shift[k], d = dy[k];
            d = v > 0.0f ? d : 0.0f;
            float xhat = (x[k] - mean[k]) * inverse[k];
            dx[k] = gain[k] * (d - mean_dy[k] - xhat * mean_dy_xhat[k]);
        }
}

VECTORISED
void ck_add_relu(const float *restrict a, const float *restrict b, float *restrict y, long count) {
    for (long i = 0; i < count; i++) {
        float s = a[i] + b[i];
        y[i] = s > 0.0f ? s : 0.0f;
    }
}

VECTORISED
void ck_relu_backward_twice(const float *restrict y, const float *restrict dy, float *restrict dx0,
                            float *restrict dx1, long count) {
    for (long i = 0; i < count; i++) {
        float d = dy[i];
        d = y[i] > 0.0f ? d : 0.0f;
        dx0[i] = d;
        dx1[i] = d;
    }
}
