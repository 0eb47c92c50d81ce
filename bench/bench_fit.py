"""Linear fits under each noise model: dlmath against its peers, side by side in one run.

    python bench/bench_fit.py            # n = 1e5 and 1e6, p = 20 (a few minutes, most of it the peers)
    python bench/bench_fit.py --quick    # n = 1e4 and 1e5

For every n and both data sets (Laplace noise; Gaussian noise with 5 % gross outliers) it prints:

- LAD (median regression): dlmath ``fit_linear(noise="laplace")`` against statsmodels ``QuantReg(q=0.5)``,
  SciPy ``linprog`` (HiGHS interior point on the LP dual) and scikit-learn ``QuantileRegressor``
  (``alpha=0``, HiGHS), with each objective ``sum |r|`` relative to the best one found;
- Huber: dlmath ``fit_linear(noise=Huber(1.35), scale=s)`` against scikit-learn ``HuberRegressor
  (epsilon=1.35, alpha=0)``, where ``s`` is scikit-learn's fitted scale, both scored by the same Huber
  objective ``sum rho_delta(r / s)``;
- least squares: dlmath ``fit_linear()`` against ``np.linalg.lstsq`` on ``[X, 1]``;
- a model instance at its own scale (``Huber(1.35)``, as ``torch.nn.HuberLoss(delta=1.35)``, and
  ``StudentT(4, 1)``): dlmath against SciPy's L-BFGS-B on the same objective with its gradient;
- the joint-scale fits of the named M-estimators (``"huber"``, ``"logistic"``, ``"student-t"``,
  ``"cauchy"``), dlmath only: time, iterations and fitted scale.

Times are the best of ``--repeat`` runs (default 3) for the fast solvers and a single run for the slow peers.
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np

from dlmath.fit import fit_linear
from dlmath.noise import Huber, StudentT

P = 20
LP_TIME_LIMIT = 300.0  # seconds; HiGHS stops there and the row says so
SKLEARN_QR_MAX_N = 20_000  # QuantileRegressor took 6 s at n = 1e4 and did not finish in 150 s at n = 1e5


def make_data(n, kind, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, P))
    w = rng.standard_normal(P)
    if kind == "laplace":
        e = rng.laplace(size=n)
    else:
        e = rng.standard_normal(n)
        out = rng.random(n) < 0.05
        e[out] += rng.choice([-1.0, 1.0], out.sum()) * rng.uniform(10, 50, out.sum())
    return X, X @ w + 1.0 + e


def timed(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def lad_obj(X, y, coef, intercept):
    return float(np.sum(np.abs(y - X @ coef - intercept)))


def huber_obj(X, y, coef, intercept, delta, scale):
    return float(np.sum(Huber(delta, scale).loss(y - X @ coef - intercept))) / scale**2


def peers_lad(X, y, repeat):
    n = X.shape[0]
    rows = []
    t, f = timed(lambda: fit_linear(X, y, noise="laplace"), repeat)
    rows.append(("dlmath fit_linear laplace", t, f.objective, f"certified={f.converged}, {f.method}"))
    try:
        import statsmodels.api as sm

        Z = np.column_stack([X, np.ones(n)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t, res = timed(lambda: sm.QuantReg(y, Z).fit(q=0.5, max_iter=5000), 1)
        rows.append(("statsmodels QuantReg", t, lad_obj(Z, y, res.params, 0.0), ""))
    except ImportError:
        rows.append(("statsmodels QuantReg", None, None, "not installed"))
    from scipy.optimize import linprog

    Z = np.column_stack([X, np.ones(n)])

    def lp():
        # The LP dual: max y'd s.t. Z'd = 0, -1 <= d <= 1; its optimum is the LAD objective.
        return linprog(
            -y,
            A_eq=Z.T,
            b_eq=np.zeros(Z.shape[1]),
            bounds=(-1.0, 1.0),
            method="highs-ipm",
            options={"time_limit": LP_TIME_LIMIT},
        )

    t, res = timed(lp, 1)
    rows.append(
        (
            "scipy linprog (HiGHS IPM, dual)",
            t,
            -res.fun if res.status == 0 else None,
            "" if res.status == 0 else res.message[:60],
        )
    )
    if n <= SKLEARN_QR_MAX_N:
        from sklearn.linear_model import QuantileRegressor

        t, m = timed(lambda: QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs").fit(X, y), 1)
        rows.append(("sklearn QuantileRegressor", t, lad_obj(X, y, m.coef_, m.intercept_), ""))
    else:
        rows.append(
            (
                "sklearn QuantileRegressor",
                None,
                None,
                f"skipped above n={SKLEARN_QR_MAX_N}: 6 s at n=1e4, >150 s at n=1e5",
            )
        )
    return rows


def peers_huber(X, y, repeat):
    from sklearn.linear_model import HuberRegressor

    delta = 1.35
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_sk, m = timed(lambda: HuberRegressor(epsilon=delta, alpha=0.0, max_iter=1000).fit(X, y), repeat)
    s = float(m.scale_)
    t, f = timed(lambda: fit_linear(X, y, noise=Huber(delta), scale=s), repeat)
    return [
        (
            "dlmath fit_linear Huber(1.35), scale=sklearn's",
            t,
            huber_obj(X, y, f.coef, f.intercept, delta, s),
            f"converged={f.converged}",
        ),
        ("sklearn HuberRegressor", t_sk, huber_obj(X, y, m.coef_, m.intercept_, delta, s), f"scale_={s:.4f}"),
    ]


def peers_lsq(X, y, repeat):
    n = X.shape[0]
    t, f = timed(lambda: fit_linear(X, y), repeat)
    t_np, sol = timed(lambda: np.linalg.lstsq(np.column_stack([X, np.ones(n)]), y, rcond=None)[0], repeat)
    obj_np = 0.5 * float(np.sum((y - X @ sol[:-1] - sol[-1]) ** 2))
    return [
        ("dlmath fit_linear gaussian", t, f.objective, ""),
        ("np.linalg.lstsq on [X, 1]", t_np, obj_np, ""),
    ]


def peers_instance(X, y, model, repeat):
    from scipy.optimize import minimize

    n = X.shape[0]
    Z = np.column_stack([X, np.ones(n)])

    def objective(beta):
        r = y - Z @ beta
        return float(np.sum(model.loss(r))), -(Z.T @ model.dloss(r))

    t, f = timed(lambda: fit_linear(X, y, noise=model), repeat)
    start = np.linalg.lstsq(Z, y, rcond=None)[0]
    t_sp, res = timed(
        lambda: minimize(objective, start, jac=True, method="L-BFGS-B", options={"gtol": 1e-8}), 1
    )
    return [
        (f"dlmath fit_linear {model!r}", t, f.objective, f"converged={f.converged}, {f.method}"),
        ("scipy L-BFGS-B on the same objective", t_sp, float(res.fun), f"nit={res.nit}"),
    ]


def joint_scale(X, y, repeat):
    print("\n  joint scale (dlmath only)")
    for name in ("huber", "logistic", "student-t", "cauchy"):
        t, f = timed(lambda name=name: fit_linear(X, y, noise=name), repeat)
        print(
            f"    {name:<10} {t:9.3f} s  n_iter={f.n_iter:<3d} scale={f.scale:.6f}  "
            f"converged={f.converged}, {f.method}"
        )


def print_block(title, rows):
    objs = [r[2] for r in rows if r[2] is not None]
    best = min(objs) if objs else None
    t_dl = rows[0][1]
    print(f"\n{title}")
    print(f"  {'solver':<48} {'time (s)':>9} {'dlmath x':>9} {'objective':>22} {'rel. to best':>13}  note")
    for name, t, obj, note in rows:
        ts = f"{t:9.3f}" if t is not None else f"{'-':>9}"
        sp = f"{t / t_dl:8.1f}x" if t is not None and t_dl else f"{'-':>9}"
        os_ = f"{obj:22.12e}" if obj is not None else f"{'-':>22}"
        rel = f"{(obj - best) / abs(best):13.1e}" if obj is not None and best else f"{'-':>13}"
        print(f"  {name:<48} {ts} {sp} {os_} {rel}  {note}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n = 1e4 and 1e5 instead of 1e5 and 1e6")
    ap.add_argument("--repeat", type=int, default=3, help="runs per fast solver; the best time is kept")
    args = ap.parse_args(argv)
    sizes = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    import scipy

    versions = f"numpy {np.__version__}, scipy {scipy.__version__}"
    for mod in ("sklearn", "statsmodels"):
        try:
            versions += f", {mod} {__import__(mod).__version__}"
        except ImportError:
            pass
    print(f"bench_fit: p={P}, {platform.processor() or platform.machine()}, {versions}")
    print("'dlmath x' is each solver's time divided by dlmath's; 'rel. to best' compares objectives.")
    for n in sizes:
        for kind in ("laplace", "outliers"):
            X, y = make_data(n, kind)
            label = "Laplace noise" if kind == "laplace" else "Gaussian noise + 5% gross outliers"
            print_block(f"== LAD, n={n:.0e}, {label}", peers_lad(X, y, args.repeat))
            print_block(f"== Huber, n={n:.0e}, {label}", peers_huber(X, y, args.repeat))
            if kind == "laplace":
                print_block(f"== least squares, n={n:.0e}", peers_lsq(X, y, args.repeat))
            else:
                for model in (Huber(1.35), StudentT(4.0, 1.0)):
                    rows = peers_instance(X, y, model, args.repeat)
                    print_block(f"== {model!r} at its own scale, n={n:.0e}, {label}", rows)
                joint_scale(X, y, args.repeat)


if __name__ == "__main__":
    main()
