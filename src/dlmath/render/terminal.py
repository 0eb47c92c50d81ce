r"""Terminal rendering: a topic's derivation in readable Unicode, check results, the summary table.

Formulas come from the checked statements (``Step.text``, SymPy's Unicode pretty printer); the
prose fields carry inline TeX (``$\lVert x\rVert$``), which :func:`tex_to_text` turns into plain
Unicode. Colour is opt-in (the CLI enables it only on a TTY).
"""

from __future__ import annotations

import re
import textwrap

__all__ = ["tex_to_text", "render_topic", "render_table", "render_failures", "render_list"]

_SYMBOL = {"pass": "✓", "fail": "✗", "undecided": "?", "skipped": "–"}
_COLOR = {"pass": "32", "fail": "31", "undecided": "33", "skipped": "33"}

_SUB_EARLY = str.maketrans("aeijklmnoprstuvx", "ₐₑᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")

_MACROS = [
    (r"\\left|\\right|\\,|\\;|\\!|\\textstyle|\\displaystyle", ""),
    (r"\\lVert\s*", "‖"),
    (r"\s*\\rVert", "‖"),
    (r"\\Vert", "‖"),
    (r"\^\{?\\top\}?", "ᵀ"),
    (r"\\top", "ᵀ"),
    (r"\\mathcal\{L\}", "𝓛"),
    (r"\\mathcal\{N\}", "N"),
    (r"\\mathbb\{R\}", "ℝ"),
    (r"\\mathbf\{1\}", "𝟏"),
    (r"\\mathbf\{0\}", "𝟎"),
    # braces end a preceding command's name (\tau\operatorname{LSE} -> \tau{LSE}); they are dropped later
    (r"\\operatorname\{([^}]*)\}", r"{\1}"),
    (r"\\text\{([^}]*)\}", r"\1"),
    (r"\\hat\s*\{?(\\?)([A-Za-z]+)\}?", lambda m: (_WORDS.get(m[2], m[2]) if m[1] else m[2]) + "\u0302"),
    (r"\\[td]?frac\s*([A-Za-z0-9])([A-Za-z0-9])", r"\1/\2"),
    (r"\\overset\{[^}]*\}\{\\sim\}", "~"),
    (r"\\sum_\{?([a-z])\}?", lambda m: "Σ" + m.group(1).translate(_SUB_EARLY) + " "),
    (r"\\max_\{?([a-z])\}?", lambda m: "max" + m.group(1).translate(_SUB_EARLY) + " "),
]
_WORDS = {
    "sum": "Σ",
    "nabla": "∇",
    "partial": "∂",
    "infty": "∞",
    "to": "→",
    "cdot": "·",
    "times": "×",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "ne": "≠",
    "neq": "≠",
    "approx": "≈",
    "gg": "≫",
    "in": "∈",
    "pm": "±",
    "mp": "∓",
    "ell": "ℓ",
    "mapsto": "↦",
    "succeq": "⪰",
    "odot": "⊙",
    "sim": "~",
    "log": "log",
    "exp": "exp",
    "max": "max",
    "lim": "lim",
    "tau": "τ",
    "sigma": "σ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "delta": "δ",
    "eta": "η",
    "pi": "π",
    "mu": "μ",
    "nu": "ν",
    "theta": "θ",
    "lambda": "λ",
    "alpha": "α",
    "beta": "β",
}
_SUPER = str.maketrans("0123456789+-=()nijkTx", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱʲᵏᵀˣ")
# a lone letter exponent reads well raised (eᵐ, eʸ); a longer one stays e^(b - a)
_SUPER_LETTER = str.maketrans("abdeghmoprstuvwy", "ᵃᵇᵈᵉᵍʰᵐᵒᵖʳˢᵗᵘᵛʷʸ")
_SUB = str.maketrans("0123456789+-=()aeijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")


def _group(text: str) -> str:
    """``text`` as one operand: bare when it is a single token, else in parentheses."""
    return text if re.fullmatch(r"[\\A-Za-z0-9.]+|[A-Za-z0-9.]+[_^][A-Za-z0-9]", text) else f"({text})"


def _script(text: str, table, marker: str) -> str:
    """Unicode super/subscript when every character has one, else ``^(...)``/``_(...)``."""
    if table is _SUPER and len(text) == 1 and ord(text) in _SUPER_LETTER:
        return text.translate(_SUPER_LETTER)
    if text and all(ord(c) in table for c in text):
        return text.translate(table)
    return marker + ("(" + text + ")" if len(text) > 1 else text)


def tex_to_text(tex: str) -> str:
    """Inline TeX (between ``$...$`` or bare) as readable Unicode, for the terminal.

    Code spans (between backticks) are kept verbatim, without the backticks.
    """
    parts = re.split(r"`([^`]*)`", tex)
    return "".join(part if k % 2 else _tex_part(part) for k, part in enumerate(parts)).strip()


def _braced(s: str, start: int) -> tuple[str, int]:
    """The contents of the balanced ``{...}`` group opening at ``s[start]``, and the index after it."""
    depth = 0
    for k in range(start, len(s)):
        depth += {"{": 1, "}": -1}.get(s[k], 0)
        if depth == 0:
            return s[start + 1 : k], k + 1
    return s[start + 1 :], len(s)


def _fractions_and_roots(s: str) -> str:
    """``\\frac{a}{b}`` -> ``a/b`` and ``\\sqrt{a}`` -> ``√(a)``, with nested braces."""
    out, k = [], 0
    pattern = re.compile(r"\\(?:[td]?frac|sqrt)\s*(?=\{)")
    while True:
        m = pattern.search(s, k)
        if m is None:
            return "".join(out) + s[k:]
        out.append(s[k : m.start()])
        first, k = _braced(s, m.end())
        if "sqrt" in m.group(0):
            out.append(f"√({_fractions_and_roots(first)})")
            continue
        second, k = _braced(s, k) if k < len(s) and s[k] == "{" else ("", k)
        out.append(f"{_group(_fractions_and_roots(first))}/{_group(_fractions_and_roots(second))}")
        if k < len(s) and s[k].isalnum():
            out.append(" ")  # d/dx x^n, not d/dxx^n


_FUNCTIONS = {"log", "exp", "max", "lim", "sign"}
_RELATIONS = {"to", "mapsto", "le", "leq", "ge", "geq", "ne", "neq", "approx", "gg", "in", "sim"}


def _word(m: re.Match, s: str) -> str:
    name = m.group(1)
    text = _WORDS.get(name, name)
    if name in _RELATIONS:
        return f" {text} "  # repeated spaces collapse below
    if name in _FUNCTIONS and m.start() > 0 and s[m.start() - 1].isalnum():
        return " " + text
    return text


def _tex_part(tex: str) -> str:
    s = tex.replace("$", "")
    for pattern, repl in _MACROS:
        s = re.sub(pattern, repl, s)
    s = _fractions_and_roots(s)
    s = re.sub(r"\\([A-Za-z]+)", lambda m: _word(m, s), s)
    s = re.sub(r"\^\{([^{}]*)\}", lambda m: _script(m.group(1), _SUPER, "^"), s)
    s = re.sub(r"\^([A-Za-z0-9+-])", lambda m: _script(m.group(1), _SUPER, "^"), s)
    s = re.sub(r"_\{([^{}]*)\}", lambda m: _script(m.group(1), _SUB, "_"), s)
    s = re.sub(r"_([A-Za-z0-9])", lambda m: _script(m.group(1), _SUB, "_"), s)
    s = s.replace("{", "").replace("}", "")
    s = re.sub(r"(?<=[\w)])Σ", " Σ", s)  # log Σᵢ, e^m Σᵢ
    s = re.sub(r"(?<=[α-ω])(?=[A-Za-z])", " ", s)  # τ LSE(x/τ)
    return re.sub(r"[ \t]+", " ", s)


def _paint(text: str, status: str, color: bool) -> str:
    return f"\033[{_COLOR[status]}m{text}\033[0m" if color else text


def _bold(text: str, color: bool) -> str:
    return f"\033[1m{text}\033[0m" if color else text


def _verdict(way: str, result, color: bool) -> str:
    mark = _paint(f"{_SYMBOL[result.status]} {result.status}", result.status, color)
    return f"{way:9s} {mark}: {result.detail}"


def _wrap(text: str, indent: str, width: int = 100) -> str:
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent)


