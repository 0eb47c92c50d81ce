/* Vector exp (binary64 and binary32) and log1p (binary64), with their error bounds.
 *
 * exp, binary64. x is clamped to [-746, 710] (exp(-746) rounds to 0, exp(710) to inf; NaN passes)
 * and reduced by Cody-Waite: k = round(x N / ln2), r = x - k ln2/N, with ln2/N split in two so that
 * k * hi is exact; then e^x = 2^(k/N) e^r.
 *   AVX-512: N = 16, 2^(j/16) from a 16-entry table held in two registers as a sum of two doubles
 *   (vpermt2pd), e^r - 1 = r + r^2 P(r) with P of degree 5 on |r| <= 1.01 ln2/32 (approximation
 *   error 4e-20), the result assembled as hi + (hi q + lo) and scaled by 2^floor(k/16) (vscalefpd).
 *   AVX2 and baseline: N = 1, P of degree 10 on |r| <= 1.01 ln2/2 (approximation error 4e-19); the
 *   rounding error of r and 1 + r = hi + lo (Fast2Sum) are carried, and the result is scaled by two
 *   exact powers of two. A subnormal result is rounded twice: as a normal number, then by the scaling.
 * Bound, asserted by tests/test_kernels.py against mpmath at 7e4 points over [-745.2, 709.79] (the
 * subnormal results and the overflow edge included; measured maximum in brackets): normal results
 * within 0.55 ulp on AVX-512 [0.537], 0.70 ulp on AVX2 [0.616] and the baseline [0.663]; subnormal
 * results, rounded twice, within 0.8 of 2^-1074 [0.735].
 *
 * exp, binary32. AVX-512: N = 16, AVX2: N = 8, the table 2^(j/N) in registers (vpermps) as a sum
 * of two binary32 values, e^r - 1 = r + r^2 P(r) with P of degree 2 (approximation error 1.1e-11 and
 * 3.5e-10), the result hi + (hi q + lo); scaled by vscalefps, or by two powers of two on AVX2.
 * Baseline: N = 1, P of degree 5 on |r| <= 1.01 ln2/2 (approximation error 8e-10), r's rounding
 * error and 1 + r carried as for binary64. x is clamped to [-104, 89]. Bound: normal results within
 * 0.70 ulp [0.528 AVX-512, 0.567 AVX2, 0.644 baseline], subnormal ones within 0.8 of 2^-149 [0.753].
 * The _nc form skips the clamp (and on AVX2 scales by one power of two), for rows whose arguments
 * all lie in [-87, 0]: the same bits there.
 *
 * exp_lite, binary64, for the LogSumExp of binary32 rows only: d <= 0 (or NaN), relative error below
 * 2e-14 [1.9e-14 AVX-512, 1.3e-15 AVX2]. AVX-512: the table form with P of degree 3 and no low table
 * part; AVX2: P of degree 8 and one power of two, d < -708 taken as -708 (a term below 2^-1021 of
 * the maximum's 1, which no binary32 result can show); baseline: exp itself. A correctly rounded
 * binary32 LogSumExp needs 6e-14 (1e-6 of its ulp). The _nc form skips the clamp, for a chunk whose
 * arguments are all known to be >= -708.
 *
 * exp_fast, binary64, AVX2 only (elsewhere it is exp_lite): d <= 0, relative error below 3e-10
 * [2.4e-10]: exp_lite's form with P of degree 5 and ln2 in one part (k ln2 rounds by at most
 * 1021 2^-54, 1e-13 of the result). It saves four of exp_lite's 25 vector operations; the
 * LogSumExp that uses it bounds its result's error and redoes with exp_lite each row whose
 * rounding that bound leaves open (rows_lse.h, lse_rows).
 *
 * log1p, binary64: u = 1 + x rounded, c = (1 + x) - u exactly (Fast2Sum), u = 2^k f with
 * f in [sqrt2/2, sqrt2), g = f - 1, s = g/(2+g), w = s^2; log f = 2 atanh s = g - g^2/2 + s(g^2/2 + R)
 * with R = w Q(w), Q of degree 6 (approximation error 5e-18 relative), and
 * log1p(x) = k ln2 + log f + c/u. Bound: within 0.8 ulp [0.751 on every path], asserted against
 * mpmath at 4e4 points over the whole range (x > -1 up to DBL_MAX, near -1,
 * subnormal x included: log1p(x) = x there, -0 included); log1p(-1) = -inf, x < -1 or NaN gives NaN,
 * inf gives inf.
 */
