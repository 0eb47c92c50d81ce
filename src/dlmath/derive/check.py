"""Checking a topic: every item symbolically and numerically, every text for unchecked math.

Nothing is cached between calls: each call builds the explicit forms, compiles them and draws
fresh instances from ``seed``. An exception inside a check is a failure of that check, reported
with its message, never a crash of the whole run.

For each item:

- **symbolic**: SymPy under the facts of the topic's and the item's assumptions (``n/a`` for a
  statement about measured quantities, which only an experiment can check);
- **numeric**: random instances of the stated domain, compared within the item's tolerance and
  against the dlmath functions that implement it; where SymPy was undecided, also the search for
  a counterexample (:mod:`.search`);
- a statement about undefined functions is also checked on instances (:mod:`.functions`), each
  one symbolically and numerically.
"""

from __future__ import annotations

import time
import traceback

import sympy as sp

from . import assumptions as A
from . import functions as F
from .domain import Domain
from .model import Item, Statement
from .results import CheckResult, ItemReport, TextIssue, TopicReport

__all__ = ["check_item", "check_topic", "check_text"]


def _dims(stmt: Statement) -> dict:
    if not stmt.dims:
        return {}
    names = {}
    for e in (stmt.lhs, stmt.rhs, *stmt.given.values()):
        for s in sp.sympify(e).atoms(sp.Symbol):
            names.setdefault(s.name, s)
    return {names[k]: v for k, v in stmt.dims.items() if k in names}


def _error(exc: BaseException, t0: float) -> CheckResult:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
    return CheckResult(
        "fail", f"the check raised {type(exc).__name__}: {exc}{where}", time.perf_counter() - t0
    )


def _applied(stmt: Statement) -> set[str]:
    names = set()
    for e in (stmt.lhs, stmt.rhs, *stmt.given.values()):
        for f in sp.sympify(e).atoms(sp.core.function.AppliedUndef):
            names.add(f.func.__name__)
    return names


def _refiner(assumptions):
    # rewriting assumptions (a function that stands for a concrete one, g = f^-1) go first, so the
    # facts about symbols also reach what they bring in
    ordered = sorted(assumptions, key=lambda a: not getattr(a, "rewrites", False))

    def refine(e):
        for a in ordered:
            e = a.refine(e)
        return e

    rewriters = [a for a in ordered if getattr(a, "rewrites", False)]

    def rewrite(e):
        for a in rewriters:
            e = a.refine(e)
        return e

    refine.rewrite = rewrite if rewriters else None
    return refine


class _Evaluator:
    """Numeric values of display expressions (for conditions like ``Invertible(X.T*X)``)."""

    def __init__(self, given, functions):
        from .compiler import Compiler

        lambdas = {sp.Function(k): v for k, v in (functions or {}).items() if isinstance(v, sp.Lambda)}
        self.lambdas = lambdas
        self.bound = set(functions or {})
        self.comp = Compiler(
            given, {}, namespace={k: v for k, v in (functions or {}).items() if not isinstance(v, sp.Lambda)}
        )
        self._compiled: dict = {}

    def __call__(self, expr, values):
        """The value of ``expr`` at ``values``; ``KeyError`` when the sample does not involve it."""
        hit = self._compiled.get(expr)
        if hit is None:
            e = sp.sympify(expr)
            calls = {f.func.__name__ for f in e.atoms(sp.core.function.AppliedUndef)}
            names = {s.name for s in e.free_symbols if isinstance(s, (sp.Symbol, sp.MatrixSymbol))}
            fn = None if calls - self.bound else self.comp(e.subs(self.lambdas) if self.lambdas else e)
            hit = self._compiled[expr] = (fn, names)
        fn, names = hit
        if fn is None or names - set(values):
            raise KeyError(str(expr))
        try:
            return fn(values)
        except NameError as exc:
            raise KeyError(str(exc)) from None


