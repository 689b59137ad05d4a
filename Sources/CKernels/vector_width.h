#ifndef CKERNELS_VECTOR_WIDTH_H
#define CKERNELS_VECTOR_WIDTH_H

// The vector layer under the width-generic kernels (matrix_body.h, outer_body.h): one Float vector
// type `vf` of VW lanes, its Double halves `vd` (VW / 2 lanes each), and the few operations the
// kernels use, each one instruction (or one per half) with the same lane-wise arithmetic on every
// width: a fused multiply-add is always an explicit FMA (the package compiles with -ffp-contract=off),
// a conversion to Double is exact, a sum is one IEEE add. So a lane's result does not depend on the
// width, and every path gives the bits of the portable one.
//
// A file defines exactly one of CK_AVX512, CK_AVX2, CK_NEON before including this header, then the
// bodies; each width is one translation unit (kernels_avx512.c, kernels_avx2.c, kernels_neon.c).
//
// Masks: with AVX-512 a vector may be partial (its first lanes only, `vmask`), so column tails stay
// on the vector path; the other widths have no masked loads and leave tails to the portable code,
// and their `vmask` is a placeholder that the operations ignore (only whole vectors reach them).
//
// Row blocks are ROWS x 2 vectors of Float accumulators, sized to the registers: 32 with AVX-512 and
// NEON, 16 with AVX2.

#define VECTOR_INLINE static inline __attribute__((always_inline))

// Rows of a short weight-gradient block (matrix_body.h): 4 x 2 x 2 Double sums, in registers with
// AVX-512 and NEON; with AVX2 some spill to L1, which still beats fewer rows (docs/performance.md).
#define WG_ROWS 4

#if defined(CK_AVX512)
#include <immintrin.h>
#define VW 16
#define ROWS 12
#define MASKED_TAILS 1
typedef __m512 vf;
typedef __m512d vd;
typedef __mmask16 vmask;
#define VMASK_ALL ((__mmask16)0xFFFF)
VECTOR_INLINE vmask vmask_first(int lanes) { return (__mmask16)((1u << lanes) - 1); }
VECTOR_INLINE vf vf_zero(void) { return _mm512_setzero_ps(); }
VECTOR_INLINE vf vf_splat(float x) { return _mm512_set1_ps(x); }
VECTOR_INLINE vf vf_load(const float *p, vmask m) { return _mm512_maskz_loadu_ps(m, p); }
VECTOR_INLINE void vf_store(float *p, vmask m, vf x) { _mm512_mask_storeu_ps(p, m, x); }
VECTOR_INLINE vf vf_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
VECTOR_INLINE vf vf_add(vf a, vf b) { return _mm512_add_ps(a, b); }
// max(x, 0) with NaN and -0 mapped to +0 (the portable path's !(x > 0) ? 0 : x).
VECTOR_INLINE vf vf_relu(vf x) { return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ), x); }
// Half h (0: lanes 0-7, 1: lanes 8-15) of a vector, exactly, in Double; loads and stores of the
// Double half h of a block of VW columns starting at p.
VECTOR_INLINE vd vf_half_to_vd(vf x, int h) {
    return h == 0 ? _mm512_cvtps_pd(_mm512_castps512_ps256(x))
                  : _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
}
VECTOR_INLINE vd vd_load(const double *p, vmask m, int h) {
    return _mm512_maskz_loadu_pd((__mmask8)(h == 0 ? m & 0xFF : m >> 8), p + 8 * h);
}
VECTOR_INLINE void vd_store(double *p, vmask m, int h, vd x) {
    _mm512_mask_storeu_pd(p + 8 * h, (__mmask8)(h == 0 ? m & 0xFF : m >> 8), x);
}
VECTOR_INLINE vd vd_add(vd a, vd b) { return _mm512_add_pd(a, b); }

#elif defined(CK_AVX2)
#include <immintrin.h>
#define VW 8
#define ROWS 6
#define MASKED_TAILS 0
typedef __m256 vf;
typedef __m256d vd;
typedef int vmask;
#define VMASK_ALL 0
VECTOR_INLINE vmask vmask_first(int lanes) { (void)lanes; return 0; }
VECTOR_INLINE vf vf_zero(void) { return _mm256_setzero_ps(); }
VECTOR_INLINE vf vf_splat(float x) { return _mm256_set1_ps(x); }
VECTOR_INLINE vf vf_load(const float *p, vmask m) { (void)m; return _mm256_loadu_ps(p); }
VECTOR_INLINE void vf_store(float *p, vmask m, vf x) { (void)m; _mm256_storeu_ps(p, x); }
VECTOR_INLINE vf vf_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
VECTOR_INLINE vf vf_add(vf a, vf b) { return _mm256_add_ps(a, b); }
VECTOR_INLINE vf vf_relu(vf x) { return _mm256_and_ps(x, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ)); }
VECTOR_INLINE vd vf_half_to_vd(vf x, int h) {
    return _mm256_cvtps_pd(h == 0 ? _mm256_castps256_ps128(x) : _mm256_extractf128_ps(x, 1));
}
VECTOR_INLINE vd vd_load(const double *p, vmask m, int h) { (void)m; return _mm256_loadu_pd(p + 4 * h); }
VECTOR_INLINE void vd_store(double *p, vmask m, int h, vd x) { (void)m; _mm256_storeu_pd(p + 4 * h, x); }
VECTOR_INLINE vd vd_add(vd a, vd b) { return _mm256_add_pd(a, b); }

#elif defined(CK_NEON)
#include <arm_neon.h>
#define VW 4
#define ROWS 12
#define MASKED_TAILS 0
typedef float32x4_t vf;
typedef float64x2_t vd;
typedef int vmask;
#define VMASK_ALL 0
VECTOR_INLINE vmask vmask_first(int lanes) { (void)lanes; return 0; }
VECTOR_INLINE vf vf_zero(void) { return vdupq_n_f32(0.0f); }
VECTOR_INLINE vf vf_splat(float x) { return vdupq_n_f32(x); }
VECTOR_INLINE vf vf_load(const float *p, vmask m) { (void)m; return vld1q_f32(p); }
VECTOR_INLINE void vf_store(float *p, vmask m, vf x) { (void)m; vst1q_f32(p, x); }
VECTOR_INLINE vf vf_fma(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); }   // c + a * b, one rounding
VECTOR_INLINE vf vf_add(vf a, vf b) { return vaddq_f32(a, b); }
VECTOR_INLINE vf vf_relu(vf x) {
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(x), vcgtq_f32(x, vdupq_n_f32(0.0f))));
}
VECTOR_INLINE vd vf_half_to_vd(vf x, int h) { return h == 0 ? vcvt_f64_f32(vget_low_f32(x)) : vcvt_high_f64_f32(x); }
VECTOR_INLINE vd vd_load(const double *p, vmask m, int h) { (void)m; return vld1q_f64(p + 2 * h); }
VECTOR_INLINE void vd_store(double *p, vmask m, int h, vd x) { (void)m; vst1q_f64(p + 2 * h, x); }
VECTOR_INLINE vd vd_add(vd a, vd b) { return vaddq_f64(a, b); }

#else
#error "define CK_AVX512, CK_AVX2 or CK_NEON before including vector_width.h"
#endif

#endif
