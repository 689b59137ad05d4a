// The NEON path (every aarch64 CPU): the width-generic bodies on 4-float vectors, tails on the portable code.
#include "kernel_paths.h"
#if defined(__aarch64__)
#define CK_NEON
#include "vector_width.h"
#include "outer_body.h"
#include "matrix_body.h"
#include "gather_body.h"
#include "winograd_body.h"

const struct ck_vector_path ck_path_neon = {gemm_plain, weight_gradient, {row_block, ROWS}, {gather_block, ROWS}, tile_products, gradient_products};
#endif
