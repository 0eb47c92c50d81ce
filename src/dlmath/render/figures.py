"""The page's figures: each topic's drawing rendered to a deterministic SVG.

The drawing, its alt text and caption belong to the topic (:class:`dlmath.derive.Figure`); this
module only turns it into bytes. Determinism: figures are drawn on a bare
:class:`matplotlib.figure.Figure` (no pyplot state) under a fixed ``svg.hashsalt`` (stable
clip-path and glyph ids), ``svg.fonttype = "path"`` (text as paths, so the browser's fonts do not
matter), and with the SVG ``Date`` metadata removed. Every random number comes from a seeded
generator. matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import io

__all__ = ["render_topic", "render_many", "start_rendering", "figure_key"]

_RC = {
    "svg.hashsalt": "dlmath-reference",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
}


def figure_key(topic) -> str:
    """The file name (without ``.svg``) of a topic's figure: its id."""
    return topic.id


def render_topic(topic) -> str:
    """The SVG text of ``topic``'s figure, byte-stable across runs."""
    import matplotlib
    from matplotlib.figure import Figure

    from ..derive.figure import draw

    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=topic.figure.size, layout="constrained")
        draw(topic, fig)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def render_many(topics) -> dict[str, str]:
    """SVG by figure key for every topic that has a figure."""
    return {figure_key(t): render_topic(t) for t in topics if t.figure is not None}


class _Drawing:
    """Figures being drawn in a separate Python process; see :func:`start_rendering`."""

    def __init__(self, ids: list[str], files: list[str], kinks: bool = False) -> None:
        import subprocess
        import sys

        args = [sys.executable, "-m", "dlmath.render.figures", *ids]
        for f in files:
            args += ["--topics", f]
        if kinks:
            args.append("--kinks")
        self.kinks: str | None = None
        self._worker = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8"
        )
        self.ids = ids

    def result(self) -> dict[str, str]:
        """Wait for the SVGs by key; ``ValueError`` with the worker's error output if it failed."""
        import json

        out, err = self._worker.communicate()
        if self._worker.returncode != 0:
            raise ValueError(f"drawing the figures of {', '.join(self.ids)} failed:\n{err.strip()}")
        data = json.loads(out)
        self.kinks = data["kinks"]
        return data["svgs"]

    def cancel(self) -> None:
        if self._worker.poll() is None:
            self._worker.kill()
        self._worker.communicate()


def start_rendering(topics, *, kinks: bool = False) -> _Drawing:
    """Start drawing the figures of ``topics`` in a fresh Python process and return at once; with
    ``kinks``, that process then also runs the kink table (:mod:`.kinks`), whose HTML ``result()``
    leaves in ``.kinks``.

    A separate interpreter rather than a fork, so the drawing inherits no thread pools (BLAS,
    dlmath's kernels) in an unknown state. Topics from a reader's file are found by its path.
    """
    topics = [t for t in topics if t.figure is not None]
    files = sorted({getattr(t, "source_file", None) for t in topics} - {None})
    return _Drawing([t.id for t in topics], files, kinks)


def _main(argv) -> None:
    import json
    import sys

    from ..derive import load_file
    from ..topics import TOPICS

    ids, files, k = [], [], 0
    kinks = "--kinks" in argv
    argv = [a for a in argv if a != "--kinks"]
    while k < len(argv):
        if argv[k] == "--topics":
            files.append(argv[k + 1])
            k += 2
        else:
            ids.append(argv[k])
            k += 1
    known = {t.id: t for t in TOPICS}
    for f in files:
        known.update({t.id: t for t in load_file(f)})
    missing = [i for i in ids if i not in known]
    if missing:
        sys.exit(
            f"no topic {', '.join(map(repr, missing))} among the registered ones or in {files or 'no file'}"
        )
    svgs = render_many([known[i] for i in ids])
    table = None
    if kinks:
        from .kinks import html_table

        table = html_table()
    json.dump({"svgs": svgs, "kinks": table}, sys.stdout)


if __name__ == "__main__":
    import sys

    _main(sys.argv[1:])
