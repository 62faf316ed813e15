"""Bounded multi-source Dijkstra with reusable state: native C (built when the package is installed) or Python.

A `SearchSpace` owns every array a search writes — distances, tree, flags, the touched list and the heap — sized
to the graph, and resets only what a query touched, so a query costs in proportion to the nodes it settles.
One space serves one thread at a time (it holds a lock); searches on different spaces may run at once, which is
how `RoutingService` uses them (the native call releases the GIL). The C code (`_dijkstra.c`) keeps no state of
its own.

The native library is the `routing._dijkstra` extension that setuptools compiles at install time (an optional
extension: without a C compiler the install still succeeds). Nothing is compiled at run time. Without the
library the pure-Python search runs instead; it gives the same seconds to the bit (same relaxations, same sums)
and is several times slower — `search_engine()` says which one runs.
"""
from __future__ import annotations

import ctypes
import hashlib
import heapq
import importlib.util
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

log = logging.getLogger("ems.routing")

_T = TypeVar("_T")
NATIVE_MODULE = "routing._dijkstra"  # the setuptools Extension built from NATIVE_SOURCES (setup.py)
NATIVE_SOURCES = ("_dijkstra.c", "_cch.c")  # in routing/, hashed together as setup.py does
HEAP_FULL, BAD_GRAPH = -2, -3  # the C function's error codes
_native_lock = threading.Lock()
_native_lib: ctypes.CDLL | None | bool = False  # False: not looked for yet


class SearchError(RuntimeError):
    """A search met a graph it cannot work on (malformed arrays, or a heap bound that should be unreachable)."""


def native_library_path() -> Path | None:
    """Where the compiled search is (installed or editable), or None if the package was built without it."""
    try:
        spec = importlib.util.find_spec(NATIVE_MODULE)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec is not None and spec.origin and spec.has_location else None


def _load_native() -> ctypes.CDLL | None:
    global _native_lib
    with _native_lock:  # looked for once per process, whichever thread asks first
        if _native_lib is not False:
            return _native_lib
        _native_lib = None
        path = native_library_path()
        if path is None:
            log.warning("routing: the native search was not built with this install; using the slower pure-Python "
                        "search")
            return None
        try:
            lib = ctypes.CDLL(str(path))
            function = lib.dijkstra
            lib.dijkstra_source_sha256.restype = ctypes.c_char_p
            built_from = lib.dijkstra_source_sha256().decode()
        except (OSError, AttributeError) as exc:
            log.warning("routing: could not load the native search %s (%s); using pure Python", path, exc)
            return None
        sources = [Path(__file__).with_name(name) for name in NATIVE_SOURCES]
        if all(s.exists() for s in sources) and \
                hashlib.sha256(b"".join(s.read_bytes() for s in sources)).hexdigest() != built_from:
            log.warning("routing: the native search %s was built from another version of its C sources (reinstall: "
                        "pip install -e .); using pure Python", path)
            return None
        p = np.ctypeslib.ndpointer
        function.restype = ctypes.c_int32
        function.argtypes = [
            ctypes.c_int32, ctypes.c_int64, p(np.int64, flags="C"), p(np.int32, flags="C"), p(np.int32, flags="C"),
            p(np.float64, flags="C"), p(np.float64, flags="C"),
            ctypes.c_int32, p(np.int32, flags="C"), p(np.float64, flags="C"), p(np.float64, flags="C"),
            ctypes.c_int32, p(np.int32, flags="C"), ctypes.c_double,
            p(np.float64, flags="C"), p(np.float64, flags="C"), p(np.int32, flags="C"), p(np.uint8, flags="C"),
            p(np.uint8, flags="C"), p(np.int32, flags="C"), ctypes.POINTER(ctypes.c_int64),
            p(np.float64, flags="C"), p(np.int32, flags="C"), ctypes.c_int64,
        ]
        _native_lib = lib
        return lib


def search_engine() -> str:
    """"native-c" when the compiled search loads in this process, else "python"."""
    return "native-c" if _load_native() is not None else "python"