#ifndef DL_VMATH_H
#define DL_VMATH_H

#include "simd.h"

#if DL_ISA >= 1
/* binary32 tables 2^(j/16) and 2^(j/8) as hi + lo (rounded by ../minimax.py's method) */
static const float dl_t16f_hi[16] = {
    0x1.000000p+0f, 0x1.0b5586p+0f, 0x1.172b84p+0f, 0x1.2387a6p+0f, 0x1.306fe0p+0f, 0x1.3dea64p+0f,
    0x1.4bfdaep+0f, 0x1.5ab07ep+0f, 0x1.6a09e6p+0f, 0x1.7a1148p+0f, 0x1.8ace54p+0f, 0x1.9c4918p+0f,
    0x1.ae89fap+0f, 0x1.c199bep+0f, 0x1.d5818ep+0f, 0x1.ea4afap+0f};
static const float dl_t16f_lo[16] = {
    0x0.0p+0f, 0x1.9f3122p-25f, -0x1.c15742p-27f, 0x1.ceac48p-25f, 0x1.4636e2p-25f, 0x1.824684p-25f,
    -0x1.593abcp-25f, -0x1.5bd5ecp-27f, 0x1.9fcef4p-26f, -0x1.829fd0p-25f, 0x1.15506ep-27f, 0x1.51f848p-27f,
    -0x1.a94b14p-26f, -0x1.3d56b2p-27f, -0x1.822dbcp-27f, 0x1.52486cp-27f};
#define DL_LN2F_HI12 0x1.62ep-1f /* 12 bits: k j/16 has at most 12 */
#define DL_LN2F_LO12 0x1.0bfbe8p-15f
#endif

#if DL_ISA == 2

#define DL_LN2_16_HI 0x1.62e42fefa0000p-5 /* 38 bits: |k| <= 17300 */
#define DL_LN2_16_LO 0x1.cf79abc9e3b3ap-44
#define DL_T_C2 0x1.0000000000001p-1
#define DL_T_C3 0x1.5555555555556p-3
#define DL_T_C4 0x1.55555554e4e34p-5
#define DL_T_C5 0x1.11111110df174p-7
#define DL_T_C6 0x1.6c17f353d3ca1p-10
#define DL_T_C7 0x1.a01b118a75c35p-13

static const double dl_t16_hi[16] = {
    0x1.0000000000000p+0, 0x1.0b5586cf9890fp+0, 0x1.172b83c7d517bp+0, 0x1.2387a6e756238p+0,
    0x1.306fe0a31b715p+0, 0x1.3dea64c123422p+0, 0x1.4bfdad5362a27p+0, 0x1.5ab07dd485429p+0,
    0x1.6a09e667f3bcdp+0, 0x1.7a11473eb0187p+0, 0x1.8ace5422aa0dbp+0, 0x1.9c49182a3f090p+0,
    0x1.ae89f995ad3adp+0, 0x1.c199bdd85529cp+0, 0x1.d5818dcfba487p+0, 0x1.ea4afa2a490dap+0};
static const double dl_t16_lo[16] = {
    0x0.0p+0, 0x1.8a62e4adc610bp-54, -0x1.19041b9d78a76p-55, 0x1.9b07eb6c70573p-54,
    0x1.6f46ad23182e4p-55, 0x1.ada0911f09ebcp-55, 0x1.d4397afec42e2p-56, 0x1.6324c054647adp-54,
    -0x1.bdd3413b26456p-54, -0x1.41577ee04992fp-55, 0x1.6e9f156864b27p-54, 0x1.c7c46b071f2bep-56,
    0x1.7a1cd345dcc81p-54, 0x1.11065895048ddp-55, 0x1.2ed02d75b3707p-55, -0x1.e9c23179c2893p-54};