def _domain(topic, item, stmt, assumptions, functions, extra=()):
    spec = item.numeric
    return Domain(
        [*assumptions, *extra],
        distributions=topic.distributions,
        sampler=spec.sample or topic.whole_sampler,
        evaluate=_Evaluator(stmt.given, functions),
    )


def _instance_bounds(stmt, domains) -> list:
    """Bounds on the symbols that are arguments of a bound function with a restricted domain."""
    out = []
    for e in (stmt.lhs, stmt.rhs):
        for call in sp.sympify(e).atoms(sp.core.function.AppliedUndef):
            lo_hi = domains.get(call.func.__name__)
            if lo_hi is None or len(call.args) != 1 or not isinstance(call.args[0], sp.Symbol):
                continue
            s = call.args[0]
            lo, hi = lo_hi
            if lo > -float("inf"):
                out.extend(A.assumption(sp.StrictGreaterThan(s, lo)))
            if hi < float("inf"):
                out.extend(A.assumption(sp.StrictLessThan(s, hi)))
    for a in out:
        a.redraw = True  # the instance's domain, not the topic's: a draw outside it is drawn again
    return out


def check_item(topic, item: Item, *, seed: int = 0) -> ItemReport:
    """Both verdicts on one item of ``topic``."""
    from . import numeric, search, symbolic

    t0 = time.perf_counter()
    stmt = item.statement
    # the item's own assumptions first: they are the more specific (a > b before the topic's a >= b)
    assumptions = [*item.assume, *topic.assumptions]
    refine = _refiner(assumptions)
    sizes = item.numeric.sizes or topic.sizes
    key = f"{topic.id}/{item.id}"
    applied = _applied(stmt)
    measured = {k: v for k, v in topic.measured.items() if k in applied}
    fixed = {a.name: a.function for a in assumptions if isinstance(a, A.FunctionIs)}
    generic = sorted(applied - set(measured) - set(fixed))

    try:
        if measured:
            sym = CheckResult(
                "n/a",
                f"{', '.join(measured)} {'is' if len(measured) == 1 else 'are'} measured by an experiment; "
                "only the numeric check applies",
            )
        else:
            sym = symbolic.decide(stmt, _dims(stmt), refine)
    except Exception as exc:
        sym = _error(exc, t0)

    pairs = [(a.g, a.f) for a in assumptions if isinstance(a, A.InverseAssumption)]
    proved_for: set[str] = set()  # instances SymPy proved: their search would add nothing
    bindings = [("", {}, {})]
    if generic:
        own = [("the item's instance", dict(b), {}) for b in item.numeric.functions]
        bindings = own + F.instances(generic, pairs)
        if sym.status == "undecided":
            sym, proved_for = _instances_symbolic(sym, stmt, bindings, refine, assumptions)

    t1 = time.perf_counter()
    try:
        num, checked = None, 0
        for label, bind, domains in bindings:
            functions = {**fixed, **bind, **measured}
            bad = _inverse_violation(assumptions, bind, domains)
            if bad:
                continue  # a library instance that does not satisfy the assumptions is not used
            domain = _domain(topic, item, stmt, assumptions, functions, _instance_bounds(stmt, domains))
            sides = numeric.Sides(stmt, {k for s in sizes for k in s}, functions)
            one = numeric.check(stmt, item.numeric, domain, sizes, seed=seed, key=key, sides=sides)
            checked += 1
            if one.status == "pass" and not measured:
                rtol, atol = numeric.tolerances(stmt, item.numeric)
                exact = _concrete(stmt, bind) if bind else stmt
                confirm = search.exact_violation(
                    exact,
                    refine,
                    lambda s, d: symbolic.explicit_sides(s, d, rewrite=refine.rewrite),
                    rtol,
                    atol,
                )
                if sym.status == "undecided" and label in proved_for:
                    found = None
                elif sym.status == "undecided":
                    found = search.search(
                        stmt, sides, domain, sizes[:2], rtol, atol, seed=seed, confirm=confirm
                    )
                else:
                    # the random instances avoid the edges of the domain; its special points do not
                    found = search.specials(
                        stmt, sides, domain, sizes[0], rtol, atol, seed=seed, confirm=confirm
                    )
                if found is not None and (found.status == "fail" or sym.status == "undecided"):
                    one = _merge(one, found)
            if label and one.status == "fail":
                one.detail = f"with {label}: {one.detail}"
            if num is None or one.status == "fail":
                num = one
            if one.status == "fail":
                break
        if num is None:
            num = CheckResult("fail", "no instance of the functions satisfies the assumptions")
        elif generic and num.status == "pass":
            num.detail = f"on {checked} instances of {', '.join(generic)}: {num.detail}"
        num.seconds = time.perf_counter() - t1
    except Exception as exc:
        num = _error(exc, t1)
    return ItemReport(item.id, item.label, item.kind, sym, num, place=item.place, latex=_latex(item))


