/* Row kernels in one arithmetic, included by rows.c twice: DL_C 64 (binary64 rows, binary64
 * arithmetic) and DL_C 32 (binary32 rows: exponentials in binary32, every sum in binary64, and
 * the LogSumExp itself with binary64 exponentials so that it rounds correctly: see lse_rows).
 *
 * A row is x[0:K] (contiguous); rows r0..r1-1 of a matrix start at x + r ldx. For a row with a
 * finite maximum M the kernels keep the LogSumExp state of Blanchard, Higham & Higham
 * (doi:10.1093/imanum/draa038): r = sum over the entries other than one occurrence of M of
 * e^{(x_i - M)/tau}, so that LSE = M + log1p(r) keeps the small terms and 1 - p_M = r/(1 + r)
 * has no cancellation. Entries equal to M are counted, not summed (they are exact ones).
 * A row whose maximum is +-inf, or that holds NaN with no finite maximum, takes the scalar
 * special-row code, which gives the limits the NumPy path gives.
 *
 * This file holds the arithmetic's macros and the pieces every kernel shares (tails, the row maximum,
 * the sums of shifted exponentials, the scaling pass); rows_lse.h and rows_xent.h hold the kernels.
 */

#if DL_C == 64
#define sc double
#define vc vd
#define vcm vdm
#define VC_N VD_N
#define T_(name) name##_f64
#define vc_set vd_set
#define vc_load vd_load
#define vc_store vd_store
#define vc_add vd_add
#define vc_sub vd_sub
#define vc_mul vd_mul
#define vc_max vd_max
#define vc_eq vd_eq
#define vc_keep_not vd_keep_not
#define vc_add_unless vd_add_unless
#define vc_count vd_count
#define vc_hmax vd_hmax
#define vd_exp_s vd_exp
#define vd_exp_s_nc vd_exp_nc
#define vc_min vd_min
#define vc_hmin vd_hmin
#define vc_exp vd_exp
#define vc_exp_nc vd_exp_nc
#define DL_NC_LIMIT 708.0
#define vd_load_s vd_load
#define ACC(a) vd a##0 = vd_zero(), a##1 = vd_zero()
#define ACC_ADD(a, v) (a##0 = vd_add(a##0, (v)))
#define ACC_SUM(a) vd_hsum(vd_add(a##0, a##1))
#define VC_HALVES 1
#define vc_half(v, h) (v)
#else
#define sc float
#define vc vf
#define vcm vfm
#define VC_N VF_N
#define T_(name) name##_f32
#define vc_set vf_set
#define vc_load vf_load
#define vc_store vf_store
#define vc_add vf_add
#define vc_sub vf_sub
#define vc_mul vf_mul
#define vc_max vf_max
#define vc_eq vf_eq
#define vc_keep_not vf_keep_not
#define vc_add_unless vf_add_unless
#define vc_count vf_count
#define vc_hmax vf_hmax
#define vd_exp_s vd_exp_lite
#define vd_exp_s_nc vd_exp_lite_nc
#define vc_min vf_min
#define vc_hmin vf_hmin
#define vc_exp vf_exp
#define vc_exp_nc vf_exp_nc
#define DL_NC_LIMIT 87.0
#define vd_load_s vd_load_f
#define ACC(a) vd a##0 = vd_zero(), a##1 = vd_zero()
#define ACC_ADD(a, v) (a##0 = vd_add(a##0, vf_lo(v)), a##1 = vd_add(a##1, vf_hi(v)))
#define ACC_SUM(a) vd_hsum(vd_add(a##0, a##1))
#define VC_HALVES 2
#define vc_half(v, h) ((h) ? vf_hi(v) : vf_lo(v))
#endif

static inline vc T_(load_tail)(const sc *p, dl_int n, sc fill)
{
    sc b[VC_N];
    for (int i = 0; i < VC_N; i++) b[i] = i < n ? p[i] : fill;
    return vc_load(b);
}
static inline void T_(store_tail)(sc *p, vc v, dl_int n)
{
    sc b[VC_N];
    vc_store(b, v);
    memcpy(p, b, (size_t)n * sizeof(sc));
}
static inline vd T_(load_tail_d)(const sc *p, dl_int n, sc fill)
{
    sc b[VD_N];
    for (int i = 0; i < VD_N; i++) b[i] = i < n ? p[i] : fill;
    return vd_load_s(b);
}