/* exp without the clamp, for arguments known to lie in [-708, 709] (or NaN): the same bits */
static inline vd vd_exp_nc(vd x)
{
    /* x/ln2 rounded to a multiple of 1/16: t's last 4 mantissa bits are j, t - shift is k/16 */
    const __m512d shift = _mm512_set1_pd(0x1.8p48);
    __m512d t = _mm512_fmadd_pd(x, _mm512_set1_pd(DL_INV_LN2), shift);
    __m512d k16 = _mm512_sub_pd(t, shift);
    __m512d r = _mm512_fnmadd_pd(k16, _mm512_set1_pd(16 * DL_LN2_16_HI), x);
    r = _mm512_fnmadd_pd(k16, _mm512_set1_pd(16 * DL_LN2_16_LO), r);
    __m512i j = _mm512_castpd_si512(t);
    __m512d th = _mm512_permutex2var_pd(_mm512_loadu_pd(dl_t16_hi), j, _mm512_loadu_pd(dl_t16_hi + 8));
    __m512d tl = _mm512_permutex2var_pd(_mm512_loadu_pd(dl_t16_lo), j, _mm512_loadu_pd(dl_t16_lo + 8));
    __m512d p = _mm512_fmadd_pd(_mm512_set1_pd(DL_T_C7), r, _mm512_set1_pd(DL_T_C6));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(DL_T_C5));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(DL_T_C4));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(DL_T_C3));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(DL_T_C2));
    __m512d q = _mm512_fmadd_pd(_mm512_mul_pd(r, r), p, r);
    __m512d y = _mm512_add_pd(th, _mm512_fmadd_pd(th, q, tl));
    return _mm512_scalef_pd(y, k16); /* scales by 2^floor(k/16) */
}

static inline vd vd_exp(vd x)
{
    return vd_exp_nc(_mm512_min_pd(_mm512_set1_pd(DL_EXP_MAX), _mm512_max_pd(_mm512_set1_pd(DL_EXP_MIN), x)));
}

/* exp_lite without its clamp: for arguments known to be >= -745 (or NaN) */
static inline vd vd_exp_lite_nc(vd d)
{
    const __m512d shift = _mm512_set1_pd(0x1.8p48);
    __m512d t = _mm512_fmadd_pd(d, _mm512_set1_pd(DL_INV_LN2), shift);
    __m512d k16 = _mm512_sub_pd(t, shift);
    __m512d r = _mm512_fnmadd_pd(k16, _mm512_set1_pd(16 * DL_LN2_16_HI), d);
    r = _mm512_fnmadd_pd(k16, _mm512_set1_pd(16 * DL_LN2_16_LO), r);
    __m512d th = _mm512_permutex2var_pd(_mm512_loadu_pd(dl_t16_hi), _mm512_castpd_si512(t), _mm512_loadu_pd(dl_t16_hi + 8));
    __m512d p = _mm512_fmadd_pd(_mm512_set1_pd(0x1.1111dd00e2339p-7), r, _mm512_set1_pd(0x1.5556ba392a307p-5));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(0x1.55555555235b9p-3));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(0x1.ffffffff5115ap-2));
    __m512d q = _mm512_fmadd_pd(_mm512_mul_pd(r, r), p, r);
    return _mm512_scalef_pd(_mm512_fmadd_pd(th, q, th), k16);
}

static inline vd vd_exp_lite(vd d) { return vd_exp_lite_nc(_mm512_max_pd(_mm512_set1_pd(DL_EXP_MIN), d)); }

/* exp, binary32, without the clamp: for arguments in [-87, 0] (or NaN), the same bits as vf_exp */
static inline vf vf_exp_nc(vf x)
{
    /* x/ln2 rounded to a multiple of 1/16 (t's last 4 mantissa bits are j); |r| <= ln2/32 */
    const __m512 shift = _mm512_set1_ps(0x1.8p19f);
    __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(DL_INV_LN2F), shift);
    __m512 k16 = _mm512_sub_ps(t, shift);
    __m512 r = _mm512_fnmadd_ps(k16, _mm512_set1_ps(DL_LN2F_HI12), x);
    r = _mm512_fnmadd_ps(k16, _mm512_set1_ps(DL_LN2F_LO12), r);
    __m512i j = _mm512_castps_si512(t);
    __m512 th = _mm512_permutexvar_ps(j, _mm512_loadu_ps(dl_t16f_hi));
    __m512 tl = _mm512_permutexvar_ps(j, _mm512_loadu_ps(dl_t16f_lo));
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(0x1.555662p-5f), r, _mm512_set1_ps(0x1.5556e6p-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    __m512 q = _mm512_fmadd_ps(_mm512_mul_ps(r, r), p, r);
    return _mm512_scalef_ps(_mm512_add_ps(th, _mm512_fmadd_ps(th, q, tl)), k16);
}

