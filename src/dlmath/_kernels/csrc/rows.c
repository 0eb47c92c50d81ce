/* The row kernels for one instruction set (DL_ISA, see simd.h): rows_impl.h instantiated for
 * binary64 and binary32 rows, binary16/bfloat16 rows widened to binary32 one row at a time, and the
 * kernel table that module.c chooses from at import. */
#include <stdlib.h>

#include "rows.h"
#include "vmath.h"

#define DL_CHUNK 2048  /* elements a chunk of a row: searched, then summed, while in L1 */
#define DL_ROWBLOCK 64 /* rows whose log1p is taken together */

/* A row whose maximum is not finite: NaN anywhere, or no +inf (all -inf), gives NaN; otherwise the
 * cnt entries equal to +inf share the mass, p = 1/cnt there and 0 elsewhere (the limit). */
typedef struct {
    int nan;
    double cnt;
} dl_special;

static inline double dl_sp_p(dl_special s, double x) { return s.nan ? NAN : (x == INFINITY ? 1.0 / s.cnt : 0.0); }
static inline double dl_sp_logp(dl_special s, double x)
{
    return s.nan ? NAN : (x == INFINITY ? -log(s.cnt) : -INFINITY);
}

/* out[i] = add[i] + log1p(r[i]) */
static void dl_log1p_add(const double *r, const double *add, double *out, dl_int n)
{
    dl_int i = 0;
    for (; i + VD_N <= n; i += VD_N) vd_store(out + i, vd_add(vd_load(add + i), vd_log1p(vd_load(r + i))));
    if (i < n) {
        double rb[VD_N], ab[VD_N], ob[VD_N];
        for (int j = 0; j < VD_N; j++) {
            rb[j] = i + j < n ? r[i + j] : 0.0;
            ab[j] = i + j < n ? add[i + j] : 0.0;
        }
        vd_store(ob, vd_add(vd_load(ab), vd_log1p(vd_load(rb))));
        memcpy(out + i, ob, (size_t)(n - i) * sizeof(double));
    }
}

/* Whether an LSE computed in binary64 as L = m + log1p(r), from a state r whose relative error is at
 * most eps, rounds to one value of odt (binary32, binary16 or bfloat16) over all it can be: the
 * interval L -+ D, D = eps r/(1 + r) (r's error carried through log1p) + 2^-50 (2|L| + |m|) (the
 * roundings of log1p, of the sum and of L -+ D, log1p(r) being at most |L| + |m|) + 2^-1000 (the
 * terms below 2^-1021 that the clamp at -708 raised). A state of no other term (r = 0: NaN, +-inf,
 * or ties alone) is exact; NaN in r is redone. */
static inline int dl_rounds_alike(double L, double m, double r, double eps, int odt)
{
    if (r == 0) return 1;
    double D = eps * (r / (1.0 + r)) + 0x1p-50 * (2.0 * fabs(L) + fabs(m)) + 0x1p-1000;
    double lo = L - D, hi = L + D;
    if (odt == DL_F32) return (float)lo == (float)hi;
    if (odt == DL_F16) return dl_double_to_half(lo) == dl_double_to_half(hi);
    return dl_double_to_bf16(lo) == dl_double_to_bf16(hi);
}

#define DL_C 64
#include "rows_impl.h"
#undef DL_C
#define DL_C 32
#include "rows_impl.h"
#undef DL_C

/* ------------------------------------------------------------------ dtype dispatch */

static void dl_to_f32(int dt, const void *src, float *dst, dl_int n)
{
    const uint16_t *s = (const uint16_t *)src;
    dl_int i = 0;
    if (dt == DL_F16) {
#if DL_ISA >= 1
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i))));
#endif
        for (; i < n; i++) dst[i] = dl_half_to_float(s[i]);
    } else {
        for (; i < n; i++) dst[i] = dl_bf16_to_float(s[i]);
    }
}

