// The direct convolution's kernels on one thread for any square window and stride (ResNet-20's stride-2
// 3x3 convolutions, 1x1 projections and stem), on the input padded by ck_pad_images when it is padded:
//   clang -O3 -ffp-contract=off -fno-math-errno -ISources/CKernels/include Sources/CKernels/*.c \
//         Tests/kernels/strided_conv_speed.c -lm -o /tmp/strided_conv_speed
//   /tmp/strided_conv_speed H W C WINDOW STRIDE FILTERS TOP BOTTOM LEFT RIGHT BATCH TRIALS [PATH]
// e.g. 32 32 16 3 2 32 0 1 0 1 64 10 (s2b1_conv1 on one thread's 64 samples). Best-of-TRIALS thread CPU
// time (so that other jobs on a shared machine count less) of the padding copy, the forward pass, the
// kernel gradient and the input gradient (gathered per pixel of the unpadded input when padded).
#include "ckernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static float *rf(long n) { float *p = malloc(sizeof(float) * (size_t)n); for (long i = 0; i < n; i++) p[i] = (float)rand() / 2147483648.0f - 0.5f; return p; }
int main(int argc, char **argv) {
    if (argc < 13) {
        fprintf(stderr, "usage: strided_conv_speed H W C WINDOW STRIDE FILTERS TOP BOTTOM LEFT RIGHT BATCH TRIALS [PATH]\n");
        return 1;
    }
    int h = atoi(argv[1]), w = atoi(argv[2]), c = atoi(argv[3]), k = atoi(argv[4]), s = atoi(argv[5]), f = atoi(argv[6]);
    int pt = atoi(argv[7]), pb = atoi(argv[8]), pl = atoi(argv[9]), pr = atoi(argv[10]), batch = atoi(argv[11]), trials = atoi(argv[12]);
    if (argc > 13 && !ck_select_kernels(argv[13])) { fprintf(stderr, "unknown kernel path %s\n", argv[13]); return 1; }
    int ph = h + pt + pb, pw = w + pl + pr, oh = (ph - k) / s + 1, ow = (pw - k) / s + 1;
    long xs = (long)batch * h * w * c, ps = (long)batch * ph * pw * c, ys = (long)batch * oh * ow * f, ks = (long)k * k * c * f;
    float *x = rf(xs), *dy = rf(ys), *kernel = rf(ks), *y = malloc(4 * ys), *dx = malloc(4 * xs), *p = malloc(4 * ps);
    double *dk = calloc(ks, 8);
    struct ck_conv v = {batch, ph, pw, c, k, k, f, s, s};
    int padded = pt + pb + pl + pr > 0;
    double best[4] = {1e9, 1e9, 1e9, 1e9};
    for (int r = 0; r < trials; r++) {
        double t0 = now(); if (padded) ck_pad_images(x, batch, h, w, c, pt, pb, pl, pr, p); else memcpy(p, x, 4 * xs);
        double t1 = now(); ck_conv_forward(&v, p, kernel, 0, 0, y);
        double t2 = now(); ck_conv_weight_gradient(&v, p, dy, dk);
        double t3 = now(); if (padded) ck_conv_input_gradient_strided(&v, dy, kernel, pt, pl, h, w, dx); else ck_conv_input_gradient(&v, dy, kernel, dx);
        double t4 = now(), d[4] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3};
        for (int i = 0; i < 4; i++) if (d[i] < best[i]) best[i] = d[i];
    }
    double flop = 2.0 * batch * oh * ow * k * k * c * f;
    printf("%dx%dx%d k%d s%d f%d batch %d (%s): pad %.2f ms, forward %.2f ms (%.0f GFLOP/s), kernel gradient %.2f ms (%.0f), input gradient %.2f ms (%.0f)\n",
           h, w, c, k, s, f, batch, ck_rowwise_gemm_path(), 1e3 * best[0], 1e3 * best[1], flop / best[1] / 1e9, 1e3 * best[2], flop / best[2] / 1e9,
           1e3 * best[3], flop / best[3] / 1e9);
    return 0;
}