static inline vf vf_exp(vf x)
{
    return vf_exp_nc(_mm512_min_ps(_mm512_set1_ps(DL_EXPF_MAX), _mm512_max_ps(_mm512_set1_ps(DL_EXPF_MIN), x)));
}

static inline vd vd_from_i64(__m512i a) { return _mm512_cvtepi64_pd(a); }
#define DL_IVEC __m512i
#define dl_i64_add _mm512_add_epi64
#define dl_i64_and _mm512_and_si512
#define dl_i64_srl _mm512_srli_epi64
#define dl_i64_set _mm512_set1_epi64
#define dl_as_i64 _mm512_castpd_si512
#define dl_as_vd _mm512_castsi512_pd

#elif DL_ISA == 1

/* exp_fast's e^r - 1 = r + r^2 P(r), P of degree 5 on |r| <= 1.01 ln2/2 (approximation error 2.4e-10) */
#define DL_EF_C2 0x1.0000000c4592ep-1
#define DL_EF_C3 0x1.5555555ac911fp-3
#define DL_EF_C4 0x1.5554e4aacef45p-5
#define DL_EF_C5 0x1.1110df02bfbecp-7
#define DL_EF_C6 0x1.6d4920bf2569bp-10
#define DL_EF_C7 0x1.a12a42f159d0ep-13
#define DL_LN2 0x1.62e42fefa39efp-1

/* e^r as 1 + r + r^2 P(r), hi + lo, for x = k ln2 + r: the shared core of the two AVX2 forms */
static inline __m256d dl_exp_core_avx2(__m256d x, __m256d *kd_out)
{
    const __m256d shift = _mm256_set1_pd(DL_SHIFT);
    __m256d t = _mm256_fmadd_pd(x, _mm256_set1_pd(DL_INV_LN2), shift);
    __m256d kd = _mm256_sub_pd(t, shift);
    __m256d r1 = _mm256_fnmadd_pd(kd, _mm256_set1_pd(DL_LN2_HI), x);
    __m256d r = _mm256_fnmadd_pd(kd, _mm256_set1_pd(DL_LN2_LO), r1);
    __m256d rl = _mm256_fnmadd_pd(kd, _mm256_set1_pd(DL_LN2_LO), _mm256_sub_pd(r1, r));
    __m256d p = _mm256_fmadd_pd(_mm256_set1_pd(DL_E0_C12), r, _mm256_set1_pd(DL_E0_C11));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(DL_E0_C10));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(DL_E0_C9));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(DL_E0_C8));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(DL_E0_C7));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(DL_E0_C6));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(DL_E0_C5));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(DL_E0_C4));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(DL_E0_C3));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(DL_E0_C2));
    const __m256d one = _mm256_set1_pd(1.0);
    __m256d hi = _mm256_add_pd(one, r), lo = _mm256_add_pd(_mm256_sub_pd(one, hi), r);
    *kd_out = kd;
    return _mm256_add_pd(hi, _mm256_add_pd(lo, _mm256_fmadd_pd(_mm256_mul_pd(r, r), p, rl)));
}

/* 2^k built from kd (so NaN stays NaN in the product), for k in [-1022, 1023] */
static inline __m256d dl_pow2_avx2(__m256d kd)
{
    __m256d b = _mm256_add_pd(kd, _mm256_set1_pd(DL_SHIFT + 1023.0));
    return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(b), 52));
}

/* exp without the clamp and with one power of two, for arguments in [-708, 709] (or NaN): the
 * same bits as vd_exp there, whose two-factor scaling of a normal result is exact too */
static inline vd vd_exp_nc(vd x)
{
    __m256d kd, y = dl_exp_core_avx2(x, &kd);
    return _mm256_mul_pd(y, dl_pow2_avx2(kd));
}

