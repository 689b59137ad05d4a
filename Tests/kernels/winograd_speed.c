// Winograd F(2x2, 3x3) against the direct convolution on one thread, for a same-padded HxWxC -> C layer:
//   clang -O3 -ffp-contract=off -fno-math-errno -ISources/CKernels/include Sources/CKernels/*.c \
//         Tests/kernels/winograd_speed.c -lm -o /tmp/winograd_speed && /tmp/winograd_speed 32 16 64 [TRIALS]
// (size, channels, batch): best-of-TRIALS ms of the Winograd forward pass, its input gradient, the direct
// path's kernel gradient (on the zero-padded input), the direct forward pass on the padded input and
// the Winograd kernel gradient.
#include "ckernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static float *rnd(long n) { float *p = malloc(n * 4); for (long i = 0; i < n; i++) p[i] = (float)rand() / RAND_MAX - 0.5f; return p; }
int main(int argc, char **argv) {
    int hw = atoi(argv[1]), c = atoi(argv[2]), batch = atoi(argv[3]), reps = argc > 4 ? atoi(argv[4]) : 5;
    int f = c;
    float *x = rnd((long)batch * hw * hw * c), *dy = rnd((long)batch * hw * hw * f), *k = rnd(9L * c * f);
    float *y = rnd((long)batch * hw * hw * f), *dx = rnd((long)batch * hw * hw * c);
    float *u = malloc(32L * c * f * 4);
    ck_winograd_kernel(k, c, f, 0, u); ck_winograd_kernel(k, c, f, 1, u + 16L * c * f);
    long sc = ck_winograd_scratch(c, f), sg = ck_winograd_kernel_gradient_scratch(c, f), pad = (long)batch * (hw + 2) * (hw + 2) * c;
    float *scratch = malloc((sc > pad ? sc : pad) * 4), *gscratch = malloc(sg * 4);
    double *dk = calloc(9L * c * f, 8);
    struct ck_winograd v = {batch, hw, hw, c, 1, hw, hw, f}, vb = {batch, hw, hw, f, 1, hw, hw, c};
    struct ck_conv cv = {batch, hw + 2, hw + 2, c, 3, 3, f};
    double best[5] = {1e9, 1e9, 1e9, 1e9, 1e9};
    for (int r = 0; r < reps; r++) {
        double t0 = now(); ck_winograd_conv(&v, x, u, 0, 0, y, scratch);
        double t1 = now(); ck_winograd_conv(&vb, dy, u + 16L * c * f, 0, 0, dx, scratch);
        double t2 = now(); ck_pad_images(x, batch, hw, hw, c, 1, 1, 1, 1, scratch); ck_conv_weight_gradient(&cv, scratch, dy, dk);
        double t3 = now();
        ck_pad_images(x, batch, hw, hw, c, 1, 1, 1, 1, scratch);
        double t4 = now();
        // direct forward on the padded input (valid): the direct path's multiplies
        struct ck_conv cf = {batch, hw + 2, hw + 2, c, 3, 3, f};
        ck_conv_forward(&cf, scratch, k, 0, 0, y);
        double t5 = now();
        ck_winograd_kernel_gradient(&v, x, dy, dk, gscratch);
        double t6 = now();
        double d[5] = {t1 - t0, t2 - t1, t3 - t2, t5 - t4, t6 - t5};
        for (int i = 0; i < 5; i++) if (d[i] < best[i]) best[i] = d[i];
    }
    double flop = 2.0 * batch * hw * hw * 9 * c * f;
    printf("%dx%dx%d batch %d: winograd fwd %.2f ms (%.1f eff GFLOP/s), wino dx %.2f ms, direct dK %.2f ms (%.1f GFLOP/s), direct fwd(padded) %.2f ms (%.1f), wino dK %.2f ms\n",
           hw, hw, c, batch, 1e3 * best[0], flop / best[0] / 1e9, 1e3 * best[1], 1e3 * best[2], flop / best[2] / 1e9, 1e3 * best[3], flop / best[3] / 1e9, 1e3 * best[4]);
}
