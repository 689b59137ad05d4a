#include "ckernels.h"
#include "kernel_paths.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>

// One generic product serves every entry point:
//   A's element (i, p) is a[i * ars + p * aps]: (lda, 1) for A, (1, lda) for A stored transposed;
//   the result goes to c (Float: init + product, optional ReLU) or, when cd is non-null, is added to
//   cd in Double (cd[i, j] += (double)product, the product computed from 0 in Float); with add, the
//   product, computed from 0, is added to c in Float (a scatter-add such as col2im's).
//   The sum over k runs as `runs` runs of run_k steps, A and B moving on a_run and b_run floats from
//   one run to the next: 1 run for a plain product; a direct convolution's sum runs over kernel rows
//   or output rows (direct_conv.c). Each element's fused multiply-adds form one chain in k order
//   whatever the runs, so the bits are those of one product over runs * run_k.
//
// The vector paths (matrix_body.h) compute every element by this same chain, a lane at a time.

void ck_block_portable(int rows, int n, int runs, int run_k, const float *a, long ars, long aps, long a_run,
                       const float *b, int ldb, long b_run, float *c, double *cd, int ldc, const float *bias,
                       int accumulate, int relu, int add) {
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < n; j++) {
            float *target = c + (long)i * ldc + j;
            float acc = cd || add ? 0.0f : bias ? bias[j] : accumulate ? *target : 0.0f;
            for (int s = 0; s < runs; s++) {
                const float *ai = a + i * ars + s * a_run, *bj = b + s * b_run + j;
                for (int p = 0; p < run_k; p++) acc = fmaf(ai[p * aps], bj[(long)p * ldb], acc);
            }
            if (cd) cd[(long)i * ldc + j] += (double)acc;
            else if (add) *target += acc;
            else *target = relu && !(acc > 0.0f) ? 0.0f : acc;
        }
}

void ck_gather_portable(int rows, int n, int k, int ky_count, int kx_count, const float *dy, long dy_ky,
                        const float *b, int ldb, long b_ky, long b_kx, float *dx, int ldc) {
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++) {
            float sum = 0.0f;
            for (int s = 0; s < ky_count; s++)
                for (int t = 0; t < kx_count; t++) {
                    const float *a = dy + s * dy_ky + (long)(r + t) * k, *bs = b + s * b_ky + t * b_kx + j;
                    float acc = 0.0f;
                    for (int p = 0; p < k; p++) acc = fmaf(a[p], bs[(long)p * ldb], acc);
                    sum += acc;
                }
            dx[(long)r * ldc + j] = sum;
        }
}

static void row_block_portable(int rows, int n, int runs, int run_k, const float *a, long ars, long aps, long a_run,
                               const float *b, int ldb, long b_run, float *c, double *cd, int ldc, const float *bias,
                               int relu, int add) {
    ck_block_portable(rows, n, runs, run_k, a, ars, aps, a_run, b, ldb, b_run, c, cd, ldc, bias, 0, relu, add);
}

// Which path the kernels take: the best this CPU runs, unless CONVNET_KERNELS (read once) or
// ck_select_kernels names another. Every path gives the same bits.
enum path { PATH_PORTABLE, PATH_AVX2, PATH_AVX512, PATH_NEON, PATH_COUNT };
static const char *const path_names[] = {"portable", "avx2-fma", "avx512", "neon"};    // as reported
static const char *const path_selectors[] = {"portable", "avx2", "avx512", "neon"};    // as selected

// The vector path of `path`, or null for the portable one (or a path not built for this architecture).
static const struct ck_vector_path *vector_path(int path) {
#if defined(__x86_64__)
    if (path == PATH_AVX512) return &ck_path_avx512;
    if (path == PATH_AVX2) return &ck_path_avx2;
#endif
#if defined(__aarch64__)
    if (path == PATH_NEON) return &ck_path_neon;   // NEON is part of every aarch64 CPU
#endif
    return 0;
}

