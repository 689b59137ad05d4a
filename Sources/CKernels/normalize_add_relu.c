#include "ckernels.h"
#include "vectorised.h"

// A residual block's end, batch norm(s) -> add -> ReLU, in one pass each way (see ckernels.h). Each
// element sees the operations of the separate passes in their order (no contraction:
// -ffp-contract=off): the normalize of ck_batch_norm_forward, the add in input order, the ReLU; backward
// the ReLU's mask `y > 0` and ck_batch_norm_sums' per-sample Float sums added in Double. So no bit changes.

VECTORISED
void ck_normalize_add_relu(const float *restrict a, const float *restrict a_scale, const float *restrict a_shift,
                           const float *restrict b, const float *restrict b_scale, const float *restrict b_shift,
                           long rows, int channels, float *restrict y) {
    if (a_scale && b_scale) {
        for (long r = 0; r < rows; r++, a += channels, b += channels, y += channels)
            for (int k = 0; k < channels; k++) {
                float u = a[k] * a_scale[k] + a_shift[k], v = b[k] * b_scale[k] + b_shift[k];
                float s = u + v;
                y[k] = s > 0.0f ? s : 0.0f;
            }
    } else if (a_scale) {
        for (long r = 0; r < rows; r++, a += channels, b += channels, y += channels)
            for (int k = 0; k < channels; k++) {
                float u = a[k] * a_scale[k] + a_shift[k];
                float s = u + b[k];
                y[k] = s > 0.0f ? s : 0.0f;
            }
    } else if (b_scale) {
        for (long r = 0; r < rows; r++, a += channels, b += channels, y += channels)
            for (int k = 0; k < channels; k++) {
                float v = b[k] * b_scale[k] + b_shift[k];
                float s = a[k] + v;
                y[k] = s > 0.0f ? s : 0.0f;
            }
    } else {
        ck_add_relu(a, b, y, rows * channels);
    }
}

VECTORISED
void ck_add_relu_backward_sums(const float *restrict y, const float *restrict dy, float *restrict da,
                               float *restrict db, const float *restrict x0, const float *restrict mean0,
                               const float *restrict inverse0, double *restrict first0, double *restrict second0,
                               const float *restrict x1, const float *restrict mean1, const float *restrict inverse1,
                               double *restrict first1, double *restrict second1, int samples, int positions,
                               int channels, float *restrict scratch) {
    long image = (long)positions * channels;
    float *restrict s0 = scratch, *restrict q0 = scratch + channels;
    float *restrict s1 = scratch + 2 * channels, *restrict q1 = scratch + 3 * channels;
    for (int n = 0; n < samples; n++) {
        long start = n * image;
        const float *restrict ys = y + start, *restrict ds = dy + start, *restrict xs0 = x0 + start;
        float *restrict as = da + start, *restrict bs = db + start;
        for (int k = 0; k < 4 * channels; k++) scratch[k] = 0.0f;
        if (x1) {
            const float *restrict xs1 = x1 + start;
            for (int p = 0; p < positions; p++, ys += channels, ds += channels, xs0 += channels, xs1 += channels,
                     as += channels, bs += channels)
                for (int k = 0; k < channels; k++) {
                    float d = ds[k];   // loaded unconditionally, so the select vectorises
                    d = ys[k] > 0.0f ? d : 0.0f;
                    as[k] = d;
                    bs[k] = d;
                    s0[k] += d;
                    q0[k] += d * (xs0[k] - mean0[k]) * inverse0[k];
                    s1[k] += d;
                    q1[k] += d * (xs1[k] - mean1[k]) * inverse1[k];
                }
        } else {
            for (int p = 0; p < positions; p++, ys += channels, ds += channels, xs0 += channels, as += channels,
                     bs += channels)
                for (int k = 0; k < channels; k++) {
                    float d = ds[k];
                    d = ys[k] > 0.0f ? d : 0.0f;
                    as[k] = d;
                    bs[k] = d;
                    s0[k] += d;
                    q0[k] += d * (xs0[k] - mean0[k]) * inverse0[k];
                }
        }
        for (int k = 0; k < channels; k++) {
            first0[k] += (double)s0[k];
            second0[k] += (double)q0[k];
        }
        if (x1)
            for (int k = 0; k < channels; k++) {
                first1[k] += (double)s1[k];
                second1[k] += (double)q1[k];
            }
    }
}
