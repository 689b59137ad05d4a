// The row-wise kernel and the weight gradients on vectors of any width (vector_width.h), included once
// per width by kernels_<width>.c. The contract and the generic product's parameters: kernel_paths.c.
//
// Every (row, column) accumulator starts from the portable path's initial value and goes through the
// same chain of fused multiply-adds over k, in k order, one lane of one vector; a lane's arithmetic
// does not depend on the vector width, its neighbours, the block's row count or its column count, so
// every width gives the portable path's bits. Blocks are up to ROWS rows by 2 * VW columns; a last
// panel narrower than VW columns takes masked lanes (MASKED_TAILS) or the portable code.

#if ROWS != 6 && ROWS != 12
#error "block_runs has a case for every partial row count of a 6- or 12-row block only"
#endif

// Initial value of a vector of accumulators.
VECTOR_INLINE vf start(const float *c, const double *cd, const float *bias, int accumulate, vmask mask) {
    return cd ? vf_zero() : bias ? vf_load(bias, mask) : accumulate ? vf_load(c, mask) : vf_zero();
}

// Writes a vector of accumulators: to c (with ReLU if asked), or added to cd in Double.
VECTOR_INLINE void finish(vf acc, float *c, double *cd, int relu, vmask mask) {
    if (cd) {
        for (int h = 0; h < 2; h++) vd_store(cd, mask, h, vd_add(vd_load(cd, mask, h), vf_half_to_vd(acc, h)));
    } else {
        vf_store(c, mask, relu ? vf_relu(acc) : acc);
    }
}

// acc[r][h] += sum over p of A[r, p] * B[p, VW h .. VW h + VW - 1], for r < rows and h < halves; the
// last half's lanes are `mask`.
VECTOR_INLINE void multiply_add(int halves, int rows, int k, const float *a, long ars, long aps, const float *b,
                                int ldb, vmask mask, vf acc[ROWS][2]) {
    for (int p = 0; p < k; p++) {
        vf bp[2];
        for (int h = 0; h < halves; h++) bp[h] = vf_load(b + (long)p * ldb + VW * h, h == halves - 1 ? mask : VMASK_ALL);
        for (int r = 0; r < rows; r++) {
            vf x = vf_splat(a[r * ars + p * aps]);
            for (int h = 0; h < halves; h++) acc[r][h] = vf_fma(x, bp[h], acc[r][h]);
        }
    }
}

// A block of up to ROWS rows and VW * halves columns (halves is 1 or 2, a constant at each call).
VECTOR_INLINE void block_runs(int halves, int rows, int runs, int run_k, const float *a, long ars, long aps, long a_run,
                              const float *b, int ldb, long b_run, float *c, double *cd, int ldc, const float *bias,
                              int accumulate, int relu, int add, vmask mask) {
    vf acc[ROWS][2];
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++)
            acc[r][h] = add ? vf_zero() : start(c + (long)r * ldc + VW * h, cd, bias ? bias + VW * h : 0, accumulate,
                                                h == halves - 1 ? mask : VMASK_ALL);
    // The row count is a constant at every call, so the row loop unrolls and acc stays in registers.
    // A full block keeps acc in registers from one run to the next (a conv weight gradient's runs are
    // output rows). Other row counts (short blocks: conv1's weight gradient has 9 rows, chunks leave
    // remainders) take a constant count per run and store acc between runs: kept in registers
    // across runs, clang spills a large partial block's accumulators inside its inner loop
    // (docs/performance.md, Kernels).
    if (rows == ROWS) {
        for (int s = 0; s < runs; s++) multiply_add(halves, ROWS, run_k, a + s * a_run, ars, aps, b + s * b_run, ldb, mask, acc);
    } else for (int s = 0; s < runs; s++) {
        const float *as = a + s * a_run, *bs = b + s * b_run;
        switch (rows) {
#define ROWS_CASE(r) case r: multiply_add(halves, r, run_k, as, ars, aps, bs, ldb, mask, acc); break;
        ROWS_CASE(1) ROWS_CASE(2) ROWS_CASE(3) ROWS_CASE(4) ROWS_CASE(5)
#if ROWS > 6
        ROWS_CASE(6) ROWS_CASE(7) ROWS_CASE(8) ROWS_CASE(9) ROWS_CASE(10) ROWS_CASE(11)
#endif
#undef ROWS_CASE
        }
    }
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++) {
            vmask m = h == halves - 1 ? mask : VMASK_ALL;
            float *target = c + (long)r * ldc + VW * h;
            if (add) vf_store(target, m, vf_add(vf_load(target, m), acc[r][h]));
            else finish(acc[r][h], target, cd ? cd + (long)r * ldc + VW * h : 0, relu, m);
        }
}