class SearchSpace:
    """Dijkstra state for one graph of `n` nodes; one search at a time (its lock), any number of spaces at once."""

    def __init__(self, n: int, *, native: bool = True):
        self.n = n
        self.dist = np.full(n, np.inf)
        self.aux = np.zeros(n)
        self.next_edge = np.full(n, -1, dtype=np.int32)
        self.settled = np.zeros(n, dtype=np.uint8)
        self.goal_flag = np.zeros(n, dtype=np.uint8)
        self.touched = np.zeros(n, dtype=np.int32)
        self._touched_count = ctypes.c_int64(0)
        # The heap: each edge pushes at most once (a node is expanded once), so sources + edges items suffice.
        # Sized on first use from the graph handed to run(); never grown past that bound.
        self.heap_key = np.zeros(0)
        self.heap_node = np.zeros(0, dtype=np.int32)
        self.lib = _load_native() if native else None
        self.lock = threading.Lock()
        self._lists: tuple = ()  # Python engine: the graph arrays as lists, for the arrays they were made from

    @property
    def is_native(self) -> bool:
        return self.lib is not None

    @property
    def engine(self) -> str:
        """"native-c" when the compiled search is loaded, else "python" (same answers, slower)."""
        return "native-c" if self.lib is not None else "python"

    def run(self, offsets: np.ndarray, targets: np.ndarray, edge_ids: np.ndarray, weights: np.ndarray,
            lengths: np.ndarray, sources: list[tuple[int, float, float]], goals: list[int], limit: float,
            extract: Callable[[np.ndarray, np.ndarray, np.ndarray], _T]) -> _T:
        """Search from `sources` (node, starting cost, starting metres) until all `goals` are settled or costs
        exceed `limit`.

        `extract(dist, metres, next_edge)` reads what the caller needs before the state is reset: dist is the
        cost to reach each node (inf if not reached), metres the length along that best path, next_edge the
        edge id by which a node was reached (-1 for sources).

        Raises ValueError when a source or goal is not a node of this space, or the CSR arrays do not fit it;
        SearchError when the native search reports a malformed graph. The space is left clean either way.
        """
        with self.lock:
            src = np.ascontiguousarray([s[0] for s in sources], dtype=np.int32)
            costs = np.ascontiguousarray([s[1] for s in sources], dtype=np.float64)
            metres = np.ascontiguousarray([s[2] for s in sources], dtype=np.float64)
            goal_arr = np.ascontiguousarray(goals, dtype=np.int32)
            self._check(offsets, targets, edge_ids, weights, lengths, src, goal_arr)
            touched = np.zeros(0, dtype=np.int64)
            try:
                if self.lib is not None:
                    touched = self._run_native(offsets, targets, edge_ids, weights, lengths, src, costs, metres,
                                               goal_arr, limit)
                else:
                    touched = self._run_python(offsets, targets, edge_ids, weights, lengths, src, costs, metres,
                                               goal_arr, limit)
                return extract(self.dist, self.aux, self.next_edge)
            finally:
                self.dist[touched] = np.inf
                self.next_edge[touched] = -1
                self.settled[touched] = 0

    def _check(self, offsets, targets, edge_ids, weights, lengths, sources, goals) -> None:
        n = self.n
        if offsets.shape != (n + 1,) or targets.shape != edge_ids.shape or int(offsets[-1]) != len(targets):
            raise ValueError(f"the CSR arrays do not describe a graph of {n} nodes")
        if weights.shape != lengths.shape:
            raise ValueError("weights and lengths must have one value per edge")
        for name, ids in (("source", sources), ("goal", goals)):
            if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= n):
                raise ValueError(f"a {name} node is outside 0..{n - 1}")

    def _run_native(self, offsets, targets, edge_ids, weights, lengths, src, costs, metres, goals,
                    limit) -> np.ndarray:
        capacity = len(src) + len(targets)
        if self.heap_key.size < capacity:
            self.heap_key = np.zeros(capacity)
            self.heap_node = np.zeros(capacity, dtype=np.int32)
        status = self.lib.dijkstra(self.n, len(weights), offsets, targets, edge_ids, weights, lengths, len(src), src,
                                   costs, metres, len(goals), goals, float(limit), self.dist, self.aux,
                                   self.next_edge, self.settled, self.goal_flag, self.touched,
                                   ctypes.byref(self._touched_count), self.heap_key, self.heap_node, capacity)
        touched = self.touched[: self._touched_count.value].copy()
        if status == BAD_GRAPH:
            self._reset(touched)
            raise SearchError("the road graph's arrays name a node or edge that does not exist")
        if status != 0:
            self._reset(touched)
            raise SearchError(f"the search overflowed its bounded heap ({capacity} items; status {status})")
        return touched

    def _reset(self, touched: np.ndarray) -> None:
        self.dist[touched] = np.inf
        self.next_edge[touched] = -1
        self.settled[touched] = 0

    def _graph_lists(self, offsets, targets, edge_ids, weights, lengths) -> tuple[list, list, list, list, list]:
        """Plain lists of the graph (indexing a list is far cheaper than a numpy scalar), remade when any
        array changes (a closure gives new weights)."""
        arrays = (offsets, targets, edge_ids, weights, lengths)
        if len(self._lists) != 2 or any(a is not b for a, b in zip(self._lists[0], arrays)):
            self._lists = (arrays, tuple(a.tolist() for a in arrays))
        return self._lists[1]

    def _run_python(self, offsets, targets, edge_ids, weights, lengths, sources, costs, metres, goals,
                    limit) -> np.ndarray:
        """The same algorithm as `_dijkstra.c`, relaxation for relaxation, so the seconds agree to the bit."""
        off, tgt, eids, w, lens = self._graph_lists(offsets, targets, edge_ids, weights, lengths)
        inf = float("inf")
        dist: dict[int, float] = {}
        aux: dict[int, float] = {}
        reached_by: dict[int, int] = {}
        settled: set[int] = set()
        heap: list[tuple[float, int]] = []
        for v, c, m in zip(sources.tolist(), costs.tolist(), metres.tolist()):
            if c < dist.get(v, inf):
                dist[v], aux[v], reached_by[v] = c, m, -1
                heapq.heappush(heap, (c, v))
        goals_left = set(goals.tolist())
        wants_goals = bool(goals_left)
        try:
            while heap:
                d, u = heapq.heappop(heap)
                if u in settled or d > dist[u]:
                    continue
                if d > limit:
                    break
                settled.add(u)
                goals_left.discard(u)
                if wants_goals and not goals_left:
                    break
                for k in range(off[u], off[u + 1]):
                    e = eids[k]
                    weight = w[e]
                    if weight == inf:
                        continue
                    v = tgt[k]
                    nd = d + weight
                    if nd < dist.get(v, inf):
                        dist[v] = nd
                        aux[v] = aux[u] + lens[e]
                        reached_by[v] = e
                        heapq.heappush(heap, (nd, v))
        except (IndexError, KeyError) as exc:
            raise SearchError("the road graph's arrays name a node or edge that does not exist") from exc
        touched = np.fromiter(dist.keys(), dtype=np.int64, count=len(dist))
        self.dist[touched] = np.fromiter(dist.values(), dtype=np.float64, count=len(dist))
        self.aux[touched] = np.fromiter((aux[v] for v in dist), dtype=np.float64, count=len(dist))
        self.next_edge[touched] = np.fromiter((reached_by[v] for v in dist), dtype=np.int32, count=len(dist))
        return touched


def measure_search_cost_ms(offsets: np.ndarray, targets: np.ndarray, edge_ids: np.ndarray, weights: np.ndarray,
                           lengths: np.ndarray, limit_s: float, *, samples: int = 20, seed: int = 1669) -> float:
    """Mean wall time (ms) of one full bounded search (no goals) from random nodes with this engine: what an
    uncached ETA query costs on this graph. Used at start-up to say what the chosen engine costs."""
    n = len(offsets) - 1
    if n <= 0:
        return 0.0
    space = SearchSpace(n)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    for node in rng.integers(0, n, size=samples).tolist():
        space.run(offsets, targets, edge_ids, weights, lengths, [(node, 0.0, 0.0)], [], limit_s, lambda *a: None)
    return (time.perf_counter() - started) * 1000 / samples
