// The direct convolution's kernels on one thread for a same-padded 3x3 HxWxC -> C layer (ResNet-20's
// stages: 32 16, 16 32, 8 64), on the input padded by ck_pad_images:
//   clang -O3 -ffp-contract=off -fno-math-errno -ISources/CKernels/include Sources/CKernels/*.c \
//         Tests/kernels/direct_conv_speed.c -lm -o /tmp/direct_conv_speed && /tmp/direct_conv_speed 32 16 64 [TRIALS] [PATH]
// (size, channels, batch): best-of-TRIALS thread CPU time (so that other jobs on a shared machine count
// less) of the forward pass, the kernel gradient, and the input gradient two ways with the same bits:
// scattered into the padded input's gradient and cropped, and gathered per pixel of the unpadded input.
#include "ckernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static float *random_floats(long n) {
    float *p = malloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++) p[i] = (float)rand() / 2147483648.0f - 0.5f;
    return p;
}
int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: direct_conv_speed SIZE CHANNELS BATCH [TRIALS [PATH]]\n"); return 1; }
    int hw = atoi(argv[1]), c = atoi(argv[2]), batch = atoi(argv[3]), trials = argc > 4 ? atoi(argv[4]) : 10;
    if (argc > 5 && !ck_select_kernels(argv[5])) { fprintf(stderr, "unknown kernel path %s\n", argv[5]); return 1; }
    long image = (long)batch * hw * hw * c, padded = (long)batch * (hw + 2) * (hw + 2) * c;
    float *x = random_floats(image), *dy = random_floats(image), *kernel = random_floats(9L * c * c);
    float *y = malloc(sizeof(float) * (size_t)image), *dx = malloc(sizeof(float) * (size_t)image);
    float *p = malloc(sizeof(float) * (size_t)padded), *dp = malloc(sizeof(float) * (size_t)padded);
    double *dk = calloc(9L * c * c, sizeof(double));
    struct ck_conv v = {batch, hw + 2, hw + 2, c, 3, 3, c};
    ck_pad_images(x, batch, hw, hw, c, 1, 1, 1, 1, p);
    double best[4] = {1e9, 1e9, 1e9, 1e9};
    for (int r = 0; r < trials; r++) {
        double t0 = now(); ck_conv_forward(&v, p, kernel, 0, 0, y);
        double t1 = now(); ck_conv_weight_gradient(&v, p, dy, dk);
        double t2 = now(); ck_conv_input_gradient(&v, dy, kernel, dp); ck_crop_images(dp, batch, hw, hw, c, 1, 1, 1, 1, dx);
        double t3 = now(); ck_conv_input_gradient_window(&v, dy, kernel, 1, 1, hw, hw, dx);
        double t4 = now(), d[4] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3};
        for (int i = 0; i < 4; i++) if (d[i] < best[i]) best[i] = d[i];
    }
    double flop = 2.0 * batch * hw * hw * 9 * c * c;
    printf("%dx%dx%d batch %d (%s): forward %.2f ms (%.0f GFLOP/s), kernel gradient %.2f ms (%.0f), input gradient "
           "scattered + cropped %.2f ms (%.0f), gathered %.2f ms (%.0f)\n", hw, hw, c, batch, ck_rowwise_gemm_path(),
           1e3 * best[0], flop / best[0] / 1e9, 1e3 * best[1], flop / best[1] / 1e9, 1e3 * best[2], flop / best[2] / 1e9,
           1e3 * best[3], flop / best[3] / 1e9);
    return 0;
}
