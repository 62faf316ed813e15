"""Speed learning against a known truth: `python -m ops.bench.routing --calibration [--graph city|synthetic]
[--drives N]` (one JSON line per truth).

Simulated drives (routing/drives.py) run at true speeds that differ from the graph's defaults by road class and
hour, each with its own pace and junction waits, reporting GPS fixes every 5 s with 5 m of noise. Two truths:
"sim", the simulator's (around the calibrated defaults over a day, rush hours slow, nights fast), and "slow", a
city where the defaults are 15-45 % too fast. A training set is map-matched and learned from (routing/learn.py); the held-out drives are then predicted
with the defaults and with the learned profile, and the median absolute ETA error of each is reported.
"""
from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from routing.drives import TRUTHS, median_abs_error_pct, simulate_drives
from routing.graph import RoadGraph
from routing.learn import MIN_HOUR_S, Matcher, learn_profile
from routing.profile import HOURS, NEUTRAL

REPO = Path(__file__).resolve().parents[2]
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
TARGET_PCT = 10.0


def bench_graph(name: str) -> RoadGraph:
    """The city graph (built with the server's defaults) or a small synthetic river town with junction delays."""
    if name == "city":
        from routing.build import load_graph

        return load_graph(REPO / "data" / "osm" / "chonburi_city_roads.osm.pbf", REPO / "var" / "cache", progress=False)
    from routing.speeds import JunctionDelays
    from routing.synthetic import river_grid

    return river_grid(width_km=8, height_km=6, spacing_m=300, junction_delays=JunctionDelays())


def calibration(graph: RoadGraph, graph_name: str, *, train: int, test: int, seed: int = 1669,
                truth_name: str = "slow") -> dict:
    """Learn from `train` drives, score on `test` others; the JSON line's fields."""
    truth = TRUTHS[truth_name](graph.highways)
    started = time.perf_counter()
    training = simulate_drives(graph, truth, train, seed=seed, start=START)
    held_out = simulate_drives(graph, truth, test, seed=seed + 1, start=START)
    simulated_s = time.perf_counter() - started
    started = time.perf_counter()
    matcher = Matcher(graph)
    steps = [step for drive in training for step in matcher.match(drive.fixes)]
    profile = learn_profile(graph, steps, source=f"simulated drives ({graph_name}, seed {seed})")
    learn_s = time.perf_counter() - started
    errors = [abs(profile.factor(h, hour) - truth.factor(h, hour)) for h in profile.factors for hour in range(HOURS)
              if profile.observed_s[h][hour] >= MIN_HOUR_S]
    before = median_abs_error_pct(graph, held_out, NEUTRAL)
    after = median_abs_error_pct(graph, held_out, profile)
    return {"mode": "calibration", "graph": graph_name, "truth": truth_name, "nodes": graph.node_count,
            "train_drives": train,
            "test_drives": test, "fixes": sum(len(d.fixes) for d in training), "matched_steps": len(steps),
            "classes_learned": sorted(profile.factors),
            "median_abs_err_pct_before": round(before, 2), "median_abs_err_pct_after": round(after, 2),
            "target_pct": TARGET_PCT, "met": after <= TARGET_PCT,
            "factor_err_median": round(float(np.median(errors)), 3) if errors else None,
            "factor_err_max": round(float(np.max(errors)), 3) if errors else None,
            "simulate_s": round(simulated_s, 2), "learn_s": round(learn_s, 2)}


def main(graph_name: str, drives: int, as_json: bool) -> list[dict]:
    graph = bench_graph(graph_name)
    results = [calibration(graph, graph_name, train=drives, test=max(drives // 2, 20), truth_name=name)
               for name in TRUTHS]
    for result in results:
        report(result, as_json)
    return results


def report(result: dict, as_json: bool) -> None:
    print(f"calibration on {result['graph']} ({result['nodes']} nodes), truth {result['truth']}: "
          f"{result['train_drives']} training drives, "
          f"{result['matched_steps']} matched steps; median abs ETA error on {result['test_drives']} held-out "
          f"drives {result['median_abs_err_pct_before']} % with the defaults, {result['median_abs_err_pct_after']} % "
          f"learned (target ≤ {TARGET_PCT:g} %); factor error median {result['factor_err_median']}, max "
          f"{result['factor_err_max']}", file=sys.stderr)
    if as_json:
        print(json.dumps(result))
