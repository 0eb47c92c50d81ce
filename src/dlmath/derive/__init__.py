r"""The derivation engine, public: write a topic in one file, and check every formula in it.

A topic (:class:`Topic`) declares named symbols, assumptions as predicates, steps and claims as
relations, and texts (title, claim, labels, reasons, prose, figure caption and alt text) whose
``$...$`` math is itself checked. :func:`check_topic` (or ``dlmath check path/to/file.py``) checks
every item symbolically with SymPy and numerically on the stated domain, searches for a
counterexample where SymPy cannot decide, and reports math in the texts that nothing checks.

Everything a topic file needs is importable from here: the builder, the relations (``Eq``,
``Approx``, ...), the predicates (``Simplex``, ``Invertible``, ...), the display nodes of matrix
calculus (``Grad``, ``Norm``, ``Softmax``, ...) and the SymPy functions most derivations use.
"""

from __future__ import annotations

import sympy as sp
from sympy import (
    Abs,
    Derivative,
    E,
    HadamardProduct,
    Identity,
    Inverse,
    KroneckerDelta,
    Lambda,
    Limit,
    Max,
    Min,
    OneMatrix,
    Piecewise,
    Rational,
    S,
    Subs,
    Sum,
    UnevaluatedExpr,
    ZeroMatrix,
    asinh,
    atanh,
    exp,
    log,
    oo,
    pi,
    sign,
    sinh,
    sqrt,
    tanh,
)

from .assumptions import InverseOf, Invertible, Nonneg, Nonzero, Positive, Simplex
from .check import check_item, check_text, check_topic
from .loader import LoadError, load_file
from .model import Approx, Definition, Figure, Item, Numeric, Statement
from .notation import (
    LSE,
    At,
    Diag,
    Dot,
    Grad,
    Hess,
    LogOf,
    MaxEntry,
    Norm,
    Norm1,
    SignOf,
    Softmax,
    SumEntries,
    defined,
)
from .results import CheckResult, ItemReport, TextIssue, TopicReport
from .text import Point, Setting, Value
from .topic import Topic


def Eq(lhs, rhs):
    """``lhs = rhs``, never evaluated to True or False."""
    return sp.Eq(lhs, rhs, evaluate=False)


def Ne(lhs, rhs):
    return sp.Ne(lhs, rhs, evaluate=False)


def Gt(lhs, rhs):
    """``lhs > rhs``, kept as a statement even between numbers."""
    return sp.Gt(lhs, rhs, evaluate=False)


def Ge(lhs, rhs):
    return sp.Ge(lhs, rhs, evaluate=False)


def Lt(lhs, rhs):
    return sp.Lt(lhs, rhs, evaluate=False)


def Le(lhs, rhs):
    return sp.Le(lhs, rhs, evaluate=False)


__all__ = [
    "Topic",
    "Figure",
    "Numeric",
    "Statement",
    "Definition",
    "Item",
    "Eq",
    "Ne",
    "Gt",
    "Ge",
    "Lt",
    "Le",
    "Approx",
    "Point",
    "Setting",
    "Value",
    "Simplex",
    "Nonneg",
    "Positive",
    "Nonzero",
    "Invertible",
    "InverseOf",
    "Grad",
    "Hess",
    "Norm",
    "Norm1",
    "LSE",
    "Softmax",
    "Diag",
    "SignOf",
    "LogOf",
    "MaxEntry",
    "SumEntries",
    "Dot",
    "At",
    "defined",
    "check_topic",
    "check_item",
    "check_text",
    "load_file",
    "LoadError",
    "CheckResult",
    "ItemReport",
    "TopicReport",
    "TextIssue",
    "E",
    "Abs",
    "Derivative",
    "HadamardProduct",
    "Identity",
    "Inverse",
    "KroneckerDelta",
    "Lambda",
    "Limit",
    "Max",
    "Min",
    "OneMatrix",
    "Piecewise",
    "Rational",
    "S",
    "Subs",
    "Sum",
    "UnevaluatedExpr",
    "ZeroMatrix",
    "asinh",
    "atanh",
    "exp",
    "log",
    "oo",
    "pi",
    "sign",
    "sinh",
    "sqrt",
    "tanh",
]
