/* Row kernels in one arithmetic, included by rows.c twice: DL_C 64 (binary64 rows, binary64
 * arithmetic) and DL_C 32 (binary32 rows: exponentials in binary32, every sum in binary64, and
 * the LogSumExp itself with binary64 exponentials so that it rounds correctly).
 *
 * A row is x[0:K] (contiguous); rows r0..r1-1 of a matrix start at x + r ldx. For a row with a
 * finite maximum M the kernels keep the LogSumExp state of Blanchard, Higham & Higham
 * (doi:10.1093/imanum/draa038): r = sum over the entries other than one occurrence of M of
 * e^{(x_i - M)/tau}, so that LSE = M + log1p(r) keeps the small terms and 1 - p_M = r/(1 + r)
 * has no cancellation. Entries equal to M are counted, not summed (they are exact ones).
 * A row whose maximum is +-inf, or that holds NaN with no finite maximum, takes the scalar
 * special-row code, which gives the limits the NumPy path gives.
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
#define vc_exp vd_exp
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
#define vc_exp vf_exp
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

/* Over x[0:n] with the row maximum M: s += sum of e^{(x_i - M) it} over x_i != M, t += #(x_i == M).
 * Exponentials in the kernel's arithmetic (binary32 for DL_C 32). */
static void T_(sum_rest)(const sc *x, dl_int n, sc M, sc it, double *s, double *t, const sc *pf)
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
        ACC_ADD(a, vc_add_unless(zero, eq, vc_exp(d)));
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

/* The same sum with binary64 exponentials whatever the row's type (for the LogSumExp itself; binary32
 * rows use exp_lite, accurate to 2e-15, which their rounded result cannot show). */
static void T_(sum_rest_d)(const sc *x, dl_int n, double M, double *s, double *t)
{
    const vd vM = vd_set(M);
    vd a0 = vd_zero(), a1 = vd_zero();
    dl_int ties = 0, i = 0;
    for (; i + 2 * VD_N <= n; i += 2 * VD_N) {
        __builtin_prefetch(x + i + DL_CHUNK);
        vd x0 = vd_load_s(x + i), x1 = vd_load_s(x + i + VD_N);
        vdm e0 = vd_eq(x0, vM), e1 = vd_eq(x1, vM);
        a0 = vd_add_unless(a0, e0, vd_exp_s(vd_sub(x0, vM)));
        a1 = vd_add_unless(a1, e1, vd_exp_s(vd_sub(x1, vM)));
        ties += vd_count(e0) + vd_count(e1);
    }
    for (; i < n; i += VD_N) {
        vd x0 = i + VD_N <= n ? vd_load_s(x + i) : T_(load_tail_d)(x + i, n - i, (sc)-INFINITY);
        vdm e0 = vd_eq(x0, vM);
        a0 = vd_add_unless(a0, e0, vd_exp_s(vd_sub(x0, vM)));
        ties += vd_count(e0);
    }
    *s += vd_hsum(vd_add(a0, a1));
    *t += (double)ties;
}

#if DL_C == 32
/* sum_rest_d for a chunk whose entries are all >= M - 708: no clamp in the exponential */
static void T_(sum_rest_d_nc)(const sc *x, dl_int n, double M, double *s, double *t)
{
    const vd vM = vd_set(M);
    vd a0 = vd_zero(), a1 = vd_zero();
    dl_int ties = 0, i = 0;
    for (; i + 2 * VD_N <= n; i += 2 * VD_N) {
        __builtin_prefetch(x + i + DL_CHUNK);
        vd x0 = vd_load_s(x + i), x1 = vd_load_s(x + i + VD_N);
        vdm e0 = vd_eq(x0, vM), e1 = vd_eq(x1, vM);
        a0 = vd_add_unless(a0, e0, vd_exp_lite_nc(vd_sub(x0, vM)));
        a1 = vd_add_unless(a1, e1, vd_exp_lite_nc(vd_sub(x1, vM)));
        ties += vd_count(e0) + vd_count(e1);
    }
    for (; i < n; i += VD_N) {
        vd x0 = i + VD_N <= n ? vd_load_s(x + i) : T_(load_tail_d)(x + i, n - i, (sc)-INFINITY);
        vdm e0 = vd_eq(x0, vM);
        a0 = vd_add_unless(a0, e0, vd_exp_lite(vd_sub(x0, vM)));
        ties += vd_count(e0);
    }
    *s += vd_hsum(vd_add(a0, a1));
    *t += (double)ties;
}

