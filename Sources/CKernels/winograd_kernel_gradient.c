#include "kernel_paths.h"
#include "winograd_tiles.h"

// The kernel gradient, the transpose of the forward pass: with W = A dY A^T of a tile's 2x2 output
// gradients (4x4), dU[e][c, k] = sum over tiles of V[e][t, c] * W[e][t, k] and dg = G^T dU G.
//   A = [1 0; 1 1; 1 -1; 0 -1]   G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1]

// A dy A^T for filters j .. j + lanes - 1 of one tile: p[i * 2 + q] points at dy[i][q]'s filter 0, out
// at the tile's element 0, its elements `step` floats apart.
#define GRADIENT_TILE(T, LOAD, STORE)                                                           \
    do {                                                                                        \
        T r[2][4];                                                                              \
        for (int i = 0; i < 2; i++) {                                                           \
            T d0 = LOAD(p[i * 2] + j), d1 = LOAD(p[i * 2 + 1] + j);                             \
            r[i][0] = d0;                                                                       \
            r[i][1] = d0 + d1;                                                                  \
            r[i][2] = d0 - d1;                                                                  \
            r[i][3] = -d1;                                                                      \
        }                                                                                       \
        for (int q = 0; q < 4; q++) {                                                           \
            STORE(out + (0 + q) * step + j, r[0][q]);                                           \
            STORE(out + (4 + q) * step + j, r[0][q] + r[1][q]);                                 \
            STORE(out + (8 + q) * step + j, r[0][q] - r[1][q]);                                 \
            STORE(out + (12 + q) * step + j, -r[1][q]);                                         \
        }                                                                                       \
    } while (0)

// W = A dy A^T for the tiles first .. first + count - 1, tile i's element e at wt + i * tile_step + e * k;
// outputs outside dy count as 0 (`zeros`). Inlined with k constant where it can be, as input_tiles.
ALWAYS_INLINE void gradient_tiles(const struct ck_winograd *v, const float *dy, const float *zeros, long first, int count,
                                  int k, long tile_step, float *wt) {
    long step = k;
    struct tile_walk w = walk_from(v, first), ahead = walk_from(v, first + PREFETCH_TILES);
    for (int i = 0; i < count; i++, walk_next(&w), walk_next(&ahead)) {
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++)
                prefetch_pixel(dy, ahead.n, v->batch, 2 * ahead.ty + a, 2 * ahead.tx + b, v->out_height, v->out_width, k, 0);
        int oy = 2 * w.ty, ox = 2 * w.tx;
        const float *p[4];
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++)
                p[a * 2 + b] = oy + a < v->out_height && ox + b < v->out_width
                    ? dy + (((long)w.n * v->out_height + oy + a) * v->out_width + ox + b) * k : zeros;
        float *out = wt + (long)i * tile_step;
        int j = 0;
        for (; j + 16 <= k; j += 16) GRADIENT_TILE(v16, load16, store16);
        for (; j < k; j++) GRADIENT_TILE(float, load1, store1);
    }
}

// V and W of a block, tile by tile: tile i's element e at vt + i * (16 c + TILE_SKEW) + e * c and
// wt + i * (16 k + TILE_SKEW) + e * k, with the channel counts of common layers as constants.
TRANSFORM static void block_transforms(const struct ck_winograd *v, const float *x, const float *dy, const float *zeros,
                                       long first, int count, float *vt, float *wt) {
    int c = v->channels, k = v->filters;
    if (c == k && (c == 16 || c == 32 || c == 64)) {
        switch (c) {
#define SAME(C) case C: input_tiles(v, x, zeros, first, count, C, C, 16 * C + TILE_SKEW, vt); \
            gradient_tiles(v, dy, zeros, first, count, C, 16 * C + TILE_SKEW, wt); break;
        SAME(16) SAME(32) SAME(64)
#undef SAME
        }
        return;
    }
    input_tiles(v, x, zeros, first, count, c, c, 16L * c + TILE_SKEW, vt);
    gradient_tiles(v, dy, zeros, first, count, k, 16L * k + TILE_SKEW, wt);
}

