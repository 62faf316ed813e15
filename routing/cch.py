"""Customizable contraction hierarchy (RoutingKit's CCH through the optional `routingkit-cch` package).

Why: under live AVL churn a moving unit never has a cached tree, and a bounded reverse Dijkstra from an incident
must settle most of a province before the farthest unit of a capability is reached (68 ms on a 202,500-node grid).
A CCH answers "every pinned unit to this incident" by two sweeps over elimination-tree ancestors, and takes a new
metric (a closure, a slow-down) by a partial update of the changed edges in milliseconds, with no new
preprocessing. The numbers are in docs/routing.md.

Exactness: travel times go in as integers of 1/10,000 s (`WEIGHT_UNITS_PER_S`), rounded per edge, so a route of k
edges is off by at most k x 0.05 ms; closed edges get RoutingKit's infinity. The ordering (nested dissection by
inertial flow) depends on the topology only and is computed once per graph.

Concurrency: a RoutingKit metric must not change while a query object uses it, so the index keeps two metrics.
Queries run on the current one (counted); a new set of weights is applied as a partial update to the other one once
its last query is gone, and the two are swapped under a lock. Query objects and the partial updater (the binding
ties it to the thread that made it) live for one call only. Nothing here
is shared between calls except the immutable CCH and those two counted metrics.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from routing.graph import RoadGraph
from routing.metric_pair import MetricPair

WEIGHT_UNITS_PER_S = 10_000  # integer weights: 0.1 ms each (paths up to ~59 h fit below RoutingKit's infinity)
INF_WEIGHT = 2**31 - 1  # RoutingKit's inf_weight: a closed edge
METRES_FOR_FASTEST = 10  # origins per call whose road metres are traced (a path query each; the others get None)

try:  # optional: without it RoutingService answers every cold origin with the bounded Dijkstra
    import routingkit_cch as _rk
except ImportError:  # pragma: no cover - exercised on machines without the package
    _rk = None


def cch_available() -> bool:
    """True when the `routingkit-cch` package imports in this process."""
    return _rk is not None


def integer_weights(weights: np.ndarray) -> np.ndarray:
    """Seconds → RoutingKit integer weights (int64 array): 1/10,000 s each, closed (inf) edges at INF_WEIGHT."""
    finite = np.isfinite(weights)
    scaled = np.rint(np.where(finite, weights, 0.0) * WEIGHT_UNITS_PER_S)
    return np.where(finite, np.minimum(scaled, INF_WEIGHT - 1), INF_WEIGHT).astype(np.int64)


@dataclass(eq=False)
class _Metric:
    key: object
    weights: np.ndarray  # the integer weights the metric holds
    metric: object
    users: int = 0


class CchIndex:
    """The CCH of one road graph and its (at most two) customized metrics. Thread-safe.

    Building it orders the nodes and contracts the graph (seconds on a province; weights play no part); the first
    query customizes the metric. Raises RuntimeError when `routingkit-cch` is not installed.
    """

    def __init__(self, graph: RoadGraph):
        if _rk is None:
            raise RuntimeError("routingkit-cch is not installed")
        self.graph = graph
        tail, head = graph.edge_src.tolist(), graph.edge_dst.tolist()
        order = _rk.compute_order_inertial(graph.node_count, tail, head, graph.node_lat.tolist(),
                                           graph.node_lon.tolist())
        self._cch = _rk.CCH(order, tail, head, False)
        self._metrics: MetricPair[_Metric] = MetricPair(self._make)
        self.partial_updates = 0  # how many new metrics came from a partial update (not a full customization)

    def distances_to(self, weights: np.ndarray, key, sources: list[int],
                     targets: list[tuple[int, float]]) -> np.ndarray:
        """Seconds from each source node to the nearest of `targets` (node, extra seconds at that node), under the
        weights identified by `key`; inf where no route exists."""
        metric = self._acquire(weights, key)
        try:
            query = _rk.CCHManyToOne(metric.metric, sources)
            found = query.distances_to_multi([(node, int(round(s * WEIGHT_UNITS_PER_S))) for node, s in targets])
            del query  # before the metric is released: a spare metric must have no live query
        finally:
            self._release(metric)
        return np.array([np.inf if d is None or d >= INF_WEIGHT else d / WEIGHT_UNITS_PER_S for d in found])

    def path_metres(self, weights: np.ndarray, key, edge_length_m: np.ndarray, sources: list[int],
                    targets: list[tuple[int, float]], target_metres: dict[int, float]) -> list[float | None]:
        """Metres along the fastest path from each source node to the nearest of `targets` (node, extra seconds),
        `target_metres[node]` added for the target it ends at; None where no path exists. One query object for
        all sources."""
        metric = self._acquire(weights, key)
        scale = WEIGHT_UNITS_PER_S
        ends = [(n, int(round(s * scale))) for n, s in targets]
        answers: list[float | None] = []
        try:
            query = _rk.CCHQuery(metric.metric)
            for source in sources:
                result = query.run_multi([(source, 0)], ends)
                if result.distance is None or result.distance >= INF_WEIGHT:
                    answers.append(None)
                else:
                    arcs = result.arc_path
                    answers.append(float(edge_length_m[arcs].sum()) + target_metres[result.node_path[-1]])
                del result  # the binding refuses a new run while the last result lives
            del query
        finally:
            self._release(metric)
        return answers

    def warm(self, weights: np.ndarray, key) -> None:
        """Customize for these weights now (seconds on a province) rather than in the first query."""
        self._release(self._acquire(weights, key))

    # ---- the two metrics (routing/metric_pair.py) ----------------------------------------------------------------
    def _acquire(self, weights: np.ndarray, key) -> _Metric:
        return self._metrics.acquire(weights, key)

    def _release(self, metric: _Metric) -> None:
        self._metrics.release(metric)

    def _make(self, weights: np.ndarray, key, current: _Metric | None) -> tuple[_Metric, _Metric | None]:
        """The spare metric brought to `weights` by a partial update once no query uses it; else a fresh one. The
        first metric comes with a spare customized too, so closures are partial updates."""
        new = integer_weights(weights)
        if current is None:
            return _Metric(key, new, _rk.CCHMetric(self._cch, new.tolist())), \
                _Metric(None, new, _rk.CCHMetric(self._cch, new.tolist()))
        spare = self._metrics.take_spare()
        if spare is None:
            return _Metric(key, new, _rk.CCHMetric(self._cch, new.tolist())), None
        changed = np.flatnonzero(spare.weights != new)
        if len(changed):
            # the binding's updater may only be used on the thread that made it: one per update (cheap)
            _rk.CCHMetricPartialUpdater(self._cch).apply(spare.metric, dict(zip(changed.tolist(), new[changed].tolist())))
        self.partial_updates += 1
        spare.key, spare.weights = key, new
        return spare, None


def etas_by_cch(graph: RoadGraph, index: CchIndex, weights: np.ndarray, key, target, origins: list,
                max_eta_s: float, metres_space=None) -> list:
    """Every origin's road ETA to the target (all `Snapped`, on the network), as `routing.eta.etas_to` gives it,
    from one many-to-one sweep. The sweep gives seconds only, so only the `METRES_FOR_FASTEST` fastest origins
    get their road metres (what a recommendation shows); the others have `distance_m=None` with their exact
    `eta_s`. Those metres come from one bounded reverse search on `metres_space` (a `SearchSpace`) stopped at
    their exit nodes when more than `METRES_FOR_FASTEST` origins are ranked, else (or without a space) from a
    CCH path query each (docs/routing.md)."""
    from routing.eta import EtaResult, entry_points, exit_points, require_on_network, same_edge

    require_on_network(target, *origins)
    entries = entry_points(graph, target, weights)
    exits = [exit_points(graph, o, weights) for o in origins]
    sources = sorted({node for points in exits for node, _, _ in points})
    seconds_from = {}
    if entries and sources:
        found = index.distances_to(weights, key, sources, [(node, s) for node, s, _ in entries])
        seconds_from = dict(zip(sources, found.tolist()))
    answers = []  # (seconds, metres or the exit node whose path metres are still to add, exit metres)
    for origin, points in zip(origins, exits):
        best = min(((s + seconds_from.get(node, np.inf), node, m) for node, s, m in points), default=None)
        direct = same_edge(graph, origin, target, weights)
        if direct is not None and (best is None or direct[0] <= best[0]):
            answers.append((direct[0], None, direct[1]))
        elif best is not None and best[0] <= max_eta_s:
            answers.append(best)
        else:
            answers.append(None)
    fastest = sorted((a for a in answers if a is not None and a[1] is not None), key=lambda a: a[0])
    needed = sorted({a[1] for a in fastest[:METRES_FOR_FASTEST]})
    if metres_space is not None and len(origins) > METRES_FOR_FASTEST:
        # A ranking: the fastest ten are the nearest of many, so the search stops early. With only a few
        # origins it would have to reach the farthest of them, where a path query each costs far less.
        path_m = dict(zip(needed, search_metres(graph, metres_space, weights, entries, needed, max_eta_s)))
    else:
        path_m = dict(zip(needed, index.path_metres(weights, key, graph.edge_length_m, needed,
                                                    [(n, s) for n, s, _ in entries], {n: m for n, _, m in entries})))
    results = []
    for origin, answer in zip(origins, answers):
        snap_m = max(origin.distance_m, target.distance_m)
        if answer is None or answer[0] > max_eta_s:
            results.append(EtaResult(None, None, False, False, snap_m))
            continue
        seconds, node, metres = answer
        if node is not None:
            metres = None if path_m.get(node) is None else metres + path_m[node]
        results.append(EtaResult(float(seconds), None if metres is None else float(metres), True, False, snap_m))
    return results


def search_metres(graph: RoadGraph, space, weights: np.ndarray, entries: list[tuple[int, float, float]],
                  nodes: list[int], max_eta_s: float) -> list[float | None]:
    """Metres along a fastest route from each of `nodes` to the target (its `entries`), by one bounded reverse
    search that stops once they are all settled (the C search, GIL released): one search for all, where a CCH
    path query each cost twice as much. None where a node is not reached within `max_eta_s`."""
    if not nodes:
        return []

    def metres_at(dist, metres, _next_edge):
        return [float(metres[n]) if np.isfinite(dist[n]) else None for n in nodes]

    return space.run(graph.rev_offsets, graph.rev_targets, graph.rev_edges, weights, graph.edge_length_m,
                     entries, nodes, max_eta_s, metres_at)
