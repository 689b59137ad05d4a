// A direct convolution's input gradient gathered per pixel (ck_gather_fn, kernel_paths.h) on vectors
// of any width (vector_width.h), included once per width by kernels_<width>.c.
//
// Each window element's contribution to a pixel is its own fused multiply-add chain from 0 over the
// filters, in filter order, one lane of one vector, and the pixel's sum adds the contributions to +0 in
// the order given, in Float: the portable path's arithmetic (ck_gather_portable), so every width gives
// its bits. The sum stays in a register from the first contribution to the last, instead of being read
// and written back once per window element.
//
// Independent chains hide the multiply-add's latency: a block runs its pixels' chains side by side (up
// to ROWS pixels by one vector of channels, or ROWS / 2 by two: chains and sums fill the registers); a
// lone pixel (a row's border, which lacks some window columns) runs its window columns' chains side by
// side instead, up to 3 at a time.

// Pixels r < rows by `halves` vectors of channels (both constants at each call, so the arrays stay in
// registers); the last vector's lanes are `mask`.
VECTOR_INLINE void gather_rows(int halves, int rows, int k, int ky_count, int kx_count, const float *dy, long dy_ky,
                               const float *b, int ldb, long b_ky, long b_kx, float *dx, int ldc, vmask mask) {
    vf sum[ROWS][2], acc[ROWS][2];
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++) sum[r][h] = vf_zero();
    for (int s = 0; s < ky_count; s++)
        for (int t = 0; t < kx_count; t++) {
            const float *a = dy + s * dy_ky + (long)t * k, *bs = b + s * b_ky + t * b_kx;
            for (int r = 0; r < rows; r++)
                for (int h = 0; h < halves; h++) acc[r][h] = vf_zero();
            for (int p = 0; p < k; p++) {
                vf bp[2];
                for (int h = 0; h < halves; h++) bp[h] = vf_load(bs + (long)p * ldb + VW * h, h == halves - 1 ? mask : VMASK_ALL);
                for (int r = 0; r < rows; r++) {
                    vf x = vf_splat(a[(long)r * k + p]);
                    for (int h = 0; h < halves; h++) acc[r][h] = vf_fma(x, bp[h], acc[r][h]);
                }
            }
            for (int r = 0; r < rows; r++)
                for (int h = 0; h < halves; h++) sum[r][h] = vf_add(sum[r][h], acc[r][h]);
        }
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++) vf_store(dx + (long)r * ldc + VW * h, h == halves - 1 ? mask : VMASK_ALL, sum[r][h]);
}

// Window columns t0 .. t0 + columns - 1 of one window row for one pixel, their chains side by side,
// added to sum in t order (columns a constant at each call).
VECTOR_INLINE void gather_columns(int halves, int columns, int k, const float *a, const float *b, int ldb, long b_kx,
                                  vmask mask, vf sum[2]) {
    vf acc[3][2];
    for (int t = 0; t < columns; t++)
        for (int h = 0; h < halves; h++) acc[t][h] = vf_zero();
    for (int p = 0; p < k; p++)
        for (int t = 0; t < columns; t++) {
            vf x = vf_splat(a[(long)t * k + p]);
            for (int h = 0; h < halves; h++)
                acc[t][h] = vf_fma(x, vf_load(b + t * b_kx + (long)p * ldb + VW * h, h == halves - 1 ? mask : VMASK_ALL), acc[t][h]);
        }
    for (int t = 0; t < columns; t++)
        for (int h = 0; h < halves; h++) sum[h] = vf_add(sum[h], acc[t][h]);
}

VECTOR_INLINE void gather_pixel(int halves, int k, int ky_count, int kx_count, const float *dy, long dy_ky,
                                const float *b, int ldb, long b_ky, long b_kx, float *dx, vmask mask) {
    vf sum[2] = {vf_zero(), vf_zero()};
    for (int s = 0; s < ky_count; s++)
        for (int t = 0; t < kx_count; t += 3) {
            const float *a = dy + s * dy_ky + (long)t * k, *bs = b + s * b_ky + t * b_kx;
            int columns = kx_count - t < 3 ? kx_count - t : 3;
            if (columns == 3) gather_columns(halves, 3, k, a, bs, ldb, b_kx, mask, sum);
            else if (columns == 2) gather_columns(halves, 2, k, a, bs, ldb, b_kx, mask, sum);
            else gather_columns(halves, 1, k, a, bs, ldb, b_kx, mask, sum);
        }
    for (int h = 0; h < halves; h++) vf_store(dx + VW * h, h == halves - 1 ? mask : VMASK_ALL, sum[h]);
}

// `rows` pixels (up to ROWS) by `halves` vectors of channels: a lone pixel, or blocks of equal size.
VECTOR_INLINE void gather_panel(int halves, int rows, int k, int ky_count, int kx_count, const float *dy, long dy_ky,
                                const float *b, int ldb, long b_ky, long b_kx, float *dx, int ldc, vmask mask) {
    if (rows == 1) return gather_pixel(halves, k, ky_count, kx_count, dy, dy_ky, b, ldb, b_ky, b_kx, dx, mask);
    int most = ROWS / halves, blocks = (rows + most - 1) / most;
    for (int done = 0, i = 0; i < blocks; i++) {
        int count = (rows - done) / (blocks - i);
        const float *a = dy + (long)done * k;
        float *out = dx + (long)done * ldc;
        switch (count) {
#define GATHER_CASE(r) case r: gather_rows(halves, r, k, ky_count, kx_count, a, dy_ky, b, ldb, b_ky, b_kx, out, ldc, mask); break;
        GATHER_CASE(1) GATHER_CASE(2) GATHER_CASE(3) GATHER_CASE(4) GATHER_CASE(5) GATHER_CASE(6)
#if ROWS > 6
        GATHER_CASE(7) GATHER_CASE(8) GATHER_CASE(9) GATHER_CASE(10) GATHER_CASE(11) GATHER_CASE(12)
#endif
#undef GATHER_CASE
        }
        done += count;
    }
}

// Two vectors of channels at a time, then one; a tail narrower than a vector in masked lanes or on the
// portable code.
static void gather_block(int rows, int n, int k, int ky_count, int kx_count, const float *dy, long dy_ky,
                         const float *b, int ldb, long b_ky, long b_kx, float *dx, int ldc) {
    int j = 0;
    for (; j + 2 * VW <= n; j += 2 * VW)
        gather_panel(2, rows, k, ky_count, kx_count, dy, dy_ky, b + j, ldb, b_ky, b_kx, dx + j, ldc, VMASK_ALL);
    for (; j + VW <= n; j += VW)
        gather_panel(1, rows, k, ky_count, kx_count, dy, dy_ky, b + j, ldb, b_ky, b_kx, dx + j, ldc, VMASK_ALL);
    if (j == n) return;
#if MASKED_TAILS
    gather_panel(1, rows, k, ky_count, kx_count, dy, dy_ky, b + j, ldb, b_ky, b_kx, dx + j, ldc, vmask_first(n - j));
#else
    ck_gather_portable(rows, n - j, k, ky_count, kx_count, dy, dy_ky, b + j, ldb, b_ky, b_kx, dx + j, ldc);
#endif
}
