/* The LogSumExp family for one arithmetic (included by rows_impl.h, see there): the one-read row
 * state (m, r), LSE = m + log1p(r), and softmax / log-softmax rows. */

/* The state (m, r) of one row, reading it once: cache-sized chunks, each first searched for its
 * maximum and then summed while in L1, with a running maximum whose earlier sum is rescaled when it
 * grows (the online softmax of Milakov & Gimelshein, arXiv:1805.02867). The chunk sums are added
 * with Neumaier's compensation, so long rows lose no more than one chunk's rounding. */
static void T_(row_state)(const sc *x, dl_int K, double *pm, double *pr, int fast)
{
    double M = -INFINITY, s = 0.0, comp = 0.0, cnt = 0.0;
    int nan = 0;
    for (dl_int c = 0; c < K; c += DL_CHUNK) {
        dl_int n = K - c < DL_CHUNK ? K - c : DL_CHUNK;
        sc lo;
        double mc = (double)T_(row_minmax)(x + c, n, &lo);
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
        int nc = (double)lo >= M - 708.0; /* no argument below -708: the clamp can go (NaN: lo skips it) */
        if (fast)
            nc ? T_(sum_rest_d)(x + c, n, M, &cs, &cnt, 1, 1, NULL) : T_(sum_rest_d)(x + c, n, M, &cs, &cnt, 0, 1, NULL);
        else
            nc ? T_(sum_rest_d)(x + c, n, M, &cs, &cnt, 1, 0, NULL) : T_(sum_rest_d)(x + c, n, M, &cs, &cnt, 0, 0, NULL);
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

/* Rows of at most DL_NARROW entries, VD_N at a time with one row per vector lane: the block is
 * transposed into binary64 scratch, so the maxima and the sums run down the columns and no row
 * needs a horizontal reduction. A lane whose maximum is not finite is redone by row_state. The
 * terms of a row are added in column order (row_state adds them in vector-lane order). */
#define DL_NARROW 16

static void T_(state_narrow)(const sc *x, dl_int K, dl_int ldx, dl_int b, double *m, double *r)
{
    double col[DL_NARROW * VD_N] = {0}, mb[VD_N], rb[VD_N];
    for (int l = 0; l < VD_N; l++)
        for (dl_int j = 0; j < K; j++) col[j * VD_N + l] = (double)x[(b + l) * ldx + j];
    vd M = vd_load(col), L = M;
    for (dl_int j = 1; j < K; j++) {
        M = vd_max(vd_load(col + j * VD_N), M);
        L = vd_min(vd_load(col + j * VD_N), L);
    }
    const vd one = vd_set(1.0);
    vd s = vd_zero(), cnt = vd_set(-1.0);
    int nc = vd_hmin(vd_sub(L, M)) >= -708.0; /* no argument below -708: no clamp (NaN is skipped) */
    for (dl_int j = 0; j < K; j++) {
        vd xj = vd_load(col + j * VD_N), d = vd_sub(xj, M);
        vdm eq = vd_eq(xj, M);
        s = vd_add_unless(s, eq, nc ? vd_exp_s_nc(d) : vd_exp_s(d));
        cnt = vd_add(cnt, vd_keep(eq, one));
    }
    vd_store(mb, M);
    vd_store(rb, vd_add(s, cnt));
    for (int l = 0; l < VD_N; l++) {
        if (mb[l] > -INFINITY && mb[l] < INFINITY) {
            m[b + l] = mb[l];
            r[b + l] = rb[l];
        } else {
            T_(row_state)(x + (b + l) * ldx, K, m + b + l, r + b + l, 0);
        }
    }
}

/* The states of rows r0..r1-1; fast: row_state's exponentials are exp_fast (narrow rows keep theirs) */
static void T_(state_rows)(const sc *x, dl_int K, dl_int ldx, dl_int r0, dl_int r1, double *m, double *r, int fast)
{
    dl_int i = r0;
    if (K > 0 && K <= DL_NARROW)
        for (; i + VD_N <= r1; i += VD_N) T_(state_narrow)(x, K, ldx, i, m, r);
    for (; i < r1; i++) T_(row_state)(x + i * ldx, K, m + i, r + i, fast);
}

/* LSE = m + log1p(r) of rows r0..r1-1 into out (binary64), log1p vectorised over blocks of rows.
 * The result is stored in odt; where that is narrower than binary64 and the kernels have exp_fast
 * (binary32 rows on AVX2), the states are summed with it first, Ziv's way: each LSE comes with a
 * bound on its error, and a row whose result the bound cannot place on one side of a rounding
 * boundary of odt is summed again with exp_lite (dl_rounds_alike, rows.c). Where more than one row in
 * eight of a block is redone, the remaining blocks take exp_lite from the start. */
static void T_(lse_rows)(const sc *x, dl_int K, dl_int ldx, dl_int r0, dl_int r1, double *out, int odt)
{
    double m[DL_ROWBLOCK], r[DL_ROWBLOCK];
#if DL_C == 32 && DL_HAVE_EXP_FAST
    int fast = odt != DL_F64 && K > DL_NARROW;
    /* the relative error of r: each term's, and the sum's (K + 4 roundings of at most 2^-53) */
    const double eps = DL_EXP_FAST_EPS + (double)(K + 4) * 0x1p-53;
#else
    int fast = 0;
    const double eps = 0.0;
    (void)odt;
#endif
    for (dl_int b = r0; b < r1; b += DL_ROWBLOCK) {
        dl_int nb = r1 - b < DL_ROWBLOCK ? r1 - b : DL_ROWBLOCK;
        T_(state_rows)(x + b * ldx, K, ldx, 0, nb, m, r, fast);
        dl_log1p_add(r, m, out + b, nb);
        if (!fast) continue;
        dl_int redone = 0;
        for (dl_int j = 0; j < nb; j++)
            if (!dl_rounds_alike(out[b + j], m[j], r[j], eps, odt)) {
                T_(row_state)(x + (b + j) * ldx, K, m + j, r + j, 0);
                dl_log1p_add(r + j, m + j, out + b + j, 1);
                redone++;
            }
        /* rows that the check leaves open (an LSE near 0: log-probabilities) come together; the
         * rest of the rows are then summed with exp_lite at once */
        if (8 * redone > nb) fast = 0;
    }
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
static inline __attribute__((always_inline)) void T_(softmax_exp_row)(const sc *x, dl_int K, sc *out, sc M,
                                                                       double it, const sc *pf, int nc)
{
    const vc vM = vc_set(M), vit = vc_set((sc)it);
    dl_int i;
    ACC(a);
    for (i = 0; i + VC_N <= K; i += VC_N) {
        if (pf) __builtin_prefetch(pf + i);
        vc d = vc_sub(vc_load(x + i), vM);
        if (it != 1) d = vc_mul(d, vit);
        vc e = DL_VC_EXP(d, nc);
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

static void T_(softmax_row)(const sc *x, dl_int K, sc *out, double it, int log, const sc *pf)
{
    int nc;
    sc M = T_(row_max_nc)(x, K, it, &nc);
    if (!(M > (sc)-INFINITY && M < (sc)INFINITY)) {
        dl_special sp = T_(special)(x, K);
        for (dl_int k = 0; k < K; k++) out[k] = (sc)(log ? dl_sp_logp(sp, x[k]) : dl_sp_p(sp, x[k]));
        return;
    }
    if (log) {
        double s = 0.0, t = 0.0;
        T_(sum_rest)(x, K, M, (sc)it, &s, &t, pf, nc);
        T_(log_out)(x, K, out, (double)M, it, dl_log1p(s + (t - 1.0)));
        return;
    }
    if (nc) T_(softmax_exp_row)(x, K, out, M, it, pf, 1);
    else T_(softmax_exp_row)(x, K, out, M, it, pf, 0);
}

/* Rows shorter than this take log-softmax in blocks: their states first, then one vector log1p,
 * then their outputs, so the log1p of each row costs a vector lane rather than a scalar call. A
 * block of DL_ROWBLOCK such rows (up to 512 KiB) is read twice from L2. */
#define DL_SHORT_ROW ((dl_int)(8192 / sizeof(sc)))

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
        if (it == 1 && K <= DL_NARROW) {
            T_(state_rows)(x + b * ldx, K, ldx, 0, nb, m, r, 0);
            for (dl_int j = 0; j < nb; j++) special[j] = !(m[j] > -INFINITY && m[j] < INFINITY);
        } else {
            for (dl_int j = 0; j < nb; j++) {
                const sc *row = x + (b + j) * ldx;
                int nc;
                sc M = T_(row_max_nc)(row, K, it, &nc);
                special[j] = !(M > (sc)-INFINITY && M < (sc)INFINITY);
                double s = 0.0, t = 0.0;
                if (!special[j]) T_(sum_rest)(row, K, M, (sc)it, &s, &t, NULL, nc);
                m[j] = M;
                r[j] = special[j] ? 0.0 : s + (t - 1.0);
            }
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

/* The LSE of each row and its softmax p, from one read of the row where the row is of one chunk
 * (16 < K <= DL_CHUNK) and its maximum finite: the LSE's sum (row_state's, in the same order, so
 * the LSE has lse_rows' bits, the rounding check included) stores its exponentials, rounded to
 * the row's type, and p is those scaled by 1/(1 + r), within about one ulp. Other rows take
 * lse_rows and softmax_rows. For the derivative of the LSE, whose tangent needs p. */
static void T_(lse_softmax_rows)(const sc *x, dl_int K, dl_int ldx, dl_int r0, dl_int r1, double *lse, sc *out,
                                 dl_int ldo, int odt)
{
    if (K <= DL_NARROW || K > DL_CHUNK) {
        T_(lse_rows)(x, K, ldx, r0, r1, lse, odt);
        T_(softmax_rows)(x, K, ldx, r0, r1, out, ldo, 1.0, 0);
        return;
    }
    double m[DL_ROWBLOCK], r[DL_ROWBLOCK];
#if DL_C == 32 && DL_HAVE_EXP_FAST
    int fast = odt != DL_F64;
    const double eps = DL_EXP_FAST_EPS + (double)(K + 4) * 0x1p-53;
#else
    int fast = 0;
    const double eps = 0.0;
#endif
    for (dl_int b = r0; b < r1; b += DL_ROWBLOCK) {
        dl_int nb = r1 - b < DL_ROWBLOCK ? r1 - b : DL_ROWBLOCK;
        int whole[DL_ROWBLOCK];
        for (dl_int j = 0; j < nb; j++) {
            const sc *row = x + (b + j) * ldx;
            sc *o = out + (b + j) * ldo;
            sc lo;
            double M = (double)T_(row_minmax)(row, K, &lo), cs = 0.0, cnt = 0.0;
            whole[j] = M > -INFINITY && M < INFINITY;
            m[j] = M;
            r[j] = 0.0;
            if (!whole[j]) continue;
            int nc = (double)lo >= M - 708.0;
            if (fast)
                nc ? T_(sum_rest_d)(row, K, M, &cs, &cnt, 1, 1, o) : T_(sum_rest_d)(row, K, M, &cs, &cnt, 0, 1, o);
            else
                nc ? T_(sum_rest_d)(row, K, M, &cs, &cnt, 1, 0, o) : T_(sum_rest_d)(row, K, M, &cs, &cnt, 0, 0, o);
            r[j] = (cs + 0.0) + (cnt - 1.0); /* as row_state forms it */
        }
        dl_log1p_add(r, m, lse + b, nb);
        dl_int redone = 0;
        for (dl_int j = 0; j < nb; j++) {
            const sc *row = x + (b + j) * ldx;
            sc *o = out + (b + j) * ldo;
            if (!whole[j]) {
                T_(lse_rows)(row, K, ldx, 0, 1, lse + b + j, odt);
                T_(softmax_rows)(row, K, ldx, 0, 1, o, ldo, 1.0, 0);
                continue;
            }
            if (fast && !dl_rounds_alike(lse[b + j], m[j], r[j], eps, odt)) {
                T_(row_state)(row, K, m + j, r + j, 0);
                dl_log1p_add(r + j, m + j, lse + b + j, 1);
                redone++;
            }
            T_(scale_row)(o, K, 1.0 + r[j], 1.0);
        }
        if (8 * redone > nb) fast = 0;
    }
    (void)eps;
}

/* The backward of softmax (log 0) or log-softmax (log 1) from its output y and the cotangent g,
 * over rows r0..r1-1, with it = 1/tau:
 *   softmax:      out = it * y (g - c),        c = sum_k y_k g_k,
 *   log-softmax:  out = it * (g - e^y s),      s = sum_k g_k,
 * or (log 2) the log-softmax's backward from the probabilities y = p: it * (g - p s),
 * the sum in binary64 (binary32 rows widened lane by lane). Binary64 rows: one rounding at the
 * store; binary32 rows: binary32 lanes for the rest, with c kept to twice binary32's precision, so
 * the output is within about one ulp (plus e^y's own error for the log-softmax). The formula is
 * taken literally, so NaN and inf in y or g spread as they would by hand. */
static void T_(softmax_bwd_rows)(const sc *y, dl_int K, dl_int ldy, const sc *g, dl_int ldg, dl_int r0, dl_int r1,
                                 sc *out, dl_int ldo, double it, int log)
{
    for (dl_int j = r0; j < r1; j++) {
        const sc *yr = y + j * ldy, *gr = g + j * ldg;
        sc *o = out + j * ldo;
        /* four accumulators: the sum is bound by the adds' latency otherwise */
        vd acc0 = vd_zero(), acc1 = vd_zero(), acc2 = vd_zero(), acc3 = vd_zero();
        dl_int i = 0;
#if DL_C == 32
        /* the log-softmax's e^y: every y >= -87 (NaN skipped) lets it go without its clamp
         * (vf_exp_nc, the same bits); y's minimum is taken while g is summed */
        vf ymin = vf_set(INFINITY);
#endif
        if (log == 1) {
            for (; i + 4 * VD_N <= K; i += 4 * VD_N) {
                acc0 = vd_add(acc0, vd_load_s(gr + i));
                acc1 = vd_add(acc1, vd_load_s(gr + i + VD_N));
                acc2 = vd_add(acc2, vd_load_s(gr + i + 2 * VD_N));
                acc3 = vd_add(acc3, vd_load_s(gr + i + 3 * VD_N));
#if DL_C == 32
                ymin = vf_min(vf_load(yr + i), vf_min(vf_load(yr + i + VF_N), ymin));
#endif
            }
        } else if (log) {
            for (; i + 4 * VD_N <= K; i += 4 * VD_N) {
                acc0 = vd_add(acc0, vd_load_s(gr + i));
                acc1 = vd_add(acc1, vd_load_s(gr + i + VD_N));
                acc2 = vd_add(acc2, vd_load_s(gr + i + 2 * VD_N));
                acc3 = vd_add(acc3, vd_load_s(gr + i + 3 * VD_N));
            }
        } else {
            for (; i + 4 * VD_N <= K; i += 4 * VD_N) {
                acc0 = vd_fma(vd_load_s(yr + i), vd_load_s(gr + i), acc0);
                acc1 = vd_fma(vd_load_s(yr + i + VD_N), vd_load_s(gr + i + VD_N), acc1);
                acc2 = vd_fma(vd_load_s(yr + i + 2 * VD_N), vd_load_s(gr + i + 2 * VD_N), acc2);
                acc3 = vd_fma(vd_load_s(yr + i + 3 * VD_N), vd_load_s(gr + i + 3 * VD_N), acc3);
            }
        }
        double c = vd_hsum(vd_add(vd_add(acc0, acc1), vd_add(acc2, acc3)));
#if DL_C == 32
        float ylo = vf_hmin(ymin);
        for (dl_int k = i; k < K && log == 1; k++) ylo = yr[k] < ylo ? yr[k] : ylo;
#endif
        for (; i < K; i++) c += log ? (double)gr[i] : (double)yr[i] * (double)gr[i];
        i = 0;
#if DL_C == 32
        /* binary32 lanes, with c carried as the unevaluated sum ch + cl of two binary32 numbers
         * (|cl| <= ulp(ch)/2), so the wide sum's accuracy reaches g - c: softmax
         * ((g - ch) - cl) y, log-softmax g - e^y ch - e^y cl by two fused multiply-adds. A c
         * beyond binary32's range takes the binary64 lanes below. */
        const float ch = (float)c, cl = (float)(c - (double)ch);
        if (isfinite(ch) && isfinite(cl)) {
            const vf vch = vf_set(ch), vcl = vf_set(cl), vit = vf_set((float)it), zero = vf_set(0.0f);
            const int scaled = it != 1.0;
            if (log == 1 && ylo >= -87.0f)
                for (; i + VF_N <= K; i += VF_N) {
                    vf ne = vf_sub(zero, vf_exp_nc(vf_load(yr + i)));
                    vf h = vf_fma(ne, vcl, vf_fma(ne, vch, vf_load(gr + i)));
                    vf_store(o + i, scaled ? vf_mul(h, vit) : h);
                }
            else if (log)
                for (; i + VF_N <= K; i += VF_N) {
                    vf ne = vf_sub(zero, log == 2 ? vf_load(yr + i) : vf_exp(vf_load(yr + i)));
                    vf h = vf_fma(ne, vcl, vf_fma(ne, vch, vf_load(gr + i)));
                    vf_store(o + i, scaled ? vf_mul(h, vit) : h);
                }
            else
                for (; i + VF_N <= K; i += VF_N) {
                    vf h = vf_mul(vf_load(yr + i), vf_sub(vf_sub(vf_load(gr + i), vch), vcl));
                    vf_store(o + i, scaled ? vf_mul(h, vit) : h);
                }
        }
#endif
        const vd vcst = vd_set(c), vit = vd_set(it);
        for (; i + VD_N <= K; i += VD_N) {
            vd yv = vd_load_s(yr + i), gv = vd_load_s(gr + i);
            vd h = log ? vd_sub(gv, vd_mul(log == 2 ? yv : vd_exp_s(yv), vcst)) : vd_mul(yv, vd_sub(gv, vcst));
            h = vd_mul(h, vit);
#if DL_C == 64
            vd_store(o + i, h);
#else
            vd_store_f(o + i, h);
#endif
        }
        for (; i < K; i++) {
            double yv = (double)yr[i], gv = (double)gr[i];
            o[i] = (sc)((log ? gv - (log == 2 ? yv : exp(yv)) * c : yv * (gv - c)) * it);
        }
    }
}
