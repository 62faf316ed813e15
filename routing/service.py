"""The async facade the server and the domain use: ETAs, routes, snapping, overrides, the base-map GeoJSON.

CPU work runs in a small thread pool (the searches release no GIL in Python mode, but the native search runs
in C without the interpreter's attention, and either way the event loop stays free for WebSocket traffic).
"""
from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import numpy as np
from shapely.geometry.base import BaseGeometry

from dispatch.model import LatLon, MovingFix
from routing.cch import CchIndex, cch_available, etas_by_cch
from routing.etree import EtreeIndex, etas_by_etree, etree_available
from routing.errors import InvalidCoordinates, check_coordinates
from routing.eta import EtaResult, StraightLine, UnitTrees, entry_points, eta_from_tree, etas_to
from routing.graph import RoadGraph
from routing.overrides import Override, Overrides
from routing.route import Route, build_route, straight_line_route
from routing.search import SearchSpace
from routing.snap import Snapped, Snapper
from routing.speeds import MAJOR_CLASSES

log = logging.getLogger("ems.routing")
# auto: our own CCH with kept walks ("etree", routing/etree.py) when the native library and RoutingKit's ordering
# are there, else RoutingKit's CCH when installed, else the bounded Dijkstra (docs/routing.md has the measurements).
ENGINES = ("auto", "etree", "cch", "dijkstra")
# How the CCH engine traces the fastest origins' road metres: one bounded reverse search for all of them
# ("search", the default), or a CCH path query each ("paths": the earlier way, kept for the churn benchmark).
CCH_METRES = ("search", "paths")
PENDING_FIXES_MAX = 10_000  # AVL fixes waiting for the background thread (a province's fleet many times over)
# Origins whose snaps are remembered by the position itself: frozen, hashed and compared by value and type, so an
# equal position is the same place (and heading) and snaps the same way. Other types (any object with .lat/.lon,
# possibly mutable) are snapped each time.
REMEMBERED_ORIGINS = (LatLon, MovingFix)
REMEMBERED_SNAPS_MAX = 8_192  # then forgotten all at once (a 400-unit fleet's positions for ~20 s of movement)