def _latex(item) -> str:
    try:
        return item.latex
    except Exception:
        return ""


def _merge(random_check: CheckResult, found: CheckResult) -> CheckResult:
    if found.status == "fail":
        found.detail = f"{found.detail}; the random instances had passed ({random_check.detail})"
        return found
    return CheckResult(
        "pass",
        f"{random_check.detail}; {found.detail}",
        rtol=random_check.rtol,
        atol=random_check.atol,
        instances=random_check.instances + found.instances,
        largest_residual=random_check.largest_residual,
    )


def _inverse_violation(assumptions, bind, domains) -> str | None:
    for a in assumptions:
        if isinstance(a, A.InverseAssumption) and bind:
            lo, hi = domains.get(a.g, (-3.0, 3.0))
            lo = max(lo, -3.0) if lo > -float("inf") else -3.0
            hi = min(hi, 3.0) if hi < float("inf") else 3.0
            pts = [lo + (hi - lo) * t for t in (0.13, 0.5, 0.87)]
            msg = a.violated_by(bind, pts)
            if msg:
                return msg
    return None


def _concrete(stmt: Statement, bind: dict, extra_simplify=()) -> Statement:
    """``stmt`` with its undefined functions replaced by the instance ``bind`` (name -> Lambda)."""
    subs = {sp.Function(k): v for k, v in bind.items() if isinstance(v, sp.Lambda)}
    return Statement(
        sp.sympify(stmt.lhs).subs(subs),
        sp.sympify(stmt.rhs).subs(subs),
        stmt.relation,
        given={k: sp.sympify(v).subs(subs) for k, v in stmt.given.items()},
        wlog=stmt.wlog,
        forall=stmt.forall,
        dims=stmt.dims,
        simplify=(*stmt.simplify, *extra_simplify),
        tol=stmt.tol,
    )


def _instances_symbolic(sym, stmt, bindings, refine, assumptions) -> CheckResult:
    """Where SymPy cannot decide a rule in general, decide it on each instance."""
    from . import symbolic

    proved, names = 0, []
    for label, bind, domains in bindings:
        if not bind or _inverse_violation(assumptions, bind, domains):
            continue
        concrete = _concrete(stmt, bind)
        inst_refine = _refiner([*assumptions, *_instance_bounds(stmt, domains)])
        one = symbolic.decide(concrete, _dims(concrete), lambda e, r=inst_refine: r(refine(e)))
        if one.status == "fail":
            return CheckResult(
                "fail", f"false for {label}: {one.detail}", sym.seconds + one.seconds, residual=one.residual
            ), set()
        if one.status == "pass":
            proved += 1
            names.append(label)
    if not proved:
        return sym, set()
    return CheckResult(
        "undecided",
        f"{sym.detail.split(';')[0]} in general; SymPy proves it for each of {proved} instances "
        f"({'; '.join(names)}); the numeric check searches the others",
        sym.seconds,
        residual=sym.residual,
    ), set(names)


