"""Churn benchmark (issue #20): `python -m ops.bench.routing --churn [--json] [--minutes N] [--side N]`.

A province-sized graph (the synthetic grid of `--side`² nodes, or the OSM extract in EMS_OSM_FILE), 400 units of
three capabilities, 30 % of them driving along road routes with a position every simulated second, 5 incidents a
second each ranking every unit of the needed capability, and a road closure added or removed every 60 s (a
junction closed in both directions, then opened again). Simulated time runs as fast as the engine allows; the
figures are per simulated minute. Every engine gets the same workload (same seed) in its own process, so peak
memory is its own:

  dijkstra-trees  the bounded reverse Dijkstra, forward trees cached for positions seen twice (the old server)
  cch             RoutingKit's customizable contraction hierarchy for every origin (routingkit-cch), as the
                  server runs it: new positions snapped as they arrive, the fastest ten's metres by one search
  cch-paths       the same CCH as the server ran it before: positions snapped inside the ranking, the fastest
                  ten's metres by a CCH path query each
  cch-presnap     cch-paths with positions snapped as they arrive (the two changes measured apart)
  cch+trees       the CCH for origins without a tree, trees for parked units
  pandana         pandana's contraction hierarchy (rebuilt after each closure: it has no customization)

Exactness: after each closure event and a few times a minute, every ranked unit's ETA is compared with an
independent exact Dijkstra (scipy.sparse.csgraph over the current weights, same snapped points).
"""
from __future__ import annotations

import json
import math
import multiprocessing
import os
import random
import resource
import statistics
import time
from pathlib import Path

import numpy as np

from ops.bench.routing import percentile

REPO = Path(__file__).resolve().parents[2]
UNITS = 400
MOVING_SHARE = 0.3
INCIDENTS_PER_S = 5
CLOSURE_EVERY_S = 60
ORACLE_PER_MINUTE = 3  # plus the first incident after every closure event
CAPABILITIES = (("ALS", 0.3), ("BLS", 0.5), ("FR", 0.2))
MAX_ETA_S = 10_800.0
UTURN_PENALTY_S = 30.0  # the server's default (config.uturn_penalty_s)
ENGINES = ("etree", "dijkstra-trees", "cch", "cch-paths", "cch-presnap", "cch+trees", "pandana")


def server_engine() -> str:
    """The churn engine name of what RoutingService runs by default (engine "auto": no trees with a hierarchy)."""
    from routing.cch import cch_available
    from routing.etree import etree_available

    return "etree" if etree_available() else "cch" if cch_available() else "dijkstra-trees"


def peak_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: a spawned process inherits its parent's
    ru_maxrss across exec, which made every engine report the parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_graph(side: int):
    """EMS_OSM_FILE's graph if set, else the synthetic side×side grid (compiled once into var/cache)."""
    from ops.bench.routing import synthetic_graph
    from routing.build import compile_graph, networkx_graph
    from routing.graph import RoadGraph

    osm = os.environ.get("EMS_OSM_FILE")
    if osm:
        return compile_graph(networkx_graph(Path(osm), REPO / "var" / "cache"))
    cached = REPO / "var" / "cache" / f"bench_grid_{side}.npz"
    if cached.exists():
        return RoadGraph.load(cached)
    graph = compile_graph(synthetic_graph(side))
    cached.parent.mkdir(parents=True, exist_ok=True)
    graph.save(cached)
    return graph


def point_on_edge(graph, edge: int, fraction: float) -> tuple[float, float, float]:
    """(lat, lon, heading in degrees clockwise from north) at `fraction` of the edge's length. The graph's
    projection is linear in degrees, so the interpolation is done on degrees scaled by cos(latitude)."""
    lat, lon = graph.edge_coords(edge)
    x, y = lon * math.cos(math.radians(float(lat[0]))), lat
    seg = np.hypot(np.diff(x), np.diff(y))
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    along = fraction * cum[-1]
    i = min(int(np.searchsorted(cum, along, side="right")) - 1, len(seg) - 1)
    r = 0.0 if seg[i] == 0 else (along - cum[i]) / seg[i]
    heading = math.degrees(math.atan2(x[i + 1] - x[i], y[i + 1] - y[i])) % 360
    return float(lat[i] + r * (lat[i + 1] - lat[i])), float(lon[i] + r * (lon[i + 1] - lon[i])), heading