// G^T m G for filters j .. j + lanes - 1 of one (channel, filter) pair, m[e] at in + e * step, the 3x3
// result at out + (a * 3 + b) * out_step.
#define KERNEL_GRADIENT_TILE(T, LOAD, STORE)                                                    \
    do {                                                                                        \
        T s[3][4];                                                                              \
        for (int q = 0; q < 4; q++) {                                                           \
            T m0 = LOAD(in + (0 + q) * step + j), m1 = LOAD(in + (4 + q) * step + j);           \
            T m2 = LOAD(in + (8 + q) * step + j), m3 = LOAD(in + (12 + q) * step + j);          \
            s[0][q] = m0 + (m1 + m2) * 0.5f;                                                    \
            s[1][q] = (m1 - m2) * 0.5f;                                                         \
            s[2][q] = (m1 + m2) * 0.5f + m3;                                                    \
        }                                                                                       \
        for (int a = 0; a < 3; a++) {                                                           \
            STORE(out + (a * 3 + 0) * out_step + j, s[a][0] + (s[a][1] + s[a][2]) * 0.5f);      \
            STORE(out + (a * 3 + 1) * out_step + j, (s[a][1] - s[a][2]) * 0.5f);                \
            STORE(out + (a * 3 + 2) * out_step + j, (s[a][1] + s[a][2]) * 0.5f + s[a][3]);      \
        }                                                                                       \
    } while (0)

// dk[a][b][c, k] (HWIO) += (double)(G^T dU[.][c, k] G) for every (c, k): du is dU[16][c, k], its
// elements `step` floats apart. One channel's 9 rows of k go through `row` (9 * (k + 16) floats),
// then to dk one kernel element after another: dk's 9 planes lie c * k Doubles apart, often a
// multiple of 4 KiB, and written together they would compete for the same cache sets.
TRANSFORM static void kernel_gradient_transform(const float *du, long step, int c, int k, float *row, double *dk) {
    long out_step = k + 16;
    for (int ci = 0; ci < c; ci++) {
        const float *in = du + (long)ci * k;
        float *out = row;
        int j = 0;
        for (; j + 16 <= k; j += 16) KERNEL_GRADIENT_TILE(v16, load16, store16);
        for (; j < k; j++) KERNEL_GRADIENT_TILE(float, load1, store1);
        for (int e = 0; e < 9; e++) {
            const float *source = row + e * out_step;
            double *target = dk + ((long)e * c + ci) * k;
            for (j = 0; j < k; j++) target[j] += (double)source[j];
        }
    }
}

// The most tiles a block of the kernel gradient's sums holds, so that its transformed tiles stay in L2.
static long most_gradient_tiles(int channels, int filters) { return 4096 / (channels + filters) < 16 ? 16 : 4096 / (channels + filters); }

// The sums over a sample's tiles go in blocks of at most most_gradient_tiles, of equal size but the last.
int ck_winograd_gradient_tile_block(int channels, int filters, long tiles) {
    long most = most_gradient_tiles(channels, filters);
    long blocks = (tiles + most - 1) / most;
    return (int)((tiles + blocks - 1) / blocks);
}

// dU's 16 matrices lie this many floats more than their size apart, so that the transform's 16 loads
// of one (channel, filter) pair do not fall into one cache set.
static const long skew = 16;

long ck_winograd_kernel_gradient_scratch(int channels, int filters) {
    long most = most_gradient_tiles(channels, filters);
    return most * (16L * (channels + filters) + 2 * TILE_SKEW) + 16L * ((long)channels * filters + skew) + 9L * (filters + 16)
        + (channels > filters ? channels : filters);
}

void ck_winograd_kernel_gradient(const struct ck_winograd *v, const float *x, const float *dy, double *dk, float *scratch) {
    int c = v->channels, k = v->filters;
    long tiles = (long)tiles_across(v->out_height) * tiles_across(v->out_width);
    int block = ck_winograd_gradient_tile_block(c, k, tiles);
    long v_row = 16L * c + TILE_SKEW, w_row = 16L * k + TILE_SKEW, step = (long)c * k + skew;
    float *vt = scratch, *wt = vt + v_row * block, *du = wt + w_row * block, *row = du + 16 * step, *zeros = row + 9L * (k + 16);
    memset(zeros, 0, sizeof(float) * (c > k ? c : k));
    for (int n = 0; n < v->batch; n++) {
        // Each block's sums start from 0 and are added to dU in block order: they depend on the shapes alone.
        for (long start = 0; start < tiles; start += block) {
            int count = tiles - start < block ? (int)(tiles - start) : block;
            block_transforms(v, x, dy, zeros, n * tiles + start, count, vt, wt);
            ck_winograd_gradient_products(count, c, k, vt, v_row, wt, w_row, du, step, start > 0);
        }
        kernel_gradient_transform(du, step, c, k, row, dk);
    }
}