/* The next row, to be prefetched while this one is worked on in cache, so that its first (maximum)
 * pass does not wait on memory; none past the last row or for rows too long to sit in L2. */
static inline const sc *T_(next)(const sc *x, dl_int i, dl_int r1, dl_int ldx, dl_int K)
{
    return i + 1 < r1 && K * (dl_int)sizeof(sc) <= (256 << 10) ? x + (i + 1) * ldx : NULL;
}

/* the largest entry, NaN skipped; -inf for an empty row or one of only -inf and NaN */
static sc T_(row_max)(const sc *x, dl_int n)
{
    vc m0 = vc_set((sc)-INFINITY), m1 = m0;
    dl_int i = 0;
    for (; i + 2 * VC_N <= n; i += 2 * VC_N) {
        m0 = vc_max(vc_load(x + i), m0);
        m1 = vc_max(vc_load(x + i + VC_N), m1);
    }
    if (i + VC_N <= n) {
        m0 = vc_max(vc_load(x + i), m0);
        i += VC_N;
    }
    if (i < n) m1 = vc_max(T_(load_tail)(x + i, n - i, (sc)-INFINITY), m1);
    return vc_hmax(vc_max(m0, m1));
}

/* the limits of a row whose maximum is not finite (see dl_special in rows.c) */
static dl_special T_(special)(const sc *x, dl_int n)
{
    dl_special s = {0, 0.0};
    for (dl_int i = 0; i < n; i++) {
        if (x[i] != x[i]) s.nan = 1;
        s.cnt += x[i] == (sc)INFINITY;
    }
    if (s.cnt == 0) s.nan = 1;
    return s;
}

/* The row's maximum (as row_max), and in *nc whether every (x_i - M) it is >= -DL_NC_LIMIT (87 for
 * binary32, 708 for binary64): the exponentials of the row can then go without their clamp (the
 * _nc forms, the same bits there), which on AVX2 saves a fifth of a binary32 exponential. */
static sc T_(row_minmax)(const sc *x, dl_int n, sc *mn);
static sc T_(row_max_nc)(const sc *x, dl_int n, double it, int *nc)
{
    sc lo, M = T_(row_minmax)(x, n, &lo);
    *nc = ((double)lo - (double)M) * it >= -DL_NC_LIMIT;
    return M;
}

/* vc_exp, or (nc, a constant at each use) vc_exp_nc */
#define DL_VC_EXP(d, nc) ((nc) ? vc_exp_nc(d) : vc_exp(d))

/* Over x[0:n] with the row maximum M: s += sum of e^{(x_i - M) it} over x_i != M, t += #(x_i == M).
 * Exponentials in the kernel's arithmetic (binary32 for DL_C 32); nc: see row_max_nc. */
static inline __attribute__((always_inline)) void T_(sum_rest_nc)(const sc *x, dl_int n, sc M, sc it, double *s,
                                                                   double *t, const sc *pf, int nc)
{
    const vc vM = vc_set(M), vit = vc_set(it), zero = vc_set(0);
    ACC(a);
    dl_int ties = 0, i = 0;
    for (; i + VC_N <= n; i += VC_N) {
        if (pf) __builtin_prefetch(pf + i);
        vc xi = vc_load(x + i);
        vcm eq = vc_eq(xi, vM);
        vc d = vc_sub(xi, vM);
        if (it != 1) d = vc_mul(d, vit);
        ACC_ADD(a, vc_add_unless(zero, eq, DL_VC_EXP(d, nc)));
        ties += vc_count(eq);
    }
    if (i < n) {
        vc xi = T_(load_tail)(x + i, n - i, (sc)-INFINITY);
        vcm eq = vc_eq(xi, vM);
        vc d = vc_sub(xi, vM);
        if (it != 1) d = vc_mul(d, vit);
        ACC_ADD(a, vc_add_unless(zero, eq, vc_exp(d)));
        ties += vc_count(eq);
    }
    *s += ACC_SUM(a);
    *t += (double)ties;
}

