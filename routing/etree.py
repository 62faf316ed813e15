"""ETAs from every unit to an incident by a customizable contraction hierarchy searched with elimination-tree walks
(our own, routing/_cch.c), keeping each start node's walk between rankings.

Why: a ranking asks "every available unit of this capability to this incident". RoutingKit's many-to-one sweep
visits the union of all units' elimination-tree ancestors on every call, which on a province-sized grid is most of
the hierarchy's top (about 10 ms). But a unit's upward walk depends only on the node it leaves from and on the
metric — not on the incident — and a moving unit keeps the same exit node until it turns onto another road. So each
start node's walk (its ancestors and the seconds to them) is computed once per metric and kept; a ranking walks
up from the incident only, then joins: for each unit the best of walk seconds + incident-walk seconds over the
nodes they share. Metres ride along (the length of the path that gave each arc its seconds), so every unit gets
its road distance without a second search.

A unit's position is kept too (per metric, as AVL fixes are noted): its exits (routing.eta.exit_points under the
metric's weights) packed with the addresses of their kept walks, so a ranking is a lookup per unit and one C call
(cch_rank: the incident's walk, every exit's join, each unit's best exit), with no per-unit work in Python.

The nested-dissection order comes from RoutingKit (inertial flow, `routingkit-cch`); the hierarchy, its
customization (all lower triangles, ascending) and the walks are _cch.c. A new metric after a closure is a partial
update of the current one (only the arcs whose best way changes: milliseconds), which keeps every walk it does not
touch; a new speed profile (most edges change) is a full customization (seconds on a 200k-node grid).

Exactness: seconds are float64 sums along the same edges a Dijkstra would add, in another order (differences of
1e-9 s). Thread safety: a metric does not change while a query uses it (counted); the next metric reuses the spare
one's memory only once its last query is gone. Walks and positions are kept per metric in dicts (a walk computed
twice by two threads is the same walk); a kept position holds the walks its packed addresses point into; scratch
arrays are lent to one call at a time.
"""
from __future__ import annotations

import ctypes
import queue
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from routing.graph import RoadGraph
from routing.metric_pair import MetricPair
from routing.search import SearchError, _load_native

FULL_CUSTOMIZATION_SHARE = 0.05  # past this share of edges changed, customize afresh instead of a partial update
KEPT_WALKS = 8_192  # start nodes whose walks a metric keeps (about 400 units x 2 exits, with room for movement)
KEPT_POSITIONS = 4_096  # unit positions whose packed exits a metric keeps (10 x a 400-unit fleet)
REMADE_POSITIONS = 1_024  # the newest kept positions a new metric packs again at once (the fleet's current ones)
EXITS_PER_POSITION = 3  # _cch.c's CCH_EXITS_PER_POSITION: exit_points gives at most three
_EXIT = struct.Struct("=qqqqdd")  # _cch.c's CchExit: walk nodes, seconds, metres (addresses), length; offsets
_NO_EXIT = _EXIT.pack(0, 0, 0, 0, 0.0, 0.0)
OUT_OF_ROOM, BAD_GRAPH, NO_MEMORY = -2, -3, -4  # _cch.c's error codes


def etree_available() -> bool:
    """True when the native library (with _cch.c) loads and RoutingKit's ordering is installed."""
    from routing.cch import cch_available

    lib = _load_native()
    return lib is not None and hasattr(lib, "cch_walk") and cch_available()


def _check(code: int, what: str) -> int:
    if code == OUT_OF_ROOM:
        raise SearchError(f"{what}: more room needed than the graph allows (a malformed hierarchy)")
    if code == BAD_GRAPH:
        raise SearchError(f"{what}: malformed graph or hierarchy")
    if code == NO_MEMORY:
        raise MemoryError(f"{what}: out of memory")
    return code


