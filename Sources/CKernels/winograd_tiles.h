#ifndef CKERNELS_WINOGRAD_TILES_H
#define CKERNELS_WINOGRAD_TILES_H

// What the Winograd forward pass (winograd.c) and kernel gradient (winograd_kernel_gradient.c) share:
// the walk over tiles, the 16-channel vectors and the input transform B^T d B.
//
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]

#include "ckernels.h"
#include "vectorised.h"
#include <string.h>

// The transforms are adds, subtracts and halvings only, elementwise across channels, so any vector
// width gives the same bits: they are built for the widest this CPU has (vectorised.h).
#define TRANSFORM VECTORISED
#define ALWAYS_INLINE static inline __attribute__((always_inline))

// Transformed tiles stored tile by tile (a tile's 16 elements together) lie 16 x width + TILE_SKEW
// floats apart: without the skew, rows of 64 channels would be 4 KiB apart and the products' loads of
// consecutive tiles would share one L1 cache set.
#define TILE_SKEW 16

static inline int tiles_across(int size) { return (size + 1) / 2; }

// A run of channels: 16 at a time as a vector (the compiler splits it into the target's widths), then
// one at a time; each lane's arithmetic is the same either way.
typedef float v16 __attribute__((vector_size(64)));
// Macros, not functions: a 64-byte vector may not cross a call outside AVX-512 code.
#define load16(p) ({ v16 r_; memcpy(&r_, (p), sizeof r_); r_; })
#define store16(p, v) do { v16 v_ = (v); memcpy((p), &v_, sizeof v_); } while (0)
#define load1(p) (*(p))
#define store1(p, v) (*(p) = (v))

// Tile t's sample and position, advanced one tile at a time (tiles numbered over the batch, row by row),
// so that no tile needs a division.
struct tile_walk { int n, ty, tx, th, tw; };

static inline struct tile_walk walk_from(const struct ck_winograd *v, long t) {
    int th = tiles_across(v->out_height), tw = tiles_across(v->out_width);
    return (struct tile_walk){(int)(t / ((long)th * tw)), (int)(t / tw % th), (int)(t % tw), th, tw};
}

static inline void walk_next(struct tile_walk *w) {
    if (++w->tx < w->tw) return;
    w->tx = 0;
    if (++w->ty < w->th) return;
    w->ty = 0;
    w->n++;
}

// Tiles ahead whose lines the walks ask the caches for: a tile's new input columns and its outputs
// would otherwise miss (x and y are layer outputs, far bigger than L2) while the transforms wait.
#define PREFETCH_TILES 16

static inline int clamp_index(int i, int size) { return i < 0 ? 0 : i >= size ? size - 1 : i; }

// Asks for the `pixel_floats` floats at pixel (y, x) of sample n of a map `height` x `map_width`
// (clamped into it), for reading or (write) writing; past the batch, nothing.
static inline void prefetch_pixel(const float *map, int n, int batch, int y, int x, int height, int map_width,
                                  int pixel_floats, int write) {
    if (n >= batch) return;
    const char *p = (const char *)(map + (((long)n * height + clamp_index(y, height)) * map_width + clamp_index(x, map_width))
                                         * pixel_floats);
    for (long o = 0; o < 4L * pixel_floats; o += 64) {
        if (write) __builtin_prefetch(p + o, 1);
        else __builtin_prefetch(p + o);
    }
}

// An edge tile's inputs or outputs through a table of pointers (padding: a row of zeros or a sink).
#define EDGE(e) p[e]

// B^T d B for channels j .. j + lanes - 1 of one tile: AT(a * 4 + b) points at d[a][b]'s channel 0, out
// at the tile's element 0, its elements `step` floats apart.
#define INPUT_TILE(T, LOAD, STORE, AT)                                                          \
    do {                                                                                        \
        T d[4][4], s[4][4];                                                                     \
        for (int a = 0; a < 4; a++)                                                             \
            for (int b = 0; b < 4; b++) d[a][b] = LOAD(AT(a * 4 + b) + j);                      \
        for (int b = 0; b < 4; b++) {                                                           \
            s[0][b] = d[0][b] - d[2][b];                                                        \
            s[1][b] = d[1][b] + d[2][b];                                                        \
            s[2][b] = d[2][b] - d[1][b];                                                        \
            s[3][b] = d[1][b] - d[3][b];                                                        \
        }                                                                                       \
        for (int a = 0; a < 4; a++) {                                                           \
            STORE(out + (a * 4 + 0) * step + j, s[a][0] - s[a][2]);                             \
            STORE(out + (a * 4 + 1) * step + j, s[a][1] + s[a][2]);                             \
            STORE(out + (a * 4 + 2) * step + j, s[a][2] - s[a][1]);                             \
            STORE(out + (a * 4 + 3) * step + j, s[a][1] - s[a][3]);                             \
        }                                                                                       \
    } while (0)

// V = B^T d B for the tiles first .. first + count - 1 of x (c channels): tile i's element e at
// vt + i * tile_step + e * step. A tile wholly inside x reads at fixed offsets from its corner, an edge
// tile reads `zeros` for the padding. Inlined into callers that pass constant strides, so that a
// tile's 16 loads and stores are offsets from a few registers.
ALWAYS_INLINE void input_tiles(const struct ck_winograd *v, const float *x, const float *zeros, long first, int count,
                               int c, long step, long tile_step, float *vt) {
    long row = (long)v->width * c;
    struct tile_walk w = walk_from(v, first), ahead = walk_from(v, first + PREFETCH_TILES);
    for (int i = 0; i < count; i++, walk_next(&w), walk_next(&ahead)) {
        // The tile ahead's two right columns: its left ones are the tile before it's right ones (not at
        // a row's first tile, whose left columns then come in unasked: a few misses a row).
        for (int a = 0; a < 4; a++)
            for (int b = 2; b < 4; b++)
                prefetch_pixel(x, ahead.n, v->batch, 2 * ahead.ty - v->pad + a, 2 * ahead.tx - v->pad + b, v->height, v->width, c, 0);
        int y0 = 2 * w.ty - v->pad, x0 = 2 * w.tx - v->pad, j = 0;
        float *out = vt + (long)i * tile_step;
        if (y0 >= 0 && y0 + 4 <= v->height && x0 >= 0 && x0 + 4 <= v->width) {
            const float *base = x + (((long)w.n * v->height + y0) * v->width + x0) * c;
#define INSIDE_INPUT(e) (base + (e) / 4 * row + (e) % 4 * c)
            for (; j + 16 <= c; j += 16) INPUT_TILE(v16, load16, store16, INSIDE_INPUT);
            for (; j < c; j++) INPUT_TILE(float, load1, store1, INSIDE_INPUT);
#undef INSIDE_INPUT
            continue;
        }
        const float *p[16];
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) {
                int y = y0 + a, xx = x0 + b;
                p[a * 4 + b] = y >= 0 && y < v->height && xx >= 0 && xx < v->width
                    ? x + (((long)w.n * v->height + y) * v->width + xx) * c : zeros;
            }
        for (; j + 16 <= c; j += 16) INPUT_TILE(v16, load16, store16, EDGE);
        for (; j < c; j++) INPUT_TILE(float, load1, store1, EDGE);
    }
}

#endif
