#include "ckernels.h"
#include "vectorised.h"
#include "batch_norm_sums.h"

// Batch normalisation's passes over NHWC x[rows, channels] (rows = samples * positions), each element
// with the arithmetic BatchNorm.swift states, in that order (no contraction: -ffp-contract=off), so
// vectorising across channels changes no bit.

VECTORISED
void ck_batch_norm_forward(const float *restrict x, long rows, int channels, const float *restrict scale,
                           const float *restrict shift, float *restrict y) {
    for (long r = 0; r < rows; r++, x += channels, y += channels)
        for (int k = 0; k < channels; k++) y[k] = x[k] * scale[k] + shift[k];
}

VECTORISED
void ck_batch_norm_sums(const float *restrict x, const float *restrict dy, const float *restrict mean,
                        const float *restrict inverse, int samples, int positions, int channels,
                        float *restrict scratch, double *restrict first, double *restrict second) {
    if (channels % SUMS_CHANNELS == 0) {
        if (dy) batch_norm_blocked_sums(SUMS_OF_DY, x, dy, 0, 0, mean, inverse, samples, positions, channels, first, second);
        else batch_norm_blocked_sums(SUMS_OF_X, x, 0, 0, 0, 0, 0, samples, positions, channels, first, second);
        return;
    }
    long image = (long)positions * channels;
    for (int n = 0; n < samples; n++) {
        const float *restrict xs = x + n * image, *restrict ds = dy ? dy + n * image : 0;
        float *restrict a = scratch, *restrict b = scratch + channels;
        for (int k = 0; k < 2 * channels; k++) scratch[k] = 0.0f;
        if (ds) {
            for (int p = 0; p < positions; p++, xs += channels, ds += channels)
                for (int k = 0; k < channels; k++) {
                    a[k] += ds[k];
                    b[k] += ds[k] * (xs[k] - mean[k]) * inverse[k];
                }
        } else {
            for (int p = 0; p < positions; p++, xs += channels)
                for (int k = 0; k < channels; k++) {
                    a[k] += xs[k];
                    b[k] += xs[k] * xs[k];
                }
        }
        for (int k = 0; k < channels; k++) {
            first[k] += (double)a[k];
            second[k] += (double)b[k];
        }
    }
}

VECTORISED
void ck_batch_norm_input_gradient(const float *restrict x, const float *restrict dy, long rows, int channels,
                                  const float *restrict mean, const float *restrict inverse,
                                  const float *restrict gain, const float *restrict mean_dy,
                                  const float *restrict mean_dy_xhat, float *restrict dx) {
    for (long r = 0; r < rows; r++, x += channels, dy += channels, dx += channels)
        for (int k = 0; k < channels; k++) {
            float xhat = (x[k] - mean[k]) * inverse[k];
            dx[k] = gain[k] * (dy[k] - mean_dy[k] - xhat * mean_dy_xhat[k]);
        }
}
