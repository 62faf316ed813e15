"""Learn a speed profile from AVL tracks: map-match consecutive fixes to road edges, then estimate per-class,
per-hour speed factors against the graph's times.

Matching: each fix is snapped with its heading (routing/snap.py); between two fixes the unit drove the rest of
the first fix's edge, the fastest path between the two edges and the start of the second one. A step whose
model time is far from the time that passed (a GPS jump, a stop at a scene, a gap) is dropped.

Estimating: a step's driving time (the seconds that passed less the junction delays it crossed) is shared among
its pieces of edge in proportion to their expected time under the current factors; the factor of a class and
hour is then (model seconds of its pieces) / (seconds they took), and the sharing is repeated with the new
factors until it settles. An hour with little driving of a class borrows the class's all-day factor; a class
with little driving keeps 1.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from routing.graph import RoadGraph
from routing.profile import FACTOR_RANGE, HOURS, SpeedProfile, local_hour
from routing.search import SearchSpace
from routing.snap import Snapper

MOVING_MPS = 2.0  # slower than this between fixes: parked or crawling at a scene, not a drive
MIN_STEP_S = 30.0  # fixes closer than this are matched as one step
MAX_STEP_S = 120.0  # a longer gap between fixes is not matched (the path between them is a guess)
STEP_TOLERANCE = 2.5  # a step whose model time is this many times off the elapsed time (either way) is dropped
MAX_DETOUR, GPS_SLACK_M = 1.5, 30.0  # a matched path longer than this x the straight line (+ slack) is a mismatch
MIN_CLASS_S = 600.0  # driving seconds a class needs before its factor is learned at all
MIN_HOUR_S = 300.0  # ... and an hour of it before that hour gets its own factor


@dataclass(frozen=True)
class Fix:
    at: datetime  # UTC
    lat: float
    lon: float
    heading_deg: float | None = None


@dataclass(frozen=True)
class Step:
    """One matched interval between two fixes: what the unit drove and how long it took."""

    hour: int  # local hour at its start
    elapsed_s: float
    pieces: tuple[tuple[int, float], ...]  # (edge, share of the edge driven)
    junctions: tuple[int, ...]  # edges whose end junction was crossed


def _metres(a: Fix, b: Fix) -> float:
    return math.hypot((b.lat - a.lat) * 111_320, (b.lon - a.lon) * 111_320 * math.cos(math.radians(a.lat)))


def _bearing(a: Fix, b: Fix) -> float | None:
    dy = b.lat - a.lat
    dx = (b.lon - a.lon) * math.cos(math.radians(a.lat))
    if dx == 0 and dy == 0:
        return None
    return math.degrees(math.atan2(dx, dy)) % 360


class Matcher:
    """Map-matches tracks on one graph (one snapper and search space; not for several threads at once)."""

    def __init__(self, graph: RoadGraph, *, max_snap_distance_m: float = 60.0):
        self.graph = graph
        self.snapper = Snapper(graph, max_snap_distance_m=max_snap_distance_m, uturn_penalty_s=0.0)
        self.space = SearchSpace(graph.node_count)
        self.weights = graph.edge_time_s

    def match(self, fixes: Sequence[Fix]) -> list[Step]:
        """The matched steps of one unit's track (fixes oldest first)."""
        steps = []
        for a, b, heading in self._moving_pairs(fixes):
            sa = self.snapper.snap(a.lat, a.lon, heading[0])
            sb = self.snapper.snap(b.lat, b.lon, heading[1])
            if sa.off_network or sb.off_network:
                continue
            elapsed = (b.at - a.at).total_seconds()
            step = self._between(sa, sb)
            if step is None:
                continue
            pieces, junctions = step
            model = sum(share * self.weights[e] for e, share in pieces)
            if model <= 0 or not (1 / STEP_TOLERANCE <= elapsed / model <= STEP_TOLERANCE):
                continue
            metres = sum(share * self.graph.edge_length_m[e] for e, share in pieces)
            if metres > MAX_DETOUR * _metres(a, b) + GPS_SLACK_M:
                continue  # a fix snapped onto a side street: the path runs there and back
            steps.append(Step(local_hour(a.at), elapsed, tuple(pieces), tuple(junctions)))
        return steps

    def _pairs(self, fixes: Sequence[Fix]):
        """Consecutive fixes at least MIN_STEP_S apart (the ones between are skipped): over a longer step the GPS
        error is a smaller share of the distance driven."""
        i = 0
        while i < len(fixes) - 1:
            j = i + 1
            while j < len(fixes) - 1 and (fixes[j].at - fixes[i].at).total_seconds() < MIN_STEP_S:
                j += 1
            yield fixes[i], fixes[j]
            i = j

    def _moving_pairs(self, fixes: Sequence[Fix]):
        for a, b in self._pairs(fixes):
            elapsed = (b.at - a.at).total_seconds()
            if not 0 < elapsed <= MAX_STEP_S:
                continue
            if _metres(a, b) / elapsed < MOVING_MPS:
                continue
            course = _bearing(a, b)
            yield a, b, (a.heading_deg if a.heading_deg is not None else course,
                         b.heading_deg if b.heading_deg is not None else course)

    def _between(self, sa, sb) -> tuple[list[tuple[int, float]], list[int]] | None:
        g = self.graph
        if sa.edge == sb.edge and sb.fraction >= sa.fraction:
            return [(sa.edge, sb.fraction - sa.fraction)], []
        found = fastest_path(g, self.space, self.weights, int(g.edge_dst[sa.edge]), int(g.edge_src[sb.edge]),
                             limit_s=MAX_STEP_S * STEP_TOLERANCE)
        if found is None:
            return None
        edges = found[1]
        pieces = [(sa.edge, 1 - sa.fraction), *((e, 1.0) for e in edges), (sb.edge, sb.fraction)]
        return [p for p in pieces if p[1] > 0], [sa.edge, *edges]