class Fleet:
    """400 units; the moving ones drive fastest routes to random destinations at free-flow speed, then pick
    another. Deterministic for a seed."""

    def __init__(self, graph, seed: int):
        from routing.search import SearchSpace

        self.graph = graph
        self.rng = random.Random(seed)
        self.usable = graph.usable_nodes()
        self.space = SearchSpace(graph.node_count)
        names, weights = zip(*CAPABILITIES)
        self.capability = self.rng.choices(names, weights, k=UNITS)
        self.node = [int(self.rng.choice(self.usable)) for _ in range(UNITS)]
        self.moving = sorted(self.rng.sample(range(UNITS), int(UNITS * MOVING_SHARE)))
        self.route: dict[int, list[int]] = {}
        self.at: dict[int, tuple[int, float]] = {}  # unit → (index in its route, seconds driven on that edge)
        for unit in self.moving:
            self._new_route(unit)

    def _new_route(self, unit: int) -> None:
        g = self.graph
        start = self.node[unit]
        while True:
            goal = int(self.rng.choice(self.usable))

            def walk(_dist, _metres, next_edge, goal=goal):
                edges, node = [], goal
                while next_edge[node] >= 0 and len(edges) <= g.edge_count:
                    edges.append(int(next_edge[node]))
                    node = int(g.edge_src[next_edge[node]])
                return edges[::-1] if node == start else []

            edges = self.space.run(g.fwd_offsets, g.fwd_targets, g.fwd_edges, g.edge_time_s, g.edge_length_m,
                                   [(start, 0.0, 0.0)], [goal], np.inf, walk)
            if edges:
                self.route[unit], self.at[unit] = edges, (0, 0.0)
                return

    def step(self) -> None:
        """One simulated second of driving."""
        g = self.graph
        for unit in self.moving:
            index, driven = self.at[unit]
            driven += 1.0
            route = self.route[unit]
            while driven >= g.edge_time_s[route[index]]:
                driven -= float(g.edge_time_s[route[index]])
                index += 1
                if index == len(route):
                    self.node[unit] = int(g.edge_dst[route[-1]])
                    self._new_route(unit)
                    route, index = self.route[unit], 0
            self.at[unit] = (index, driven)

    def position(self, unit: int) -> tuple[float, float, float | None]:
        """(lat, lon, heading or None when parked)."""
        g = self.graph
        if unit in self.at:
            index, driven = self.at[unit]
            edge = self.route[unit][index]
            return point_on_edge(g, edge, driven / float(g.edge_time_s[edge]))
        node = self.node[unit]
        return float(g.node_lat[node]), float(g.node_lon[node]), None


class Oracle:
    """Exact ETAs by scipy's Dijkstra on the reversed graph under the current weights (independent code)."""

    def __init__(self, graph):
        self.graph = graph
        self.weights = graph.edge_time_s.copy()

    def set_weights(self, weights: np.ndarray) -> None:
        self.weights = weights.copy()

    def etas(self, target, origins) -> list[float | None]:
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import dijkstra

        from routing.eta import entry_points, exit_points, same_edge

        g, w = self.graph, self.weights
        keep = np.flatnonzero(np.isfinite(w))
        order = keep[np.lexsort((w[keep], g.edge_dst[keep], g.edge_src[keep]))]  # cheapest of parallel edges first
        pairs = g.edge_src[order].astype(np.int64) * g.node_count + g.edge_dst[order]
        first = order[np.concatenate([[True], pairs[1:] != pairs[:-1]])]
        reverse = csr_matrix((w[first] + 1e-9, (g.edge_dst[first], g.edge_src[first])),
                             shape=(g.node_count, g.node_count))
        entries = entry_points(g, target, w)
        dist = dijkstra(reverse, indices=[n for n, _, _ in entries]) if entries else np.zeros((0, g.node_count))
        to_target = (dist + np.array([[s] for _, s, _ in entries])).min(axis=0) if entries else None
        answers = []
        for origin in origins:
            options = [s + to_target[n] for n, s, _ in exit_points(g, origin, w)] if entries else []
            direct = same_edge(g, origin, target, w)
            if direct is not None:
                options.append(direct[0])
            best = min(options, default=np.inf)
            answers.append(float(best) if best <= MAX_ETA_S else None)
        return answers