static void dl_from_f32(int dt, const float *src, void *dst, dl_int n)
{
    uint16_t *d = (uint16_t *)dst;
    dl_int i = 0;
    if (dt == DL_F16) {
#if DL_ISA >= 1
        for (; i + 8 <= n; i += 8)
            _mm_storeu_si128((__m128i *)(d + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
#endif
        for (; i < n; i++) d[i] = dl_float_to_half(src[i]);
    } else {
        for (; i < n; i++) d[i] = dl_float_to_bf16(src[i]);
    }
}

static size_t dl_size(int dt) { return dt == DL_F64 ? 8 : dt == DL_F32 ? 4 : 2; }

static void dl_put(int odt, void *out, dl_int i, double v)
{
    if (!out) return;
    switch (odt) {
    case DL_F64: ((double *)out)[i] = v; break;
    case DL_F32: ((float *)out)[i] = (float)v; break;
    case DL_F16: ((uint16_t *)out)[i] = dl_double_to_half(v); break;
    default: ((uint16_t *)out)[i] = dl_double_to_bf16(v); break;
    }
}

/* per-row results computed in binary64 for rows [r0, r1), then stored in odt */
#define DL_ROWS_OUT(n) double *tmp = malloc((size_t)((n) > 0 ? (n) : 1) * sizeof(double) * 2); \
    if (!tmp) return -2;
#define DL_ROW(dt, x, i, ldx) ((const char *)(x) + (size_t)((i) * (ldx)) * dl_size(dt))

/* a binary16/bfloat16 row widened into scratch */
#define DL_WIDE_BEGIN(K, extra) float *wbuf = malloc(((size_t)(K) * (extra) + 1) * sizeof(float)); \
    if (!wbuf) return -2;

static dl_int DL_FN(vexp)(int dt, const void *x, void *out, dl_int n)
{
    dl_int i = 0;
    if (dt == DL_F64) {
        const double *a = x;
        double *o = out;
        for (; i + VD_N <= n; i += VD_N) vd_store(o + i, vd_exp(vd_load(a + i)));
        if (i < n) store_tail_f64(o + i, vd_exp(load_tail_f64(a + i, n - i, 0.0)), n - i);
    } else if (dt >= DL_F64_LITE && dt != DL_F32_NC) {
        const double *a = x;
        double *o = out;
        for (; i < n; i += VD_N) {
            vd v = i + VD_N <= n ? vd_load(a + i) : load_tail_f64(a + i, n - i, 0.0);
            v = dt == DL_F64_LITE  ? vd_exp_lite(v)
                : dt == DL_F64_NC    ? vd_exp_nc(v)
                : dt == DL_F64_FAST  ? vd_exp_fast(v)
                : dt == DL_F64_FAST_NC ? vd_exp_fast_nc(v)
                                     : vd_exp_lite_nc(v);
            store_tail_f64(o + i, v, n - i < VD_N ? n - i : VD_N);
        }
    } else if (dt == DL_F32_NC) {
        const float *a = x;
        float *o = out;
        for (; i + VF_N <= n; i += VF_N) vf_store(o + i, vf_exp_nc(vf_load(a + i)));
        if (i < n) store_tail_f32(o + i, vf_exp(load_tail_f32(a + i, n - i, 0.0f)), n - i);
    } else {
        const float *a = x;
        float *o = out;
        for (; i + VF_N <= n; i += VF_N) vf_store(o + i, vf_exp(vf_load(a + i)));
        if (i < n) store_tail_f32(o + i, vf_exp(load_tail_f32(a + i, n - i, 0.0f)), n - i);
    }
    return -1;
}

static dl_int DL_FN(vlog1p)(const double *x, double *out, dl_int n)
{
    dl_int i = 0;
    for (; i + VD_N <= n; i += VD_N) vd_store(out + i, vd_log1p(vd_load(x + i)));
    if (i < n) store_tail_f64(out + i, vd_log1p(load_tail_f64(x + i, n - i, 0.0)), n - i);
    return -1;
}

static dl_int DL_FN(lse_state)(int dt, const void *x, dl_int K, dl_int ldx, dl_int r0, dl_int r1, double *m,
                               double *r)
{
    if (dt == DL_F64) state_rows_f64(x, K, ldx, r0, r1, m, r, 0);
    else if (dt == DL_F32) state_rows_f32(x, K, ldx, r0, r1, m, r, 0);
    else {
        DL_WIDE_BEGIN(K, 1)
        for (dl_int i = r0; i < r1; i++) {
            dl_to_f32(dt, DL_ROW(dt, x, i, ldx), wbuf, K);
            state_rows_f32(wbuf, K, K, 0, 1, m + i, r + i, 0);
        }
        free(wbuf);
    }
    return -1;
}

static dl_int DL_FN(lse)(int dt, const void *x, dl_int K, dl_int ldx, dl_int r0, dl_int r1, void *out, int odt)
{
    dl_int n = r1 - r0;
    DL_ROWS_OUT(n)
    if (dt == DL_F64) lse_rows_f64((const double *)x + r0 * ldx, K, ldx, 0, n, tmp, odt);
    else if (dt == DL_F32) lse_rows_f32((const float *)x + r0 * ldx, K, ldx, 0, n, tmp, odt);
    else {
        float *wbuf = malloc(((size_t)K + 1) * sizeof(float));
        if (!wbuf) { free(tmp); return -2; }
        for (dl_int i = 0; i < n; i++) {
            dl_to_f32(dt, DL_ROW(dt, x, r0 + i, ldx), wbuf, K);
            lse_rows_f32(wbuf, K, K, 0, 1, tmp + i, odt);
        }
        free(wbuf);
    }
    for (dl_int i = 0; i < n; i++) dl_put(odt, out, r0 + i, tmp[i]);
    free(tmp);
    return -1;
}

static dl_int DL_FN(softmax)(int dt, const void *x, dl_int K, dl_int ldx, dl_int r0, dl_int r1, void *out,
                             dl_int ldo, double it, int log)
{
    if (dt == DL_F64) softmax_rows_f64(x, K, ldx, r0, r1, out, ldo, it, log);
    else if (dt == DL_F32) softmax_rows_f32(x, K, ldx, r0, r1, out, ldo, it, log);
    else {
        DL_WIDE_BEGIN(K, 2)
        for (dl_int i = r0; i < r1; i++) {
            dl_to_f32(dt, DL_ROW(dt, x, i, ldx), wbuf, K);
            softmax_rows_f32(wbuf, K, K, 0, 1, wbuf + K, K, it, log);
            dl_from_f32(dt, wbuf + K, (char *)out + (size_t)(i * ldo) * 2, K);
        }
        free(wbuf);
    }
    return -1;
}

static dl_int DL_FN(xent_index)(int dt, const void *x, dl_int K, dl_int ldx, const void *t, int tcode, dl_int r0,
                                dl_int r1, void *loss, void *lse, int odt)
{
    dl_int n = r1 - r0, bad = -1;
    DL_ROWS_OUT(n)
    double *tl = tmp, *tz = tmp + (n > 0 ? n : 1);
    const char *t0 = (const char *)t + (size_t)r0 * (tcode == DL_I64 ? 8 : 4);
    if (dt == DL_F64) bad = xent_index_rows_f64((const double *)x + r0 * ldx, K, ldx, t0, tcode, 0, n, tl, tz);
    else if (dt == DL_F32) bad = xent_index_rows_f32((const float *)x + r0 * ldx, K, ldx, t0, tcode, 0, n, tl, tz);
    else {
        float *wbuf = malloc(((size_t)K + 1) * sizeof(float));
        if (!wbuf) { free(tmp); return -2; }
        for (dl_int i = 0; i < n && bad < 0; i++) {
            dl_to_f32(dt, DL_ROW(dt, x, r0 + i, ldx), wbuf, K);
            const char *ti = t0 + (size_t)i * (tcode == DL_I64 ? 8 : 4);
            if (xent_index_rows_f32(wbuf, K, K, ti, tcode, 0, 1, tl + i, tz + i) >= 0) bad = i;
        }
        free(wbuf);
    }
    if (bad < 0)
        for (dl_int i = 0; i < n; i++) {
            dl_put(odt, loss, r0 + i, tl[i]);
            dl_put(odt, lse, r0 + i, tz[i]);
        }
    free(tmp);
    return bad < 0 ? -1 : r0 + bad;
}

static dl_int DL_FN(xent_prob)(int dt, const void *x, dl_int K, dl_int ldx, const void *y, dl_int ldy, dl_int r0,
                               dl_int r1, void *loss, void *lse, int odt)
{
    dl_int n = r1 - r0, bad = -1;
    DL_ROWS_OUT(n)
    double *tl = tmp, *tz = tmp + (n > 0 ? n : 1);
    if (dt == DL_F64)
        bad = xent_prob_rows_f64((const double *)x + r0 * ldx, K, ldx, (const double *)y + r0 * ldy, ldy, 0, n, tl, tz);
    else if (dt == DL_F32)
        bad = xent_prob_rows_f32((const float *)x + r0 * ldx, K, ldx, (const float *)y + r0 * ldy, ldy, 0, n, tl, tz);
    else {
        float *wbuf = malloc(((size_t)K * 2 + 1) * sizeof(float));
        if (!wbuf) { free(tmp); return -2; }
        for (dl_int i = 0; i < n && bad < 0; i++) {
            dl_to_f32(dt, DL_ROW(dt, x, r0 + i, ldx), wbuf, K);
            dl_to_f32(dt, DL_ROW(dt, y, r0 + i, ldy), wbuf + K, K);
            if (xent_prob_rows_f32(wbuf, K, K, wbuf + K, K, 0, 1, tl + i, tz + i) >= 0) bad = i;
        }
        free(wbuf);
    }
    if (bad < 0)
        for (dl_int i = 0; i < n; i++) {
            dl_put(odt, loss, r0 + i, tl[i]);
            dl_put(odt, lse, r0 + i, tz[i]);
        }
    free(tmp);
    return bad < 0 ? -1 : r0 + bad;
}

static dl_int DL_FN(xent_grad_index)(int dt, const void *x, dl_int K, dl_int ldx, const void *t, int tcode,
                                     dl_int r0, dl_int r1, double scale, void *out, dl_int ldo, void *loss,
                                     void *lse, int odt)
{
    dl_int n = r1 - r0, bad = -1;
    DL_ROWS_OUT(n)
    double *tl = loss ? tmp : NULL, *tz = lse ? tmp + (n > 0 ? n : 1) : NULL;
    const char *t0 = (const char *)t + (size_t)r0 * (tcode == DL_I64 ? 8 : 4);
    if (dt == DL_F64)
        bad = xent_grad_index_rows_f64((const double *)x + r0 * ldx, K, ldx, t0, tcode, 0, n, scale,
                                       (double *)out + r0 * ldo, ldo, tl, tz);
    else if (dt == DL_F32)
        bad = xent_grad_index_rows_f32((const float *)x + r0 * ldx, K, ldx, t0, tcode, 0, n, scale,
                                       (float *)out + r0 * ldo, ldo, tl, tz);
    else {
        DL_WIDE_BEGIN(K, 2)
        for (dl_int i = 0; i < n && bad < 0; i++) {
            dl_to_f32(dt, DL_ROW(dt, x, r0 + i, ldx), wbuf, K);
            const char *ti = t0 + (size_t)i * (tcode == DL_I64 ? 8 : 4);
            if (xent_grad_index_rows_f32(wbuf, K, K, ti, tcode, 0, 1, scale, wbuf + K, K, tl ? tl + i : NULL,
                                         tz ? tz + i : NULL) >= 0)
                bad = i;
            else
                dl_from_f32(dt, wbuf + K, (char *)out + (size_t)((r0 + i) * ldo) * 2, K);
        }
        free(wbuf);
    }
    if (bad < 0)
        for (dl_int i = 0; i < n; i++) {
            if (tl) dl_put(odt, loss, r0 + i, tl[i]);
            if (tz) dl_put(odt, lse, r0 + i, tz[i]);
        }
    free(tmp);
    return bad < 0 ? -1 : r0 + bad;
}

static dl_int DL_FN(xent_grad_prob)(int dt, const void *x, dl_int K, dl_int ldx, const void *y, dl_int ldy,
                                    dl_int r0, dl_int r1, double scale, void *out, dl_int ldo, void *loss, void *lse,
                                    int odt)
{
    dl_int n = r1 - r0, bad = -1;
    DL_ROWS_OUT(n)
    double *tl = loss ? tmp : NULL, *tz = lse ? tmp + (n > 0 ? n : 1) : NULL;
    if (dt == DL_F64)
        bad = xent_grad_prob_rows_f64((const double *)x + r0 * ldx, K, ldx, (const double *)y + r0 * ldy, ldy, 0, n,
                                      scale, (double *)out + r0 * ldo, ldo, tl, tz);
    else if (dt == DL_F32)
        bad = xent_grad_prob_rows_f32((const float *)x + r0 * ldx, K, ldx, (const float *)y + r0 * ldy, ldy, 0, n,
                                      scale, (float *)out + r0 * ldo, ldo, tl, tz);
    else {
        float *wbuf = malloc(((size_t)K * 3 + 1) * sizeof(float));
        if (!wbuf) { free(tmp); return -2; }
        for (dl_int i = 0; i < n && bad < 0; i++) {
            dl_to_f32(dt, DL_ROW(dt, x, r0 + i, ldx), wbuf, K);
            dl_to_f32(dt, DL_ROW(dt, y, r0 + i, ldy), wbuf + K, K);
            if (xent_grad_prob_rows_f32(wbuf, K, K, wbuf + K, K, 0, 1, scale, wbuf + 2 * K, K, tl ? tl + i : NULL,
                                        tz ? tz + i : NULL) >= 0)
                bad = i;
            else
                dl_from_f32(dt, wbuf + 2 * K, (char *)out + (size_t)((r0 + i) * ldo) * 2, K);
        }
        free(wbuf);
    }
    if (bad < 0)
        for (dl_int i = 0; i < n; i++) {
            if (tl) dl_put(odt, loss, r0 + i, tl[i]);
            if (tz) dl_put(odt, lse, r0 + i, tz[i]);
        }
    free(tmp);
    return bad < 0 ? -1 : r0 + bad;
}

static dl_int DL_FN(hvp)(int dt, const void *z, dl_int K, dl_int ldz, const void *v, dl_int ldv, dl_int r0,
                         dl_int r1, void *out, dl_int ldo)
{
    if (dt == DL_F64) hvp_rows_f64(z, K, ldz, v, ldv, r0, r1, out, ldo);
    else if (dt == DL_F32) hvp_rows_f32(z, K, ldz, v, ldv, r0, r1, out, ldo);
    else {
        DL_WIDE_BEGIN(K, 3)
        for (dl_int i = r0; i < r1; i++) {
            dl_to_f32(dt, DL_ROW(dt, z, i, ldz), wbuf, K);
            dl_to_f32(dt, DL_ROW(dt, v, i, ldv), wbuf + K, K);
            hvp_rows_f32(wbuf, K, K, wbuf + K, K, 0, 1, wbuf + 2 * K, K);
            dl_from_f32(dt, wbuf + 2 * K, (char *)out + (size_t)(i * ldo) * 2, K);
        }
        free(wbuf);
    }
    return -1;
}

static dl_int DL_FN(softmax_bwd)(int dt, const void *y, dl_int K, dl_int ldy, const void *g, dl_int ldg,
                                 dl_int r0, dl_int r1, void *out, dl_int ldo, double it, int log)
{
    if (dt == DL_F64) softmax_bwd_rows_f64(y, K, ldy, g, ldg, r0, r1, out, ldo, it, log);
    else if (dt == DL_F32) softmax_bwd_rows_f32(y, K, ldy, g, ldg, r0, r1, out, ldo, it, log);
    else {
        DL_WIDE_BEGIN(K, 3)
        for (dl_int i = r0; i < r1; i++) {
            dl_to_f32(dt, DL_ROW(dt, y, i, ldy), wbuf, K);
            dl_to_f32(dt, DL_ROW(dt, g, i, ldg), wbuf + K, K);
            softmax_bwd_rows_f32(wbuf, K, K, wbuf + K, K, 0, 1, wbuf + 2 * K, K, it, log);
            dl_from_f32(dt, wbuf + 2 * K, (char *)out + (size_t)(i * ldo) * 2, K);
        }
        free(wbuf);
    }
    return -1;
}

static dl_int DL_FN(lse_softmax)(int dt, const void *x, dl_int K, dl_int ldx, dl_int r0, dl_int r1, void *lse,
                                 int odt, void *out, dl_int ldo)
{
    if (dt != DL_F64 && dt != DL_F32) { /* half-precision rows: the two kernels, each widening */
        dl_int rc = DL_FN(lse)(dt, x, K, ldx, r0, r1, lse, odt);
        return rc != -1 ? rc : DL_FN(softmax)(dt, x, K, ldx, r0, r1, out, ldo, 1.0, 0);
    }
    dl_int n = r1 - r0;
    DL_ROWS_OUT(n)
    if (dt == DL_F64)
        lse_softmax_rows_f64((const double *)x + r0 * ldx, K, ldx, 0, n, tmp, (double *)out + r0 * ldo, ldo, odt);
    else
        lse_softmax_rows_f32((const float *)x + r0 * ldx, K, ldx, 0, n, tmp, (float *)out + r0 * ldo, ldo, odt);
    for (dl_int i = 0; i < n; i++) dl_put(odt, lse, r0 + i, tmp[i]);
    free(tmp);
    return -1;
}

const dl_kernels DL_FN(dl_kernels) = {
    DL_ISA_NAME,         DL_FN(vexp),       DL_FN(vlog1p),          DL_FN(lse_state),
    DL_FN(lse),          DL_FN(softmax),    DL_FN(xent_index),      DL_FN(xent_prob),
    DL_FN(xent_grad_index), DL_FN(xent_grad_prob), DL_FN(hvp), DL_FN(softmax_bwd), DL_FN(lse_softmax),
};
