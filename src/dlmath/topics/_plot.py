"""What the topics' figures share: the palette, log-axis labels, and curves of checked expressions."""

from __future__ import annotations

import numpy as np

__all__ = ["BLUE", "ORANGE", "GREEN", "RED", "GREY", "powers_of_ten", "decades_only", "curve"]

BLUE, ORANGE, GREEN, RED, GREY = "#1f5fa8", "#d9730d", "#2e8540", "#b3261e", "#6b7780"

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def powers_of_ten(axis) -> None:
    """Label a log axis 10⁻³ with Unicode superscripts: mathtext labels cost ~20 ms each to lay out."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    def label(value, _pos) -> str:
        exponent = int(round(np.log10(value))) if value > 0 else 0
        return f"10{str(exponent).translate(_SUPERSCRIPT)}" if np.isclose(value, 10.0**exponent) else ""

    axis.set_major_locator(LogLocator(base=10.0))
    axis.set_major_formatter(FuncFormatter(label))
    axis.set_minor_formatter(NullFormatter())


def decades_only(axis) -> None:
    """A log axis labelled by :func:`powers_of_ten`, without minor ticks: the figure check builds every
    tick of a drawing, about a millisecond each, and a log-log panel has a hundred minor ones."""
    from matplotlib.ticker import NullLocator

    powers_of_ten(axis)
    axis.set_minor_locator(NullLocator())


def curve(expr, *symbols):
    """A NumPy function of ``symbols`` computing ``expr``: a figure draws the checked formula itself."""
    import sympy as sp

    return sp.lambdify(symbols, expr, "numpy")