def fastest_path(graph: RoadGraph, space: SearchSpace, weights: np.ndarray, origin: int, destination: int, *,
                 limit_s: float = math.inf) -> tuple[float, list[int]] | None:
    """(seconds, edges) of the fastest route between two nodes under `weights`; None if unreachable within
    `limit_s`."""
    def walk(dist, _metres, next_edge):
        if not np.isfinite(dist[destination]) or dist[destination] > limit_s:
            return None
        edges, node = [], destination
        while node != origin:
            edge = int(next_edge[node])
            edges.append(edge)
            node = int(graph.edge_src[edge])
        return float(dist[destination]), edges[::-1]

    return space.run(graph.fwd_offsets, graph.fwd_targets, graph.fwd_edges, weights, graph.edge_length_m,
                     [(origin, 0.0, 0.0)], [destination], limit_s, walk)


def learn_profile(graph: RoadGraph, steps: Iterable[Step], *, source: str = "avl", iterations: int = 12,
                  speed_factor: float | None = None) -> SpeedProfile:
    """Per-class, per-hour factors from matched steps (see the module's docstring)."""
    steps = list(steps)
    delay = graph.junction_delays()
    drive = graph.edge_time_s - delay
    classes = len(graph.highways)
    # flatten: piece rows (step index, class, hour, model driving seconds)
    step_of, cls_of, hour_of, model_of = [], [], [], []
    driving = np.zeros(len(steps))
    for i, step in enumerate(steps):
        crossed = sum(float(delay[e]) for e in step.junctions)
        driving[i] = max(step.elapsed_s - crossed, 0.0)
        for edge, share in step.pieces:
            step_of.append(i)
            cls_of.append(int(graph.edge_highway[edge]))
            hour_of.append(step.hour)
            model_of.append(share * float(drive[edge]))
    step_of, cls_of, hour_of, model_of = map(np.asarray, (step_of, cls_of, hour_of, model_of))
    if not len(model_of):
        return SpeedProfile({}, source=source, speed_factor=speed_factor, created_at=_now())
    factors = np.ones((classes, HOURS))
    for _ in range(iterations):
        expected = model_of / factors[cls_of, hour_of]
        total = np.bincount(step_of, weights=expected, minlength=len(steps))
        taken = driving[step_of] * expected / np.where(total[step_of] > 0, total[step_of], 1.0)
        model_sum = np.zeros((classes, HOURS))
        taken_sum = np.zeros((classes, HOURS))
        np.add.at(model_sum, (cls_of, hour_of), model_of)
        np.add.at(taken_sum, (cls_of, hour_of), taken)
        factors = _factors(model_sum, taken_sum)
    learned = {graph.highways[c]: [round(float(f), 4) for f in factors[c]] for c in range(classes)
               if taken_sum[c].sum() >= MIN_CLASS_S}
    observed = {graph.highways[c]: [round(float(s), 1) for s in taken_sum[c]] for c in range(classes)
                if graph.highways[c] in learned}
    return SpeedProfile(learned, source=source, speed_factor=speed_factor, observed_s=observed, created_at=_now())


def _factors(model_sum: np.ndarray, taken_sum: np.ndarray) -> np.ndarray:
    """Factor per class and hour; thin hours take the class's all-day factor, thin classes 1."""
    day = np.where(taken_sum.sum(axis=1) >= MIN_CLASS_S,
                   model_sum.sum(axis=1) / np.maximum(taken_sum.sum(axis=1), 1e-9), 1.0)
    hourly = model_sum / np.maximum(taken_sum, 1e-9)
    factors = np.where(taken_sum >= MIN_HOUR_S, hourly, day[:, None])
    return np.clip(factors, *FACTOR_RANGE)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
