"""The package's shape: layers point one way, and no two modules import each other.

``render/`` may use ``topics/`` and ``derive/``; ``topics/`` uses ``derive/`` and the library;
``derive/`` uses neither; the numerical library uses none of the three. Imports inside functions
count: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "dlmath"


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """The dlmath modules ``path`` imports, anywhere in the file."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("dlmath"):
                # "from . import x" imports the module x, not the package around it
                if node.module:
                    out.add(target)
                for alias in node.names:
                    out.add(f"{target}.{alias.name}")
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("dlmath"))
    modules = {_module_name(p) for p in SRC.rglob("*.py")}
    return {m for m in out if m in modules and m != name}


GRAPH = {_module_name(p): _imports(p) for p in SRC.rglob("*.py")}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ("derive", "topics", "render") else "library"


ALLOWED = {
    "derive": {"derive"},
    "topics": {"topics", "derive", "library"},
    "render": {"render", "topics", "derive", "library"},
    "library": {"library"},
}


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_down_the_layers(module):
    if module in ("dlmath", "dlmath.cli"):
        return  # the package face and the command line sit above every layer
    bad = {m for m in GRAPH[module] if m != "dlmath" and _layer(m) not in ALLOWED[_layer(module)]}
    assert not bad, f"{module} imports {sorted(bad)}"


def test_no_two_modules_import_each_other():
    pairs = sorted(
        (a, b)
        for a, deps in GRAPH.items()
        for b in deps
        if a < b and a in GRAPH.get(b, set()) and a != "dlmath"
    )
    assert not pairs, pairs


def test_derive_needs_nothing_outside_itself_but_the_version():
    for module, deps in GRAPH.items():
        if _layer(module) == "derive":
            assert {m for m in deps if _layer(m) != "derive"} <= {"dlmath"}, module
