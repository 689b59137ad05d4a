// Winograd's 16 products of a block of tiles (winograd.c) on vectors of any width (vector_width.h),
// included once per width by kernels_<width>.c after matrix_body.h:
//   M[e][t, j] = sum over p < c of V[e][t, p] * U[e][p, j]   for e < 16, t < count, j < k,
// V[e][t, p] at v + t * v_row + e * c + p, U[e][p, j] at u + (e * c + p) * k + j, M[e][t, j] at
// m + t * m_row + e * k + j. Each element is one chain of fused multiply-adds from 0 in p order, as
// ck_rowwise_gemm's with no bias (the portable path's bits), whatever the blocking. The tiles go ROWS
// at a time through all 16 products, so a block's V rows are read from L1; the accumulators start at
// 0 and end in a plain store, with the channel count a constant for common layers.

// ROWS rows (or `rows`, a constant at each call) by VW * halves columns of one product.
VECTOR_INLINE void tile_product_block(int halves, int rows, int c, const float *v, long v_row, const float *u, int k,
                                      float *m, long m_row, vmask mask) {
    vf acc[ROWS][2];
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++) acc[r][h] = vf_zero();
    for (int p = 0; p < c; p++) {
        vf bp[2];
        for (int h = 0; h < halves; h++) bp[h] = vf_load(u + (long)p * k + VW * h, h == halves - 1 ? mask : VMASK_ALL);
        for (int r = 0; r < rows; r++) {
            vf x = vf_splat(v[r * v_row + p]);
            for (int h = 0; h < halves; h++) acc[r][h] = vf_fma(x, bp[h], acc[r][h]);
        }
    }
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++) vf_store(m + r * m_row + VW * h, h == halves - 1 ? mask : VMASK_ALL, acc[r][h]);
}

// Every column of one product for `rows` tiles (rows constant at the full blocks' call).
VECTOR_INLINE void tile_product_rows(int rows, int c, const float *v, long v_row, const float *u, int k, float *m,
                                     long m_row) {
    int j = 0;
    for (; j + 2 * VW <= k; j += 2 * VW) tile_product_block(2, rows, c, v, v_row, u + j, k, m + j, m_row, VMASK_ALL);
    for (; j + VW <= k; j += VW) tile_product_block(1, rows, c, v, v_row, u + j, k, m + j, m_row, VMASK_ALL);
    if (j == k) return;
#if MASKED_TAILS
    tile_product_block(1, rows, c, v, v_row, u + j, k, m + j, m_row, vmask_first(k - j));
#else
    ck_block_portable(rows, k - j, 1, c, v, v_row, 1, 0, u + j, k, 0, m + j, 0, (int)m_row, 0, 0, 0, 0);
#endif
}

VECTOR_INLINE void tile_products_body(int count, int c, int k, const float *v, long v_row, const float *u, float *m,
                                      long m_row) {
    int t = 0;
    for (; t + ROWS <= count; t += ROWS)
        for (int e = 0; e < 16; e++)
            tile_product_rows(ROWS, c, v + t * v_row + e * c, v_row, u + (long)e * c * k, k, m + t * m_row + e * k, m_row);
    if (t == count) return;
    for (int e = 0; e < 16; e++) {
        const float *ve = v + t * v_row + e * c, *ue = u + (long)e * c * k;
        float *me = m + t * m_row + e * k;
        switch (count - t) {
#define ROWS_CASE(r) case r: tile_product_rows(r, c, ve, v_row, ue, k, me, m_row); break;
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