static inline vd vd_exp(vd x)
{
    x = _mm256_min_pd(_mm256_set1_pd(DL_EXP_MAX), _mm256_max_pd(_mm256_set1_pd(DL_EXP_MIN), x));
    __m256d kd, y = dl_exp_core_avx2(x, &kd);
    /* 2^k as two normal powers of two: y 2^n1 is exact, the second product rounds once */
    __m256d n1 = _mm256_round_pd(_mm256_mul_pd(kd, _mm256_set1_pd(0.5)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m256d n2 = _mm256_sub_pd(kd, n1);
    return _mm256_mul_pd(_mm256_mul_pd(y, dl_pow2_avx2(n1)), dl_pow2_avx2(n2));
}

static inline vd vd_exp_lite_nc(vd d)
{
    const __m256d shift = _mm256_set1_pd(DL_SHIFT);
    __m256d t = _mm256_fmadd_pd(d, _mm256_set1_pd(DL_INV_LN2), shift);
    __m256d kd = _mm256_sub_pd(t, shift);
    __m256d r = _mm256_fnmadd_pd(kd, _mm256_set1_pd(DL_LN2_HI), d);
    r = _mm256_fnmadd_pd(kd, _mm256_set1_pd(DL_LN2_LO), r);
    __m256d p = _mm256_fmadd_pd(_mm256_set1_pd(0x1.288358c429efcp-22), r, _mm256_set1_pd(0x1.72cbd08546d25p-19));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(0x1.a019c76516a5fp-16));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(0x1.a019aa42a2171p-13));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(0x1.6c16c174047fap-10));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(0x1.1111111cf66cap-7));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(0x1.5555555554c02p-5));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(0x1.5555555553959p-3));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(0.5));
    __m256d q = _mm256_fmadd_pd(_mm256_mul_pd(r, r), p, r);
    /* k in [-1021, 0]: 2^k is a normal power of two (built from kd, so NaN stays NaN in the product),
     * and (1 + q) 2^k = q 2^k + 2^k rounds as 1 + q does: one FMA for the add and the scaling */
    __m256d s = dl_pow2_avx2(kd);
    return _mm256_fmadd_pd(q, s, s);
}

static inline vd vd_exp_lite(vd d) { return vd_exp_lite_nc(_mm256_max_pd(_mm256_set1_pd(-708.0), d)); }

/* exp_fast without its clamp (d in [-708, 0], or NaN): exp_lite with P of degree 5 and ln2 in one
 * part; the LogSumExp that uses it checks its rounding (rows_lse.h lse_rows) */
static inline vd vd_exp_fast_nc(vd d)
{
    const __m256d shift = _mm256_set1_pd(DL_SHIFT);
    __m256d t = _mm256_fmadd_pd(d, _mm256_set1_pd(DL_INV_LN2), shift);
    __m256d kd = _mm256_sub_pd(t, shift);
    __m256d r = _mm256_fnmadd_pd(kd, _mm256_set1_pd(DL_LN2), d);
    __m256d p = _mm256_fmadd_pd(_mm256_set1_pd(DL_EF_C7), r, _mm256_set1_pd(DL_EF_C6));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(DL_EF_C5));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(DL_EF_C4));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(DL_EF_C3));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(DL_EF_C2));
    __m256d q = _mm256_fmadd_pd(_mm256_mul_pd(r, r), p, r);
    __m256d s = dl_pow2_avx2(kd);
    return _mm256_fmadd_pd(q, s, s);
}

static inline vd vd_exp_fast(vd d) { return vd_exp_fast_nc(_mm256_max_pd(_mm256_set1_pd(-708.0), d)); }
#define DL_HAVE_EXP_FAST 1

