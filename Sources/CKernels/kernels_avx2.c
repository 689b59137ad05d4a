// The AVX2 path: the width-generic bodies on 8-float vectors, tails on the portable code.
#include "kernel_paths.h"
#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define CK_AVX2
#include "vector_width.h"
#include "outer_body.h"
#include "matrix_body.h"
#include "gather_body.h"
#include "winograd_body.h"
#pragma clang attribute pop

const struct ck_vector_path ck_path_avx2 = {gemm_plain, weight_gradient, {row_block, ROWS}, {gather_block, ROWS}, tile_products, gradient_products};
#endif
