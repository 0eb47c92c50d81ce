/* Scalar exp, expf and log1p, and the binary16/bfloat16 conversions: the baseline's arithmetic.
 *
 * Every build (baseline, AVX2, AVX-512) compiles these with -ffp-contract=off, so a scalar result
 * (a rescaling factor, a special row) has the same bits whichever vector code runs around it.
 * The methods and their error bounds are stated in vmath.h; the polynomial coefficients come
 * from ../minimax.py. No FMA here: on a baseline x86-64 an fma() call is emulated in software.
 */
#ifndef DL_SCALAR_H
#define DL_SCALAR_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t dl_bits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
static inline double dl_from_bits(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }
static inline uint32_t dl_bitsf(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
static inline float dl_from_bitsf(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }

/* Cody-Waite splits: the high parts carry few enough bits that k * hi is exact for every k used. */
#define DL_LN2_HI 0x1.62e42fefa3800p-1 /* 42 bits: |k| <= 1077 */
#define DL_LN2_LO 0x1.ef35793c76730p-45
#define DL_INV_LN2 0x1.71547652b82fep+0
#define DL_SHIFT 0x1.8p52 /* adding it rounds to an integer held in the low mantissa bits */
#define DL_EXP_MIN -746.0 /* exp(-746) < 2^-1075: rounds to 0 */
#define DL_EXP_MAX 710.0  /* exp(710) > DBL_MAX: rounds to inf */

/* e^r - 1 - r = r^2 P(r) on |r| <= 1.01 ln2/2, P of degree 10 (no-table form) */
#define DL_E0_C2 0x1.0000000000000p-1
#define DL_E0_C3 0x1.5555555555557p-3
#define DL_E0_C4 0x1.5555555555556p-5
#define DL_E0_C5 0x1.111111110ff87p-7
#define DL_E0_C6 0x1.6c16c16c16212p-10
#define DL_E0_C7 0x1.a01a01aca0134p-13
#define DL_E0_C8 0x1.a01a01a741b3cp-16
#define DL_E0_C9 0x1.71ddffef9e7b1p-19
#define DL_E0_C10 0x1.27e4da1a3bf04p-22
#define DL_E0_C11 0x1.af52906239de4p-26
#define DL_E0_C12 0x1.1f75aba0b1e2ep-29

/* binary32: e^r - 1 - r = r^2 P(r) on |r| <= 1.01 ln2/2, P of degree 5 */
#define DL_LN2F_HI 0x1.62e4p-1f /* 16 bits: |k| <= 150 */
#define DL_LN2F_LO 0x1.7f7d1cp-20f
#define DL_INV_LN2F 0x1.715476p+0f
#define DL_SHIFTF 0x1.8p23f
#define DL_EXPF_MIN -104.0f
#define DL_EXPF_MAX 89.0f
#define DL_F_C2 0x1.000000p-1f
#define DL_F_C3 0x1.555556p-3f
#define DL_F_C4 0x1.5554e4p-5f
#define DL_F_C5 0x1.1110e0p-7f
#define DL_F_C6 0x1.6d4920p-10f
#define DL_F_C7 0x1.a12a42p-13f

/* log1p: 2 atanh(s) - 2s = s w Q(w), w = s^2 <= 1.0001 ((sqrt2-1)/(sqrt2+1))^2, Q of degree 6 */
#define DL_L_Q0 0x1.5555555555558p-1
#define DL_L_Q1 0x1.99999999952d7p-2
#define DL_L_Q2 0x1.2492492df281ap-2
#define DL_L_Q3 0x1.c71c62e3f11e6p-3
#define DL_L_Q4 0x1.7462b51cb66b1p-3
#define DL_L_Q5 0x1.39fe51a7c18f9p-3
#define DL_L_Q6 0x1.2b5900de53b32p-3
#define DL_SQRT2_HALF_BITS 0x3fe6a09e667f3bcdULL

/* 2^n for an integer n in [-1022, 1023] */
static inline double dl_pow2i(int64_t n) { return dl_from_bits((uint64_t)(n + 1023) << 52); }
static inline float dl_pow2if(int32_t n) { return dl_from_bitsf((uint32_t)(n + 127) << 23); }

static inline double dl_exp(double x)
{
    if (x != x) return x;
    if (x < DL_EXP_MIN) x = DL_EXP_MIN;
    if (x > DL_EXP_MAX) x = DL_EXP_MAX;
    double t = x * DL_INV_LN2 + DL_SHIFT;
    double kd = t - DL_SHIFT;
    double r1 = x - kd * DL_LN2_HI, klo = kd * DL_LN2_LO; /* r1 is exact */
    double r = r1 - klo, rl = (r1 - r) - klo;             /* r + rl = r1 - klo, to 2^-105 */
    double p = DL_E0_C12;
    p = p * r + DL_E0_C11; p = p * r + DL_E0_C10; p = p * r + DL_E0_C9; p = p * r + DL_E0_C8;
    p = p * r + DL_E0_C7; p = p * r + DL_E0_C6; p = p * r + DL_E0_C5; p = p * r + DL_E0_C4;
    p = p * r + DL_E0_C3; p = p * r + DL_E0_C2;
    double hi = 1.0 + r, lo = (1.0 - hi) + r; /* 1 + r = hi + lo exactly */
    double y = hi + (lo + (rl + (r * r) * p));
    int64_t n = (int64_t)kd, n1 = n / 2; /* two factors: each stays a normal power of two */
    return y * dl_pow2i(n1) * dl_pow2i(n - n1);
}

static inline float dl_expf(float x)
{
    if (x != x) return x;
    if (x < DL_EXPF_MIN) x = DL_EXPF_MIN;
    if (x > DL_EXPF_MAX) x = DL_EXPF_MAX;
    float t = x * DL_INV_LN2F + DL_SHIFTF;
    float kd = t - DL_SHIFTF;
    float r1 = x - kd * DL_LN2F_HI, klo = kd * DL_LN2F_LO;
    float r = r1 - klo, rl = (r1 - r) - klo;
    float p = DL_F_C7;
    p = p * r + DL_F_C6; p = p * r + DL_F_C5; p = p * r + DL_F_C4; p = p * r + DL_F_C3;
    p = p * r + DL_F_C2;
    float hi = 1.0f + r, lo = (1.0f - hi) + r;
    float y = hi + (lo + (rl + (r * r) * p));
    int32_t n = (int32_t)kd, n1 = n / 2;
    return y * dl_pow2if(n1) * dl_pow2if(n - n1);
}

static inline double dl_log1p(double x)
{
    double u = 1.0 + x;
    if (x == 0.0) return x; /* keeps the sign of -0 */
    if (!(u > 0.0) || u == INFINITY) {
        if (u == 0.0) return -INFINITY;
        return u == INFINITY ? x + 1.0 : NAN; /* x + 1: inf stays inf, NaN stays NaN */
    }
    /* c = (1 + x) - u exactly (Fast2Sum, larger operand first) */
    double c = x >= 1.0 ? 1.0 - (u - x) : x - (u - 1.0);
    uint64_t ui = dl_bits(u) + (0x3ff0000000000000ULL - DL_SQRT2_HALF_BITS);
    double k = (double)((int64_t)(ui >> 52) - 1023);
    double f = dl_from_bits((ui & 0x000fffffffffffffULL) + DL_SQRT2_HALF_BITS);
    c = c / u;
    double g = f - 1.0;
    double hfsq = 0.5 * g * g;
    double s = g / (2.0 + g);
    double w = s * s;
    double q = DL_L_Q6;
    q = q * w + DL_L_Q5; q = q * w + DL_L_Q4; q = q * w + DL_L_Q3; q = q * w + DL_L_Q2;
    q = q * w + DL_L_Q1; q = q * w + DL_L_Q0;
    double R = w * q;
    return k * DL_LN2_HI - ((hfsq - (s * (hfsq + R) + (k * DL_LN2_LO + c))) - g);
}

/* binary16 <-> binary32, round to nearest even; NaN stays NaN (quiet) */
static inline float dl_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ffu;
    if (e == 0x1f) return dl_from_bitsf(sign | 0x7f800000u | (m << 13) | (m ? 0x00400000u : 0));
    if (e == 0) { /* zero or subnormal: m * 2^-24 */
        float v = (float)m * 0x1p-24f;
        return sign ? -v : v;
    }
    return dl_from_bitsf(sign | ((e + 112) << 23) | (m << 13));
}

