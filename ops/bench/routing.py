"""Routing benchmark: `python -m ops.bench.routing [--json] [--incidents N] [--side N]`; with `--churn
[--minutes N]` the live-fleet workload of ops/bench/churn.py instead (moving units, closures, one JSON line per
engine); with `--calibration [--graph city|synthetic] [--drives N]` speed learning against simulated drives of
known true speeds (ops/bench/calibration.py: ETA error on held-out drives before and after); with `--build
[--side 550]` the graph build's time and peak memory on a synthetic OSM extract (ops/bench/build.py).

For (a) the real Chon Buri city graph and (b) a deterministic synthetic road-like grid (≥ 200,000 nodes: local
streets, arterials every 10th line, highways every 50th, every third local street one-way), with 50 unit
positions and many random incidents, it measures in one run:
  ours      one-to-many ETA with the 50 units parked (their forward trees cached after the second sighting);
            also reported: the same with no trees, i.e. one bounded reverse search per incident
  networkx  single-source Dijkstra on the reversed osmnx graph (what osmnx users do), fewer samples
  pandana   contraction hierarchies: preprocessing time, then 50→1 shortest_path_lengths per incident
and prints a table, then one JSON line per graph. Each graph runs in its own process so peak memory is its own.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import resource
import statistics
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np

REPO = Path(__file__).resolve().parents[2]
UNITS = 50


def synthetic_graph(side: int) -> nx.MultiDiGraph:
    """A side×side street grid, 100 m spacing, around Chon Buri's latitude."""
    G = nx.MultiDiGraph()
    spacing_deg_lat, spacing_deg_lon = 100 / 111_195, 100 / (111_195 * np.cos(np.radians(13.36)))
    for r in range(side):
        for c in range(side):
            G.add_node(r * side + c, y=13.0 + r * spacing_deg_lat, x=100.8 + c * spacing_deg_lon)

    def kind(line: int) -> tuple[str, float]:
        if line % 50 == 0:
            return "trunk", 90.0
        if line % 10 == 0:
            return "primary", 60.0
        return "residential", 30.0

    def add(u, v, highway, kmh, name):
        G.add_edge(u, v, length=100.0, travel_time=100.0 / (kmh / 3.6), highway=highway, name=name)

    for r in range(side):
        highway, kmh = kind(r)
        one_way = highway == "residential" and r % 3 == 0
        for c in range(side - 1):
            u, v = r * side + c, r * side + c + 1
            if one_way and r % 2:
                add(v, u, highway, kmh, f"Row {r}")
            else:
                add(u, v, highway, kmh, f"Row {r}")
                if not one_way:
                    add(v, u, highway, kmh, f"Row {r}")
    for c in range(side):
        highway, kmh = kind(c)
        for r in range(side - 1):
            u, v = r * side + c, (r + 1) * side + c
            add(u, v, highway, kmh, f"Column {c}")
            add(v, u, highway, kmh, f"Column {c}")
    return G


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_graph(name: str, incidents: int, side: int, out: multiprocessing.Queue) -> None:
    from dispatch.model import LatLon
    from routing.build import compile_graph, networkx_graph
    from routing.service import RoutingService

    started = time.perf_counter()
    if name == "chonburi_city":
        G = networkx_graph(REPO / "data" / "osm" / "chonburi_city_roads.osm.pbf", REPO / "var" / "cache")
    else:
        G = synthetic_graph(side)
    graph = compile_graph(G)
    service = RoutingService(graph, max_eta_s=10_800, workers=1)
    build_s = time.perf_counter() - started
    nodes = list(G.nodes)
    usable = np.unique(graph.edge_src[graph.usable])
    rng = random.Random(1669)

    def at(node: int) -> LatLon:
        return LatLon(float(graph.node_lat[node]), float(graph.node_lon[node]))

    unit_nodes = [int(n) for n in rng.sample(list(usable), UNITS)]
    units = [at(n) for n in unit_nodes]
    service.etas_to_sync(at(int(usable[0])), units)  # warm the snap cache for the parked units
    incident_nodes = [int(rng.choice(usable)) for _ in range(incidents)]

    # Cold: every query is one bounded reverse search (units seen once, e.g. all moving).
    cold = RoutingService(graph, max_eta_s=10_800, workers=1, unit_trees=False)
    cold_ms = []
    for node in incident_nodes[:200]:
        t0 = time.perf_counter()
        cold.etas_to_sync(at(node), units)
        cold_ms.append((time.perf_counter() - t0) * 1000)

    service.etas_to_sync(at(int(usable[1])), units)  # second sighting of the parked units: their trees are built
    service.wait_for_trees()  # with the CCH they are built in the background
    ours_ms, ours_results = [], []
    for node in incident_nodes:
        t0 = time.perf_counter()
        ours_results.append(service.etas_to_sync(at(node), units))
        ours_ms.append((time.perf_counter() - t0) * 1000)

    reversed_view = G.reverse(copy=False)
    nx_samples = 50 if graph.node_count < 50_000 else 5
    nx_ms, max_err = [], 0.0
    for node, ours in zip(incident_nodes[:nx_samples], ours_results[:nx_samples]):
        t0 = time.perf_counter()
        lengths = nx.single_source_dijkstra_path_length(reversed_view, nodes[node], weight="travel_time")
        nx_ms.append((time.perf_counter() - t0) * 1000)
        for unit_node, result in zip(unit_nodes, ours):
            expected = lengths.get(nodes[unit_node])
            if expected is None:
                continue
            if result.eta_s is None:
                max_err = float("inf")
            else:
                max_err = max(max_err, abs(result.eta_s - expected))

    pandana_ms, pandana_prep_s, pandana_note = None, None, None
    try:
        import pandas as pd
        import pandana

        t0 = time.perf_counter()
        net = pandana.Network(pd.Series(graph.node_lon), pd.Series(graph.node_lat),
                              pd.Series(graph.edge_src), pd.Series(graph.edge_dst),
                              pd.DataFrame({"time": graph.edge_time_s}), twoway=False)
        pandana_prep_s = time.perf_counter() - t0
        samples = []
        for node in incident_nodes[: min(200, incidents)]:
            t0 = time.perf_counter()
            net.shortest_path_lengths(unit_nodes, [node] * UNITS, imp_name="time")
            samples.append((time.perf_counter() - t0) * 1000)
        pandana_ms = statistics.median(samples)
    except Exception as exc:  # report, don't fail: the other figures still stand
        pandana_note = f"{type(exc).__name__}: {exc}"[:200]

    ours_p50 = statistics.median(ours_ms)
    networkx_p50 = statistics.median(nx_ms)
    out.put({
        "graph": name, "nodes": graph.node_count, "edges": graph.edge_count,
        "ours_p50_ms": round(ours_p50, 3), "ours_p99_ms": round(percentile(ours_ms, 0.99), 3),
        "ours_reverse_search_p50_ms": round(statistics.median(cold_ms), 3),
        "networkx_p50_ms": round(networkx_p50, 2),
        "pandana_p50_ms": None if pandana_ms is None else round(pandana_ms, 3),
        "pandana_preprocess_s": None if pandana_prep_s is None else round(pandana_prep_s, 2),
        "speedup_vs_networkx": round(networkx_p50 / ours_p50, 1),
        "speedup_vs_pandana": None if pandana_ms is None else round(pandana_ms / ours_p50, 2),
        "max_abs_err_s": round(max_err, 4), "build_s": round(build_s, 2),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "incidents": incidents, "units": UNITS, "networkx_samples": nx_samples,
        "native_search": service.search_engine == "native-c", "engine": service.engine, "pandana_note": pandana_note,
    })


