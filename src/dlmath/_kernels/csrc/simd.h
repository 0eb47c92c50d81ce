/* One vector interface over three instruction sets, chosen when a source is compiled:
 * DL_ISA 2 = AVX-512 (F, DQ, BW, VL), 1 = AVX2 + FMA + F16C, 0 = baseline (portable C that the
 * compiler may vectorise for SSE2). vd holds VD_N doubles, vf holds VF_N = 2 VD_N floats.
 *
 * Conventions shared by every kernel:
 * - vd_max(a, b) returns b where either is NaN (the x86 rule), so a running maximum m = max(x, m)
 *   skips NaN; kernels find NaN through the sums it poisons.
 * - masks come from comparisons; vd_keep_not(m, a) is a where m is false and 0 where m is true.
 * - horizontal reductions combine lanes in a fixed order.
 */
#ifndef DL_SIMD_H
#define DL_SIMD_H

#include "scalar.h"

#if DL_ISA == 2
#include <immintrin.h>
#define DL_ISA_NAME "avx512"
#define DL_FN(name) name##_avx512
enum { VD_N = 8, VF_N = 16 };
typedef __m512d vd;
typedef __m512 vf;
typedef __mmask8 vdm;
typedef __mmask16 vfm;

static inline vd vd_set(double a) { return _mm512_set1_pd(a); }
static inline vd vd_load(const double *p) { return _mm512_loadu_pd(p); }
static inline vd vd_load_f(const float *p) { return _mm512_cvtps_pd(_mm256_loadu_ps(p)); }
static inline void vd_store(double *p, vd a) { _mm512_storeu_pd(p, a); }
static inline void vd_store_f(float *p, vd a) { _mm256_storeu_ps(p, _mm512_cvtpd_ps(a)); }
static inline vd vd_add(vd a, vd b) { return _mm512_add_pd(a, b); }
static inline vd vd_sub(vd a, vd b) { return _mm512_sub_pd(a, b); }
static inline vd vd_mul(vd a, vd b) { return _mm512_mul_pd(a, b); }
static inline vd vd_div(vd a, vd b) { return _mm512_div_pd(a, b); }
static inline vd vd_fma(vd a, vd b, vd c) { return _mm512_fmadd_pd(a, b, c); }
static inline vd vd_fnma(vd a, vd b, vd c) { return _mm512_fnmadd_pd(a, b, c); }
static inline vd vd_max(vd a, vd b) { return _mm512_max_pd(a, b); }
static inline vd vd_min(vd a, vd b) { return _mm512_min_pd(a, b); }
static inline double vd_hmin(vd a) { return _mm512_reduce_min_pd(a); }
static inline vd vd_abs(vd a) { return _mm512_abs_pd(a); }
static inline vdm vd_eq(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
static inline vdm vd_ne(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_NEQ_UQ); }
static inline vd vd_keep_not(vdm m, vd a) { return _mm512_maskz_mov_pd((__mmask8)~m, a); }
static inline vd vd_keep(vdm m, vd a) { return _mm512_maskz_mov_pd(m, a); }
static inline vd vd_blend(vdm m, vd a, vd b) { return _mm512_mask_blend_pd(m, a, b); }
static inline double vd_hsum(vd a)
{
    __m256d h = _mm256_add_pd(_mm512_castpd512_pd256(a), _mm512_extractf64x4_pd(a, 1));
    __m128d q = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
    return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
}
static inline double vd_hmax(vd a) { return _mm512_reduce_max_pd(a); }
static inline vdm vd_bad_weight(vd y)
{
    return _mm512_cmp_pd_mask(y, _mm512_setzero_pd(), _CMP_NGE_UQ) | _mm512_cmp_pd_mask(y, _mm512_set1_pd(INFINITY), _CMP_EQ_OQ);
}
static inline vdm vdm_or(vdm a, vdm b) { return a | b; }
static inline int vdm_any(vdm a) { return a != 0; }
static inline vdm vdm_none(void) { return 0; }
static inline int vd_count(vdm m) { return __builtin_popcount((unsigned)m); }
static inline vd vd_add_unless(vd acc, vdm m, vd a) { return _mm512_mask_add_pd(acc, (__mmask8)~m, acc, a); }

