"""odebench.models imports flow one way: every module parsed with ``ast`` for its module-level
and function-local ``odebench.models`` imports, the graph checked for a cycle (and the check
itself shown to find one, lazy imports included, in a made-up package on disk)."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import odebench.models

PACKAGE = "odebench.models"


def _module_name(path: Path, package: str) -> str:
    return package if path.stem == "__init__" else f"{package}.{path.stem}"


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at module level or inside functions and classes, except those
    under ``if TYPE_CHECKING:`` (never executed)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _targets(node: ast.Import | ast.ImportFrom, importer: str, package: str,
             modules: set[str]) -> set[str]:
    """The modules of ``modules`` that one import statement of ``importer`` loads."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    base = node.module or ""
    if node.level:  # relative: from the importer's package
        parts = (importer if importer == package else importer.rpartition(".")[0]).split(".")
        parts = parts[:len(parts) - node.level + 1]
        base = ".".join([*parts, base] if base else parts)
    found = set()
    for alias in node.names:
        if f"{base}.{alias.name}" in modules:  # from odebench.models import defaults
            found.add(f"{base}.{alias.name}")
        elif base in modules:
            found.add(base)
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """module -> the modules of ``package`` (folder ``root``) it imports, lazily or not."""
    paths = sorted(root.glob("*.py"))
    modules = {_module_name(p, package) for p in paths}
    graph = {}
    for path in paths:
        name = _module_name(path, package)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = set().union(*(_targets(node, name, package, modules)
                                    for node in _runtime_imports(tree))) - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (``[a, b, ..., a]``), or None when the graph is acyclic."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as err:
        return list(err.args[1])
    return None


def test_models_package_imports_flow_one_way():
    graph = import_graph(Path(odebench.models.__file__).parent, PACKAGE)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle in odebench.models: " + " -> ".join(cycle or [])
    # the layers the sizing needs: tables < architectures < sizing < defaults < builders
    assert "odebench.models.architectures" in graph["odebench.models.sizing"]
    assert "odebench.models.sizing" in graph["odebench.models.defaults"]
    for builder in ("pointcloud", "images", "silverbox"):
        assert "odebench.models.defaults" in graph[f"odebench.models.{builder}"]


def test_cycle_check_sees_function_local_and_relative_imports(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("def size():\n    from pkg.high import build  # lazy\n"
                                    "    return build\n")
    (package / "high.py").write_text("from typing import TYPE_CHECKING\n"
                                     "from . import low\n"
                                     "if TYPE_CHECKING:\n    from pkg import other\n"
                                     "def build():\n    return low\n")
    (package / "other.py").write_text("import pkg.high\n")
    graph = import_graph(package, "pkg")
    assert graph["pkg.high"] == {"pkg.low"}  # the TYPE_CHECKING import is not an edge
    assert graph["pkg.other"] == {"pkg.high"}
    cycle = find_cycle(graph)
    assert cycle is not None and set(cycle) == {"pkg.low", "pkg.high"}
    (package / "low.py").write_text("def size():\n    return 1\n")
    assert find_cycle(import_graph(package, "pkg")) is None
