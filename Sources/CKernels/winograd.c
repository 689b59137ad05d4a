#include "kernel_paths.h"
#include "winograd_tiles.h"

// Winograd F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
// each 2x2 block of outputs comes from a 4x4 input tile as Y = A^T [(G g G^T) . (B^T d B)] A, and the
// elementwise product, summed over channels, becomes one matrix product per tile element (16 of them):
// M[e][tile, k] = sum_c V[e][tile, c] * U[e][c, k], computed by ck_winograd_products, so a tile's result
// depends only on its own inputs. The transforms are adds, subtracts and halvings written out, in a
// fixed order, on plain Float (this file is built with -ffp-contract=off), so every kernel path gives
// the same bits. Tiles are taken in blocks of about 2048 / (c + k) tiles (at least 12): small enough that
// a block's transformed inputs and products are still in L2 when the products and the output
// transform read them back.
//
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
//   A^T = [1 1 1 0; 0 1 -1 -1]
//
// V and M are stored tile by tile (a tile's 16 elements together, M[e] a matrix with rows 16 c or 16 k
// floats apart, plus TILE_SKEW): a tile's transform then reads or writes at constant offsets from one
// pointer.
int ck_winograd_tile_block(int channels, int filters) {
    int block = 2048 / (channels + filters);
    block = block < 12 ? 12 : block > 480 ? 480 : block;
    return block / 12 * 12;
}

long ck_winograd_scratch(int channels, int filters) {
    return (16L * (channels + filters) + 2 * TILE_SKEW) * ck_winograd_tile_block(channels, filters) + channels + filters;
}

void ck_winograd_kernel(const float *kernel, int channels, int filters, int flipped, float *u) {
    // flipped: the kernel of the input gradient, g'[a][b][k][c] = g[2 - a][2 - b][c][k], as U'[e][k][c].
    int rows = flipped ? filters : channels, columns = flipped ? channels : filters;
    for (int r = 0; r < rows; r++)
        for (int q = 0; q < columns; q++) {
            float g[3][3], t[4][3];
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    g[a][b] = flipped ? kernel[((long)((2 - a) * 3 + 2 - b) * channels + q) * filters + r]
                                      : kernel[((long)(a * 3 + b) * channels + r) * filters + q];
            for (int b = 0; b < 3; b++) {
                t[0][b] = g[0][b];
                t[1][b] = (g[0][b] + g[1][b] + g[2][b]) * 0.5f;
                t[2][b] = (g[0][b] - g[1][b] + g[2][b]) * 0.5f;
                t[3][b] = g[2][b];
            }
            for (int a = 0; a < 4; a++) {
                float w[4] = {t[a][0], (t[a][0] + t[a][1] + t[a][2]) * 0.5f, (t[a][0] - t[a][1] + t[a][2]) * 0.5f, t[a][2]};
                for (int b = 0; b < 4; b++) u[((long)(a * 4 + b) * rows + r) * columns + q] = w[b];
            }
        }
}

typedef int i16 __attribute__((vector_size(64)));
#define relu16(v) ({ v16 w_ = (v); (v16)((i16)w_ & (w_ > 0)); })   // +0 where not positive (NaN too)
#define relu1(v) ((v) > 0.0f ? (v) : 0.0f)

// The forward pass's V, tile i's element e at vt + i * (16 c + TILE_SKEW) + e * c, with the channel
// counts of common layers as constants.
TRANSFORM static void input_transform(const struct ck_winograd *v, const float *x, const float *zeros, long first, int count,
                                      float *vt) {
    switch (v->channels) {
    case 16: input_tiles(v, x, zeros, first, count, 16, 16, 16 * 16 + TILE_SKEW, vt); break;
    case 32: input_tiles(v, x, zeros, first, count, 32, 32, 16 * 32 + TILE_SKEW, vt); break;
    case 64: input_tiles(v, x, zeros, first, count, 64, 64, 16 * 64 + TILE_SKEW, vt); break;
    default: input_tiles(v, x, zeros, first, count, v->channels, v->channels, 16L * v->channels + TILE_SKEW, vt);
    }
}

