"""The import contracts of DESIGN.md "Layers and dependency direction", read from the source (AST), so a wrong
import fails here before review: dispatch is pure, api and ws do not know each other, nothing at run time imports
ops, routing stays below the edges, and the top-level packages form no import cycle.

Imports inside `if TYPE_CHECKING:` never run and are not counted (app_context.py names every service's type that
way); imports inside functions are counted (they run when the function does)."""
from __future__ import annotations

import ast
from pathlib import Path

from tests.dispatch.test_registry import find_cycle

REPO = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".venv", "tests", "var", "web", "data", "docs", ".git", "build"}


def top_level_units() -> dict[str, list[Path]]:
    """Each top-level package or module of the project → its .py files."""
    units: dict[str, list[Path]] = {}
    for path in sorted(REPO.glob("*.py")):
        units[path.stem] = [path]
    for folder in sorted(p for p in REPO.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        if folder.name not in SKIP_DIRS and not folder.name.endswith(".egg-info"):
            units[folder.name] = sorted(folder.rglob("*.py"))
    return units


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported_modules(source: str, filename: str = "<source>") -> set[str]:
    """Absolute module names a source file imports when it runs (relative imports are not used in this project)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source, filename))
    return found


def imports_by_file(unit: str) -> dict[Path, set[str]]:
    return {path: imported_modules(path.read_text(), str(path)) for path in top_level_units()[unit]}


def offenders(unit: str, forbidden: set[str]) -> list[str]:
    """`file: module` for every import in `unit` whose first name part is in `forbidden`."""
    return sorted(f"{path.relative_to(REPO)}: {name}" for path, names in imports_by_file(unit).items()
                  for name in names if name.split(".")[0] in forbidden)


def top_level_graph() -> dict[str, set[str]]:
    units = top_level_units()
    graph = {}
    for unit in units:
        graph[unit] = {name.split(".")[0] for names in imports_by_file(unit).values() for name in names} & set(units)
        graph[unit].discard(unit)
    return graph


def test_the_reader_skips_type_checking_imports_and_sees_imports_inside_functions():
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import ws.hub\nelse:\n    import json\n"
              "def f():\n    from ops import demo\n")
    assert imported_modules(source) == {"typing", "typing.TYPE_CHECKING", "json", "ops", "ops.demo"}


def test_dispatch_is_pure_domain():
    adapters = {"tornado", "asyncpg", "redis", "api", "ws", "db", "integrations", "routing", "ops", "server",
                "runtime", "bootstrap", "app_context", "telemetry"}
    assert offenders("dispatch", adapters) == []


def test_api_and_ws_do_not_import_each_other():
    assert offenders("api", {"ws"}) == []
    assert offenders("ws", {"api"}) == []


def test_nothing_at_run_time_imports_ops():
    importers = [unit for unit, imported in top_level_graph().items() if "ops" in imported and unit != "ops"]
    assert importers == []


def test_routing_stays_below_the_edges():
    assert offenders("routing", {"api", "ws", "db", "integrations", "ops", "server", "bootstrap", "app_context"}) == []


def test_only_the_composition_root_imports_it():
    graph = top_level_graph()
    assert sorted(unit for unit, imported in graph.items() if "bootstrap" in imported) == ["server"]


def test_no_import_cycle_among_top_level_packages():
    graph = top_level_graph()
    assert {"api", "ws", "dispatch", "db", "routing", "integrations", "server", "bootstrap"} <= set(graph)
    assert graph["server"] >= {"bootstrap", "runtime"}  # the reader sees real edges
    assert find_cycle(graph) is None, find_cycle(graph)
