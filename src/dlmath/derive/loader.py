"""Loading a reader's own derivations: the topics a Python file defines.

``dlmath check path/to/file.py`` and ``dlmath build --topics path/to/file.py`` run the file as a
module and take every :class:`~dlmath.derive.topic.Topic` it defines at module level, in order.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

from .topic import Topic

__all__ = ["LoadError", "load_file", "is_topic_file"]


class LoadError(ValueError):
    """The file cannot be run, or defines no topic."""


def is_topic_file(arg: str) -> bool:
    """True when a command-line argument names a Python file rather than a topic id."""
    return arg.endswith(".py") or "/" in arg or Path(arg).is_file()


def load_file(path: str | Path) -> list[Topic]:
    """The topics defined at module level in ``path``, in the order they were created."""
    path = Path(path)
    if not path.is_file():
        raise LoadError(f"no such file: {path}")
    name = "dlmath_user_" + re.sub(r"\W", "_", path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LoadError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise LoadError(f"{path} raised {type(exc).__name__}: {exc}") from exc
    topics = list({id(v): v for v in vars(module).values() if isinstance(v, Topic)}.values())
    if not topics:
        raise LoadError(f"{path} defines no dlmath.derive.Topic at module level")
    for t in topics:
        t.source_file = str(path)
    return topics
