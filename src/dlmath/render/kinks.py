"""The kink table: what NumPy, PyTorch, JAX and dlmath actually return at the kinks and limits that
the topics discuss, each value judged against the math (the cases are in :mod:`.kink_cases`).

:func:`collect` runs every case in every framework that imports (PyTorch and JAX lazily; one that
does not import is "not installed", and an exception is the cell's value), :func:`terminal_table`
prints the result for ``dlmath kinks``, and :func:`html_table` writes it for the page (its
styles are :data:`CSS`). NumPy has no autodiff and few of these functions, so its column runs the
textbook formula, the one the topics warn about; the notes say what each cell ran.
"""

from __future__ import annotations

import html
import importlib
import warnings
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from .kink_cases import CASES, Case, show_number
from .terminal import Style

__all__ = ["COLUMNS", "CSS", "Cell", "Row", "Table", "collect", "terminal_table", "html_table"]

COLUMNS = ("NumPy", "PyTorch", "JAX", "dlmath")


@dataclass(frozen=True)
class Cell:
    value: str
    verdict: str
    detail: str = ""
    how: str = ""


@dataclass(frozen=True)
class Row:
    case: Case
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Table:
    rows: tuple[Row, ...]
    versions: dict[str, str]  # column -> version, "not installed" or why it failed to import


# ----------------------------------------------------------------------------- running the cases


_import = importlib.import_module


def _load(name):
    """``(module, status)``: the module, or None and "not installed" / "fails to import: X"."""
    try:
        return _import(name), None
    except ImportError:
        return None, "not installed"
    except Exception as exc:  # a broken install is reported, never a failed build
        return None, f"fails to import: {type(exc).__name__}"


def _env():
    import dlmath

    torch, torch_status = _load("torch")
    jax, jax_status = _load("jax")
    jnp = _import("jax.numpy") if jax is not None else None
    env = SimpleNamespace(np=np, torch=torch, jax=jax, jnp=jnp, dlmath=dlmath)
    versions = {
        "NumPy": np.__version__,
        "PyTorch": torch.__version__ if torch is not None else torch_status,
        "JAX": jax.__version__ if jax is not None else jax_status,
        "dlmath": dlmath.__version__,
    }
    return env, versions


def _as_numpy(value):
    if hasattr(value, "detach"):  # torch
        value = value.detach().cpu()
    return np.asarray(value, dtype=np.float64)


def _run(case, column, env, missing):
    """One cell: ``missing`` ("not installed", ...) where the framework did not import."""
    if missing:
        return Cell(missing, missing)
    impl = case.impls.get(column)
    if impl is None or impl.run is None:
        return Cell("—", "—", "no such function", impl.how if impl else "")
    how = impl.how(env) if callable(impl.how) else impl.how
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            value = impl.run(env)
    except Exception as exc:  # what a framework raises is the cell
        message = (str(exc).splitlines() or [""])[0][:160]
        return Cell(type(exc).__name__, f"raises {type(exc).__name__}", message, how)
    if value is None:
        return Cell("—", "—", "not in this version of dlmath", how)
    arr = _as_numpy(value)
    verdict, detail = case.judge(arr)
    return Cell(_show(arr), verdict, detail, how)


def collect(cases=CASES) -> Table:
    """Run every case in NumPy, PyTorch, JAX (where they import) and dlmath, and judge each value."""
    env, versions = _env()
    missing = {
        "NumPy": None,
        "PyTorch": None if env.torch is not None else versions["PyTorch"],
        "JAX": None if env.jax is not None else versions["JAX"],
        "dlmath": None,
    }
    rows = tuple(Row(c, tuple(_run(c, col, env, missing[col]) for col in COLUMNS)) for c in cases)
    return Table(rows, versions)


# ----------------------------------------------------------------------------- showing values


def _show(arr: np.ndarray) -> str:
    if arr.ndim == 0:
        return show_number(float(arr))
    return "[" + ", ".join(show_number(float(v)) for v in arr.ravel()) + "]"


_ASCII = {"‖": "||", "∇": "grad ", "−": "-", "σ′": "sigma'", "σ": "sigma", "≤": "<=", "∞": "inf", "—": "-",
          "·": "*", "∈": "in", "′": "'", "½": "1/2", "²": "^2", "¹²": "^12", "Σ": "sum", "…": "..."}  # fmt: skip
_STATUS = {"right": "pass", "convention": "undecided", "not installed": "skipped", "—": "skipped"}


def _status(verdict: str) -> str:
    """The terminal colour class of a verdict (:class:`Style` paints by check status)."""
    return "skipped" if verdict.startswith("fails to import") else _STATUS.get(verdict, "fail")


def _ascii(text: str) -> str:
    for k in sorted(_ASCII, key=len, reverse=True):
        text = text.replace(k, _ASCII[k])
    return text.encode("ascii", "replace").decode("ascii")


def _title(table: Table) -> str:
    names = ", ".join(
        f"{c} {v}" if v not in ("not installed",) and not v.startswith("fails") else f"{c} ({v})"
        for c, v in table.versions.items()
    )
    return f"What each framework returns at the kinks and limits ({names})"


