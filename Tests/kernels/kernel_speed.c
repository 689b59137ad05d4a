// Times the matrix kernels on the reference model's shapes (configs/mnist.toml, 32 samples: one
// thread's share of a batch of 64 on 2 threads), one thread, the best of TRIALS (default 7), for
// docs/performance.md's figures:
//   clang -O3 -ffp-contract=off -fno-math-errno -ISources/CKernels/include Sources/CKernels/*.c \
//         Tests/kernels/kernel_speed.c -lm -o /tmp/kernel_speed && /tmp/kernel_speed avx2 [TRIALS]
// To compare two versions of the kernels, build it once against each (e.g. a `git worktree` of the
// older commit) and run the two alternately.
#include "ckernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

// Uniform in [-0.5, 0.5), zero_percent of them 0 (ReLU outputs).
static float *random_floats(long count, int zero_percent) {
    float *p = malloc(sizeof(float) * (size_t)count);
    for (long i = 0; i < count; i++) p[i] = rand() % 100 < zero_percent ? 0.0f : (float)rand() / 2147483648.0f - 0.5f;
    return p;
}

static int trials = 7;

#define TIME(label, repeats, statement)                                                     \
    do {                                                                                    \
        double best = 1e9;                                                                  \
        for (int trial = 0; trial < trials; trial++) {                                      \
            double start = now();                                                           \
            for (int r = 0; r < (repeats); r++) { statement; }                              \
            double each = (now() - start) / (repeats);                                      \
            if (each < best) best = each;                                                   \
        }                                                                                   \
        printf("%-30s %9.1f us\n", label, best * 1e6);                                      \
    } while (0)

int main(int argc, char **argv) {
    if (argc > 1 && !ck_select_kernels(argv[1])) {
        fprintf(stderr, "kernel_speed: path '%s' is unknown or not on this CPU\n", argv[1]);
        return 1;
    }
    if (argc > 2) trials = atoi(argv[2]) > 0 ? atoi(argv[2]) : 7;
    printf("path %s\n", ck_rowwise_gemm_path());
    enum { S = 32 };
    struct ck_conv conv1 = {S, 28, 28, 1, 3, 3, 32}, conv2 = {S, 13, 13, 32, 3, 3, 64};
    float *x1 = random_floats(S * 28 * 28, 0), *k1 = random_floats(9 * 32, 0), *bias = random_floats(64, 0);
    float *y1 = random_floats(S * 26 * 26 * 32, 30);
    float *x2 = random_floats(S * 13 * 13 * 32, 50), *k2 = random_floats(9 * 32 * 64, 0);
    float *y2 = random_floats(S * 11 * 11 * 64, 30), *dx2 = random_floats(S * 13 * 13 * 32, 0);
    double *dk = calloc(9 * 32 * 64, sizeof(double));
    TIME("conv1 forward", 5, ck_conv_forward(&conv1, x1, k1, bias, 1, y1));
    TIME("conv1 weight gradient", 5, ck_conv_weight_gradient(&conv1, x1, y1, dk));
    TIME("conv2 forward", 5, ck_conv_forward(&conv2, x2, k2, bias, 1, y2));
    TIME("conv2 weight gradient", 5, ck_conv_weight_gradient(&conv2, x2, y2, dk));
    TIME("conv2 input gradient", 5, ck_conv_input_gradient(&conv2, y2, k2, dx2));
    // conv3 through im2col: 9 positions of a 3 x 3 x 64 window per sample.
    float *col3 = random_floats(S * 9 * 576, 50), *dy3 = random_floats(S * 9 * 64, 30);
    float *w3 = random_floats(576 * 64, 0), *y3 = random_floats(S * 9 * 64, 0);
    double *dw = calloc(576 * 64, sizeof(double));
    TIME("conv3 forward", 5, ck_rowwise_gemm(S * 9, 64, 576, col3, 576, w3, 64, y3, 64, bias, 0, 1));
    TIME("conv3 weight gradient (k 9)", 5, ck_weight_gradient(S, 576, 64, 9, col3, 576, 9 * 576, dy3, 64, 9 * 64, dw, 64));
    // dense_1 (576 -> 64, 60% of its inputs 0 after ReLU) and dense_2 (64 -> 10).
    float *x4 = random_floats(S * 576, 60), *dz4 = random_floats(S * 64, 0), *y4 = random_floats(S * 64, 0);
    float *x5 = random_floats(S * 64, 50), *dz5 = random_floats(S * 10, 0);
    TIME("dense_1 forward", 20, ck_rowwise_gemm(S, 64, 576, x4, 576, w3, 64, y4, 64, bias, 0, 1));
    TIME("dense_1 weight gradient (k 1)", 20, ck_weight_gradient(S, 576, 64, 1, x4, 576, 576, dz4, 64, 64, dw, 64));
    TIME("dense_2 weight gradient (k 1)", 20, ck_weight_gradient(S, 64, 10, 1, x5, 64, 64, dz5, 10, 10, dw, 10));
    float *m = random_floats(576 * 64, 0), *t = random_floats(576 * 64, 0);
    TIME("transpose 576 x 64", 20, ck_transpose(m, 576, 64, t));
    return 0;
}