static inline vf vf_set(float a) { return _mm512_set1_ps(a); }
static inline vf vf_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void vf_store(float *p, vf a) { _mm512_storeu_ps(p, a); }
static inline vf vf_add(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf vf_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline vf vf_max(vf a, vf b) { return _mm512_max_ps(a, b); }
static inline vf vf_min(vf a, vf b) { return _mm512_min_ps(a, b); }
static inline float vf_hmin(vf a) { return _mm512_reduce_min_ps(a); }
static inline vf vf_abs(vf a) { return _mm512_abs_ps(a); }
static inline vfm vf_eq(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
static inline vf vf_keep_not(vfm m, vf a) { return _mm512_maskz_mov_ps((__mmask16)~m, a); }
static inline float vf_hmax(vf a) { return _mm512_reduce_max_ps(a); }
static inline int vf_count(vfm m) { return __builtin_popcount((unsigned)m); }
static inline vf vf_add_unless(vf acc, vfm m, vf a) { return _mm512_mask_add_ps(acc, (__mmask16)~m, acc, a); }
static inline vd vf_lo(vf a) { return _mm512_cvtps_pd(_mm512_castps512_ps256(a)); }
static inline vd vf_hi(vf a) { return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1))); }
static inline vf vf_from(vd lo, vd hi)
{
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
}

#elif DL_ISA == 1
#include <immintrin.h>
#define DL_ISA_NAME "avx2"
#define DL_FN(name) name##_avx2
enum { VD_N = 4, VF_N = 8 };
typedef __m256d vd;
typedef __m256 vf;
typedef __m256d vdm;
typedef __m256 vfm;

static inline vd vd_set(double a) { return _mm256_set1_pd(a); }
static inline vd vd_load(const double *p) { return _mm256_loadu_pd(p); }
static inline vd vd_load_f(const float *p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
static inline void vd_store(double *p, vd a) { _mm256_storeu_pd(p, a); }
static inline void vd_store_f(float *p, vd a) { _mm_storeu_ps(p, _mm256_cvtpd_ps(a)); }
static inline vd vd_add(vd a, vd b) { return _mm256_add_pd(a, b); }
static inline vd vd_sub(vd a, vd b) { return _mm256_sub_pd(a, b); }
static inline vd vd_mul(vd a, vd b) { return _mm256_mul_pd(a, b); }
static inline vd vd_div(vd a, vd b) { return _mm256_div_pd(a, b); }
static inline vd vd_fma(vd a, vd b, vd c) { return _mm256_fmadd_pd(a, b, c); }
static inline vd vd_fnma(vd a, vd b, vd c) { return _mm256_fnmadd_pd(a, b, c); }
static inline vd vd_max(vd a, vd b) { return _mm256_max_pd(a, b); }
static inline vd vd_min(vd a, vd b) { return _mm256_min_pd(a, b); }
static inline double vd_hmin(vd a)
{
    __m128d q = _mm_min_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_min_sd(q, _mm_unpackhi_pd(q, q)));
}
static inline vd vd_abs(vd a) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), a); }
static inline vdm vd_eq(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
static inline vdm vd_ne(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_NEQ_UQ); }
static inline vd vd_keep_not(vdm m, vd a) { return _mm256_andnot_pd(m, a); }
static inline vd vd_keep(vdm m, vd a) { return _mm256_and_pd(m, a); }
static inline vd vd_blend(vdm m, vd a, vd b) { return _mm256_blendv_pd(a, b, m); }
static inline double vd_hsum(vd a)
{
    __m128d q = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
}
static inline double vd_hmax(vd a)
{
    __m128d q = _mm_max_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_max_sd(q, _mm_unpackhi_pd(q, q)));
}
static inline vdm vd_bad_weight(vd y)
{
    return _mm256_or_pd(_mm256_cmp_pd(y, _mm256_setzero_pd(), _CMP_NGE_UQ), _mm256_cmp_pd(y, _mm256_set1_pd(INFINITY), _CMP_EQ_OQ));
}
static inline vdm vdm_or(vdm a, vdm b) { return _mm256_or_pd(a, b); }
static inline int vdm_any(vdm a) { return _mm256_movemask_pd(a) != 0; }
static inline vdm vdm_none(void) { return _mm256_setzero_pd(); }
static inline int vd_count(vdm m) { return __builtin_popcount((unsigned)_mm256_movemask_pd(m)); }
static inline vd vd_add_unless(vd acc, vdm m, vd a) { return _mm256_add_pd(acc, _mm256_andnot_pd(m, a)); }

