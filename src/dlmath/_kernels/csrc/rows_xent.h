/* Cross-entropy and its curvature for one arithmetic (included by rows_impl.h, see there): the loss
 * against class indices or weights, its gradient (with the loss fused), and the softmax HVP. */

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
            dl_int k;
            if (!T_(target_of)(tg, tcode, b + j, K, &k)) return b + j;
        }
        int narrow = K <= DL_NARROW;
        if (narrow) T_(state_rows)(x + b * ldx, K, ldx, 0, nb, m, r, 0);
        for (dl_int j = 0; j < nb; j++) {
            const sc *row = x + (b + j) * ldx;
            dl_int k;
            T_(target_of)(tg, tcode, b + j, K, &k);
            int nc = 0;
            sc M = narrow ? (sc)m[j] : T_(row_max_nc)(row, K, 1.0, &nc);
            if (M > (sc)-INFINITY && M < (sc)INFINITY) {
                if (!narrow) {
                    double s = 0.0, t = 0.0;
                    T_(sum_rest)(row, K, M, 1, &s, &t, T_(next)(x, b + j, r1, ldx, K), nc);
                    m[j] = M;
                    r[j] = s + (t - 1.0);
                }
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
        int nc;
        sc M = T_(row_max_nc)(row, K, 1.0, &nc);
        if (!(M > (sc)-INFINITY && M < (sc)INFINITY)) {
            dl_special sp = T_(special)(row, K);
            for (dl_int i = 0; i < K; i++) o[i] = (sc)(scale * (dl_sp_p(sp, row[i]) - (i == k)));
            if (loss) loss[j] = -dl_sp_logp(sp, row[k]);
            if (lse) lse[j] = sp.nan ? NAN : (double)M;
            continue;
        }
        double r, s = T_(exp_store)(row, K, M, o, &r, T_(next)(x, j, r1, ldx, K), nc);
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
        int nc;
        sc M = T_(row_max_nc)(row, K, 1.0, &nc);
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
        double r, s = T_(exp_store)(row, K, M, o, &r, T_(next)(x, j, r1, ldx, K), nc);
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
        int nc;
        sc M = T_(row_max_nc)(row, K, 1.0, &nc);
        int special = !(M > (sc)-INFINITY && M < (sc)INFINITY);
        double r, s = special ? 0.0 : T_(exp_store)(row, K, M, o, &r, T_(next)(z, j, r1, ldz, K), nc);
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
