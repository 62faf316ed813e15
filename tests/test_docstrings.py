"""Every public function and method of the domain and the adapters below the edges says what it does, in what
units, and how it fails (STYLE.md): a new one without a docstring fails here."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("dispatch", "db", "routing")

# Known gaps, each with its reason. An entry that gains a docstring may stay here harmlessly; never add new ones
# without a reason a reviewer accepts.
ALLOWED_WITHOUT_DOCSTRING = {
    # routing internals (the one-to-many search and its cache) are being reworked on the routing branch; their
    # docstrings land with that rework rather than as a conflicting edit here
    "routing/eta.py::EtaResult.to_json",
    "routing/eta.py::UnitTrees.key",
    "routing/eta.py::UnitTrees.get",
    "routing/eta.py::eta_from_tree",
    "routing/search.py::SearchSpace.is_native",
}


def public_functions_without_docstring(source: str, path: str) -> list[str]:
    """`path::Qualified.name` of each public function or method (names without a leading underscore, in public
    classes, nested functions excluded) that has no docstring."""
    missing: list[str] = []

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if not node.name.startswith("_") and ast.get_docstring(node) is None:
                    missing.append(f"{path}::{prefix}{node.name}")
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                walk(node.body, f"{prefix}{node.name}.")

    walk(ast.parse(source, path).body, "")
    return missing


def test_the_counter_sees_functions_and_methods_but_not_private_ones():
    source = ('def a():\n    """Doc."""\n'
              "def b(): ...\n"
              "def _c(): ...\n"
              "class K:\n    def m(self): ...\n    def _n(self): ...\n"
              "class _Hidden:\n    def m(self): ...\n")
    assert public_functions_without_docstring(source, "x.py") == ["x.py::b", "x.py::K.m"]


def test_every_public_function_of_dispatch_db_and_routing_has_a_docstring():
    missing = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            relative = path.relative_to(REPO).as_posix()
            missing += public_functions_without_docstring(path.read_text(encoding="utf-8"), relative)
    assert [name for name in missing if name not in ALLOWED_WITHOUT_DOCSTRING] == []