/* the largest and smallest entries of x[0:n] (NaN skipped) */
static sc T_(row_minmax)(const sc *x, dl_int n, sc *mn)
{
    vc m0 = vc_set((sc)-INFINITY), m1 = m0, l0 = vc_set((sc)INFINITY), l1 = l0;
    dl_int i = 0;
    for (; i + 2 * VC_N <= n; i += 2 * VC_N) {
        vc a = vc_load(x + i), b = vc_load(x + i + VC_N);
        m0 = vc_max(a, m0);
        m1 = vc_max(b, m1);
        l0 = vf_min(a, l0);
        l1 = vf_min(b, l1);
    }
    for (; i < n; i += VC_N) {
        vc a = i + VC_N <= n ? vc_load(x + i) : T_(load_tail)(x + i, n - i, x[i]);
        m0 = vc_max(a, m0);
        l0 = vf_min(a, l0);
    }
    *mn = vf_hmin(vf_min(l0, l1));
    return vc_hmax(vc_max(m0, m1));
}
#endif

static int T_(has_nan)(const sc *x, dl_int n)
{
    for (dl_int i = 0; i < n; i++)
        if (x[i] != x[i]) return 1;
    return 0;
}

/* The state (m, r) of one row, reading it once: cache-sized chunks, each first searched for its
 * maximum and then summed while in L1, with a running maximum whose earlier sum is rescaled when it
 * grows (the online softmax of Milakov & Gimelshein, arXiv:1805.02867). The chunk sums are added
 * with Neumaier's compensation, so long rows lose no more than one chunk's rounding. */
static void T_(row_state)(const sc *x, dl_int K, double *pm, double *pr)
{
    double M = -INFINITY, s = 0.0, comp = 0.0, cnt = 0.0;
    int nan = 0;
    for (dl_int c = 0; c < K; c += DL_CHUNK) {
        dl_int n = K - c < DL_CHUNK ? K - c : DL_CHUNK;
#if DL_C == 32
        sc lo;
        double mc = (double)T_(row_minmax)(x + c, n, &lo);
#else
        double mc = (double)T_(row_max)(x + c, n);
#endif
        if (mc > M) {
            if (cnt > 0) {
                s = (s + comp + cnt) * dl_exp(M - mc);
                comp = 0.0;
            }
            M = mc;
            cnt = 0.0;
        }
        if (M == INFINITY) break;
        if (mc == -INFINITY) { /* a chunk of -inf and NaN adds nothing, unless NaN */
            nan |= T_(has_nan)(x + c, n);
            continue;
        }
        double cs = 0.0;
#if DL_C == 32
        if ((double)lo >= M - 708.0) /* no argument below -708: the clamp can go (NaN: lo skips it) */
            T_(sum_rest_d_nc)(x + c, n, M, &cs, &cnt);
        else
#endif
            T_(sum_rest_d)(x + c, n, M, &cs, &cnt);
        double t = s + cs;
        comp += fabs(s) >= fabs(cs) ? (s - t) + cs : (cs - t) + s;
        s = t;
    }
    if (M == INFINITY) nan = T_(has_nan)(x, K);
    if (nan) {
        *pm = NAN;
        *pr = 0.0;
    } else if (M == INFINITY || M == -INFINITY) {
        *pm = M;
        *pr = 0.0;
    } else {
        *pm = M;
        *pr = (s + comp) + (cnt - 1.0);
    }
}