def main() -> None:
    parser = argparse.ArgumentParser(description="routing benchmark")
    parser.add_argument("--json", action="store_true", help="print one JSON line per graph after the table")
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--side", type=int, default=450, help="synthetic grid side (450 → 202,500 nodes)")
    parser.add_argument("--churn", action="store_true", help="moving fleet + closures, one JSON line per engine")
    parser.add_argument("--minutes", type=int, default=3, help="--churn: simulated minutes")
    parser.add_argument("--engines", default=None, help="--churn: comma-separated subset of the engines")
    parser.add_argument("--calibration", action="store_true", help="learn speeds from simulated drives, one JSON line")
    parser.add_argument("--build", action="store_true", help="graph build time and memory on a side x side OSM grid")
    parser.add_argument("--no-reference", action="store_true", help="--build: skip the former osmnx build")
    parser.add_argument("--graph", choices=["city", "synthetic"], default="city", help="--calibration: which graph")
    parser.add_argument("--drives", type=int, default=400, help="--calibration: training drives (half as many held out)")
    args = parser.parse_args()
    if args.build:
        from ops.bench.build import main as build

        build(args.side if args.side != 450 else 550, args.json, reference=not args.no_reference)
        return
    if args.calibration:
        from ops.bench.calibration import main as calibration

        calibration(args.graph, args.drives, args.json)
        return
    if args.churn:
        from ops.bench.churn import churn, print_churn

        print_churn(churn(args.side, args.minutes, args.engines.split(",") if args.engines else None), args.json)
        return
    results = []
    context = multiprocessing.get_context("spawn")
    for name in ("chonburi_city", "synthetic_grid"):
        queue = context.Queue()
        process = context.Process(target=run_graph, args=(name, args.incidents, args.side, queue))
        process.start()
        results.append(queue.get())
        process.join()
    columns = ["graph", "nodes", "edges", "ours_p50_ms", "ours_p99_ms", "networkx_p50_ms", "pandana_p50_ms",
               "speedup_vs_networkx", "speedup_vs_pandana", "max_abs_err_s", "build_s", "peak_mb"]
    print(" | ".join(f"{c:>14}" for c in columns), file=sys.stderr)
    for r in results:
        print(" | ".join(f"{str(r[c]):>14}" for c in columns), file=sys.stderr)
    if args.json:
        for r in results:
            print(json.dumps(r))


if __name__ == "__main__":
    main()