static int path_available(int path) {
    if (path == PATH_PORTABLE) return 1;
    if (!vector_path(path)) return 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (path == PATH_AVX512) return __builtin_cpu_supports("avx512f");
    if (path == PATH_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return 1;
}

static int best_path(void) {
    static const int preference[] = {PATH_AVX512, PATH_AVX2, PATH_NEON};
    for (int i = 0; i < 3; i++)
        if (path_available(preference[i])) return preference[i];
    return PATH_PORTABLE;
}

// Read by every worker thread: atomic, so a first use from two threads at once is not a data race.
static _Atomic int selected = -1;

int ck_select_kernels(const char *name) {
    int wanted = -1;
    if (!name || !*name || !strcmp(name, "best")) wanted = best_path();
    for (int path = 0; path < PATH_COUNT && wanted < 0; path++)
        if (!strcmp(name, path_selectors[path])) wanted = path;
    if (wanted < 0 || !path_available(wanted)) return 0;   // unknown, or not on this CPU
    selected = wanted;
    return 1;
}

static int kernel_path(void) {
    if (selected < 0 && !ck_select_kernels(getenv("CONVNET_KERNELS"))) selected = best_path();
    return selected;
}

void ck_rowwise_gemm(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, const float *bias, int accumulate, int relu) {
    const struct ck_vector_path *path = vector_path(kernel_path());
    if (path) path->gemm(m, n, k, a, lda, b, ldb, c, ldc, bias, accumulate, relu);
    else ck_block_portable(m, n, 1, k, a, lda, 1, 0, b, ldb, 0, c, 0, ldc, bias, accumulate, relu, 0);
}

void ck_weight_gradient(int samples, int m, int n, int k, const float *a, int lda, long sample_stride_a,
                        const float *b, int ldb, long sample_stride_b, double *c, int ldc) {
    const struct ck_vector_path *path = vector_path(kernel_path());
    if (path) {
        path->weight_gradient(samples, m, n, k, a, lda, sample_stride_a, b, ldb, sample_stride_b, c, ldc);
        return;
    }
    // A read transposed, the product added to c. The Float destination gets c's address only so
    // that no offset is ever computed from a null pointer; it is never read or written.
    for (int s = 0; s < samples; s++)
        ck_block_portable(m, n, 1, k, a + s * sample_stride_a, 1, lda, 0, b + s * sample_stride_b, ldb, 0,
                          (float *)c, c, ldc, 0, 0, 0, 0);
}

void ck_winograd_products(int count, int c, int k, const float *v, long v_row, const float *u, float *m, long m_row) {
    const struct ck_vector_path *path = vector_path(kernel_path());
    if (path) {
        path->winograd_products(count, c, k, v, v_row, u, m, m_row);
        return;
    }
    for (int e = 0; e < 16; e++)
        ck_block_portable(count, k, 1, c, v + e * c, v_row, 1, 0, u + (long)e * c * k, k, 0, m + e * k, 0, (int)m_row,
                          0, 0, 0, 0);
}

void ck_winograd_gradient_products(int count, int c, int k, const float *v, long v_row, const float *w, long w_row,
                                   float *du, long du_step, int add) {
    const struct ck_vector_path *path = vector_path(kernel_path());
    if (path) {
        path->winograd_gradient_products(count, c, k, v, v_row, w, w_row, du, du_step, add);
        return;
    }
    for (int e = 0; e < 16; e++)
        ck_block_portable(c, k, 1, count, v + e * c, 1, v_row, 0, w + e * k, (int)w_row, 0, du + e * du_step, 0, k, 0, 0, 0, add);
}

struct ck_row_blocks ck_row_blocks(void) {
    const struct ck_vector_path *path = vector_path(kernel_path());
    return path ? path->row_blocks : (struct ck_row_blocks){row_block_portable, 8};
}

struct ck_gather ck_gather_blocks(void) {
    const struct ck_vector_path *path = vector_path(kernel_path());
    return path ? path->gather : (struct ck_gather){ck_gather_portable, 8};
}

const char *ck_rowwise_gemm_path(void) { return path_names[kernel_path()]; }

const char *ck_best_kernels(void) { return path_names[best_path()]; }
