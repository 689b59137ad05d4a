// The AVX-512 path: the width-generic bodies on 16-float vectors, tails in masked lanes.
#include "kernel_paths.h"
#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx512f"))), apply_to = function)
#define CK_AVX512
#include "vector_width.h"
#include "outer_body.h"
#include "matrix_body.h"
#include "gather_body.h"
#include "winograd_body.h"
#pragma clang attribute pop

const struct ck_vector_path ck_path_avx512 = {gemm_plain, weight_gradient, {row_block, ROWS}, {gather_block, ROWS}, tile_products, gradient_products};
#endif