static inline vf vf_set(float a) { return _mm256_set1_ps(a); }
static inline vf vf_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void vf_store(float *p, vf a) { _mm256_storeu_ps(p, a); }
static inline vf vf_add(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf vf_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline vf vf_max(vf a, vf b) { return _mm256_max_ps(a, b); }
static inline vf vf_min(vf a, vf b) { return _mm256_min_ps(a, b); }
static inline float vf_hmin(vf a)
{
    __m128 q = _mm_min_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    q = _mm_min_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_min_ss(q, _mm_shuffle_ps(q, q, 1)));
}
static inline vf vf_abs(vf a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
static inline vfm vf_eq(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
static inline vf vf_keep_not(vfm m, vf a) { return _mm256_andnot_ps(m, a); }
static inline int vf_count(vfm m) { return __builtin_popcount((unsigned)_mm256_movemask_ps(m)); }
static inline vf vf_add_unless(vf acc, vfm m, vf a) { return _mm256_add_ps(acc, _mm256_andnot_ps(m, a)); }
static inline float vf_hmax(vf a)
{
    __m128 q = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    q = _mm_max_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_max_ss(q, _mm_shuffle_ps(q, q, 1)));
}
static inline vd vf_lo(vf a) { return _mm256_cvtps_pd(_mm256_castps256_ps128(a)); }
static inline vd vf_hi(vf a) { return _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)); }
static inline vf vf_from(vd lo, vd hi)
{
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo)), _mm256_cvtpd_ps(hi), 1);
}

#else
#define DL_ISA_NAME "baseline"
#define DL_FN(name) name##_baseline
enum { VD_N = 4, VF_N = 8 };
typedef struct { double v[4]; } vd;
typedef struct { float v[8]; } vf;
typedef struct { int v[4]; } vdm;
typedef struct { int v[8]; } vfm;

#define DL_LANES(n, expr) for (int i_ = 0; i_ < (n); i_++) expr
static inline vd vd_set(double a) { vd r; DL_LANES(4, r.v[i_] = a); return r; }
static inline vd vd_load(const double *p) { vd r; memcpy(r.v, p, sizeof r.v); return r; }
static inline vd vd_load_f(const float *p) { vd r; DL_LANES(4, r.v[i_] = p[i_]); return r; }
static inline void vd_store(double *p, vd a) { memcpy(p, a.v, sizeof a.v); }
static inline void vd_store_f(float *p, vd a) { DL_LANES(4, p[i_] = (float)a.v[i_]); }
static inline vd vd_add(vd a, vd b) { DL_LANES(4, a.v[i_] += b.v[i_]); return a; }
static inline vd vd_sub(vd a, vd b) { DL_LANES(4, a.v[i_] -= b.v[i_]); return a; }
static inline vd vd_mul(vd a, vd b) { DL_LANES(4, a.v[i_] *= b.v[i_]); return a; }
static inline vd vd_div(vd a, vd b) { DL_LANES(4, a.v[i_] /= b.v[i_]); return a; }
static inline vd vd_fma(vd a, vd b, vd c) { DL_LANES(4, c.v[i_] = a.v[i_] * b.v[i_] + c.v[i_]); return c; }
static inline vd vd_fnma(vd a, vd b, vd c) { DL_LANES(4, c.v[i_] = c.v[i_] - a.v[i_] * b.v[i_]); return c; }
static inline vd vd_max(vd a, vd b) { DL_LANES(4, b.v[i_] = a.v[i_] > b.v[i_] ? a.v[i_] : b.v[i_]); return b; }
static inline vd vd_min(vd a, vd b) { DL_LANES(4, b.v[i_] = a.v[i_] < b.v[i_] ? a.v[i_] : b.v[i_]); return b; }
static inline double vd_hmin(vd a)
{
    double x = a.v[0] < a.v[2] ? a.v[0] : a.v[2], y = a.v[1] < a.v[3] ? a.v[1] : a.v[3];
    return x < y ? x : y;
}
static inline vd vd_abs(vd a) { DL_LANES(4, a.v[i_] = fabs(a.v[i_])); return a; }
static inline vdm vd_eq(vd a, vd b) { vdm m; DL_LANES(4, m.v[i_] = a.v[i_] == b.v[i_]); return m; }
static inline vdm vd_ne(vd a, vd b) { vdm m; DL_LANES(4, m.v[i_] = !(a.v[i_] == b.v[i_])); return m; }
static inline vd vd_keep_not(vdm m, vd a) { DL_LANES(4, a.v[i_] = m.v[i_] ? 0.0 : a.v[i_]); return a; }
static inline vd vd_keep(vdm m, vd a) { DL_LANES(4, a.v[i_] = m.v[i_] ? a.v[i_] : 0.0); return a; }
static inline vd vd_blend(vdm m, vd a, vd b) { DL_LANES(4, a.v[i_] = m.v[i_] ? b.v[i_] : a.v[i_]); return a; }
static inline double vd_hsum(vd a) { return (a.v[0] + a.v[2]) + (a.v[1] + a.v[3]); }
static inline double vd_hmax(vd a)
{
    double x = a.v[0] > a.v[2] ? a.v[0] : a.v[2], y = a.v[1] > a.v[3] ? a.v[1] : a.v[3];
    return x > y ? x : y;
}
static inline vdm vd_bad_weight(vd y) { vdm m; DL_LANES(4, m.v[i_] = !(y.v[i_] >= 0.0) || y.v[i_] == INFINITY); return m; }
static inline vdm vdm_or(vdm a, vdm b) { DL_LANES(4, a.v[i_] |= b.v[i_]); return a; }
static inline int vdm_any(vdm a) { return a.v[0] | a.v[1] | a.v[2] | a.v[3]; }
static inline vdm vdm_none(void) { vdm m; DL_LANES(4, m.v[i_] = 0); return m; }
static inline int vd_count(vdm m) { return m.v[0] + m.v[1] + m.v[2] + m.v[3]; }
static inline vd vd_add_unless(vd acc, vdm m, vd a) { DL_LANES(4, acc.v[i_] += m.v[i_] ? 0.0 : a.v[i_]); return acc; }