/* e^x = 2^n y for x = (8n + j) ln2/8 + r: y = 2^(j/8) e^r in [1, 2), n = floor(k/8) in *n_out */
static inline __m256 dl_expf_core_avx2(__m256 x, __m256 *n_out)
{
    /* x/ln2 rounded to a multiple of 1/8 (t's last 3 mantissa bits are j); |r| <= ln2/16 */
    const __m256 shift = _mm256_set1_ps(0x1.8p20f);
    __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(DL_INV_LN2F), shift);
    __m256 k8 = _mm256_sub_ps(t, shift);
    __m256 r = _mm256_fnmadd_ps(k8, _mm256_set1_ps(DL_LN2F_HI12), x);
    r = _mm256_fnmadd_ps(k8, _mm256_set1_ps(DL_LN2F_LO12), r);
    __m256i j = _mm256_castps_si256(t);
    static const float hi8[8] = {0x1.000000p+0f, 0x1.172b84p+0f, 0x1.306fe0p+0f, 0x1.4bfdaep+0f,
                                 0x1.6a09e6p+0f, 0x1.8ace54p+0f, 0x1.ae89fap+0f, 0x1.d5818ep+0f};
    static const float lo8[8] = {0x0.0p+0f, -0x1.c15742p-27f, 0x1.4636e2p-25f, -0x1.593abcp-25f,
                                 0x1.9fcef4p-26f, 0x1.15506ep-27f, -0x1.a94b14p-26f, -0x1.822dbcp-27f};
    __m256 th = _mm256_permutevar8x32_ps(_mm256_loadu_ps(hi8), j);
    __m256 tl = _mm256_permutevar8x32_ps(_mm256_loadu_ps(lo8), j);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(0x1.555984p-5f), r, _mm256_set1_ps(0x1.555b9cp-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    __m256 q = _mm256_fmadd_ps(_mm256_mul_ps(r, r), p, r);
    *n_out = _mm256_round_ps(k8, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    return _mm256_add_ps(th, _mm256_fmadd_ps(th, q, tl));
}

static inline vf vf_exp(vf x)
{
    x = _mm256_min_ps(_mm256_set1_ps(DL_EXPF_MAX), _mm256_max_ps(_mm256_set1_ps(DL_EXPF_MIN), x));
    __m256 n, y = dl_expf_core_avx2(x, &n);
    /* 2^floor(k/8) as two normal powers of two, so a subnormal result is rounded once more only */
    __m256 n1 = _mm256_round_ps(_mm256_mul_ps(n, _mm256_set1_ps(0.5f)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m256 n2 = _mm256_sub_ps(n, n1);
    const __m256 bias = _mm256_set1_ps(DL_SHIFTF + 127.0f);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(_mm256_add_ps(n1, bias)), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(_mm256_add_ps(n2, bias)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
}

/* exp, binary32, without the clamp and with one power of two: for arguments in [-87, 0] (or NaN),
 * where 2^n is normal and y 2^n exact, the same bits as vf_exp */
static inline vf vf_exp_nc(vf x)
{
    __m256 n, y = dl_expf_core_avx2(x, &n);
    __m256 s = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(_mm256_add_ps(n, _mm256_set1_ps(DL_SHIFTF + 127.0f))), 23));
    return _mm256_mul_ps(y, s);
}

static inline vd vd_from_i64(__m256i a)
{
    /* a holds integers in [0, 2^52): or-ing in the exponent of 2^52 and subtracting 2^52 is exact */
    const __m256d two52 = _mm256_set1_pd(0x1p52);
    return _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(a, _mm256_castpd_si256(two52))), two52);
}
#define DL_IVEC __m256i
#define dl_i64_add _mm256_add_epi64
#define dl_i64_and _mm256_and_si256
#define dl_i64_srl _mm256_srli_epi64
#define dl_i64_set(c) _mm256_set1_epi64x((long long)(c))
#define dl_as_i64 _mm256_castpd_si256
#define dl_as_vd _mm256_castsi256_pd

#else

static inline vd vd_exp(vd x) { DL_LANES(4, x.v[i_] = dl_exp(x.v[i_])); return x; }
static inline vd vd_exp_nc(vd x) { return vd_exp(x); }
static inline vd vd_exp_lite(vd x) { return vd_exp(x); }
static inline vd vd_exp_lite_nc(vd x) { return vd_exp(x); }
static inline vf vf_exp(vf x) { DL_LANES(8, x.v[i_] = dl_expf(x.v[i_])); return x; }
static inline vf vf_exp_nc(vf x) { return vf_exp(x); }
static inline vd vd_log1p(vd x) { DL_LANES(4, x.v[i_] = dl_log1p(x.v[i_])); return x; }