def render_item(index: str, item, report=None, *, color: bool = False) -> str:
    """One step or claim: label, formula (multi-line Unicode), where-clauses, reason, verdicts."""
    lines = [_bold(f"{index} {tex_to_text(item.label)}", color)]
    formula = item.text
    lines.extend("     " + line for line in formula.splitlines())
    for where in item.where_text:
        rows = where.splitlines() or [""]
        if len(rows) == 1:
            lines.append("     where " + rows[0])
        else:
            lines.append("     where")
            lines.extend("       " + line for line in rows)
    if item.why:
        lines.append(_wrap(tex_to_text(item.why), "     "))
    if report is not None:
        for way, result in (("symbolic", report.symbolic), ("numeric", report.numeric)):
            lines.append(_wrap(_verdict(way, result, color), "     ", width=140))
            if result.status == "fail":
                if result.residual:
                    lines.append(_wrap("residual: " + result.residual, "         ", width=140))
                if result.counterexample:
                    lines.append(_wrap("counterexample: " + result.counterexample, "         ", width=140))
    return "\n".join(lines)


def render_topic(topic, report=None, *, color: bool = False) -> str:
    """The whole derivation of ``topic``; with ``report``, each item with its check results."""
    by_id = {r.id: r for r in report.items} if report is not None else {}
    out = [_bold(f"{tex_to_text(topic.title)}  [{topic.id}]", color), "", _wrap(tex_to_text(topic.claim), "")]
    if topic.assumptions:
        out += ["", "Assumptions: " + "; ".join(a.text for a in topic.assumptions)]
    out += ["", _bold("Derivation", color)]
    for k, step in enumerate(topic.steps, 1):
        out += ["", render_item(f"{k}.", step, by_id.get(step.id), color=color)]
    if topic.claims:
        out += ["", _bold("Further claims", color)]
        for k, claim in enumerate(topic.claims, 1):
            out += ["", render_item(f"({chr(96 + k)})", claim, by_id.get(claim.id), color=color)]
    if topic.implemented_by:
        out += ["", "Implemented by: " + ", ".join(topic.implemented_by)]
    if report is not None:
        status = "pass" if report.passed else "fail"
        out += [
            "",
            _paint(f"{_SYMBOL[status]} {topic.id}: {status} in {report.seconds:.2f} s", status, color),
        ]
    return "\n".join(out)