class ServiceEngine:
    """RoutingService as the server runs it, with the engine and tree policy under test."""

    def __init__(self, graph, name: str):
        from routing.service import RoutingService

        engine = {"dijkstra-trees": "dijkstra", "etree": "etree"}.get(name, "cch")
        self.service = RoutingService(graph, max_eta_s=MAX_ETA_S, workers=1, engine=engine,
                                      unit_trees=name in ("dijkstra-trees", "cch+trees"),
                                      uturn_penalty_s=UTURN_PENALTY_S,
                                      cch_metres="paths" if name in ("cch-paths", "cch-presnap") else "search")
        self.snapper = self.service.snapper
        self.snaps_positions = name != "cch-paths"  # the server notes each second's AVL fixes (server.py)

    def note_positions(self, origins) -> None:
        if self.snaps_positions:
            self.service.note_positions(origins)

    def rank(self, target, origins) -> list[float | None]:
        return [r.eta_s for r in self.service.etas_to_sync(target, origins)]

    def close(self, edges: list[int], closure_id: str) -> None:
        self.service.add_closure(edges, expires_at=None, closure_id=closure_id)

    def reopen(self, closure_id: str) -> None:
        self.service.remove_override(closure_id)


class PandanaEngine:
    """pandana's contraction hierarchy between snapped exit and entry nodes; a closure rebuilds the network."""

    def __init__(self, graph, name: str = "pandana"):
        from routing.overrides import Overrides
        from routing.snap import Snapper

        self.graph = graph
        self.snapper = Snapper(graph, uturn_penalty_s=UTURN_PENALTY_S)
        self.overrides = Overrides(graph.edge_time_s)
        self._build()

    def _build(self) -> None:
        import pandana
        import pandas as pd

        g = self.graph
        weights = np.where(np.isfinite(self.overrides.weights()), self.overrides.weights(), 1e7)
        self.net = pandana.Network(pd.Series(g.node_lon), pd.Series(g.node_lat), pd.Series(g.edge_src),
                                   pd.Series(g.edge_dst), pd.DataFrame({"time": weights}), twoway=False)

    def rank(self, target, origins) -> list[float | None]:
        from routing.eta import entry_points, exit_points, same_edge

        g, w = self.graph, self.overrides.weights()
        t = self.snapper.snap(target.lat, target.lon)
        snaps = [self.snapper.snap(o.lat, o.lon, getattr(o, "heading_deg", None)) for o in origins]
        entries = entry_points(g, t, w)
        exits = [exit_points(g, s, w) for s in snaps]
        pairs = [(n, m) for points in exits for n, _, _ in points for m, _, _ in entries]
        lengths = self.net.shortest_path_lengths([p[0] for p in pairs], [p[1] for p in pairs], imp_name="time")
        seconds = dict(zip(pairs, lengths))
        entry_s = {n: s for n, s, _ in entries}
        answers = []
        for snap, points in zip(snaps, exits):
            options = [s + seconds[(n, m)] + entry_s[m] for n, s, _ in points for m in entry_s
                       if seconds[(n, m)] < 1e6]
            direct = same_edge(g, snap, t, w)
            if direct is not None:
                options.append(direct[0])
            best = min(options, default=np.inf)
            answers.append(float(best) if best <= MAX_ETA_S else None)
        return answers

    def note_positions(self, origins) -> None:
        """Nothing to prepare: pandana snaps inside the ranking."""

    def close(self, edges: list[int], closure_id: str) -> None:
        self.overrides.add(edges, factor=None, expires_at=None, override_id=closure_id)
        self._build()

    def reopen(self, closure_id: str) -> None:
        self.overrides.remove(closure_id)
        self._build()