def terminal_table(style: Style | None = None, table: Table | None = None) -> str:
    """The table as plain text: per case a line of values and a line of verdicts, then the notes."""
    style = Style() if style is None else style
    table = collect() if table is None else table
    text = (lambda s: s) if style.unicode else _ascii
    head = ["case", "the math", *COLUMNS]
    body = [[text(r.case.label), text(r.case.math), *(text(c.value) for c in r.cells)] for r in table.rows]
    verdicts = [["", "", *(text(c.verdict) for c in r.cells)] for r in table.rows]
    widths = [max(len(line[i]) for line in [head, *body, *verdicts]) for i in range(len(head))]

    def line(cells, painted=None):
        padded = [c.ljust(w) for c, w in zip(cells, widths, strict=True)]
        if painted:
            padded = [p if s is None else style.paint(p, s) for p, s in zip(padded, painted, strict=True)]
        return "  ".join(padded).rstrip()

    out = [style.bold(style.wrap(text(_title(table)))), "", style.bold(line(head))]
    for row, values, marks in zip(table.rows, body, verdicts, strict=True):
        out.append(line(values))
        out.append(line(marks, [None, None, *(_status(c.verdict) for c in row.cells)]))
    out += ["", style.wrap(text(
        "Verdicts: right = the math's value (within 4 ulp in the case's dtype) or an allowed choice; "
        "convention = a number where the math has none; NaN, inf = where the math has a finite value; "
        "wrong = another number. NumPy has no autodiff: its column runs the textbook formula."
    ))]  # fmt: skip
    for row in table.rows:
        ran = "; ".join(
            f"{col}: {c.how}" + (f" ({c.detail})" if c.detail else "")
            for col, c in zip(COLUMNS, row.cells, strict=True)
            if c.how
        )
        out += ["", style.wrap(text(f"{row.case.label}: {row.case.why}"), "  ", "    ")]
        if ran:
            out.append(style.wrap(text(ran), "    ", "      "))
    return "\n".join(out)


def _slug(verdict: str) -> str:
    return {"right": "right", "convention": "convention", "NaN": "nan", "inf": "inf", "wrong": "wrong"}.get(
        verdict, "raises" if verdict.startswith("raises") else "missing"
    )


def html_table(table: Table | None = None) -> str:
    """The table for the page: a captioned ``<table>`` in a focusable scroll box, then what each cell ran."""
    table = collect() if table is None else table
    esc = html.escape
    head = "".join(
        f'<th scope="col">{esc(c)}<br><span class="kinks-version">{esc(table.versions[c])}</span></th>'
        for c in COLUMNS
    )
    rows = []
    for row in table.rows:
        cells = "".join(
            f'<td class="verdict-{_slug(c.verdict)}"><code class="kinks-value">{esc(c.value)}</code>'
            f'<span class="kinks-verdict">{esc(c.verdict)}</span></td>'
            for c in row.cells
        )
        rows.append(
            f'<tr id="kink-{esc(row.case.id)}"><th scope="row">{esc(row.case.label)}</th>'
            f'<td class="kinks-math">{esc(row.case.math)}</td>{cells}</tr>'
        )
    notes = []
    for row in table.rows:
        ran = "".join(
            f"<li>{esc(col)}: <code>{esc(c.how)}</code>{esc(f' ({c.detail})' if c.detail else '')}</li>"
            for col, c in zip(COLUMNS, row.cells, strict=True)
            if c.how
        )
        notes.append(f"<dt>{esc(row.case.label)}</dt><dd>{esc(row.case.why)}<ul>{ran}</ul></dd>")
    caption = (
        f"{esc(_title(table))}, run when this page was built. Each cell holds the value returned and "
        "its verdict against the math: right, convention (a number where the math has none), NaN, inf "
        "or wrong."
    )
    return (
        '<div class="table-scroll" tabindex="0" role="region" aria-label="Kink table: what NumPy, PyTorch, '
        'JAX and dlmath return at the kinks">\n'
        f'<table class="kinks">\n<caption>{caption}</caption>\n'
        f'<thead><tr><th scope="col">case</th><th scope="col">the math</th>{head}</tr></thead>\n'
        "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n</div>\n"
        '<details class="kinks-how"><summary>What each cell ran, and why the math says so</summary>\n'
        "<dl>" + "".join(notes) + "</dl>\n</details>\n"
    )


CSS = """\
.table-scroll { max-width: 100%; overflow-x: auto; }
.table-scroll:focus-visible { outline: 2px solid currentColor; outline-offset: 2px; }
table.kinks { border-collapse: collapse; font-size: 0.875rem; }
table.kinks caption { caption-side: top; text-align: left; padding-bottom: 0.5rem; position: sticky; left: 0; max-width: calc(100vw - 2rem); }
table.kinks .kinks-math { white-space: nowrap; }
table.kinks th, table.kinks td { padding: 0.25rem 0.5rem; border-bottom: 1px solid #8884; text-align: left; vertical-align: top; }
table.kinks th[scope="row"] { min-width: 9rem; font-weight: normal; }
table.kinks .kinks-version { font-weight: normal; font-size: 0.8em; }
table.kinks .kinks-value { display: block; white-space: nowrap; }
table.kinks .kinks-verdict { display: block; font-size: 0.8em; }
table.kinks .verdict-right .kinks-verdict { color: #1a7f37; }
table.kinks .verdict-convention .kinks-verdict { color: #9a6700; }
table.kinks :is(.verdict-nan, .verdict-inf, .verdict-wrong, .verdict-raises) .kinks-verdict { color: #cf222e; }
table.kinks .verdict-missing .kinks-verdict { color: #6e7781; }
"""