def render_list(topics) -> str:
    width = max(len(t.id) for t in topics)
    return "\n".join(f"{t.id:<{width}}  {tex_to_text(t.title)}" for t in topics)


def _counts(results) -> str:
    parts = []
    for status in ("pass", "undecided", "fail", "skipped"):
        n = sum(r.status == status for r in results)
        if n:
            parts.append(f"{n} {_SYMBOL[status]}")
    return " ".join(parts)


def render_table(reports, *, color: bool = False) -> str:
    """One row per topic: items passed, symbolic and numeric tallies, time; then the total."""
    rows = [("topic", "steps", "symbolic", "numeric", "time")]
    for rep in reports:
        passed = sum(i.passed for i in rep.items)
        rows.append(
            (
                rep.topic_id,
                f"{passed}/{len(rep.items)}",
                _counts([i.symbolic for i in rep.items]),
                _counts([i.numeric for i in rep.items]),
                f"{rep.seconds:.2f} s",
            )
        )
    widths = [max(len(r[c]) for r in rows) for c in range(5)]
    lines = []
    for k, row in enumerate(rows):
        cells = [row[c].ljust(widths[c]) if c != 4 else row[c].rjust(widths[c]) for c in range(5)]
        line = "  ".join(cells)
        if k == 0:
            line = _bold(line, color)
        elif color:
            status = "pass" if reports[k - 1].passed else "fail"
            cells[0] = _paint(cells[0], status, True)
            line = "  ".join(cells)
        lines.append(line)
    all_ok = bool(reports) and all(r.passed for r in reports)
    total = sum(r.seconds for r in reports)
    n_items = sum(len(r.items) for r in reports)
    summary = f"{'all' if all_ok else 'NOT all'} {len(reports)} topics pass ({n_items} steps and claims, {total:.2f} s)"
    lines += ["", _paint(summary, "pass" if all_ok else "fail", color)]
    return "\n".join(lines)


def render_failures(reports, *, color: bool = False) -> str:
    """Each failing item: topic, item, the symbolic residual and the numeric counterexample."""
    out = []
    for rep in reports:
        for item in rep.items:
            if item.passed:
                continue
            out.append(
                _paint(
                    f"✗ {rep.topic_id} / {item.id} ({item.kind}: {tex_to_text(item.label)})", "fail", color
                )
            )
            for way, result in (("symbolic", item.symbolic), ("numeric", item.numeric)):
                out.append(f"    {way}: {result.status}: {result.detail}")
                if result.residual:
                    out.append(f"      residual: {result.residual}")
                if result.counterexample:
                    out.append(f"      counterexample: {result.counterexample}")
    return "\n".join(out)