// Columns j .. j + VW * halves - 1 of the product, for every row block.
VECTOR_INLINE void column_panel(int halves, vmask mask, int j, int m, int k, const float *a, long ars, long aps,
                                const float *b, int ldb, float *c, double *cd, int ldc, const float *bias,
                                int accumulate, int relu) {
    for (int i = 0; i < m; i += ROWS) {
        int rows = m - i < ROWS ? m - i : ROWS;
        long offset = (long)i * ldc + j;
        block_runs(halves, rows, 1, k, a + i * ars, ars, aps, 0, b + j, ldb, 0, c + offset, cd ? cd + offset : 0, ldc,
                   bias ? bias + j : 0, accumulate, relu, 0, mask);
    }
}

// The whole product: 2 * VW columns at a time, then VW, then the last ones.
VECTOR_INLINE void gemm(int m, int n, int k, const float *a, long ars, long aps, const float *b, int ldb,
                        float *c, double *cd, int ldc, const float *bias, int accumulate, int relu) {
    int j = 0;
    for (; j + 2 * VW <= n; j += 2 * VW)
        column_panel(2, VMASK_ALL, j, m, k, a, ars, aps, b, ldb, c, cd, ldc, bias, accumulate, relu);
    for (; j + VW <= n; j += VW)
        column_panel(1, VMASK_ALL, j, m, k, a, ars, aps, b, ldb, c, cd, ldc, bias, accumulate, relu);
    if (j == n) return;
#if MASKED_TAILS
    column_panel(1, vmask_first(n - j), j, m, k, a, ars, aps, b, ldb, c, cd, ldc, bias, accumulate, relu);
#else
    ck_block_portable(m, n - j, 1, k, a, ars, aps, 0, b + j, ldb, 0, c + j, cd ? cd + j : 0, ldc, bias ? bias + j : 0,
                      accumulate, relu, 0);
#endif
}

// ck_rowwise_gemm: constant strides and destination, so the product compiles to straight-line code.
static void gemm_plain(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                       float *c, int ldc, const float *bias, int accumulate, int relu) {
    gemm(m, n, k, a, lda, 1, b, ldb, c, 0, ldc, bias, accumulate, relu);
}

// Every column of a block of `rows` rows (ck_row_block_fn).
static void row_block(int rows, int n, int runs, int run_k, const float *a, long ars, long aps, long a_run,
                      const float *b, int ldb, long b_run, float *c, double *cd, int ldc, const float *bias,
                      int relu, int add) {
    int j = 0;
    for (; j + 2 * VW <= n; j += 2 * VW)
        block_runs(2, rows, runs, run_k, a, ars, aps, a_run, b + j, ldb, b_run, c + j, cd ? cd + j : 0, ldc,
                   bias ? bias + j : 0, 0, relu, add, VMASK_ALL);
    for (; j + VW <= n; j += VW)
        block_runs(1, rows, runs, run_k, a, ars, aps, a_run, b + j, ldb, b_run, c + j, cd ? cd + j : 0, ldc,
                   bias ? bias + j : 0, 0, relu, add, VMASK_ALL);
    if (j == n) return;
#if MASKED_TAILS
    block_runs(1, rows, runs, run_k, a, ars, aps, a_run, b + j, ldb, b_run, c + j, cd ? cd + j : 0, ldc,
               bias ? bias + j : 0, 0, relu, add, vmask_first(n - j));
#else
    ck_block_portable(rows, n - j, runs, run_k, a, ars, aps, a_run, b + j, ldb, b_run, c + j, cd ? cd + j : 0, ldc,
                      bias ? bias + j : 0, 0, relu, add);
#endif
}

