#include "ckernels.h"
#include "vectorised.h"

// A residual block's end, batch norm(s) -> add -> ReLU, in one pass each way (see ckernels.h). Each
// element sees the operations of the separate passes in their order (no contraction:
// -ffp-contract=off): the normalize of ck_batch_norm_forward, the add in input order, the ReLU; backward
// the ReLU's mask `y > 0` and ck_batch_norm_sums' per-sample Float sums added in Double. So no bit changes.

// Inlined with the two flags constant, so each case compiles to its own loop without a branch in it.
static inline __attribute__((always_inline)) void
normalize_add_relu(const float *restrict a, const float *restrict a_scale, const float *restrict a_shift,
                   const float *restrict b, const float *restrict b_scale, const float *restrict b_shift,
                   long rows, int channels, float *restrict y, int normalize_a, int normalize_b) {
    for (long r = 0; r < rows; r++, a += channels, b += channels, y += channels)
        for (int k = 0; k < channels; k++) {
            float u = normalize_a ? a[k] * a_scale[k] + a_shift[k] : a[k];
            float v = normalize_b ? b[k] * b_scale[k] + b_shift[k] : b[k];
            float s = u + v;
            y[k] = s > 0.0f ? s : 0.0f;
        }
}

VECTORISED
void ck_normalize_add_relu(const float *restrict a, const float *restrict a_scale, const float *restrict a_shift,
                           const float *restrict b, const float *restrict b_scale, const float *restrict b_shift,
                           long rows, int channels, float *restrict y) {
    if (a_scale && b_scale)
        normalize_add_relu(a, a_scale, a_shift, b, b_scale, b_shift, rows, channels, y, 1, 1);
    else if (a_scale)
        normalize_add_relu(a, a_scale, a_shift, b, b_scale, b_shift, rows, channels, y, 1, 0);
    else if (b_scale)
        normalize_add_relu(a, a_scale, a_shift, b, b_scale, b_shift, rows, channels, y, 0, 1);
    else
        ck_add_relu(a, b, y, rows * channels);
}

// One sample's positions: the ReLU's mask to both inputs' gradients and the per-sample Float sums of the
// batch norm(s) below (`two`: both inputs normalized). Inlined with `two` constant, as above.
static inline __attribute__((always_inline)) void
add_relu_backward_sample(const float *restrict ys, const float *restrict ds, float *restrict as, float *restrict bs,
                         const float *restrict xs0, const float *restrict mean0, const float *restrict inverse0,
                         const float *restrict xs1, const float *restrict mean1, const float *restrict inverse1,
                         int positions, int channels, float *restrict s0, float *restrict q0, float *restrict s1,
                         float *restrict q1, int two) {
    for (int p = 0; p < positions; p++, ys += channels, ds += channels, xs0 += channels, as += channels,
             bs += channels, xs1 += two ? channels : 0)
        for (int k = 0; k < channels; k++) {
            float d = ds[k];   // loaded unconditionally, so the select vectorises
            d = ys[k] > 0.0f ? d : 0.0f;
            as[k] = d;
            bs[k] = d;
            s0[k] += d;
            q0[k] += d * (xs0[k] - mean0[k]) * inverse0[k];
            if (two) {
                s1[k] += d;
                q1[k] += d * (xs1[k] - mean1[k]) * inverse1[k];
            }
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
        for (int k = 0; k < channels; k++) s0[k] = q0[k] = s1[k] = q1[k] = 0.0f;
        if (x1)
            add_relu_backward_sample(y + start, dy + start, da + start, db + start, x0 + start, mean0, inverse0,
                                     x1 + start, mean1, inverse1, positions, channels, s0, q0, s1, q1, 1);
        else
            add_relu_backward_sample(y + start, dy + start, da + start, db + start, x0 + start, mean0, inverse0,
                                     x0, mean0, inverse0, positions, channels, s0, q0, s1, q1, 0);
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
