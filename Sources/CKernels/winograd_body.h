// Winograd's 16 products of a block of tiles (winograd.c) on vectors of any width (vector_width.h),
// included once per width by kernels_<width>.c after matrix_body.h:
//   M[e][t, j] = sum over p < c of V[e][t, p] * U[e][p, j]   for e < 16, t < count, j < k,
// V[e][t, p] at v + t * v_row + e * c + p, U[e][p, j] at u + (e * c + p) * k + j, M[e][t, j] at
// m + t * m_row + e * k + j. Each element is one chain of fused multiply-adds from 0 in p order, as
// ck_rowwise_gemm's with no bias (the portable path's bits), whatever the blocking. The tiles go ROWS
// at a time through all 16 products, so a block's V rows are read from L1; the accumulators start at
// 0 and end in a plain store, with the channel count a constant for common layers.

// ROWS rows (or `rows`, a constant at each call) by VW * halves columns of one product: A[r, p] at
// a[r * ars + p * aps], B's row p at b + p * ldb; the sum stored, or (add) added to m in Float.
VECTOR_INLINE void tile_product_block(int halves, int rows, int depth, const float *a, long ars, long aps, const float *b,
                                      long ldb, float *m, long m_row, int add, vmask mask) {
    vf acc[ROWS][2];
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++) acc[r][h] = vf_zero();
    for (int p = 0; p < depth; p++) {
        vf bp[2];
        for (int h = 0; h < halves; h++) bp[h] = vf_load(b + p * ldb + VW * h, h == halves - 1 ? mask : VMASK_ALL);
        for (int r = 0; r < rows; r++) {
            vf x = vf_splat(a[r * ars + p * aps]);
            for (int h = 0; h < halves; h++) acc[r][h] = vf_fma(x, bp[h], acc[r][h]);
        }
    }
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++) {
            vmask mh = h == halves - 1 ? mask : VMASK_ALL;
            float *target = m + r * m_row + VW * h;
            vf_store(target, mh, add ? vf_add(vf_load(target, mh), acc[r][h]) : acc[r][h]);
        }
}

// Every column (n of them) of one product for `rows` rows (rows constant at the full blocks' call).
VECTOR_INLINE void tile_product_rows(int rows, int depth, const float *a, long ars, long aps, const float *b, long ldb, int n,
                                     float *m, long m_row, int add) {
    int j = 0;
    for (; j + 2 * VW <= n; j += 2 * VW) tile_product_block(2, rows, depth, a, ars, aps, b + j, ldb, m + j, m_row, add, VMASK_ALL);
    for (; j + VW <= n; j += VW) tile_product_block(1, rows, depth, a, ars, aps, b + j, ldb, m + j, m_row, add, VMASK_ALL);
    if (j == n) return;
#if MASKED_TAILS
    tile_product_block(1, rows, depth, a, ars, aps, b + j, ldb, m + j, m_row, add, vmask_first(n - j));
#else
    ck_block_portable(rows, n - j, 1, depth, a, ars, aps, 0, b + j, (int)ldb, 0, m + j, 0, (int)m_row, 0, 0, 0, add);
#endif
}

VECTOR_INLINE void tile_products_body(int count, int c, int k, const float *v, long v_row, const float *u, float *m,
                                      long m_row) {
    int t = 0;
    for (; t + ROWS <= count; t += ROWS)
        for (int e = 0; e < 16; e++)
            tile_product_rows(ROWS, c, v + t * v_row + e * c, v_row, 1, u + (long)e * c * k, k, k, m + t * m_row + e * k, m_row, 0);
    if (t == count) return;
    for (int e = 0; e < 16; e++) {
        const float *ve = v + t * v_row + e * c, *ue = u + (long)e * c * k;
        float *me = m + t * m_row + e * k;
        switch (count - t) {
#define ROWS_CASE(r) case r: tile_product_rows(r, c, ve, v_row, 1, ue, k, k, me, m_row, 0); break;
        ROWS_CASE(1) ROWS_CASE(2) ROWS_CASE(3) ROWS_CASE(4) ROWS_CASE(5)
#if ROWS > 6
        ROWS_CASE(6) ROWS_CASE(7) ROWS_CASE(8) ROWS_CASE(9) ROWS_CASE(10) ROWS_CASE(11)
#endif
#undef ROWS_CASE
        }
    }
}

// ck_winograd_products on this width: the common channel counts as constants, so the sums unroll.
static void tile_products(int count, int c, int k, const float *v, long v_row, const float *u, float *m, long m_row) {
    switch (c) {
    case 16: tile_products_body(count, 16, k, v, v_row, u, m, m_row); break;
    case 32: tile_products_body(count, 32, k, v, v_row, u, m, m_row); break;
    case 64: tile_products_body(count, 64, k, v, v_row, u, m, m_row); break;
    default: tile_products_body(count, c, k, v, v_row, u, m, m_row);
    }
}

// The kernel gradient's 16 products over a block of `count` tiles (winograd_kernel_gradient.c):
//   dU[e][r, j] (+)= sum over t < count of V[e][t, r] * W[e][t, j]   for r < c, j < k,
// V[e][t, r] at v + t * v_row + e * c + r, W[e][t, j] at w + t * w_row + e * k + j, dU[e][r, j] at
// du + e * du_step + r * k + j; each element one chain from 0 in tile order, stored or (add) added in
// Float: the bits of the row block with `add`.
VECTOR_INLINE void gradient_products_body(int count, int c, int k, const float *v, long v_row, const float *w, long w_row,
                                          float *du, long du_step, int add) {
    for (int e = 0; e < 16; e++) {
        int r = 0;
        for (; r + ROWS <= c; r += ROWS)
            tile_product_rows(ROWS, count, v + e * c + r, 1, v_row, w + e * k, w_row, k, du + e * du_step + (long)r * k, k, add);
        if (r == c) continue;
        const float *ve = v + e * c + r, *we = w + e * k;
        float *target = du + e * du_step + (long)r * k;
        switch (c - r) {
#define ROWS_CASE(n) case n: tile_product_rows(n, count, ve, 1, v_row, we, w_row, k, target, k, add); break;
        ROWS_CASE(1) ROWS_CASE(2) ROWS_CASE(3) ROWS_CASE(4) ROWS_CASE(5)
#if ROWS > 6
        ROWS_CASE(6) ROWS_CASE(7) ROWS_CASE(8) ROWS_CASE(9) ROWS_CASE(10) ROWS_CASE(11)
#endif
#undef ROWS_CASE
        }
    }
}

// ck_winograd_gradient_products on this width.
static void gradient_products(int count, int c, int k, const float *v, long v_row, const float *w, long w_row, float *du,
                              long du_step, int add) {
    gradient_products_body(count, c, k, v, v_row, w, w_row, du, du_step, add);
}