def closure_edges(graph, rng: random.Random) -> list[int]:
    """Every edge into or out of a random junction on a major road: the junction is closed."""
    major = [i for i, h in enumerate(graph.highways) if h in ("motorway", "trunk", "primary", "secondary")]
    candidates = np.flatnonzero(np.isin(graph.edge_highway, major) & graph.usable)
    node = int(graph.edge_src[int(rng.choice(candidates.tolist()))])
    out = graph.fwd_edges[graph.fwd_offsets[node]:graph.fwd_offsets[node + 1]]
    into = graph.rev_edges[graph.rev_offsets[node]:graph.rev_offsets[node + 1]]
    return sorted(set(out.tolist()) | set(into.tolist()))


def run_engine(name: str, side: int, minutes: int, out) -> None:
    """The whole churn workload on one engine; puts its result dict on `out`."""
    from dispatch.model import LatLon, MovingFix

    def origin(position) -> LatLon | MovingFix:
        lat, lon, heading = position
        return LatLon(lat, lon) if heading is None else MovingFix(lat, lon, heading)

    graph = load_graph(side)
    started = time.perf_counter()
    engine = PandanaEngine(graph) if name == "pandana" else ServiceEngine(graph, name)
    build_s = time.perf_counter() - started
    fleet, rng = Fleet(graph, seed=2020), random.Random(20)
    oracle = Oracle(graph)
    usable_edges = np.flatnonzero(graph.usable)
    by_capability = {c: [u for u in range(UNITS) if fleet.capability[u] == c] for c, _ in CAPABILITIES}
    rank_ms, rank_cpu_ms, single_ms, delays, per_minute = [], [], [], [], []
    max_err, checks, cpu_total, positions_cpu = 0.0, 0, 0.0, 0.0
    open_closure: str | None = None
    pending_event: float | None = None
    for second in range(minutes * 60):
        fleet.step()
        if second % CLOSURE_EVERY_S == CLOSURE_EVERY_S // 2:  # at 30 s, 90 s, ...: add, then remove
            cpu0 = time.process_time()
            pending_event = time.perf_counter()
            if open_closure is None:
                open_closure = f"churn-{second}"
                engine.close(closure_edges(graph, rng), open_closure)
            else:
                engine.reopen(open_closure)
                open_closure = None
            cpu_total += time.process_time() - cpu0
        positions = [fleet.position(u) for u in range(UNITS)]
        cpu0 = time.process_time()  # the second's AVL fixes reach routing (off the rankings' path, CPU counted)
        engine.note_positions([origin(p) for p in positions])
        positions_cpu += time.process_time() - cpu0
        for k in range(INCIDENTS_PER_S):
            edge = int(usable_edges[rng.randrange(len(usable_edges))])
            lat, lon, _ = point_on_edge(graph, edge, rng.random())
            capability = rng.choice([c for c, _ in CAPABILITIES])
            units = by_capability[capability]
            origins = [origin(positions[u]) for u in units]
            target = LatLon(lat, lon)
            cpu0, t0, own0 = time.process_time(), time.perf_counter(), time.thread_time()
            etas = engine.rank(target, origins)
            t1, own1 = time.perf_counter(), time.thread_time()
            cpu_total += time.process_time() - cpu0
            rank_ms.append((t1 - t0) * 1000)
            rank_cpu_ms.append((own1 - own0) * 1000)
            check = pending_event is not None or (second % 60 in (5, 25, 45) and k == 0)
            if pending_event is not None:
                delays.append(t1 - pending_event)
                pending_event = None
            if check:
                weights = graph.edge_time_s.copy()
                if open_closure is not None:
                    weights[engine_closed_edges(engine, open_closure)] = np.inf
                oracle.set_weights(weights)
                snapper = engine.snapper
                exact = oracle.etas(snapper.snap(lat, lon),
                                    [snapper.snap(o.lat, o.lon, getattr(o, "heading_deg", None)) for o in origins])
                checks += 1
                for got, want in zip(etas, exact):
                    if (got is None) != (want is None):
                        max_err = math.inf
                    elif got is not None:
                        max_err = max(max_err, abs(got - want))
        mover = fleet.moving[second % len(fleet.moving)]  # one cold single-origin query a second
        cpu0, t0 = time.process_time(), time.perf_counter()
        engine.rank(LatLon(*positions[(mover + 1) % UNITS][:2]), [origin(positions[mover])])
        single_ms.append((time.perf_counter() - t0) * 1000)
        cpu_total += time.process_time() - cpu0
        if second % 60 == 59:
            minute_ms = rank_ms[-60 * INCIDENTS_PER_S:]
            per_minute.append({"minute": second // 60 + 1, "rank_p50_ms": round(statistics.median(minute_ms), 3),
                               "rank_p99_ms": round(percentile(minute_ms, 0.99), 3),
                               "load_avg_1m": round(os.getloadavg()[0], 2)})
    out.put({
        "mode": "churn", "engine": name, "chosen": name == server_engine(), "nodes": graph.node_count,
        "edges": graph.edge_count, "units": UNITS, "moving_pct": round(100 * len(fleet.moving) / UNITS),
        "minutes": minutes, "rankings": len(rank_ms),
        "rank_p50_ms": round(statistics.median(rank_ms), 3), "rank_p99_ms": round(percentile(rank_ms, 0.99), 3),
        # the ranking thread's own CPU time: what a ranking costs, less what the machine's load adds to the wall
        "rank_cpu_p50_ms": round(statistics.median(rank_cpu_ms), 3),
        "rank_cpu_p99_ms": round(percentile(rank_cpu_ms, 0.99), 3),
        "single_p50_ms": round(statistics.median(single_ms), 3),
        "closure_delay_s": round(max(delays), 3) if delays else None,
        "max_abs_err_s": round(max_err, 4) if math.isfinite(max_err) else "inf", "oracle_checks": checks,
        "cpu_s_per_min": round((cpu_total + positions_cpu) / minutes, 2),
        "positions_cpu_s_per_min": round(positions_cpu / minutes, 2), "build_s": round(build_s, 2),
        "peak_mb": round(peak_mb(), 1),
        "load_avg_1m": round(os.getloadavg()[0], 2), "per_minute": per_minute,
    })


