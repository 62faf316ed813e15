"""The explicit registry of event types and projections (dispatch/registry.py), and the import graph of dispatch/."""
from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import dispatch
from dispatch.events import Event
from dispatch.registry import EVENT_TYPES, PROJECTIONS

REPO = Path(__file__).resolve().parents[2]
DISPATCH = REPO / "dispatch"


def dispatch_imports() -> dict[str, set[str]]:
    """For each module of dispatch/, the dispatch modules it imports anywhere in its file (also inside functions)."""
    modules = {f"dispatch.{path.stem}" for path in DISPATCH.glob("*.py") if path.stem != "__init__"}
    graph: dict[str, set[str]] = {}
    for path in DISPATCH.glob("*.py"):
        if path.stem == "__init__":
            continue
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)  # from dispatch import x
        graph[f"dispatch.{path.stem}"] = {name for name in imported if name in modules}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path [a, b, ..., a], or None (depth-first search with colours)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            if state.get(imported) == 1:
                return path[path.index(imported):] + [imported]
            if imported not in state and (cycle := visit(imported)):
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycle_inside_dispatch():
    graph = dispatch_imports()
    assert graph["dispatch.registry"] >= {"dispatch.events", "dispatch.projections", "dispatch.channels"}
    assert find_cycle(graph) is None


def test_every_event_class_of_dispatch_is_registered_once():
    for module in pkgutil.iter_modules(dispatch.__path__):
        importlib.import_module(f"dispatch.{module.name}")
    defined, pending = set(), list(Event.__subclasses__())  # discovery is fine here: it checks the list
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("dispatch."):
            defined.add(cls)
        pending.extend(cls.__subclasses__())
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES))
    assert set(EVENT_TYPES) == defined
    assert [p.name for p in PROJECTIONS] == ["incidents", "units", "hospitals", "assignments", "stations",
                                             "agencies", "mutual_aid"]


# Run alone in a fresh interpreter: builds a sample payload for every registered type from its declared fields,
# encodes it, decodes it with dispatch.registry.decode_event and checks the round trip. Only the registry (and
# what it imports itself) is loaded, so a decoder that needs some other module imported first fails here.
_FRESH_DECODE = r"""
import json
from msgspec import inspect as mi
from dispatch.registry import EVENT_TYPES, decode_event
from dispatch.events import encode_event

def sample(t):
    if isinstance(t, mi.UnionType):
        return sample(next(x for x in t.types if not isinstance(x, mi.NoneType)))
    if isinstance(t, mi.StructType):
        return {f.encode_name: sample(f.type) for f in t.fields}
    if isinstance(t, mi.ListType):
        return [sample(t.item_type)]
    if isinstance(t, mi.DictType):
        return {"1": sample(t.value_type)}
    if isinstance(t, mi.EnumType):
        return next(iter(t.cls)).value
    if isinstance(t, mi.DateTimeType):
        return "2026-11-30T07:00:00.123456Z"
    return {mi.IntType: 7, mi.FloatType: 1.5, mi.StrType: "s", mi.BoolType: True}.get(type(t), None)

decoded = []
for cls in EVENT_TYPES:
    payload = sample(mi.type_info(cls))
    event = decode_event(cls.__name__, payload)
    assert type(event) is cls, (cls, type(event))
    assert encode_event(event) == (cls.__name__, payload), cls.__name__
    decoded.append(cls.__name__)
print(json.dumps({"decoded": decoded}))
"""


def test_every_registered_event_decodes_in_a_fresh_process_that_imports_only_the_registry():
    run = subprocess.run([sys.executable, "-c", _FRESH_DECODE], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    decoded = json.loads(run.stdout)["decoded"]
    assert decoded == [cls.__name__ for cls in EVENT_TYPES]
    assert "RoadClosed" in decoded and "VitalsRecorded" in decoded  # the ones that once needed side imports