def _functions():
    lib = _load_native()
    if lib is None or not hasattr(lib, "cch_walk"):
        raise RuntimeError("the native routing library with _cch.c is not built")
    p = np.ctypeslib.ndpointer
    i32, i64, f64, u8 = (p(t, flags="C") for t in (np.int32, np.int64, np.float64, np.uint8))
    lib.cch_build.restype = ctypes.c_int64
    lib.cch_build.argtypes = [ctypes.c_int32, ctypes.c_int64, i32, i32, ctypes.c_int64, i64, i32, i32]
    lib.cch_customize.restype = ctypes.c_int
    lib.cch_customize.argtypes = [ctypes.c_int32, i64, i32, ctypes.c_int64, i32, i32, f64, f64, f64, f64, f64, f64]
    lib.cch_walk.restype = ctypes.c_int64
    lib.cch_walk.argtypes = [ctypes.c_int32, i64, i32, i32, f64, f64, ctypes.c_int32, i32, f64, f64, f64, f64, u8,
                             ctypes.c_int64, i32, f64, f64]
    lib.cch_rank.restype = ctypes.c_int
    lib.cch_rank.argtypes = [ctypes.c_int32, i64, i32, i32, f64, f64, ctypes.c_int32, i32, f64, f64, f64, f64, u8,
                             i64, i32, ctypes.c_int64, i32, ctypes.c_int32, ctypes.c_char_p, f64, f64, i32]
    lib.cch_exit_bytes.restype = ctypes.c_int64
    if lib.cch_exit_bytes() != _EXIT.size:  # the packing below must be the C struct's
        raise RuntimeError(f"_cch.c's exits are {lib.cch_exit_bytes()} bytes, not {_EXIT.size}: rebuild it")
    lib.cch_join.restype = ctypes.c_int
    lib.cch_join.argtypes = [ctypes.c_int32, ctypes.c_int32, i64, u8, f64, f64, f64, f64]
    lib.cch_edge_arcs.restype = ctypes.c_int
    lib.cch_edge_arcs.argtypes = [ctypes.c_int32, i64, i32, ctypes.c_int64, i32, i32, i64]
    lib.cch_update.restype = ctypes.c_int64
    lib.cch_update.argtypes = [ctypes.c_int32, i64, i32, i32, i64, i32, i32, i64, i64, i32, f64, f64, ctypes.c_int64,
                               i64, f64, f64, f64, f64, u8, u8]
    return lib


@dataclass(eq=False)
class _Walk:
    """A start's (or a goal's) ancestors in rank numbering, ascending, with seconds and metres to (or from) each."""
    nodes: np.ndarray
    seconds: np.ndarray
    metres: np.ndarray

    @property
    def row(self) -> tuple[int, int, int, int]:
        """What cch_join reads: the three arrays' addresses and the length (kept walks cache it)."""
        return self.nodes.ctypes.data, self.seconds.ctypes.data, self.metres.ctypes.data, len(self.nodes)


@dataclass(eq=False)
class _KeptWalk:
    walk: _Walk
    row: tuple[int, int, int, int]


@dataclass(eq=False)
class _Position:
    """A unit's road position made ready for rankings on one metric: its exits (routing.eta.exit_points under that
    metric's weights) packed for cch_rank, with the kept walks the packing points into (held here, so their
    arrays outlive any eviction from the metric's walks while a ranking reads them)."""
    snap: object  # the Snapped it was made from (identity is the key: see _Metric.positions)
    packed: bytes  # EXITS_PER_POSITION x _EXIT
    walks: tuple  # the _KeptWalk of each exit


@dataclass(eq=False)
class _Metric:
    key: object
    weights: np.ndarray  # the edge seconds it was made from
    fwd: np.ndarray  # seconds up each arc (lower to higher end)
    bwd: np.ndarray  # seconds down each arc
    fwd_m: np.ndarray  # metres of the path behind fwd
    bwd_m: np.ndarray
    walks: OrderedDict = field(default_factory=OrderedDict)  # start node (rank) -> _Walk up with fwd
    # id(Snapped) -> _Position made under this metric's weights and walks. Per metric, so a new metric (a closure,
    # a new hour) never reads another's exits or walks; a position's Snapped is held by its entry, so its id is
    # not reused while the entry lives, and a hit is checked to be the same object.
    positions: OrderedDict = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)  # guards `walks` and `positions`
    users: int = 0  # queries running on it (MetricPair guards this)


