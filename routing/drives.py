"""Simulated drives with known true speeds: the ground truth that speed learning is tested against.

A "truth" is a `SpeedProfile` whose factors differ from the graph's defaults by class and hour. A drive takes the
truly fastest route at its departure hour; each drive has its own pace (log-normal, `drive_spread`), each
junction its own wait (uniform between none and twice its delay: a signal may be green or red), and it reports a
GPS fix every `fix_every_s` seconds with `gps_error_m` of noise and its heading, like a tablet's AVL.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from routing.graph import RoadGraph
from routing.learn import Fix, fastest_path
from routing.profile import HOURS, SpeedProfile, local_hour
from routing.search import SearchSpace

RUSH_HOURS = {7, 8, 16, 17, 18}  # local
NIGHT_HOURS = {22, 23, 0, 1, 2, 3, 4, 5}
M_PER_DEG = 111_320.0


def _by_hour(day: float, rush: float, night: float) -> list[float]:
    return [rush if h in RUSH_HOURS else night if h in NIGHT_HOURS else day for h in range(HOURS)]


def example_truth(highways: list[str]) -> SpeedProfile:
    """The simulator's truth: speeds that differ from the defaults by class and hour, near them over a day (the
    hours' mean factor is 0.94 for arterials, 0.90 for small streets; the defaults are calibrated to the urban
    ambulance average): arterials lose most at rush hour and run fast at night, small streets (parked cars,
    markets, sois) are slower than the defaults by day and vary less."""
    shapes = {"motorway": (1.0, 0.65, 1.15), "trunk": (0.95, 0.6, 1.15), "primary": (0.95, 0.6, 1.15),
              "secondary": (0.95, 0.65, 1.1), "tertiary": (0.95, 0.7, 1.1)}
    return SpeedProfile({h: _by_hour(*shapes.get(h, (0.85, 0.75, 1.05))) for h in highways}, source="example truth")


def slow_truth(highways: list[str]) -> SpeedProfile:
    """A city where the defaults are plainly wrong: every class slower all day (by 15-45 %), arterials worst at
    rush hour, only arterials at night near the defaults."""
    shapes = {"motorway": (0.95, 0.6, 1.1), "trunk": (0.85, 0.55, 1.05), "primary": (0.8, 0.55, 1.0),
              "secondary": (0.8, 0.6, 0.95), "tertiary": (0.85, 0.65, 0.95)}
    return SpeedProfile({h: _by_hour(*shapes.get(h, (0.7, 0.6, 0.85))) for h in highways}, source="slow truth")


TRUTHS = {"sim": example_truth, "slow": slow_truth}


@dataclass(frozen=True)
class Drive:
    origin: int  # node
    destination: int
    depart: datetime  # UTC
    true_s: float
    fixes: tuple[Fix, ...]


def simulate_drives(graph: RoadGraph, truth: SpeedProfile, count: int, *, seed: int, start: datetime,
                    days: float = 7.0, fix_every_s: float = 5.0, gps_error_m: float = 5.0,
                    drive_spread: float = 0.08, min_km: float = 1.0) -> list[Drive]:
    """`count` drives between random usable nodes at random times over `days` from `start`."""
    rng = random.Random(seed)
    space = SearchSpace(graph.node_count)
    nodes = graph.usable_nodes()
    delay = graph.junction_delays()
    weights_by_hour: dict[int, np.ndarray] = {}
    drives: list[Drive] = []
    while len(drives) < count:
        origin, destination = int(rng.choice(nodes)), int(rng.choice(nodes))
        if _km(graph, origin, destination) < min_km:
            continue
        depart = start + timedelta(seconds=rng.uniform(0, days * 86_400))
        hour = local_hour(depart)
        if hour not in weights_by_hour:
            weights_by_hour[hour] = truth.weights(graph, hour)
        found = fastest_path(graph, space, weights_by_hour[hour], origin, destination)
        if found is None:
            continue
        pace = math.exp(rng.gauss(0, drive_spread))
        durations, elapsed = [], 0.0
        for edge in found[1]:  # each edge at the true speed of the hour the unit enters it
            at_hour = local_hour(depart + timedelta(seconds=elapsed))
            drive_s = (graph.edge_time_s[edge] - delay[edge]) / truth.factor(graph.highways[graph.edge_highway[edge]], at_hour)
            durations.append(drive_s * pace + rng.uniform(0, 2 * delay[edge]))
            elapsed += durations[-1]
        fixes = _fixes(graph, found[1], durations, depart, rng, fix_every_s, gps_error_m)
        drives.append(Drive(origin, destination, depart, float(sum(durations)), tuple(fixes)))
    return drives


def _km(graph: RoadGraph, a: int, b: int) -> float:
    dy = (graph.node_lat[a] - graph.node_lat[b]) * M_PER_DEG
    dx = (graph.node_lon[a] - graph.node_lon[b]) * M_PER_DEG * math.cos(math.radians(graph.node_lat[a]))
    return math.hypot(dx, dy) / 1000


def _fixes(graph: RoadGraph, edges: list[int], durations: list[float], depart: datetime, rng: random.Random,
           every_s: float, error_m: float) -> list[Fix]:
    """A fix each `every_s` along the route: the edge's polyline walked at an even pace over its duration (the
    junction wait at its end included, so the unit stands at the junction for part of it)."""
    fixes, t_edge, next_fix = [], 0.0, 0.0
    for edge, seconds in zip(edges, durations):
        lat, lon = graph.edge_coords(edge)
        x = (lon - lon[0]) * M_PER_DEG * math.cos(math.radians(lat[0]))
        y = (lat - lat[0]) * M_PER_DEG
        along = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
        drive_s = max(seconds, 1e-6)
        while next_fix < t_edge + seconds:
            share = (next_fix - t_edge) / drive_s
            d = share * along[-1]
            i = min(int(np.searchsorted(along, d, side="right")) - 1, len(along) - 2)
            i = max(i, 0)
            heading = math.degrees(math.atan2(x[i + 1] - x[i], y[i + 1] - y[i])) % 360
            p_lat = float(np.interp(d, along, lat)) + rng.gauss(0, error_m) / M_PER_DEG
            p_lon = float(np.interp(d, along, lon)) + rng.gauss(0, error_m) / (M_PER_DEG * math.cos(math.radians(lat[0])))
            fixes.append(Fix(depart + timedelta(seconds=next_fix), p_lat, p_lon, heading))
            next_fix += every_s
        t_edge += seconds
    return fixes


def median_abs_error_pct(graph: RoadGraph, drives: list[Drive], profile: SpeedProfile) -> float:
    """Median over drives of |predicted - true| / true (%), predicting each with `profile` at its departure hour
    (route and seconds from the graph's times under the profile)."""
    space = SearchSpace(graph.node_count)
    weights_by_hour: dict[int, np.ndarray] = {}
    errors = []
    for drive in drives:
        hour = local_hour(drive.depart)
        if hour not in weights_by_hour:
            weights_by_hour[hour] = profile.weights(graph, hour)
        found = fastest_path(graph, space, weights_by_hour[hour], drive.origin, drive.destination)
        if found is not None:
            errors.append(abs(found[0] - drive.true_s) / drive.true_s * 100)
    return float(np.median(errors))