static void T_(state_rows)(const sc *x, dl_int K, dl_int ldx, dl_int r0, dl_int r1, double *m, double *r)
{
    for (dl_int i = r0; i < r1; i++) T_(row_state)(x + i * ldx, K, m + i, r + i);
}

/* LSE = m + log1p(r) of rows r0..r1-1 into out (binary64), log1p vectorised over blocks of rows */
static void T_(lse_rows)(const sc *x, dl_int K, dl_int ldx, dl_int r0, dl_int r1, double *out)
{
    double m[DL_ROWBLOCK], r[DL_ROWBLOCK];
    for (dl_int b = r0; b < r1; b += DL_ROWBLOCK) {
        dl_int nb = r1 - b < DL_ROWBLOCK ? r1 - b : DL_ROWBLOCK;
        for (dl_int i = 0; i < nb; i++) T_(row_state)(x + (b + i) * ldx, K, m + i, r + i);
        dl_log1p_add(r, m, out + b, nb);
    }
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
 * maximum's exact 1 (ties counted) */
static double T_(exp_store)(const sc *x, dl_int K, sc M, sc *out, double *rest, const sc *pf)
{
    const vc vM = vc_set(M), zero = vc_set(0);
    ACC(a);
    dl_int ties = 0, i = 0;
    for (; i + VC_N <= K; i += VC_N) {
        if (pf) __builtin_prefetch(pf + i);
        vc xi = vc_load(x + i);
        vcm eq = vc_eq(xi, vM);
        vc e = vc_exp(vc_sub(xi, vM));
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

/* (x - M) it - l, binary64 arithmetic, rounded once */
static void T_(log_out)(const sc *x, dl_int K, sc *out, double M, double it, double l)
{
    const vd dM = vd_set(M), dit = vd_set(it), dl = vd_set(l);
    dl_int i = 0;
    for (; i + VD_N <= K; i += VD_N) {
        vd d = vd_sub(vd_load_s(x + i), dM);
        if (it != 1) d = vd_mul(d, dit);
#if DL_C == 64
        vd_store(out + i, vd_sub(d, dl));
#else
        vd_store_f(out + i, vd_sub(d, dl));
#endif
    }
    for (; i < K; i++) out[i] = (sc)(((double)x[i] - M) * it - l);
}

/* p = e^{(x - M) it} / s written to out, or log p = (x - M) it - log1p(r) */
static void T_(softmax_row)(const sc *x, dl_int K, sc *out, double it, int log, const sc *pf)
{
    sc M = T_(row_max)(x, K);
    if (!(M > (sc)-INFINITY && M < (sc)INFINITY)) {
        dl_special sp = T_(special)(x, K);
        for (dl_int k = 0; k < K; k++) out[k] = (sc)(log ? dl_sp_logp(sp, x[k]) : dl_sp_p(sp, x[k]));
        return;
    }
    const vc vM = vc_set(M), vit = vc_set((sc)it);
    dl_int i;
    if (log) {
        double s = 0.0, t = 0.0;
        T_(sum_rest)(x, K, M, (sc)it, &s, &t, pf);
        T_(log_out)(x, K, out, (double)M, it, dl_log1p(s + (t - 1.0)));
        return;
    }
    ACC(a);
    for (i = 0; i + VC_N <= K; i += VC_N) {
        if (pf) __builtin_prefetch(pf + i);
        vc d = vc_sub(vc_load(x + i), vM);
        if (it != 1) d = vc_mul(d, vit);
        vc e = vc_exp(d);
        vc_store(out + i, e);
        ACC_ADD(a, e);
    }
    if (i < K) {
        vc d = vc_sub(T_(load_tail)(x + i, K - i, (sc)-INFINITY), vM);
        if (it != 1) d = vc_mul(d, vit);
        vc e = vc_exp(d);
        T_(store_tail)(out + i, e, K - i);
        ACC_ADD(a, e);
    }
    T_(scale_row)(out, K, ACC_SUM(a), 1.0);
}

/* Rows shorter than this take log-softmax in blocks: their states first, then one vector log1p,
 * then their outputs, so the log1p of each row costs a vector lane rather than a scalar call. */
#define DL_SHORT_ROW 512

static void T_(softmax_rows)(const sc *x, dl_int K, dl_int ldx, dl_int r0, dl_int r1, sc *out, dl_int ldo,
                             double it, int log)
{
    if (!log || K >= DL_SHORT_ROW) {
        for (dl_int i = r0; i < r1; i++)
            T_(softmax_row)(x + i * ldx, K, out + i * ldo, it, log, T_(next)(x, i, r1, ldx, K));
        return;
    }
    double m[DL_ROWBLOCK], r[DL_ROWBLOCK], l[DL_ROWBLOCK];
    int special[DL_ROWBLOCK];
    for (dl_int b = r0; b < r1; b += DL_ROWBLOCK) {
        dl_int nb = r1 - b < DL_ROWBLOCK ? r1 - b : DL_ROWBLOCK;
        for (dl_int j = 0; j < nb; j++) {
            const sc *row = x + (b + j) * ldx;
            sc M = T_(row_max)(row, K);
            special[j] = !(M > (sc)-INFINITY && M < (sc)INFINITY);
            double s = 0.0, t = 0.0;
            if (!special[j]) T_(sum_rest)(row, K, M, (sc)it, &s, &t, NULL);
            m[j] = M;
            r[j] = special[j] ? 0.0 : s + (t - 1.0);
        }
        for (dl_int j = 0; j < nb; j++) l[j] = 0.0;
        dl_log1p_add(r, l, l, nb);
        for (dl_int j = 0; j < nb; j++) {
            const sc *row = x + (b + j) * ldx;
            if (special[j])
                T_(softmax_row)(row, K, out + (b + j) * ldo, it, 1, NULL);
            else
                T_(log_out)(row, K, out + (b + j) * ldo, m[j], it, l[j]);
        }
    }
}

static int T_(target_of)(const void *t, int tcode, dl_int i, dl_int K, dl_int *k)
{
    long long v = tcode == DL_I64 ? ((const int64_t *)t)[i] : ((const int32_t *)t)[i];
    *k = (dl_int)v;
    return v >= 0 && v < (long long)K;
}

/* Cross-entropy of rows against class indices: loss = (M - x_t) + log1p(r), lse = M + log1p(r).
 * Returns -1, or the first row whose index is out of range (nothing is read past the row). */
static dl_int T_(xent_index_rows)(const sc *x, dl_int K, dl_int ldx, const void *tg, int tcode, dl_int r0,
                                  dl_int r1, double *loss, double *lse)
{
    double m[DL_ROWBLOCK], r[DL_ROWBLOCK], d[DL_ROWBLOCK], l[DL_ROWBLOCK];
    for (dl_int b = r0; b < r1; b += DL_ROWBLOCK) {
        dl_int nb = r1 - b < DL_ROWBLOCK ? r1 - b : DL_ROWBLOCK;
        for (dl_int j = 0; j < nb; j++) {
            const sc *row = x + (b + j) * ldx;
            dl_int k;
            if (!T_(target_of)(tg, tcode, b + j, K, &k)) return b + j;
            sc M = T_(row_max)(row, K);
            if (M > (sc)-INFINITY && M < (sc)INFINITY) {
                double s = 0.0, t = 0.0;
                T_(sum_rest)(row, K, M, 1, &s, &t, T_(next)(x, b + j, r1, ldx, K));
                m[j] = M;
                r[j] = s + (t - 1.0);
                d[j] = (double)M - (double)row[k];
            } else {
                dl_special sp = T_(special)(row, K);
                m[j] = sp.nan ? NAN : (double)M;
                r[j] = 0.0;
                d[j] = -dl_sp_logp(sp, row[k]);
            }
        }
        for (dl_int j = 0; j < nb; j++) l[j] = 0.0;
        dl_log1p_add(r, l, l, nb);
        for (dl_int j = 0; j < nb; j++) loss[b + j] = d[j] + l[j]; /* a special row: d is its loss, l = 0 */
        if (lse)
            for (dl_int j = 0; j < nb; j++) lse[b + j] = m[j] + l[j];
    }
    return -1;
}

/* Cross-entropy of rows against non-negative weights y (rows of the same layout):
 * loss = sum_k y_k (M - x_k) + (sum_k y_k) log1p(r), terms with y_k = 0 left out. Returns -1, or the
 * first row holding a weight that is negative, NaN or inf. */
static dl_int T_(xent_prob_rows)(const sc *x, dl_int K, dl_int ldx, const sc *y, dl_int ldy, dl_int r0,
                                 dl_int r1, double *loss, double *lse)
{
    for (dl_int j = r0; j < r1; j++) {
        const sc *row = x + j * ldx, *yr = y + j * ldy;
        sc M = T_(row_max)(row, K);
        if (!(M > (sc)-INFINITY && M < (sc)INFINITY)) {
            dl_special sp = T_(special)(row, K);
            double acc = 0.0;
            for (dl_int k = 0; k < K; k++) {
                if (!(yr[k] >= 0) || yr[k] == (sc)INFINITY) return j;
                if (yr[k] != 0) acc += (double)yr[k] * dl_sp_logp(sp, row[k]);
            }
            loss[j] = -acc;
            if (lse) lse[j] = sp.nan ? NAN : (double)M;
            continue;
        }
        const vc vM = vc_set(M), zero = vc_set(0);
        const vd dM = vd_set((double)M);
        ACC(a);
        dl_int ties = 0;
        vd yd = vd_zero(), ys = vd_zero();
        vdm bad = vdm_none();
        for (dl_int i = 0; i < K; i += VC_N) {
            int full = i + VC_N <= K;
            vc xi = full ? vc_load(row + i) : T_(load_tail)(row + i, K - i, (sc)-INFINITY);
            vc yi = full ? vc_load(yr + i) : T_(load_tail)(yr + i, K - i, 0);
            vcm eq = vc_eq(xi, vM);
            ACC_ADD(a, vc_add_unless(zero, eq, vc_exp(vc_sub(xi, vM))));
            ties += vc_count(eq);
            for (int h = 0; h < VC_HALVES; h++) {
                vd xv = vc_half(xi, h), yv = vc_half(yi, h);
                bad = vdm_or(bad, vd_bad_weight(yv));
                yd = vd_add(yd, vd_keep_not(vd_eq(yv, vd_zero()), vd_mul(yv, vd_sub(dM, xv))));
                ys = vd_add(ys, yv);
            }
        }
        if (vdm_any(bad)) return j;
        double r = ACC_SUM(a) + (double)(ties - 1);
        double l = dl_log1p(r);
        loss[j] = vd_hsum(yd) + vd_hsum(ys) * l;
        if (lse) lse[j] = (double)M + l;
    }
    return -1;
}

/* gradient of the cross-entropy against class indices: out = scale (p - onehot(t)); with the target
 * at the maximum, p_t - 1 = -r/(1 + r) exactly as computed, without cancellation */
static dl_int T_(xent_grad_index_rows)(const sc *x, dl_int K, dl_int ldx, const void *tg, int tcode, dl_int r0,
                                       dl_int r1, double scale, sc *out, dl_int ldo, double *loss, double *lse)
{
    for (dl_int j = r0; j < r1; j++) {
        const sc *row = x + j * ldx;
        sc *o = out + j * ldo;
        dl_int k;
        if (!T_(target_of)(tg, tcode, j, K, &k)) return j;
        sc M = T_(row_max)(row, K);
        if (!(M > (sc)-INFINITY && M < (sc)INFINITY)) {
            dl_special sp = T_(special)(row, K);
            for (dl_int i = 0; i < K; i++) o[i] = (sc)(scale * (dl_sp_p(sp, row[i]) - (i == k)));
            if (loss) loss[j] = -dl_sp_logp(sp, row[k]);
            if (lse) lse[j] = sp.nan ? NAN : (double)M;
            continue;
        }
        double r, s = T_(exp_store)(row, K, M, o, &r, T_(next)(x, j, r1, ldx, K));
        T_(scale_row)(o, K, s, scale);
        o[k] = (sc)(row[k] == M ? -scale * (r / s) : (double)o[k] - scale);
        if (loss || lse) {
            double l = dl_log1p(r);
            if (loss) loss[j] = ((double)M - (double)row[k]) + l;
            if (lse) lse[j] = (double)M + l;
        }
    }
    return -1;
}

/* gradient against weights y: out = scale ((sum y) p - y); with loss/lse given, also the loss (as
 * xent_prob_rows) from the same passes. Returns -1, or the first row with a bad weight. */
static dl_int T_(xent_grad_prob_rows)(const sc *x, dl_int K, dl_int ldx, const sc *y, dl_int ldy, dl_int r0,
                                      dl_int r1, double scale, sc *out, dl_int ldo, double *loss, double *lse)
{
    for (dl_int j = r0; j < r1; j++) {
        const sc *row = x + j * ldx, *yr = y + j * ldy;
        sc *o = out + j * ldo;
        vd ys = vd_zero();
        vdm bad = vdm_none();
        dl_int i = 0;
        for (; i + VD_N <= K; i += VD_N) {
            vd yv = vd_load_s(yr + i);
            bad = vdm_or(bad, vd_bad_weight(yv));
            ys = vd_add(ys, yv);
        }
        double Y = vd_hsum(ys);
        for (; i < K; i++) {
            if (!(yr[i] >= 0) || yr[i] == (sc)INFINITY) return j;
            Y += (double)yr[i];
        }
        if (vdm_any(bad)) return j;
        sc M = T_(row_max)(row, K);
        if (!(M > (sc)-INFINITY && M < (sc)INFINITY)) {
            dl_special sp = T_(special)(row, K);
            double acc = 0.0;
            for (i = 0; i < K; i++) {
                o[i] = (sc)(scale * (Y * dl_sp_p(sp, row[i]) - (double)yr[i]));
                if (yr[i] != 0) acc += (double)yr[i] * dl_sp_logp(sp, row[i]);
            }
            if (loss) loss[j] = -acc;
            if (lse) lse[j] = sp.nan ? NAN : (double)M;
            continue;
        }
        double r, s = T_(exp_store)(row, K, M, o, &r, T_(next)(x, j, r1, ldx, K));
        double c = scale * Y / s;
        const vd vc1 = vd_set(c), vsc = vd_set(scale), dM = vd_set((double)M);
        vd yd = vd_zero();
        for (i = 0; i + VD_N <= K; i += VD_N) {
            vd e = vd_load_s(o + i), yv = vd_load_s(yr + i);
            vd g = vd_fnma(vsc, yv, vd_mul(e, vc1));
            if (loss) yd = vd_add(yd, vd_keep_not(vd_eq(yv, vd_zero()), vd_mul(yv, vd_sub(dM, vd_load_s(row + i)))));
#if DL_C == 64
            vd_store(o + i, g);
#else
            vd_store_f(o + i, g);
#endif
        }
        double yds = vd_hsum(yd);
        for (; i < K; i++) {
            if (loss && yr[i] != 0) yds += (double)yr[i] * ((double)M - (double)row[i]);
            o[i] = (sc)((double)o[i] * c - scale * (double)yr[i]);
        }
        if (loss || lse) {
            double l = dl_log1p(r);
            if (loss) loss[j] = yds + Y * l;
            if (lse) lse[j] = (double)M + l;
        }
    }
    return -1;
}

/* Hv = p (v - p.v): e = exp(z - M) in out, then out = (e/s)(v - c), c = (e.v)/s, all sums in binary64.
 * For binary64 rows whose v is so large that e.v or v - c could overflow, v is scaled by 2^-80 first
 * (Hv is linear in v, so the scaling is exact). A row whose maximum or e.v is not finite (NaN or inf
 * in z or v) takes the literal formula p v - p (p.v), as the NumPy path does. */
static void T_(hvp_rows)(const sc *z, dl_int K, dl_int ldz, const sc *v, dl_int ldv, dl_int r0, dl_int r1,
                         sc *out, dl_int ldo)
{
    for (dl_int j = r0; j < r1; j++) {
        const sc *row = z + j * ldz, *vr = v + j * ldv;
        sc *o = out + j * ldo;
        sc M = T_(row_max)(row, K);
        int special = !(M > (sc)-INFINITY && M < (sc)INFINITY);
        double r, s = special ? 0.0 : T_(exp_store)(row, K, M, o, &r, T_(next)(z, j, r1, ldz, K));
        double down = 1.0, evs = NAN;
        if (!special) {
            vd ev = vd_zero(), vmax = vd_zero();
            const sc *vpf = T_(next)(v, j, r1, ldv, K);
            dl_int i = 0;
            for (; i + VD_N <= K; i += VD_N) {
                if (vpf) __builtin_prefetch(vpf + i);
                vd vv = vd_load_s(vr + i);
                ev = vd_fma(vd_load_s(o + i), vv, ev);
                vmax = vd_max(vd_abs(vv), vmax);
            }
            evs = vd_hsum(ev);
            double vm = vd_hmax(vmax);
            for (; i < K; i++) {
                evs += (double)o[i] * (double)vr[i];
                vm = fabs((double)vr[i]) > vm ? fabs((double)vr[i]) : vm;
            }
            if (DL_C == 64 && evs == evs && vm > 0x1p1000 / (double)(K + 1)) {
                down = 0x1p-80;
                evs = 0.0;
                for (i = 0; i < K; i++) evs += (double)o[i] * ((double)vr[i] * down);
            }
        }
        if (special || !(fabs(evs) < INFINITY)) {
            dl_special sp = special ? T_(special)(row, K) : (dl_special){0, 0.0};
            double pv = 0.0;
            for (dl_int i = 0; i < K; i++) pv += (special ? dl_sp_p(sp, row[i]) : (double)o[i] / s) * (double)vr[i];
            for (dl_int i = 0; i < K; i++) {
                double p = special ? dl_sp_p(sp, row[i]) : (double)o[i] / s;
                o[i] = (sc)(p * (double)vr[i] - p * pv);
            }
            continue;
        }
        double c = evs / s, inv = 1.0 / s;
        const vd vc1 = vd_set(c), vinv = vd_set(inv), vdown = vd_set(down), vup = vd_set(1.0 / down);
        dl_int i = 0;
        for (; i + VD_N <= K; i += VD_N) {
            vd vv = vd_load_s(vr + i);
            if (down != 1.0) vv = vd_mul(vv, vdown);
            vd h = vd_mul(vd_mul(vd_load_s(o + i), vinv), vd_sub(vv, vc1));
            if (down != 1.0) h = vd_mul(h, vup);
#if DL_C == 64
            vd_store(o + i, h);
#else
            vd_store_f(o + i, h);
#endif
        }
        for (; i < K; i++) o[i] = (sc)((((double)o[i] * inv) * ((double)vr[i] * down - c)) / down);
    }
}

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
#undef vc_hmax
#undef vc_exp
#undef vd_load_s
#undef ACC
#undef ACC_ADD
#undef ACC_SUM
#undef VC_HALVES
#undef vc_half