def engine_closed_edges(engine, closure_id: str) -> list[int]:
    """The edge ids of an engine's closure (to give the oracle the same weights)."""
    overrides = engine.service.overrides if isinstance(engine, ServiceEngine) else engine.overrides
    return [e for o in overrides.active() if o.id == closure_id for e in o.edges]


def available_engines() -> list[str]:
    """The engines whose packages import here (pandana and routingkit-cch are optional)."""
    from routing.cch import cch_available
    from routing.etree import etree_available

    names = (["etree"] if etree_available() else []) + ["dijkstra-trees"]
    if cch_available():
        names += ["cch", "cch-paths", "cch+trees"]
    try:
        import pandana  # noqa: F401
        names.append("pandana")
    except ImportError:
        pass
    return names


def churn(side: int, minutes: int, engines: list[str] | None = None) -> list[dict]:
    """Run the churn workload once per engine, each in a fresh process; one result dict per engine."""
    context = multiprocessing.get_context("spawn")
    results = []
    load_graph(side)  # compile and cache the grid once, outside the measured processes
    for name in engines or available_engines():
        queue = context.Queue()
        process = context.Process(target=run_engine, args=(name, side, minutes, queue))
        process.start()
        results.append(queue.get())
        process.join()
    return results


def print_churn(results: list[dict], as_json: bool) -> None:
    """A table on stderr, then (with --json) one JSON line per engine on stdout."""
    import sys

    columns = ["engine", "chosen", "nodes", "rank_p50_ms", "rank_p99_ms", "single_p50_ms", "closure_delay_s",
               "max_abs_err_s", "cpu_s_per_min", "peak_mb", "build_s"]
    print(" | ".join(f"{c:>15}" for c in columns), file=sys.stderr)
    for r in results:
        print(" | ".join(f"{str(r[c]):>15}" for c in columns), file=sys.stderr)
    if as_json:
        print(flush=True)  # pandana's contraction prints progress to stdout without a final newline
        for r in results:
            print(json.dumps(r))