class RoutingService:
    """Road ETAs and routes on one graph. A pair with an end outside road coverage (farther than
    `max_snap_distance_m` from the roads) is never routed: it gets the `straight_line` estimate, flagged
    `outside_coverage` (eta_source "straight_line") with its snap distance.

    `engine` answers origins without a cached tree: "etree" (our customizable contraction hierarchy keeping each
    start node's walk, routing/etree.py), "cch" (RoutingKit's, routing/cch.py; needs `routingkit-cch`),
    "dijkstra" (one bounded reverse search), or "auto" (the first of these that can run here).
    `unit_trees`: cache forward trees for positions seen twice (parked units). With the Dijkstra a tree is built
    in the query that sees the position the second time; with a hierarchy on a background thread, the hierarchy
    answering until it exists. None (the default): trees with the Dijkstra only; the churn benchmark found the
    hierarchies faster without them (docs/routing.md).
    `cch_metres`: see CCH_METRES. `note_positions` snaps units' new AVL fixes as they come, so that a ranking
    finds them snapped (the server calls it once a second with the positions it fans out)."""

    def __init__(self, graph: RoadGraph, *, executor: ThreadPoolExecutor | None = None, max_eta_s: float = 3600,
                 max_snap_distance_m: float = 500, straight_line: StraightLine | None = None, workers: int = 2,
                 engine: str = "auto", unit_trees: bool | None = None, uturn_penalty_s: float = 30.0,
                 cch_metres: str = "search"):
        if engine not in ENGINES:
            raise ValueError(f"routing engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        if cch_metres not in CCH_METRES:
            raise ValueError(f"cch_metres must be one of {', '.join(CCH_METRES)}, not {cch_metres!r}")
        self.cch_metres = cch_metres
        if engine == "cch" and not cch_available():
            raise RuntimeError("routing engine cch needs the routingkit-cch package")
        if engine == "etree" and not etree_available():
            raise RuntimeError("routing engine etree needs the native routing library and the routingkit-cch package")
        if engine == "auto":
            engine = "etree" if etree_available() else "cch" if cch_available() else "dijkstra"
        self.graph = graph
        self.max_eta_s = max_eta_s
        self.snapper = Snapper(graph, max_snap_distance_m=max_snap_distance_m, uturn_penalty_s=uturn_penalty_s)
        self.straight_line = straight_line or StraightLine()
        self.overrides = Overrides(graph.edge_time_s)
        self.trees = UnitTrees(graph)
        self._snaps: dict = {}  # REMEMBERED_ORIGINS position -> its Snapped (snap_origins)
        self.cch = CchIndex(graph) if engine == "cch" else None
        self.etree = EtreeIndex(graph) if engine == "etree" else None
        self.hierarchy = self.etree or self.cch  # what answers origins without a tree, when not the Dijkstra
        self.unit_trees = self.hierarchy is None if unit_trees is None else unit_trees
        self._tree_builder = TreeBuilder(self)
        self.warm()
        self._trees_lock = threading.Lock()
        self._batch: tuple | None = None  # (origins and weights key, snaps, stacked tree seconds, stacked metres)
        self.executor = executor or ThreadPoolExecutor(workers, thread_name_prefix="routing")
        # AVL fixes and new metrics are prepared here, never queued in front of a ranking on `executor`
        self.background = ThreadPoolExecutor(1, thread_name_prefix="routing-background")
        self._pending_fixes: list = []
        self._noting = False
        self._noting_lock = threading.Lock()
        self._spaces: queue.SimpleQueue[SearchSpace] = queue.SimpleQueue()
        for _ in range(workers):
            self._spaces.put(SearchSpace(graph.node_count))
        self.search_engine = SearchSpace(0).engine  # "native-c" or "python": the same for every space, read once

    # ---- sync core (runs in the executor; also used directly by benchmarks and tests) ------------------------
    def snap(self, lat: float, lon: float) -> Snapped:
        """The nearest road position to (lat, lon) degrees, with its snap distance in metres and whether it is off the
        network."""
        return self.snapper.snap(lat, lon)

    def snap_origin(self, origin) -> Snapped:
        """An origin's road position: with its heading when it has one (`heading_deg`, a moving unit's AVL fix),
        so it is placed on the carriageway it drives and pays the U-turn penalty to go back."""
        return self.snapper.snap(origin.lat, origin.lon, getattr(origin, "heading_deg", None))

    def snap_origins(self, origins: Sequence) -> list[Snapped]:
        """`snap_origin` for each origin; LatLon and MovingFix positions seen before (noted with their AVL fix, or
        ranked) come from a dict keyed by the position itself, a lookup instead of the snapper's checks, rounding
        and cache (a third of a 226-unit ranking's Python time)."""
        remembered = self._snaps
        try:
            found = [remembered.get(o) for o in origins]
        except TypeError:  # an unhashable origin type: nothing of it is remembered
            return [self.snap_origin(o) for o in origins]
        return [s if s is not None else self._snap_remembered(o) for o, s in zip(origins, found)]

    def _snap_remembered(self, origin) -> Snapped:
        """One origin's snap by way of the remembered ones (kept there if its type is one of REMEMBERED_ORIGINS)."""
        if type(origin) not in REMEMBERED_ORIGINS:
            return self.snap_origin(origin)
        snap = self._snaps.get(origin)
        if snap is not None:
            return snap
        snap = self.snap_origin(origin)
        while len(self._snaps) >= REMEMBERED_SNAPS_MAX:  # the oldest first (dicts keep insertion order)
            self._snaps.pop(next(iter(self._snaps)), None)
        return self._snaps.setdefault(origin, snap)  # two threads snapping one fix keep one Snapped

    def note_positions(self, origins: Sequence) -> int:
        """Snap units' latest positions (LatLon or MovingFix) ahead of the next ranking, and with the etree engine
        make each position ready (its exits under the weights in force, packed with their nodes' walks): a moving
        unit's snap with its heading (~0.3 ms), a new walk (~0.5 ms on a province, once per road a unit turns onto)
        and its exits were a ranking's dearest per-origin steps, and doing them when the fix arrives takes them off
        the ranking's path. Invalid positions are skipped (a ranking would report them). Returns how many were
        snapped."""
        snaps = []
        for origin in origins:
            try:
                snaps.append(self._snap_remembered(origin))
            except (InvalidCoordinates, TypeError, ValueError):
                continue
        if self.etree is not None:  # and their exits packed with their nodes' walks, for the same reason
            self.etree.keep_positions(*self.overrides.weights_with_key(),
                                      [snap for snap in snaps if not snap.off_network])
        return len(snaps)

    def note_positions_soon(self, origins: Sequence) -> None:
        """`note_positions` on the background thread: fixes that arrive while it is busy join one next pass (at
        most `PENDING_FIXES_MAX`, the newest kept), so a burst never builds a queue."""
        with self._noting_lock:
            self._pending_fixes.extend(origins)
            del self._pending_fixes[:-PENDING_FIXES_MAX]
            if self._noting:
                return
            self._noting = True
        try:
            self.background.submit(self._note_pending)
        except RuntimeError:  # shut down: the service is stopping
            with self._noting_lock:
                self._noting = False

    def _note_pending(self) -> None:
        while True:
            with self._noting_lock:
                batch, self._pending_fixes = self._pending_fixes, []
                if not batch:
                    self._noting = False
                    return
            try:
                self.note_positions(batch)
            except Exception:  # a bad graph state must not stop later passes; the ranking would report it
                log.exception("routing: noting AVL positions failed")

    def etas_to_sync(self, target, origins: Sequence) -> list[EtaResult]:
        """Origins with a cached tree are answered from it; the rest share one bounded reverse search. An origin
        or target outside road coverage gets the straight-line estimate instead (never routed from the edge)."""
        target_snap = self.snap(target.lat, target.lon)
        if target_snap.off_network:
            return [self._straight_line(o, target, self.snap(o.lat, o.lon), target_snap) for o in origins]
        weights, weights_key = self.overrides.weights_with_key()  # one read: a tree's key matches its weights
        if not self.unit_trees:
            origin_snaps = self.snap_origins(origins)
            if any(o.off_network for o in origin_snaps):
                return self._some_off_network(target, target_snap, origins, origin_snaps)
            return self._cold(weights, weights_key, target_snap, origin_snaps)
        batch_key = (tuple((o.lat, o.lon, getattr(o, "heading_deg", None)) for o in origins), weights_key)
        batch = self._batch
        if batch is not None and batch[0] == batch_key:
            return self._from_batch(weights, target_snap, *batch[1:])
        origin_snaps = self.snap_origins(origins)
        if any(o.off_network for o in origin_snaps):  # never in the batch above: such origins get no tree
            return self._some_off_network(target, target_snap, origins, origin_snaps)
        space = self._spaces.get()
        try:
            with self._trees_lock:
                trees = [self.trees.get(o, weights_key) for o in origin_snaps]
            if trees and all(t is not None for t in trees):
                # Same fleet positions next time? Then answer from one stacked matrix of their trees.
                self._batch = (batch_key, origin_snaps, np.stack([t[0] for t in trees]), np.stack([t[1] for t in trees]))
                return self._from_batch(weights, target_snap, *self._batch[1:])
            results = self._from_trees(weights, target_snap, origin_snaps, trees)
            cold = [i for i, r in enumerate(results) if r is None]
            if cold:
                searched = self._cold(weights, weights_key, target_snap, [origin_snaps[i] for i in cold], space)
                for i, result in zip(cold, searched):
                    results[i] = result
                if self.hierarchy is not None:  # trees off the query path: the hierarchy answers until they are built
                    with self._trees_lock:
                        wanted = [origin_snaps[i] for i in cold if self.trees.sighted(origin_snaps[i], weights_key)]
                    for origin in wanted:
                        self._tree_builder.submit(weights, weights_key, origin)
                else:
                    with self._trees_lock:
                        for i in cold:
                            self.trees.note(space, weights, weights_key, origin_snaps[i], self.max_eta_s)
            return results
        finally:
            self._spaces.put(space)

    @property
    def engine(self) -> str:
        """What answers an origin without a cached tree: "etree", "cch", or the bounded Dijkstra
        ("native-c"/"python")."""
        return "etree" if self.etree is not None else "cch" if self.cch is not None else self.search_engine

    def warm(self) -> None:
        """Customize the hierarchy for the weights in force now (seconds on a province) rather than in the next
        ranking; after a new speed profile hour, for instance. Nothing to do for the Dijkstra."""
        if self.hierarchy is not None:
            self.hierarchy.warm(*self.overrides.weights_with_key())

    def measure_eta_cost_ms(self, *, origins: int = 50, samples: int = 5, seed: int = 1669) -> float:
        """Mean wall time (ms) of one uncached ranking by this service's engine: `origins` random road nodes to a
        random target, snapped and answered as origins without a tree are (the CCH sweep, or one bounded reverse
        search). No tree or batch is kept. For the start-up log and /metrics."""
        usable = self.graph.usable_nodes()
        if not len(usable):
            return 0.0
        rng = np.random.default_rng(seed)
        g = self.graph
        weights, key = self.overrides.weights_with_key()
        elapsed = 0.0
        for _ in range(samples):
            target, *rest = (int(n) for n in rng.choice(usable, size=origins + 1))
            started = time.perf_counter()  # snapping counted: a ranking snaps every origin too
            snap = [self.snap(float(g.node_lat[n]), float(g.node_lon[n])) for n in (target, *rest)]
            self._cold(weights, key, snap[0], snap[1:])
            elapsed += time.perf_counter() - started
        return elapsed * 1000 / samples

    def _cold(self, weights, weights_key, target: Snapped, origins: list[Snapped],
              space: SearchSpace | None = None) -> list[EtaResult]:
        """ETAs for origins without a tree: the hierarchy (kept walks, or RoutingKit's many-to-one sweep), else one
        bounded reverse search."""
        if self.etree is not None:
            return etas_by_etree(self.graph, self.etree, weights, weights_key, target, origins, self.max_eta_s)
        if self.cch is not None:
            if self.cch_metres == "paths":
                return etas_by_cch(self.graph, self.cch, weights, weights_key, target, origins, self.max_eta_s)
            if space is not None:
                return etas_by_cch(self.graph, self.cch, weights, weights_key, target, origins, self.max_eta_s,
                                   metres_space=space)
            space = self._spaces.get()
            try:
                return etas_by_cch(self.graph, self.cch, weights, weights_key, target, origins, self.max_eta_s,
                                   metres_space=space)
            finally:
                self._spaces.put(space)
        if space is not None:
            return etas_to(self.graph, space, weights, target, origins, self.max_eta_s)
        space = self._spaces.get()
        try:
            return etas_to(self.graph, space, weights, target, origins, self.max_eta_s)
        finally:
            self._spaces.put(space)

    def wait_for_trees(self) -> None:
        """Block until the background tree builder has nothing left to do (benchmarks and tests)."""
        self._tree_builder.jobs.join()

    def _straight_line(self, origin, target, origin_snap: Snapped, target_snap: Snapped) -> EtaResult:
        return self.straight_line.estimate(origin, target, max(origin_snap.distance_m, target_snap.distance_m))

    def _some_off_network(self, target, target_snap: Snapped, origins: Sequence,
                          origin_snaps: list[Snapped]) -> list[EtaResult]:
        """Straight-line estimates for the off-network origins, road ETAs for the others (one search)."""
        results = [self._straight_line(o, target, s, target_snap) if s.off_network else None
                   for o, s in zip(origins, origin_snaps)]
        on_network = [i for i, s in enumerate(origin_snaps) if not s.off_network]
        if on_network:
            for i, result in zip(on_network, self.etas_to_sync(target, [origins[i] for i in on_network])):
                results[i] = result
        return results

    def _from_batch(self, weights, target: Snapped, origins: list[Snapped], seconds_to: np.ndarray,
                    metres_to: np.ndarray) -> list[EtaResult]:
        """Every parked unit at once: tree values at the target's entry nodes, plus the partial edge."""
        g = self.graph
        entries = entry_points(g, target, weights)
        if not entries:
            return [EtaResult(None, None, False, False, max(o.distance_m, target.distance_m)) for o in origins]
        nodes = np.array([n for n, _, _ in entries], dtype=np.int64)
        total = seconds_to[:, nodes] + np.array([c for _, c, _ in entries])
        best = np.argmin(total, axis=1)
        rows = np.arange(len(origins))
        etas = total[rows, best].tolist()
        dists = (metres_to[rows, nodes[best]] + np.array([m for _, _, m in entries])[best]).tolist()
        shared = (target.edge, int(g.edge_twin[target.edge]))
        limit, target_m = self.max_eta_s, target.distance_m
        new = tuple.__new__  # a plain tuple construction: half the cost of the named tuple's own __new__
        results = [
            new(EtaResult, (eta, dist, True, False, max(o.distance_m, target_m))) if eta <= limit
            else new(EtaResult, (None, None, False, False, max(o.distance_m, target_m)))
            for o, eta, dist in zip(origins, etas, dists)]  # inf > limit, so unreachable lands in the else
        for i, origin in enumerate(origins):
            if origin.edge in shared:  # same road segment: the exact rule
                results[i] = eta_from_tree(g, weights, target, origin, (seconds_to[i], metres_to[i]), limit)
        return results

    def _from_trees(self, weights, target: Snapped, origins: list[Snapped], trees) -> list[EtaResult | None]:
        """ETAs for origins with a cached tree (None for the others): a few array reads each."""
        g = self.graph
        entries = entry_points(g, target, weights)
        nodes = np.array([n for n, _, _ in entries], dtype=np.int64)
        seconds = np.array([c for _, c, _ in entries])
        metres = np.array([m for _, _, m in entries])
        shared = {target.edge, int(g.edge_twin[target.edge])}
        results: list[EtaResult | None] = []
        for origin, tree in zip(origins, trees):
            if tree is None:
                results.append(None)
            elif origin.edge in shared or not len(nodes):  # same road segment: the exact rule
                results.append(eta_from_tree(g, weights, target, origin, tree, self.max_eta_s))
            else:
                total = tree[0][nodes] + seconds
                best = int(np.argmin(total))
                eta = float(total[best])
                snap_m = max(origin.distance_m, target.distance_m)
                if np.isfinite(eta) and eta <= self.max_eta_s:
                    results.append(EtaResult(eta, float(tree[1][nodes[best]] + metres[best]), True, False, snap_m))
                else:
                    results.append(EtaResult(None, None, False, False, snap_m))
        return results

    def route_sync(self, origin, destination) -> Route | None:
        """The fastest road route, None if none within max_eta_s; a labelled straight line (outside_coverage)
        when an end is outside road coverage."""
        origin_snap = self.snap_origin(origin)
        target_snap = self.snap(destination.lat, destination.lon)
        if origin_snap.off_network or target_snap.off_network:
            return straight_line_route(origin, destination, origin_snap, target_snap,
                                       self._straight_line(origin, destination, origin_snap, target_snap))
        space = self._spaces.get()
        try:
            return build_route(self.graph, space, self.overrides.weights(), origin_snap, target_snap, self.max_eta_s)
        finally:
            self._spaces.put(space)

    # ---- async facade -----------------------------------------------------------------------------------------
    async def etas_to(self, target, origins: Sequence) -> list[EtaResult]:
        """Each origin's road ETA and distance to `target` (objects with .lat/.lon), in the origins' order; a
        straight-line estimate flagged `outside_coverage` where an end is outside road coverage."""
        self._validate(target, "target.")
        for i, origin in enumerate(origins):
            self._validate(origin, f"origins[{i}].")
        if not origins:
            return []
        return await asyncio.get_running_loop().run_in_executor(self.executor, self.etas_to_sync, target, origins)

    async def route(self, origin, destination) -> Route | None:
        """The fastest road route (computed off the event loop), or None if unreachable within the ETA bound.

        Raises
        ------
        InvalidCoordinates
            An end point is not a valid (lat, lon) in degrees (field named origin.* / destination.*).
        """
        self._validate(origin, "origin.")
        self._validate(destination, "destination.")
        return await asyncio.get_running_loop().run_in_executor(self.executor, self.route_sync, origin, destination)

    @staticmethod
    def _validate(point, prefix: str) -> None:
        check_coordinates(getattr(point, "lat", None), getattr(point, "lon", None), prefix)

    # ---- overrides --------------------------------------------------------------------------------------------
    def add_closure(self, area: BaseGeometry | Sequence[int], *, expires_at: datetime | None,
                    factor: float | None = None, reason: str | None = None, closure_id: str | None = None) -> str:
        """Close (factor None) or slow (factor ≥ 1) the roads in a WGS84 polygon or a list of edge ids."""
        edges = self.snapper.edges_within(area) if isinstance(area, BaseGeometry) else np.asarray(area, dtype=np.int64)
        added = self.overrides.add(edges, factor=factor, expires_at=expires_at, reason=reason,
                                   override_id=closure_id).id
        self._warm_soon()
        return added

    def remove_override(self, override_id: str) -> bool:
        """Remove a closure or slowdown; True if it existed. ETAs change from the next query."""
        removed = self.overrides.remove(override_id)
        self._warm_soon()
        return removed

    def _warm_soon(self) -> None:
        """Customize for the new weights on a routing thread now, so the next ranking does not wait for it (a
        ranking that comes first waits for the same customization, never uses the old weights)."""
        if self.hierarchy is not None:
            try:
                self.background.submit(self.warm)
            except RuntimeError:  # the executor is shut down: the service is stopping
                pass

    def list_overrides(self) -> list[Override]:
        """The closures and slowdowns in force now."""
        return self.overrides.active()

    # ---- base map -----------------------------------------------------------------------------------------------
    def roads_geojson(self, *, min_class: str | None = None) -> dict:
        """The road network as a GeoJSON FeatureCollection (one feature per road segment, twins once)."""
        keep = None
        if min_class in MAJOR_CLASSES:
            keep = set(MAJOR_CLASSES[: MAJOR_CLASSES.index(min_class) + 1])
        features, seen = [], set()
        g = self.graph
        for edge in range(g.edge_count):
            twin = int(g.edge_twin[edge])
            if twin in seen:
                continue
            seen.add(edge)
            highway = g.highways[int(g.edge_highway[edge])]
            if keep is not None and highway not in keep:
                continue
            name_th, name_en = g.edge_label(edge)
            features.append({"type": "Feature",
                             "geometry": {"type": "LineString", "coordinates": _lon_lat(g, edge)},
                             "properties": {"highway": highway, "name": name_th, "name_en": name_en,
                                            "oneway": twin < 0}})
        return {"type": "FeatureCollection", "features": features,
                "attribution": "© OpenStreetMap contributors (ODbL)"}

    def edges_geojson(self, edges: Sequence[int]) -> dict:
        """Road segments (e.g. a closure's) as a GeoJSON MultiLineString, [lon, lat] to 5 decimals."""
        return {"type": "MultiLineString", "coordinates": [_lon_lat(self.graph, int(edge)) for edge in edges]}


class TreeBuilder:
    """Builds unit trees on one background thread (started on first use) with a search space of its own, so a
    query never waits for a full search: used with the CCH, which answers a parked unit until its tree exists.
    A job whose weights are no longer in force (a closure came meanwhile) is dropped."""

    def __init__(self, service: RoutingService):
        self.service = service
        self.jobs: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def submit(self, weights: np.ndarray, weights_key, origin: Snapped) -> None:
        """Queue one tree (the second sighting of a position)."""
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="routing-trees", daemon=True)
                self._thread.start()
        self.jobs.put((weights, weights_key, origin))

    def _run(self) -> None:
        service = self.service
        space = SearchSpace(service.graph.node_count)
        while True:
            weights, key, origin = self.jobs.get()
            try:
                if service.overrides.weights_with_key()[1] == key:
                    tree = service.trees.build(space, weights, key, origin, service.max_eta_s)
                    with service._trees_lock:
                        service.trees.put(origin, key, tree)
            finally:
                self.jobs.task_done()


def _lon_lat(g: RoadGraph, edge: int) -> list[list[float]]:
    """An edge's geometry as GeoJSON coordinates, rounded to 5 decimals (about a metre)."""
    lat, lon = g.edge_coords(edge)
    return [[round(x, 5), round(y, 5)] for x, y in zip(lon.tolist(), lat.tolist())]
