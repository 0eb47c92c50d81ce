"""Run a topic's snippet during the build and keep what it printed, so the page's code is checked too."""

from __future__ import annotations

import contextlib
import io
import traceback
import warnings

__all__ = ["SnippetError", "run_snippet"]


class SnippetError(RuntimeError):
    """A snippet raised, or emitted a warning; the message carries the topic and the traceback."""


def run_snippet(source: str, *, where: str) -> str:
    """Execute ``source`` in a fresh namespace and return its standard output.

    Warnings are errors while it runs: a snippet on the reference page must run cleanly.
    """
    import numpy as np

    namespace: dict[str, object] = {"__name__": "__dlmath_snippet__"}
    buffer = io.StringIO()
    try:
        code = compile(source, f"<snippet {where}>", "exec")
        # NumPy's print options are reset around each snippet, so one snippet's settings cannot
        # change what the next one prints.
        with warnings.catch_warnings(), contextlib.redirect_stdout(buffer), np.printoptions():
            warnings.simplefilter("error")
            exec(code, namespace)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__.tb_next))
        raise SnippetError(f"the snippet of {where} failed:\n{tb}") from None
    return buffer.getvalue()