static void T_(sum_rest)(const sc *x, dl_int n, sc M, sc it, double *s, double *t, const sc *pf, int nc)
{
    if (nc) T_(sum_rest_nc)(x, n, M, it, s, t, pf, 1);
    else T_(sum_rest_nc)(x, n, M, it, s, t, pf, 0);
}

/* The same sum with binary64 exponentials whatever the row's type (for the LogSumExp itself; binary32
 * rows use exp_lite, accurate to 2e-14, which their rounded result cannot show, or with fast set
 * exp_fast, whose result lse_rows checks). nc: every entry of the chunk is >= M - 708, so the
 * exponential needs no clamp (the tail, filled with -inf, keeps it). Both flags are constants at
 * each call, so each form is compiled on its own. */
#if DL_C == 32
#define DL_EXP_REST(d, nc, fast) \
    ((fast) ? ((nc) ? vd_exp_fast_nc(d) : vd_exp_fast(d)) : ((nc) ? vd_exp_s_nc(d) : vd_exp_s(d)))
#else
#define DL_EXP_REST(d, nc, fast) ((nc) ? vd_exp_s_nc(d) : vd_exp_s(d))
#endif
#if DL_C == 64
#define DL_VD_STORE_S vd_store
#else
#define DL_VD_STORE_S vd_store_f
#endif
static inline __attribute__((always_inline)) void T_(sum_rest_d)(const sc *x, dl_int n, double M, double *s,
                                                                  double *t, int nc, int fast, sc *out)
{
    /* out (NULL at most calls, where the stores compile away): each e^{x_i - M} also stored there,
     * rounded to the row's type, for the softmax of the same pass */
    const vd vM = vd_set(M);
    vd a0 = vd_zero(), a1 = vd_zero();
    dl_int ties = 0, i = 0;
    for (; i + 2 * VD_N <= n; i += 2 * VD_N) {
        __builtin_prefetch(x + i + DL_CHUNK);
        vd x0 = vd_load_s(x + i), x1 = vd_load_s(x + i + VD_N);
        vdm e0 = vd_eq(x0, vM), e1 = vd_eq(x1, vM);
        vd y0 = DL_EXP_REST(vd_sub(x0, vM), nc, fast), y1 = DL_EXP_REST(vd_sub(x1, vM), nc, fast);
        if (out) {
            DL_VD_STORE_S(out + i, y0);
            DL_VD_STORE_S(out + i + VD_N, y1);
        }
        a0 = vd_add_unless(a0, e0, y0);
        a1 = vd_add_unless(a1, e1, y1);
        ties += vd_count(e0) + vd_count(e1);
    }
    for (; i < n; i += VD_N) {
        vd x0 = i + VD_N <= n ? vd_load_s(x + i) : T_(load_tail_d)(x + i, n - i, (sc)-INFINITY);
        vdm e0 = vd_eq(x0, vM);
        vd y0 = DL_EXP_REST(vd_sub(x0, vM), 0, fast);
        if (out) {
            sc b[VD_N];
            DL_VD_STORE_S(b, y0);
            memcpy(out + i, b, (size_t)(n - i < VD_N ? n - i : VD_N) * sizeof(sc));
        }
        a0 = vd_add_unless(a0, e0, y0);
        ties += vd_count(e0);
    }
    *s += vd_hsum(vd_add(a0, a1));
    *t += (double)ties;
}
#undef DL_VD_STORE_S
#undef DL_EXP_REST

/* the largest and smallest entries of x[0:n] (NaN skipped) */
static sc T_(row_minmax)(const sc *x, dl_int n, sc *mn)
{
    vc m0 = vc_set((sc)-INFINITY), m1 = m0, l0 = vc_set((sc)INFINITY), l1 = l0;
    dl_int i = 0;
    for (; i + 2 * VC_N <= n; i += 2 * VC_N) {
        vc a = vc_load(x + i), b = vc_load(x + i + VC_N);
        m0 = vc_max(a, m0);
        m1 = vc_max(b, m1);
        l0 = vc_min(a, l0);
        l1 = vc_min(b, l1);
    }
    for (; i < n; i += VC_N) {
        vc a = i + VC_N <= n ? vc_load(x + i) : T_(load_tail)(x + i, n - i, x[i]);
        m0 = vc_max(a, m0);
        l0 = vc_min(a, l0);
    }
    *mn = vc_hmin(vc_min(l0, l1));
    return vc_hmax(vc_max(m0, m1));
}

