"""Text for a terminal that cannot print Unicode: math spelled in ASCII, and nothing left to fail.

A terminal whose encoding cannot print Unicode (``PYTHONIOENCODING=cp1252``, an old Windows
console) gets ASCII. The engine prints formulas in ASCII where it can; this spells what remains
(a check's detail, a name with a hat, a sign a printer drew in Unicode) the way one would type it:
``σ̂²`` as ``sigma_hat^2``, ``≤`` as ``<=``, ``Xᵀ`` as ``X^T``. A character with no spelling
becomes ``?``, so the output can always be written.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["to_ascii"]

_GREEK = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho "
    "sigma sigma tau upsilon phi chi psi omega"
).split()
_CHARS = {
    **{chr(0x3B1 + k): name for k, name in enumerate(_GREEK)},
    **{chr(0x391 + k): name.capitalize() for k, name in enumerate(_GREEK) if k != 17},
    "ϵ": "epsilon",
    "ϕ": "phi",
    "Σ": "sum",
    "∑": "sum",
    "∏": "prod",
    "∫": "integral",
    "−": "-",
    "‐": "-",
    "–": "-",
    "—": "-",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "…": "...",
    "·": "*",
    "⋅": "*",
    "×": "x",
    "÷": "/",
    "±": "+-",
    "∓": "-+",
    "≈": "~=",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "≡": "==",
    "∼": "~",
    "∝": "~",
    "→": "->",
    "↦": "|->",
    "←": "<-",
    "⇒": "=>",
    "∞": "oo",
    "∂": "d",
    "∇": "grad ",
    "√": "sqrt",
    "‖": "||",
    "⊙": "(.)",
    "∈": " in ",
    "ℯ": "e",
    "ℓ": "l",
    "ℝ": "R",
    "✓": "ok",
    "✗": "FAIL",
    "─": "-",
    "━": "-",
    "│": "|",
    "╱": "/",
    "╲": "\\",
    "‾": "_",
    "⎛": "/",
    "⎝": "\\",
    "⎞": "\\",
    "⎠": "/",
    "⎜": "|",
    "⎟": "|",
    "⎧": "/",
    "⎨": "{",
    "⎩": "\\",
    "⎪": "|",
    "⎫": "\\",
    "⎬": "}",
    "⎭": "/",
    "⎡": "[",
    "⎣": "[",
    "⎢": "[",
    "⎤": "]",
    "⎦": "]",
    "⎥": "]",
}
_MARKS = {"\u0302": "_hat", "\u0303": "_tilde", "\u0304": "_bar", "\u0307": "_dot"}
_SUPER = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱˣᵀᵃᵇᶜᵈᵉᵏᵐᵖᵗ", "0123456789+-=()nixTabcdekmpt", strict=True))
_SUB = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜᵢⱼᵣᵤᵥ", "0123456789+-=()aeoxhklmnpstijruv", strict=True))
_SUPER_RUN = re.compile(f"[{''.join(_SUPER)}]+")
_SUB_RUN = re.compile(f"[{''.join(_SUB)}]+")


def _script(table: dict, mark: str):
    def spell(m: re.Match) -> str:
        inner = "".join(table[c] for c in m.group())
        return mark + (inner if len(inner) == 1 or inner.isalnum() else f"({inner})")

    return spell


def to_ascii(text: str) -> str:
    """``text`` in printable ASCII (see the module docstring)."""
    if text.isascii():
        return text
    text = _SUPER_RUN.sub(_script(_SUPER, "^"), text)
    text = _SUB_RUN.sub(_script(_SUB, "_"), text).replace("∇_", "grad_")
    text = "".join(_CHARS.get(c, c) for c in text)
    out = []
    for c in unicodedata.normalize("NFKD", text):
        if c.isascii():
            out.append(c)
        elif unicodedata.combining(c):
            out.append(_MARKS.get(c, ""))
        else:
            out.append(_CHARS.get(c, "?"))
    return "".join(out)