static inline uint16_t dl_float_to_half(float f)
{
    uint32_t u = dl_bitsf(f), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u | ((a >> 13) & 0x3ffu) : 0));
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520: rounds to inf */
    if (a < 0x38800000u) { /* below 2^-14: a subnormal half (or 0); 0.5 * 2^-24 and less round to 0 */
        float v = dl_from_bitsf(a) * 0x1p24f; /* exact: the result in units of 2^-24 */
        float r = rintf(v);                   /* round to nearest even under the default mode */
        return (uint16_t)(sign | (uint32_t)r);
    }
    uint32_t e = (a >> 23) - 112, m = a & 0x7fffffu;
    uint32_t h = (e << 10) | (m >> 13), rest = m & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h += 1; /* a carry into the exponent is right */
    return (uint16_t)(sign | h);
}

static inline float dl_bf16_to_float(uint16_t h) { return dl_from_bitsf((uint32_t)h << 16); }

static inline uint16_t dl_float_to_bf16(float f)
{
    uint32_t u = dl_bitsf(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* binary64 -> binary16 / bfloat16 rounded once (through binary32 a value could be rounded twice):
 * the double is first cut to a binary32 with a sticky bit, which then rounds correctly. */
static inline float dl_double_to_float_sticky(double d)
{
    float f = (float)d;
    if (f == f && (double)f != d && fabsf(f) < INFINITY) {
        uint32_t u = dl_bitsf(f);
        if (((double)f > d) == (d > 0)) u -= 1; /* truncate toward zero ... */
        u |= 1u;                                /* ... and mark the lost bits */
        f = dl_from_bitsf(u);
    }
    return f;
}
static inline uint16_t dl_double_to_half(double d) { return dl_float_to_half(dl_double_to_float_sticky(d)); }
static inline uint16_t dl_double_to_bf16(double d) { return dl_float_to_bf16(dl_double_to_float_sticky(d)); }

#endif