static inline vf vf_set(float a) { vf r; DL_LANES(8, r.v[i_] = a); return r; }
static inline vf vf_load(const float *p) { vf r; memcpy(r.v, p, sizeof r.v); return r; }
static inline void vf_store(float *p, vf a) { memcpy(p, a.v, sizeof a.v); }
static inline vf vf_add(vf a, vf b) { DL_LANES(8, a.v[i_] += b.v[i_]); return a; }
static inline vf vf_sub(vf a, vf b) { DL_LANES(8, a.v[i_] -= b.v[i_]); return a; }
static inline vf vf_mul(vf a, vf b) { DL_LANES(8, a.v[i_] *= b.v[i_]); return a; }
static inline vf vf_fma(vf a, vf b, vf c) { DL_LANES(8, c.v[i_] = a.v[i_] * b.v[i_] + c.v[i_]); return c; }
static inline vf vf_max(vf a, vf b) { DL_LANES(8, b.v[i_] = a.v[i_] > b.v[i_] ? a.v[i_] : b.v[i_]); return b; }
static inline vf vf_min(vf a, vf b) { DL_LANES(8, b.v[i_] = a.v[i_] < b.v[i_] ? a.v[i_] : b.v[i_]); return b; }
static inline float vf_hmin(vf a)
{
    float m = a.v[0];
    for (int i = 1; i < 8; i++) m = a.v[i] < m ? a.v[i] : m;
    return m;
}
static inline vf vf_abs(vf a) { DL_LANES(8, a.v[i_] = fabsf(a.v[i_])); return a; }
static inline vfm vf_eq(vf a, vf b) { vfm m; DL_LANES(8, m.v[i_] = a.v[i_] == b.v[i_]); return m; }
static inline vf vf_keep_not(vfm m, vf a) { DL_LANES(8, a.v[i_] = m.v[i_] ? 0.0f : a.v[i_]); return a; }
static inline int vf_count(vfm m)
{
    int c = 0;
    for (int i = 0; i < 8; i++) c += m.v[i];
    return c;
}
static inline vf vf_add_unless(vf acc, vfm m, vf a) { DL_LANES(8, acc.v[i_] += m.v[i_] ? 0.0f : a.v[i_]); return acc; }
static inline float vf_hmax(vf a)
{
    float m = a.v[0];
    for (int i = 1; i < 8; i++) m = a.v[i] > m ? a.v[i] : m;
    return m;
}
static inline vd vf_lo(vf a) { vd r; DL_LANES(4, r.v[i_] = a.v[i_]); return r; }
static inline vd vf_hi(vf a) { vd r; DL_LANES(4, r.v[i_] = a.v[i_ + 4]); return r; }
static inline vf vf_from(vd lo, vd hi)
{
    vf r;
    DL_LANES(4, (r.v[i_] = (float)lo.v[i_], r.v[i_ + 4] = (float)hi.v[i_]));
    return r;
}
#endif

static inline vd vd_zero(void) { return vd_set(0.0); }

#endif