class _Scratch:
    """Dense arrays one walk uses and leaves as found (inf / 0), plus room for its output."""

    def __init__(self, n: int, height: int):
        self.seconds = np.full(n, np.inf)
        self.metres = np.zeros(n)
        self.seen = np.zeros(n, dtype=np.uint8)
        self.goal_seconds = np.full(n, np.inf)
        self.goal_metres = np.zeros(n)
        self.in_goal = np.zeros(n, dtype=np.uint8)
        self.out_nodes = np.zeros(3 * height, dtype=np.int32)  # a start node, or a point's (up to three) entries
        self.out_seconds = np.zeros(3 * height)
        self.out_metres = np.zeros(3 * height)
        self.pred = np.zeros(n, dtype=np.int64)  # cch_rank: the arc that gave each node of the goal walk its seconds
        self.pred_tail = np.zeros(n, dtype=np.int32)  # and that arc's lower end


class EtreeIndex:
    """The CCH of one road graph, its metrics for the last few weight keys, and each start node's kept walk.
    Thread-safe. Raises RuntimeError when the native library or RoutingKit's ordering is missing."""

    def __init__(self, graph: RoadGraph):
        from routing.cch import _rk

        if _rk is None:
            raise RuntimeError("routingkit-cch is not installed (its nested-dissection order is used)")
        self._lib = _functions()
        self.graph = graph
        n = graph.node_count
        order = np.asarray(_rk.compute_order_inertial(n, graph.edge_src.tolist(), graph.edge_dst.tolist(),
                                                      graph.node_lat.tolist(), graph.node_lon.tolist()), dtype=np.int64)
        self.rank = np.empty(n, dtype=np.int32)
        self.rank[order] = np.arange(n, dtype=np.int32)
        self._tail = np.ascontiguousarray(self.rank[graph.edge_src])
        self._head = np.ascontiguousarray(self.rank[graph.edge_dst])
        lower, higher = np.minimum(self._tail, self._head), np.maximum(self._tail, self._head)
        pairs = np.unique(np.stack([lower, higher])[:, lower != higher], axis=1)
        self.up_first = np.zeros(n + 1, dtype=np.int64)
        self.parent = np.zeros(n, dtype=np.int32)
        capacity = max(4 * pairs.shape[1], 1024)
        while True:
            up_head = np.zeros(capacity, dtype=np.int32)
            arcs = self._lib.cch_build(n, pairs.shape[1], np.ascontiguousarray(pairs[0]),
                                       np.ascontiguousarray(pairs[1]), capacity, self.up_first, up_head, self.parent)
            if arcs != OUT_OF_ROOM:
                break
            capacity *= 2
        self.up_head = up_head[:_check(arcs, "building the hierarchy")].copy()
        if len(self.up_head) >= 2**31:  # arcs are int32 in the down lists
            raise SearchError(f"a hierarchy of {len(self.up_head)} arcs is beyond this index (2^31)")
        self.height = self._height()
        self.arc_low = np.repeat(np.arange(n, dtype=np.int32), np.diff(self.up_first))
        down = np.lexsort((self.arc_low, self.up_head))  # each node's lower neighbours, ascending
        self.down_arc = down.astype(np.int32)
        self.down_tail = np.ascontiguousarray(self.arc_low[down])
        self.down_first = np.concatenate([[0], np.cumsum(np.bincount(self.up_head, minlength=n))]).astype(np.int64)
        self.edge_arc = np.zeros(graph.edge_count, dtype=np.int64)
        _check(self._lib.cch_edge_arcs(n, self.up_first, self.up_head, graph.edge_count, self._tail, self._head,
                                       self.edge_arc), "placing edges on arcs")
        real = np.flatnonzero(self.edge_arc >= 0)
        self.arc_edges = real[np.argsort(self.edge_arc[real], kind="stable")].astype(np.int64)
        self.arc_edge_first = np.concatenate(
            [[0], np.cumsum(np.bincount(self.edge_arc[real], minlength=len(self.up_head)))]).astype(np.int64)
        self._lengths = np.ascontiguousarray(graph.edge_length_m, dtype=np.float64)
        self._metrics: MetricPair[_Metric] = MetricPair(self._make)
        self._queued = np.zeros(len(self.up_head), dtype=np.uint8)  # cch_update's scratch (one make at a time)
        self._scratch: queue.SimpleQueue[_Scratch] = queue.SimpleQueue()
        self.customizations = 0  # full ones
        self.partial_updates = 0

    @property
    def arc_count(self) -> int:
        """Arcs in the hierarchy (the road graph's edge pairs plus the shortcuts of the chordal completion)."""
        return len(self.up_head)

    def _height(self) -> int:
        """The elimination tree's height + 1: no walk from one node visits more nodes (its ancestors)."""
        depth = np.zeros(self.graph.node_count, dtype=np.int32)
        for v in range(self.graph.node_count - 1, -1, -1):  # parents have higher ranks: done before children
            p = self.parent[v]
            depth[v] = 1 if p < 0 else depth[p] + 1
        return int(depth.max(initial=0))

    # ---- metrics: the current one, and a spare whose arrays the next one reuses (routing/metric_pair.py) --------
    def _acquire(self, weights: np.ndarray, key) -> _Metric:
        """The customized metric for `weights` (seconds per edge, inf closed) known by `key`, counted as in use
        until `_release`."""
        return self._metrics.acquire(weights, key)

    def _release(self, metric: _Metric) -> None:
        self._metrics.release(metric)

    @property
    def _current(self) -> _Metric | None:
        return self._metrics.current

    def _make(self, weights: np.ndarray, key, current: _Metric | None) -> tuple[_Metric, _Metric | None]:
        made = self._customize(weights, key, current)
        if current is not None:
            return made, None
        # mapped now, so the first closure's metric costs a copy, not page faults
        return made, _Metric(None, made.weights, *(a.copy() for a in (made.fwd, made.bwd, made.fwd_m, made.bwd_m)))

    def _free_arrays(self) -> tuple[np.ndarray, ...]:
        """The spare metric's four arc arrays once no query uses it (its memory is already mapped: reusing it
        costs a copy, where fresh arrays of a province's hierarchy cost their page faults, ~0.5 s); else new ones."""
        spare = self._metrics.take_spare()
        if spare is not None:
            return spare.fwd, spare.bwd, spare.fwd_m, spare.bwd_m
        return tuple(np.empty(self.arc_count) for _ in range(4))

    def _customize(self, weights: np.ndarray, key, latest: _Metric | None) -> _Metric:
        """A metric for `weights`: `latest` brought up to date by a partial update when few edges differ (a
        closure), keeping the walks it does not touch; else a full customization."""
        seconds = np.array(weights, dtype=np.float64)  # a copy: the metric must not change under its walks
        if seconds.shape != (self.graph.edge_count,):
            raise ValueError(f"weights for {self.graph.edge_count} edges expected, not shape {seconds.shape}")
        n = self.graph.node_count
        changed_edges = None if latest is None else np.flatnonzero(latest.weights != seconds)
        arrays = self._free_arrays()
        made = _Metric(key, seconds, *arrays)
        if changed_edges is not None and len(changed_edges) <= FULL_CUSTOMIZATION_SHARE * len(seconds):
            for mine, theirs in zip(arrays, (latest.fwd, latest.bwd, latest.fwd_m, latest.bwd_m)):
                np.copyto(mine, theirs)
            changed_arcs = np.unique(self.edge_arc[changed_edges])
            changed_arcs = np.ascontiguousarray(changed_arcs[changed_arcs >= 0], dtype=np.int64)
            moved = np.zeros(n, dtype=np.uint8)
            _check(self._lib.cch_update(n, self.up_first, self.up_head, self.arc_low, self.down_first, self.down_tail,
                                        self.down_arc, self.arc_edge_first, self.arc_edges, self._tail, seconds,
                                        self._lengths, len(changed_arcs), changed_arcs, *arrays, self._queued, moved),
                   "updating the hierarchy")
            with latest.lock:
                kept = list(latest.walks.items())
            made.walks.update((node, walk) for node, walk in kept if not moved[walk.walk.nodes].any())
            self.partial_updates += 1
        else:
            _check(self._lib.cch_customize(n, self.up_first, self.up_head, len(seconds), self._tail, self._head,
                                           seconds, self._lengths, *arrays), "customizing the hierarchy")
            self.customizations += 1
        if latest is not None:  # the walks the fleet stood on, made anew here rather than in the next rankings
            with latest.lock:
                starts = list(latest.walks)
                snaps = [position.snap for position in reversed(latest.positions.values())][:REMADE_POSITIONS]
            self._keep(made, starts)
            self._keep_positions(made, snaps[::-1])  # and the fleet's positions packed again, under the new weights
        return made

    def _keep(self, metric: _Metric, starts: list[int]) -> None:
        """Make sure `metric` keeps the walks from these start nodes (rank numbering)."""
        scratch = self._borrow()
        try:
            for rank in starts:
                self._kept_walk(metric, scratch, rank)
        finally:
            self._scratch.put(scratch)

    def keep_walks(self, weights: np.ndarray, key, nodes) -> None:
        """Walk up from these graph nodes now (the units' exit nodes as their positions arrive), so a ranking finds
        the walks made."""
        metric = self._acquire(weights, key)
        try:
            self._keep(metric, self._ranks_of(nodes))
        finally:
            self._release(metric)

    def keep_positions(self, weights: np.ndarray, key, snaps: list) -> None:
        """Make these units' road positions (on-network `Snapped`) ready for `best_exits` now: their exits under these
        weights, packed with their nodes' kept walks (made if new), as AVL fixes arrive."""
        metric = self._acquire(weights, key)
        try:
            self._keep_positions(metric, snaps)
        finally:
            self._release(metric)

    def _keep_positions(self, metric: _Metric, snaps: list) -> None:
        scratch = self._borrow()
        try:
            for snap in snaps:
                with metric.lock:
                    position = metric.positions.get(id(snap))
                    if position is not None and position.snap is snap:
                        metric.positions.move_to_end(id(snap))  # a parked unit's position stays kept
                        continue
                self._position(metric, scratch, snap)
        finally:
            self._scratch.put(scratch)

    def _position(self, metric: _Metric, scratch: _Scratch, snap) -> _Position:
        """`snap`'s exits under `metric`, packed and kept."""
        from routing.eta import exit_points

        points = exit_points(self.graph, snap, metric.weights)
        if len(points) > EXITS_PER_POSITION:
            raise SearchError(f"{len(points)} exits from one road position; cch_rank takes {EXITS_PER_POSITION}")
        walks = tuple(self._kept_walks(metric, scratch, self._ranks_of([node for node, _, _ in points])))
        packed = b"".join([_EXIT.pack(*walk.row, seconds, metres) for walk, (_, seconds, metres) in zip(walks, points)]
                          + [_NO_EXIT] * (EXITS_PER_POSITION - len(points)))
        position = _Position(snap, packed, walks)
        with metric.lock:
            metric.positions[id(snap)] = position
            while len(metric.positions) > KEPT_POSITIONS:
                metric.positions.popitem(last=False)
        return position

    def best_exits(self, weights: np.ndarray, key, target, origins: list) -> tuple[list[float], list[float]]:
        """(seconds, metres) from each origin (on-network `Snapped`) to the target point by its best exit
        (routing.eta.best_exit's choice: inf, inf when none reaches it), in one C call: the incident's walk, each
        kept walk joined with it, the best exit. Origins noted before (`keep_positions`) cost a lookup; others are
        made ready here. The same-road rule (eta.same_edge) is the caller's."""
        from routing.eta import entry_points

        metric = self._acquire(weights, key)
        scratch = self._borrow()
        try:
            with metric.lock:
                found = [metric.positions.get(id(snap)) for snap in origins]
            positions = [p if p is not None and p.snap is snap else self._position(metric, scratch, snap)
                         for p, snap in zip(found, origins)]
            entries = entry_points(self.graph, target, metric.weights)
            nodes = np.ascontiguousarray(self._ranks_of([node for node, _, _ in entries]), dtype=np.int32)
            entry_s = np.ascontiguousarray([s for _, s, _ in entries], dtype=np.float64)
            entry_m = np.ascontiguousarray([m for _, _, m in entries], dtype=np.float64)
            room = self.height * max(len(entries), 1)
            walk_nodes = scratch.out_nodes if room <= len(scratch.out_nodes) else np.zeros(room, dtype=np.int32)
            count = len(positions)
            seconds, metres, chosen = np.empty(count), np.empty(count), np.empty(count, dtype=np.int32)
            packed = b"".join([p.packed for p in positions])
            _check(self._lib.cch_rank(self.graph.node_count, self.up_first, self.up_head, self.parent, metric.bwd,
                                      metric.bwd_m, len(nodes), nodes, entry_s, entry_m, scratch.goal_seconds,
                                      scratch.goal_metres, scratch.seen, scratch.pred, scratch.pred_tail, room,
                                      walk_nodes, count, packed, seconds, metres, chosen), "ranking")
            return seconds.tolist(), metres.tolist()
        finally:
            self._scratch.put(scratch)
            self._release(metric)

    # ---- queries ------------------------------------------------------------------------------------------------
    def _walk(self, scratch: _Scratch, weight: np.ndarray, weight_m: np.ndarray,
              starts: list[tuple[int, float, float]]) -> _Walk:
        """One walk up from `starts` (rank, seconds, metres) relaxing `weight`."""
        nodes = np.ascontiguousarray([s[0] for s in starts], dtype=np.int32)
        seconds = np.ascontiguousarray([s[1] for s in starts], dtype=np.float64)
        metres = np.ascontiguousarray([s[2] for s in starts], dtype=np.float64)
        room = self.height * len(starts)  # each start adds at most its own ancestors
        if room <= len(scratch.out_nodes):
            out_nodes, out_seconds, out_metres = scratch.out_nodes, scratch.out_seconds, scratch.out_metres
        else:
            out_nodes, out_seconds, out_metres = np.zeros(room, dtype=np.int32), np.zeros(room), np.zeros(room)
        count = _check(self._lib.cch_walk(self.graph.node_count, self.up_first, self.up_head, self.parent, weight,
                                          weight_m, len(nodes), nodes, seconds, metres, scratch.seconds,
                                          scratch.metres, scratch.seen, room, out_nodes, out_seconds, out_metres),
                       "walking the hierarchy")
        return _Walk(out_nodes[:count].copy(), out_seconds[:count].copy(), out_metres[:count].copy())

    def _kept_walks(self, metric: _Metric, scratch: _Scratch, ranks: list[int]) -> list[_KeptWalk]:
        """The walks from these start nodes (rank numbering): kept ones under one lock, the others made."""
        with metric.lock:
            found = [metric.walks.get(rank) for rank in ranks]
        return [walk if walk is not None else self._kept_walk(metric, scratch, rank) for walk, rank in zip(found, ranks)]

    def _kept_walk(self, metric: _Metric, scratch: _Scratch, rank: int) -> _KeptWalk:
        with metric.lock:
            walk = metric.walks.get(rank)
            if walk is not None:
                metric.walks.move_to_end(rank)
                return walk
        up = self._walk(scratch, metric.fwd, metric.fwd_m, [(rank, 0.0, 0.0)])
        walk = _KeptWalk(up, up.row)
        with metric.lock:
            metric.walks[rank] = walk
            while len(metric.walks) > KEPT_WALKS:
                metric.walks.popitem(last=False)
        return walk

    def distances_to(self, weights: np.ndarray, key, sources: list[int],
                     targets: list[tuple[int, float, float]]) -> tuple[np.ndarray, np.ndarray]:
        """(seconds, metres) from each source node to the best of `targets` (node, seconds, metres still to drive
        from it); inf where no route exists. Metres are those of the fastest path found."""
        metric = self._acquire(weights, key)
        scratch = self._borrow()
        try:
            walks = self._kept_walks(metric, scratch, self._ranks_of(sources))
            goal = self._walk(scratch, metric.bwd, metric.bwd_m,
                              [(self._rank_of(node), s, m) for node, s, m in targets])
            scratch.goal_seconds[goal.nodes] = goal.seconds
            scratch.goal_metres[goal.nodes] = goal.metres
            scratch.in_goal[goal.nodes] = 1
            try:
                seconds, metres = np.empty(len(walks)), np.empty(len(walks))
                rows = np.array([w.row for w in walks], dtype=np.int64).reshape(len(walks), 4)
                _check(self._lib.cch_join(self.graph.node_count, len(walks), rows, scratch.in_goal,
                                          scratch.goal_seconds, scratch.goal_metres, seconds, metres), "joining walks")
            finally:
                scratch.goal_seconds[goal.nodes] = np.inf
                scratch.goal_metres[goal.nodes] = 0.0
                scratch.in_goal[goal.nodes] = 0
            return seconds, metres
        finally:
            self._scratch.put(scratch)
            self._release(metric)

    def warm(self, weights: np.ndarray, key) -> None:
        """Customize for these weights now (seconds on a province) rather than in the first ranking."""
        self._release(self._acquire(weights, key))

    def _ranks_of(self, nodes: list[int]) -> list[int]:
        """`_rank_of` for many nodes at once."""
        ids = np.asarray(nodes, dtype=np.int64)
        if len(ids) and not (0 <= ids.min() and ids.max() < self.graph.node_count):
            raise ValueError(f"nodes {[n for n in nodes if not 0 <= n < self.graph.node_count]} are not in the graph")
        return self.rank[ids].tolist()

    def _rank_of(self, node) -> int:
        """A graph node's rank; ValueError for an id that is not a node (numpy would take -1 for the last)."""
        if not 0 <= node < self.graph.node_count:
            raise ValueError(f"node {node} is not in the graph")
        return int(self.rank[node])

    def _borrow(self) -> _Scratch:
        try:
            return self._scratch.get_nowait()
        except queue.Empty:
            return _Scratch(self.graph.node_count, self.height)