// A^T m A, plus bias, then ReLU if asked, for channels j .. j + lanes - 1 of one tile: in at the
// tile's element 0 (elements `step` floats apart), AT(a * 2 + b) at output (a, b)'s channel 0.
#define OUTPUT_TILE(T, LOAD, STORE, BIAS, RELU, AT)                                             \
    do {                                                                                        \
        T s[2][4];                                                                              \
        for (int q = 0; q < 4; q++) {                                                           \
            T m0 = LOAD(in + (0 + q) * step + j), m1 = LOAD(in + (4 + q) * step + j);           \
            T m2 = LOAD(in + (8 + q) * step + j), m3 = LOAD(in + (12 + q) * step + j);          \
            s[0][q] = m0 + m1 + m2;                                                             \
            s[1][q] = m1 - m2 - m3;                                                             \
        }                                                                                       \
        for (int a = 0; a < 2; a++) {                                                           \
            T r[2] = {s[a][0] + s[a][1] + s[a][2], s[a][1] - s[a][2] - s[a][3]};                \
            for (int b = 0; b < 2; b++) {                                                       \
                T o = bias ? r[b] + BIAS : r[b];                                                \
                STORE(AT(a * 2 + b) + j, relu ? RELU(o) : o);                                   \
            }                                                                                   \
        }                                                                                       \
    } while (0)

// y's 2x2 blocks from M (tile i's element e at m + i * (16 k + TILE_SKEW) + e * k) for the tiles
// first .. first + count - 1; an edge tile's outputs outside y go to `sink` (k floats). Inlined with
// k constant where it can be, as input_tiles.
ALWAYS_INLINE void output_tiles(const struct ck_winograd *v, const float *m, long first, int count, int k,
                                const float *bias, int relu, float *y, float *sink) {
    long step = k, row = (long)v->out_width * k;
    struct tile_walk w = walk_from(v, first), ahead = walk_from(v, first + PREFETCH_TILES);
    for (int i = 0; i < count; i++, walk_next(&w), walk_next(&ahead)) {
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++)
                prefetch_pixel(y, ahead.n, v->batch, 2 * ahead.ty + a, 2 * ahead.tx + b, v->out_height, v->out_width, k, 1);
        int oy = 2 * w.ty, ox = 2 * w.tx, j = 0;
        const float *in = m + (long)i * (16 * k + TILE_SKEW);
        if (oy + 2 <= v->out_height && ox + 2 <= v->out_width) {
            float *base = y + (((long)w.n * v->out_height + oy) * v->out_width + ox) * k;
#define INSIDE_OUTPUT(e) (base + (e) / 2 * row + (e) % 2 * k)
            for (; j + 16 <= k; j += 16) OUTPUT_TILE(v16, load16, store16, load16(bias + j), relu16, INSIDE_OUTPUT);
            for (; j < k; j++) OUTPUT_TILE(float, load1, store1, bias[j], relu1, INSIDE_OUTPUT);
            continue;
        }
        float *p[4];
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++)
                p[a * 2 + b] = oy + a < v->out_height && ox + b < v->out_width
                    ? y + (((long)w.n * v->out_height + oy + a) * v->out_width + ox + b) * k : sink;
        for (; j + 16 <= k; j += 16) OUTPUT_TILE(v16, load16, store16, load16(bias + j), relu16, EDGE);
        for (; j < k; j++) OUTPUT_TILE(float, load1, store1, bias[j], relu1, EDGE);
    }
}

TRANSFORM static void output_transform(const struct ck_winograd *v, const float *m, long first, int count,
                                       const float *bias, int relu, float *y, float *sink) {
    switch (v->filters) {
    case 16: output_tiles(v, m, first, count, 16, bias, relu, y, sink); break;
    case 32: output_tiles(v, m, first, count, 32, bias, relu, y, sink); break;
    case 64: output_tiles(v, m, first, count, 64, bias, relu, y, sink); break;
    default: output_tiles(v, m, first, count, v->filters, bias, relu, y, sink);
    }
}

void ck_winograd_conv(const struct ck_winograd *v, const float *x, const float *u, const float *bias, int relu,
                      float *y, float *scratch) {
    int block = ck_winograd_tile_block(v->channels, v->filters), c = v->channels, k = v->filters;
    long tiles = (long)v->batch * tiles_across(v->out_height) * tiles_across(v->out_width);
    long v_row = 16L * c + TILE_SKEW, m_row = 16L * k + TILE_SKEW;
    float *vt = scratch, *m = vt + v_row * block, *zeros = m + m_row * block;
    memset(zeros, 0, sizeof(float) * c);
    for (long first = 0; first < tiles; first += block) {
        int count = tiles - first < block ? (int)(tiles - first) : block;
        input_transform(v, x, zeros, first, count, vt);
        ck_winograd_products(count, c, k, vt, v_row, u, m, m_row);
        output_transform(v, m, first, count, bias, relu, y, zeros + c);
    }
}