static int T_(has_nan)(const sc *x, dl_int n)
{
    for (dl_int i = 0; i < n; i++)
        if (x[i] != x[i]) return 1;
    return 0;
}


/* out = c e/s (e already in out). DL_C 64: q = e (1/s) corrected by one Newton step on its residual
 * e - q s (an FMA); DL_C 32: e (c/s) with c/s carried as two binary32 parts. Either is within a hair
 * of one rounding of the exact product. */
static void T_(scale_row)(sc *out, dl_int K, double s, double c)
{
    dl_int i = 0;
#if DL_C == 64
    const vd vs = vd_set(s), inv = vd_set(1.0 / s), vc_ = vd_set(c);
    for (; i + VD_N <= K; i += VD_N) {
        vd e = vd_load(out + i);
        vd q = vd_mul(e, inv);
        q = vd_fma(vd_fnma(q, vs, e), inv, q);
        vd_store(out + i, c != 1 ? vd_mul(q, vc_) : q);
    }
    for (; i < K; i++) {
        double q = out[i] / s;
        out[i] = c != 1 ? q * c : q;
    }
#else
    /* c/s as hi + lo in binary32: e hi + e lo is e (c/s) to 2^-47, rounded once by the FMA */
    double f = c / s;
    float fh = (float)f, fl = (float)(f - (double)fh);
    const vf vh = vf_set(fh), vl = vf_set(fl);
    for (; i + VF_N <= K; i += VF_N) {
        vf e = vf_load(out + i);
        vf_store(out + i, vf_fma(e, vh, vf_mul(e, vl)));
    }
    for (; i < K; i++) out[i] = (float)((double)out[i] * f);
#endif
}

/* e = exp(x - M) into out; returns the sum of e and, in *rest, the sum less one occurrence of the
 * maximum's exact 1 (ties counted); nc: see row_max_nc */
static inline __attribute__((always_inline)) double T_(exp_store_nc)(const sc *x, dl_int K, sc M, sc *out,
                                                                      double *rest, const sc *pf, int nc)
{
    const vc vM = vc_set(M), zero = vc_set(0);
    ACC(a);
    dl_int ties = 0, i = 0;
    for (; i + VC_N <= K; i += VC_N) {
        if (pf) __builtin_prefetch(pf + i);
        vc xi = vc_load(x + i);
        vcm eq = vc_eq(xi, vM);
        vc e = DL_VC_EXP(vc_sub(xi, vM), nc);
        vc_store(out + i, e);
        ACC_ADD(a, vc_add_unless(zero, eq, e));
        ties += vc_count(eq);
    }
    if (i < K) {
        vc xi = T_(load_tail)(x + i, K - i, (sc)-INFINITY);
        vcm eq = vc_eq(xi, vM);
        vc e = vc_exp(vc_sub(xi, vM));
        T_(store_tail)(out + i, e, K - i);
        ACC_ADD(a, vc_add_unless(zero, eq, e));
        ties += vc_count(eq);
    }
    *rest = ACC_SUM(a) + (double)(ties - 1);
    return 1.0 + *rest;
}

static double T_(exp_store)(const sc *x, dl_int K, sc M, sc *out, double *rest, const sc *pf, int nc)
{
    return nc ? T_(exp_store_nc)(x, K, M, out, rest, pf, 1) : T_(exp_store_nc)(x, K, M, out, rest, pf, 0);
}

#include "rows_lse.h"
#include "rows_xent.h"

#undef DL_VC_EXP

#undef T_
#undef sc
#undef vc
#undef vcm
#undef VC_N
#undef vc_set
#undef vc_load
#undef vc_store
#undef vc_add
#undef vc_sub
#undef vc_mul
#undef vc_max
#undef vc_eq
#undef vc_keep_not
#undef vc_add_unless
#undef vc_count
#undef vd_exp_s
#undef vd_exp_s_nc
#undef vc_min
#undef vc_hmin
#undef vc_hmax
#undef vc_exp
#undef vc_exp_nc
#undef DL_NC_LIMIT
#undef vd_load_s
#undef ACC
#undef ACC_ADD
#undef ACC_SUM
#undef VC_HALVES
#undef vc_half