def check_text(topic, place: str, source: str, *, seed: int = 0, local=()) -> TopicReport:
    """Resolve and check one text of ``topic`` as if it were written at ``place``."""
    t0 = time.perf_counter()
    before = len(topic._text_items)
    text = topic.resolve(place, source, local)
    report = TopicReport(topic.id, issues=list(text.issues))
    for frag in text.fragments:
        items = frag.item if isinstance(frag.item, tuple) else (frag.item,) if frag.item else ()
        for item in items:
            report.items.append(check_item(topic, item, seed=seed))
    del topic._text_items[before:]
    report.seconds = time.perf_counter() - t0
    return report


def check_topic(topic, *, seed: int = 0) -> TopicReport:
    """Check every item and every text of ``topic``; ``report.passed`` is the overall verdict."""
    t0 = time.perf_counter()
    report = TopicReport(topic.id)
    try:
        texts = topic.texts()
        report.title = texts["title"].plain()
        for t in texts.values():
            report.issues.extend(t.issues)
        if topic.figure is not None:
            from .figure import figure_issues

            report.issues.extend(figure_issues(topic))
        report.issues.extend(_implementation_issues(topic))
    except Exception as exc:
        report.issues.append(
            TextIssue("topic", topic.id, f"the texts could not be resolved: {_error(exc, t0).detail}")
        )
    labels = {}
    try:
        labels = {p.rsplit(": ", 1)[0]: t.plain() for p, t in topic.texts().items() if p.endswith(": label")}
    except Exception:  # the issue above already says the texts could not be resolved
        pass
    for item in topic.items:
        one = check_item(topic, item, seed=seed)
        one.label = labels.get(f"{item.kind} {item.id}", one.label)  # as the reader sees it
        report.items.append(one)
    report.seconds = time.perf_counter() - t0
    return report


def _implementation_issues(topic) -> list[TextIssue]:
    import importlib

    out = []
    for name in topic.implemented_by:
        module, _, attr = name.rpartition(".")
        try:
            obj = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError, ValueError):
            try:
                obj = importlib.import_module(name)
            except ImportError:
                out.append(TextIssue("implemented by", name, "no such function or module"))
    return out


_WORKER: dict = {}


def _start_worker(topics) -> None:
    """A forked worker keeps the parent's topics (inherited, never pickled: they hold functions)."""
    _WORKER["topics"] = topics


def _check_one(args):
    index, seed = args
    return index, check_topic(_WORKER["topics"][index], seed=seed)


def check_topics(topics, *, seed: int = 0, jobs: int | None = None, progress=None) -> list[TopicReport]:
    """Check several topics, in ``jobs`` processes (default: the CPUs, at most 4); reports in order.

    The workers are forked, so they start with the topics already built; each topic's checks are
    seeded by its own ids, so the reports do not depend on ``jobs`` or on the order of completion.
    In a process that has loaded JAX, whose runtime is multithreaded and must not be forked (it
    warns, and a child may deadlock), the topics are checked here, one after another.
    ``progress(done, total, report)`` is called as each topic finishes.
    """
    import multiprocessing
    import os
    import sys

    topics = list(topics)
    if jobs is None:
        try:
            jobs = min(4, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - macOS, Windows
            jobs = min(4, os.cpu_count() or 1)
    jobs = max(1, min(jobs, len(topics)))
    if "jax" in sys.modules:
        jobs = 1
    reports: list = [None] * len(topics)
    if jobs == 1 or "fork" not in multiprocessing.get_all_start_methods():
        for k, topic in enumerate(topics):
            reports[k] = check_topic(topic, seed=seed)
            if progress:
                progress(k + 1, len(topics), reports[k])
        return reports
    with multiprocessing.get_context("fork").Pool(
        jobs, initializer=_start_worker, initargs=(topics,)
    ) as pool:
        for done, (index, report) in enumerate(
            pool.imap_unordered(_check_one, [(k, seed) for k in range(len(topics))]), 1
        ):
            reports[index] = report
            if progress:
                progress(done, len(topics), report)
    return reports
