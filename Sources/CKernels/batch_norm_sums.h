#ifndef CKERNELS_BATCH_NORM_SUMS_H
#define CKERNELS_BATCH_NORM_SUMS_H

// ck_batch_norm_sums and ck_batch_norm_relu_sums for channel counts that are multiples of 16, with
// the same operations in the same order per element: each channel's Float sum over a sample's
// positions runs in position order, and the samples' sums are added in Double in sample order. The
// generic loops keep the running sums in memory and wait on one add per position (a chain of
// latencies); here sixteen channels of up to four samples sum in independent chains (in registers
// on AVX-512; narrower vectors spill some of the 2 x 4 x 16 floats to L1, still without the chain).

enum { SUMS_CHANNELS = 16, SUMS_SAMPLES = 4 };
enum sums_kind { SUMS_OF_X, SUMS_OF_DY, SUMS_OF_RELU_DY };

// `group` (<= SUMS_SAMPLES) samples, `image` floats apart, of SUMS_CHANNELS channels: each sample's
// Float sums over its positions, added in sample order to first[0..16) and second[0..16).
__attribute__((always_inline)) static inline void
batch_norm_block_sums(enum sums_kind kind, int group, const float *restrict x, const float *restrict dy,
                      const float *restrict scale, const float *restrict shift, const float *restrict mean,
                      const float *restrict inverse, long image, int positions, int channels,
                      double *restrict first, double *restrict second) {
    float a[SUMS_SAMPLES][SUMS_CHANNELS] = {{0}}, b[SUMS_SAMPLES][SUMS_CHANNELS] = {{0}};
    for (long p = 0; p < (long)positions * channels; p += channels)
        for (int s = 0; s < group; s++) {
            const float *restrict xs = x + s * image + p, *restrict ds = dy ? dy + s * image + p : 0;
            for (int k = 0; k < SUMS_CHANNELS; k++) {
                if (kind == SUMS_OF_X) {
                    a[s][k] += xs[k];
                    b[s][k] += xs[k] * xs[k];
                } else {
                    float d = ds[k];
                    if (kind == SUMS_OF_RELU_DY) {
                        float v = xs[k] * scale[k] + shift[k];
                        d = v > 0.0f ? d : 0.0f;
                    }
                    a[s][k] += d;
                    b[s][k] += d * (xs[k] - mean[k]) * inverse[k];
                }
            }
        }
    for (int s = 0; s < group; s++)
        for (int k = 0; k < SUMS_CHANNELS; k++) {
            first[k] += (double)a[s][k];
            second[k] += (double)b[s][k];
        }
}

/// The sums of `samples` samples, `channels % SUMS_CHANNELS == 0`.
__attribute__((always_inline)) static inline void
batch_norm_blocked_sums(enum sums_kind kind, const float *restrict x, const float *restrict dy,
                        const float *restrict scale, const float *restrict shift, const float *restrict mean,
                        const float *restrict inverse, int samples, int positions, int channels,
                        double *restrict first, double *restrict second) {
    long image = (long)positions * channels;
    for (int n = 0; n < samples; n += SUMS_SAMPLES) {
        const float *xs = x + n * image, *ds = dy ? dy + n * image : 0;
        for (int c = 0; c < channels; c += SUMS_CHANNELS) {
            const float *sc = scale ? scale + c : 0, *sh = shift ? shift + c : 0;
            const float *mn = mean ? mean + c : 0, *iv = inverse ? inverse + c : 0;
            if (samples - n >= SUMS_SAMPLES)
                batch_norm_block_sums(kind, SUMS_SAMPLES, xs + c, ds ? ds + c : 0, sc, sh, mn, iv, image, positions,
                                      channels, first + c, second + c);
            else
                for (int s = n; s < samples; s++)
                    batch_norm_block_sums(kind, 1, xs + (s - n) * image + c, ds ? ds + (s - n) * image + c : 0, sc, sh,
                                          mn, iv, image, positions, channels, first + c, second + c);
        }
    }
}

#endif