def etas_by_etree(graph: RoadGraph, index: EtreeIndex, weights: np.ndarray, key, target, origins: list,
                  max_eta_s: float) -> list:
    """Every origin's road ETA and road metres to the target (all `Snapped`, on the network), as
    `routing.eta.etas_to` gives them, from the origins' kept exits and walks and one walk from the target
    (`EtreeIndex.best_exits`: one C call)."""
    from routing.eta import EtaResult, require_on_network, same_edge

    require_on_network(target, *origins)
    seconds, metres = index.best_exits(weights, key, target, origins)
    target_m, shared = target.distance_m, (target.edge, int(graph.edge_twin[target.edge]))
    new = tuple.__new__  # a plain tuple construction: half the cost of the named tuple's own __new__
    results = [new(EtaResult, (s, m, True, False, max(o.distance_m, target_m))) if s <= max_eta_s
               else new(EtaResult, (None, None, False, False, max(o.distance_m, target_m)))
               for o, s, m in zip(origins, seconds, metres)]  # inf > max_eta_s: no exit reaches the target
    for i, origin in enumerate(origins):
        if origin.edge in shared:  # on the target's road: driving along it may be faster (routing.eta.answers)
            options = [o for o in ((seconds[i], metres[i]) if seconds[i] < np.inf else None,
                                   same_edge(graph, origin, target, weights)) if o]
            s, m = min(options, key=lambda o: o[0]) if options else (np.inf, np.inf)
            results[i] = EtaResult(float(s), float(m), True, False, max(origin.distance_m, target_m)) \
                if s <= max_eta_s else EtaResult(None, None, False, False, max(origin.distance_m, target_m))
    return results
