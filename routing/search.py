"""Bounded multi-source Dijkstra with reusable state: C (compiled on first use with the machine's cc) or Python.

A `SearchSpace` owns arrays sized to the graph and resets only what a query touched, so a query costs in
proportion to the nodes it settles. One space serves one thread at a time (it holds a lock).
"""
from __future__ import annotations

import ctypes
import hashlib
import heapq
import logging
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

log = logging.getLogger("ems.routing")

_SOURCE = Path(__file__).with_name("_dijkstra.c")
_T = TypeVar("_T")
_native_lib: ctypes.CDLL | None | bool = False  # False: not tried yet


def _load_native() -> ctypes.CDLL | None:
    global _native_lib
    if _native_lib is not False:
        return _native_lib
    _native_lib = None
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        log.warning("routing: no C compiler; using the slower pure-Python search")
        return None
    digest = hashlib.sha256(_SOURCE.read_bytes()).hexdigest()[:12]
    target = Path(__file__).with_name("_native") / f"dijkstra-{digest}.so"
    try:
        if not target.exists():
            target.parent.mkdir(exist_ok=True)
            tmp = target.with_suffix(f".{threading.get_ident()}.tmp")
            subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(tmp), str(_SOURCE), "-lm"], check=True,
                           capture_output=True)
            tmp.replace(target)
        lib = ctypes.CDLL(str(target))
    except (OSError, subprocess.CalledProcessError) as exc:
        log.warning("routing: could not build the native search (%s); using pure Python", exc)
        return None
    p = np.ctypeslib.ndpointer
    lib.dijkstra.restype = ctypes.c_int64
    lib.dijkstra.argtypes = [
        ctypes.c_int32, p(np.int64, flags="C"), p(np.int32, flags="C"), p(np.int32, flags="C"),
        p(np.float64, flags="C"), p(np.float64, flags="C"),
        ctypes.c_int32, p(np.int32, flags="C"), p(np.float64, flags="C"), p(np.float64, flags="C"),
        ctypes.c_int32, p(np.int32, flags="C"), ctypes.c_double,
        p(np.float64, flags="C"), p(np.float64, flags="C"), p(np.int32, flags="C"), p(np.uint8, flags="C"),
        p(np.uint8, flags="C"), p(np.int32, flags="C"),
    ]
    _native_lib = lib
    return lib


class SearchSpace:
    """Dijkstra state for one graph of `n` nodes."""

    def __init__(self, n: int, *, native: bool = True):
        self.n = n
        self.dist = np.full(n, np.inf)
        self.aux = np.zeros(n)
        self.next_edge = np.full(n, -1, dtype=np.int32)
        self.settled = np.zeros(n, dtype=np.uint8)
        self.goal_flag = np.zeros(n, dtype=np.uint8)
        self.touched = np.zeros(n, dtype=np.int32)
        self.lib = _load_native() if native else None
        self.lock = threading.Lock()

    @property
    def is_native(self) -> bool:
        return self.lib is not None

    def run(self, offsets: np.ndarray, targets: np.ndarray, edge_ids: np.ndarray, weights: np.ndarray,
            lengths: np.ndarray, sources: list[tuple[int, float, float]], goals: list[int], limit: float,
            extract: Callable[[np.ndarray, np.ndarray, np.ndarray], _T]) -> _T:
        """Search from `sources` (node, starting cost, starting metres) until all `goals` are settled or costs
        exceed `limit`.

        `extract(dist, metres, next_edge)` reads what the caller needs before the state is reset: dist is the
        cost to reach each node (inf if not reached), metres the length along that best path, next_edge the
        edge id by which a node was reached (-1 for sources).
        """
        with self.lock:
            src = np.ascontiguousarray([s[0] for s in sources], dtype=np.int32)
            costs = np.ascontiguousarray([s[1] for s in sources], dtype=np.float64)
            metres = np.ascontiguousarray([s[2] for s in sources], dtype=np.float64)
            goal_arr = np.ascontiguousarray(goals, dtype=np.int32)
            if self.lib is not None:
                count = self.lib.dijkstra(self.n, offsets, targets, edge_ids, weights, lengths, len(src), src, costs,
                                          metres, len(goal_arr), goal_arr, float(limit), self.dist, self.aux,
                                          self.next_edge, self.settled, self.goal_flag, self.touched)
                if count < 0:
                    raise MemoryError("routing search could not allocate its heap")
                touched = self.touched[:count]
            else:
                touched = self._run_python(offsets, targets, edge_ids, weights, lengths, src, costs, metres,
                                           goal_arr, limit)
            try:
                return extract(self.dist, self.aux, self.next_edge)
            finally:
                self.dist[touched] = np.inf
                self.next_edge[touched] = -1
                self.settled[touched] = 0

    def _run_python(self, offsets, targets, edge_ids, weights, lengths, sources, costs, metres, goals,
                    limit) -> np.ndarray:
        dist, aux, next_edge, settled = self.dist, self.aux, self.next_edge, self.settled
        touched: list[int] = []
        heap: list[tuple[float, int]] = []
        for v, c, m in zip(sources.tolist(), costs.tolist(), metres.tolist()):
            if c < dist[v]:
                if dist[v] == np.inf:
                    touched.append(v)
                dist[v] = c
                aux[v] = m
                next_edge[v] = -1
                heapq.heappush(heap, (c, v))
        goals_left = set(goals.tolist())
        while heap:
            d, u = heapq.heappop(heap)
            if settled[u] or d > dist[u]:
                continue
            if d > limit:
                break
            settled[u] = 1
            goals_left.discard(u)
            if goals.size and not goals_left:
                break
            for k in range(offsets[u], offsets[u + 1]):
                w = weights[edge_ids[k]]
                if w == np.inf:
                    continue
                v = targets[k]
                nd = d + w
                if nd < dist[v]:
                    if dist[v] == np.inf:
                        touched.append(v)
                    dist[v] = nd
                    aux[v] = aux[u] + lengths[edge_ids[k]]
                    next_edge[v] = edge_ids[k]
                    heapq.heappush(heap, (nd, v))
        return np.array(touched, dtype=np.int64)