#endif

#ifndef DL_HAVE_EXP_FAST /* AVX-512 and the baseline: exp_lite is already cheap there */
#define DL_HAVE_EXP_FAST 0
#define vd_exp_fast vd_exp_lite
#define vd_exp_fast_nc vd_exp_lite_nc
#endif
#define DL_EXP_FAST_EPS 3e-10 /* exp_fast's relative error, for d in [-708, 0] (tests/test_kernels.py) */

#if DL_ISA >= 1
/* the vector form of dl_log1p in scalar.h: the same operations, lane by lane */
static inline vd vd_log1p(vd x)
{
    const vd one = vd_set(1.0);
    vd u = vd_add(one, x);
#if DL_ISA == 2
    __mmask8 big = _mm512_cmp_pd_mask(x, one, _CMP_GE_OQ);
    vd c = _mm512_mask_blend_pd(big, vd_sub(x, vd_sub(u, one)), vd_sub(one, vd_sub(u, x)));
#else
    __m256d big = _mm256_cmp_pd(x, one, _CMP_GE_OQ);
    vd c = _mm256_blendv_pd(vd_sub(x, vd_sub(u, one)), vd_sub(one, vd_sub(u, x)), big);
#endif
    DL_IVEC ui = dl_i64_add(dl_as_i64(u), dl_i64_set(0x3ff0000000000000ULL - DL_SQRT2_HALF_BITS));
    vd k = vd_sub(vd_from_i64(dl_i64_srl(ui, 52)), vd_set(1023.0));
    vd f = dl_as_vd(dl_i64_add(dl_i64_and(ui, dl_i64_set(0x000fffffffffffffULL)), dl_i64_set(DL_SQRT2_HALF_BITS)));
    c = vd_div(c, u);
    vd g = vd_sub(f, one);
    vd hfsq = vd_mul(vd_set(0.5), vd_mul(g, g));
    vd s = vd_div(g, vd_add(vd_set(2.0), g));
    vd w = vd_mul(s, s);
    vd q = vd_fma(vd_set(DL_L_Q6), w, vd_set(DL_L_Q5));
    q = vd_fma(q, w, vd_set(DL_L_Q4));
    q = vd_fma(q, w, vd_set(DL_L_Q3));
    q = vd_fma(q, w, vd_set(DL_L_Q2));
    q = vd_fma(q, w, vd_set(DL_L_Q1));
    q = vd_fma(q, w, vd_set(DL_L_Q0));
    vd R = vd_mul(w, q);
    vd inner = vd_add(vd_mul(s, vd_add(hfsq, R)), vd_add(vd_mul(k, vd_set(DL_LN2_LO)), c));
    vd res = vd_sub(vd_mul(k, vd_set(DL_LN2_HI)), vd_sub(vd_sub(hfsq, inner), g));
    /* u <= 0, NaN or inf: the limits of the scalar code */
#if DL_ISA == 2
    __mmask8 bad = _mm512_cmp_pd_mask(u, vd_zero(), _CMP_NGT_UQ);
    res = _mm512_mask_blend_pd(bad, res, vd_set(NAN));
    res = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(u, vd_zero(), _CMP_EQ_OQ), res, vd_set(-INFINITY));
    res = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(u, vd_set(INFINITY), _CMP_EQ_OQ), res, vd_set(INFINITY));
    res = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, vd_zero(), _CMP_EQ_OQ), res, x); /* -0 stays -0 */
#else
    res = _mm256_blendv_pd(res, vd_set(NAN), _mm256_cmp_pd(u, vd_zero(), _CMP_NGT_UQ));
    res = _mm256_blendv_pd(res, vd_set(-INFINITY), _mm256_cmp_pd(u, vd_zero(), _CMP_EQ_OQ));
    res = _mm256_blendv_pd(res, vd_set(INFINITY), _mm256_cmp_pd(u, vd_set(INFINITY), _CMP_EQ_OQ));
    res = _mm256_blendv_pd(res, x, _mm256_cmp_pd(x, vd_zero(), _CMP_EQ_OQ));
#endif
    return res;
}
#endif

#endif