// Weight gradients with short sums (1 < k < 32: a last convolution's few positions): the Double
// traffic, not the multiply-adds, sets the pace, so each WG_ROWS-row block of c is held in Double
// registers across all samples: per sample, the Float product from 0 by the same FMA chain as above,
// then one Double add per element, in sample order (the same bits as adding each sample's product to
// c in turn). a is A stored transposed: A[r, p] = a[p * lda + r].
VECTOR_INLINE void weight_gradient_block(int halves, int rows, int samples, long sa, long sb, int k, const float *a, int lda,
                                         const float *b, int ldb, double *cd, int ldc, vmask mask) {
    vd sum[WG_ROWS][2][2];
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++)
            for (int d = 0; d < 2; d++)
                sum[r][h][d] = vd_load(cd + (long)r * ldc + VW * h, h == halves - 1 ? mask : VMASK_ALL, d);
    for (int s = 0; s < samples; s++) {
        const float *as = a + s * sa, *bs = b + s * sb;
        vf acc[WG_ROWS][2];
        for (int r = 0; r < rows; r++)
            for (int h = 0; h < halves; h++) acc[r][h] = vf_zero();
        for (int p = 0; p < k; p++) {
            vf bp[2];
            for (int h = 0; h < halves; h++)
                bp[h] = vf_load(bs + (long)p * ldb + VW * h, h == halves - 1 ? mask : VMASK_ALL);
            for (int r = 0; r < rows; r++) {
                vf x = vf_splat(as[(long)p * lda + r]);
                for (int h = 0; h < halves; h++) acc[r][h] = vf_fma(x, bp[h], acc[r][h]);
            }
        }
        for (int r = 0; r < rows; r++)
            for (int h = 0; h < halves; h++)
                for (int d = 0; d < 2; d++) sum[r][h][d] = vd_add(sum[r][h][d], vf_half_to_vd(acc[r][h], d));
    }
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++)
            for (int d = 0; d < 2; d++)
                vd_store(cd + (long)r * ldc + VW * h, h == halves - 1 ? mask : VMASK_ALL, d, sum[r][h][d]);
}

static void weight_gradient_short(int samples, int m, int n, int k, const float *a, int lda, long sa,
                                  const float *b, int ldb, long sb, double *cd, int ldc) {
    int vector_columns = MASKED_TAILS ? n : n / VW * VW;
    for (int i = 0; i < m; i += WG_ROWS) {
        int rows = m - i < WG_ROWS ? m - i : WG_ROWS, j = 0;
        double *target = cd + (long)i * ldc;
        for (; j + 2 * VW <= vector_columns; j += 2 * VW) {
            if (rows == WG_ROWS)   // a constant row count for full blocks
                weight_gradient_block(2, WG_ROWS, samples, sa, sb, k, a + i, lda, b + j, ldb, target + j, ldc, VMASK_ALL);
            else weight_gradient_block(2, rows, samples, sa, sb, k, a + i, lda, b + j, ldb, target + j, ldc, VMASK_ALL);
        }
        for (; j + VW <= vector_columns; j += VW)
            weight_gradient_block(1, rows, samples, sa, sb, k, a + i, lda, b + j, ldb, target + j, ldc, VMASK_ALL);
#if MASKED_TAILS
        if (j < n)
            weight_gradient_block(1, rows, samples, sa, sb, k, a + i, lda, b + j, ldb, target + j, ldc, vmask_first(n - j));
#endif
    }
    if (vector_columns < n)   // the columns past the last whole vector, one sample after another
        for (int s = 0; s < samples; s++)
            ck_block_portable(m, n - vector_columns, 1, k, a + s * sa, 1, lda, 0, b + s * sb + vector_columns, ldb, 0,
                              (float *)(cd + vector_columns), cd + vector_columns, ldc, 0, 0, 0, 0);
}

// ck_weight_gradient. Each route computes every element's per-sample Float sum by the chain above and
// adds the samples to c in order, so the routes give the same bits; they differ in what they keep in
// registers. k = 1 (dense layers): the outer products (outer_body.h). Short sums: c's blocks held
// across samples. Long sums (k >= 32) are bound by the Float work and read A better one sample at a
// time. (The Float destination gets cd's address only so that no offset is ever computed from a
// null pointer; it is never read or written.)
static void weight_gradient(int samples, int m, int n, int k, const float *a, int lda, long sa,
                            const float *b, int ldb, long sb, double *cd, int ldc) {
    if (k == 1) outer_products(samples, m, n, a, sa, b, sb, cd, ldc);
    else if (k < 32) weight_gradient_short(samples, m, n, k, a, lda, sa, b, ldb, sb, cd, ldc);
    else
        for (int s = 0; s < samples; s++)
            gemm(m, n, k, a + s * sa, 1, lda, b + s * sb, ldb, (float *)cd, cd, ldc, 0, 0, 0);
}
