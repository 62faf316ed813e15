"""One-to-many ETAs: one reverse Dijkstra from the incident gives every unit's road ETA and distance.

The incident and each unit are snapped onto edges; the partial edges at both ends count. The search runs over
the reversed graph from the incident's entry points and stops once every unit's exit node is settled, or at
`max_eta_s`. A unit it cannot reach within that bound gets `eta_s=None` (never infinity in JSON).

A pair with either end outside road coverage (off the network, see routing/snap.py) never goes through the
graph: it gets a `StraightLine` estimate, flagged `outside_coverage` with `eta_source == "straight_line"`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from dispatch.model import distance_m as great_circle_m
from routing.graph import RoadGraph
from routing.search import SearchSpace
from routing.snap import Snapped

ROAD, STRAIGHT_LINE = "road", "straight_line"  # the two values of `eta_source`


class EtaResult(NamedTuple):  # a tuple: cheap enough to make fifty per query
    eta_s: float | None  # None: unreachable, or beyond max_eta_s
    distance_m: float | None  # by road, or the straight-line estimate's distance (detour included)
    reachable: bool  # a road route was found; False for a straight-line estimate, which knows no road
    outside_coverage: bool  # an end is off the road network: eta_s is a straight-line estimate, not a road ETA
    snap_distance_m: float = 0.0  # the farther of the two ends from its nearest usable road

    @property
    def eta_source(self) -> str:
        """Where eta_s comes from: "road", or "straight_line" outside road coverage (never routed)."""
        return STRAIGHT_LINE if self.outside_coverage else ROAD

    def to_json(self) -> dict:
        return {"eta_s": None if self.eta_s is None else round(self.eta_s, 1),
                "distance_m": None if self.distance_m is None else round(self.distance_m, 1),
                "reachable": self.reachable, "outside_coverage": self.outside_coverage,
                "eta_source": self.eta_source, "snap_distance_m": round(self.snap_distance_m, 1)}


@dataclass(frozen=True)
class StraightLine:
    """The estimate for a pair outside road coverage: great-circle distance x `detour_factor`, driven at
    `speed_kmh` (the reasons for the defaults are with `config.Config.straight_line_speed_kmh`).

    It is not cut at `max_eta_s`: that bound limits graph searches, and a point outside coverage still needs its
    units ordered when every one of them is far. Raises ValueError for a speed not above 0 or a factor below 1.
    """

    speed_kmh: float = 40.0
    detour_factor: float = 1.4

    def __post_init__(self):
        if not self.speed_kmh > 0:
            raise ValueError(f"straight-line speed must be positive km/h, not {self.speed_kmh!r}")
        if not self.detour_factor >= 1:
            raise ValueError(f"detour factor must be at least 1, not {self.detour_factor!r}")

    def estimate(self, origin, target, snap_distance_m: float) -> EtaResult:
        """From `origin` to `target` (objects with .lat/.lon, the given positions, not snapped ones)."""
        metres = great_circle_m(origin, target) * self.detour_factor
        return EtaResult(metres / (self.speed_kmh / 3.6), metres, False, True, snap_distance_m)


UNREACHABLE = EtaResult(None, None, False, False)
AT_NODE = 1e-9  # a snapped fraction this close to 0 or 1 is the node itself


def require_on_network(*points: Snapped) -> None:
    """ValueError if any point is off the network: routing it would snap it to the graph's edge after all."""
    if any(p.off_network for p in points):
        raise ValueError("a point outside road coverage cannot be routed; use a straight-line estimate")


def entry_points(graph: RoadGraph, target: Snapped, weights: np.ndarray) -> list[tuple[int, float, float]]:
    """(node, seconds, metres) from which the target point is reached by driving the rest of its edge."""
    points = []
    edge, twin = target.edge, int(graph.edge_twin[target.edge])
    if target.fraction >= 1 - AT_NODE:  # exactly at the end node: every road into that node reaches it
        points.append((int(graph.edge_dst[edge]), 0.0, 0.0))
    if np.isfinite(weights[edge]):
        points.append((int(graph.edge_src[edge]), target.fraction * weights[edge],
                       target.fraction * graph.edge_length_m[edge]))
    if twin >= 0 and np.isfinite(weights[twin]):
        points.append((int(graph.edge_src[twin]), (1 - target.fraction) * weights[twin],
                       (1 - target.fraction) * graph.edge_length_m[twin]))
    return points


def exit_points(graph: RoadGraph, origin: Snapped, weights: np.ndarray) -> list[tuple[int, float, float]]:
    """(node, seconds, metres) reached first when leaving the origin point along its edge (either way if two-way;
    backwards with the origin's U-turn cost when it is a moving unit snapped with its heading)."""
    points = []
    edge, twin = origin.edge, int(graph.edge_twin[origin.edge])
    if origin.fraction <= AT_NODE:  # exactly at the start node: every road out of that node is open to it
        points.append((int(graph.edge_src[edge]), 0.0, 0.0))
    if np.isfinite(weights[edge]):
        points.append((int(graph.edge_dst[edge]), (1 - origin.fraction) * weights[edge],
                       (1 - origin.fraction) * graph.edge_length_m[edge]))
    if twin >= 0 and np.isfinite(weights[twin]):  # backwards: a moving unit turns around first
        points.append((int(graph.edge_dst[twin]), origin.fraction * weights[twin] + origin.uturn_s,
                       origin.fraction * graph.edge_length_m[twin]))
    return points


def same_edge(graph: RoadGraph, origin: Snapped, target: Snapped, weights: np.ndarray) -> tuple[float, float] | None:
    """(seconds, metres) when the origin reaches the target without leaving their shared road segment."""
    edge, twin = origin.edge, int(graph.edge_twin[origin.edge])
    if target.edge == edge:
        t = target.fraction
    elif twin >= 0 and target.edge == twin:
        t = 1 - target.fraction  # the target's position measured along the origin's edge
    else:
        return None
    options = []
    if t >= origin.fraction and np.isfinite(weights[edge]):
        options.append(((t - origin.fraction) * weights[edge], (t - origin.fraction) * graph.edge_length_m[edge]))
    if twin >= 0 and t <= origin.fraction and np.isfinite(weights[twin]):
        options.append(((origin.fraction - t) * weights[twin] + origin.uturn_s,
                        (origin.fraction - t) * graph.edge_length_m[twin]))
    return min(options) if options else None


def reverse_search(graph: RoadGraph, space: SearchSpace, weights: np.ndarray, target: Snapped, goals: list[int],
                   max_eta_s: float, extract):
    """Run the bounded reverse search from the target's entry points; `extract(dist, metres, next_edge)`."""
    sources = entry_points(graph, target, weights)
    if not sources:
        return extract(None, None, None)
    return space.run(graph.rev_offsets, graph.rev_targets, graph.rev_edges, weights, graph.edge_length_m,
                     sources, goals, max_eta_s, extract)


def best_exit(exits, dist, metres) -> tuple[float, float, int] | None:
    """(seconds, metres, exit node) of the cheapest way out of the origin's edge toward the target."""
    best = None
    for node, seconds, length in exits:
        if dist is not None and np.isfinite(dist[node]):
            candidate = (seconds + float(dist[node]), length + float(metres[node]), node)
            best = candidate if best is None or candidate[0] < best[0] else best
    return best


def answers(graph: RoadGraph, weights: np.ndarray, target: Snapped, origins: list[Snapped], exits: list,
            dist, metres, max_eta_s: float) -> list[EtaResult]:
    """Each origin's ETA from its exit points (`exit_points`) and the seconds and metres from each exit node to
    the target (`dist[node]`, `metres[node]`: arrays, or mappings holding every exit node; None: no search), or
    along the road both share; beyond `max_eta_s` or unreachable: no ETA."""
    results = []
    for origin, points in zip(origins, exits):
        snap_m = max(origin.distance_m, target.distance_m)
        options = [o for o in (best_exit(points, dist, metres), same_edge(graph, origin, target, weights)) if o]
        if not options:
            results.append(EtaResult(None, None, False, False, snap_m))
            continue
        seconds, length = min(options, key=lambda o: o[0])[:2]
        if seconds > max_eta_s:
            results.append(EtaResult(None, None, False, False, snap_m))
        else:
            results.append(EtaResult(float(seconds), float(length), True, False, snap_m))
    return results


def etas_to(graph: RoadGraph, space: SearchSpace, weights: np.ndarray, target: Snapped, origins: list[Snapped],
            max_eta_s: float) -> list[EtaResult]:
    """Every origin's road ETA to the target, in one search. Every point must be on the network (ValueError
    otherwise): off-network pairs get a `StraightLine` estimate from the caller, never a road answer."""
    require_on_network(target, *origins)
    exits = [exit_points(graph, o, weights) for o in origins]
    goals = sorted({node for points in exits for node, _, _ in points})

    def extract(dist, metres, _next_edge):
        return answers(graph, weights, target, origins, exits, dist, metres, max_eta_s)

    return reverse_search(graph, space, weights, target, goals, max_eta_s, extract)


class UnitTrees:
    """Forward shortest-path trees from positions that keep coming back (units parked at their stations).

    A position seen twice at the same snapped spot gets its own tree (one forward search, bounded by the ETA
    limit); after that an incident costs a few array reads per such unit instead of a graph search. Trees are
    keyed by the weights in force, so a closure or slow-down starts afresh. Positions seen once (moving units)
    go through the one reverse search instead.
    """

    MEMORY_BUDGET_BYTES = 128 * 2**20  # a tree is two float32 per node: ~1,600 trees on the city graph

    def __init__(self, graph: RoadGraph, *, max_trees: int | None = None):
        self.graph = graph
        per_tree = 8 * max(1, len(graph.fwd_offsets) - 1)
        self.max_trees = max_trees or max(64, self.MEMORY_BUDGET_BYTES // per_tree)
        self._trees: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._seen: dict[tuple, int] = {}

    @staticmethod
    def key(origin: Snapped, weights_key) -> tuple:
        return origin.edge, round(origin.fraction, 6), origin.uturn_s, weights_key

    def get(self, origin: Snapped, weights_key) -> tuple[np.ndarray, np.ndarray] | None:
        return self._trees.get(self.key(origin, weights_key))

    def sighted(self, origin: Snapped, weights_key) -> bool:
        """Count a sighting; True exactly once, on the second, when the position deserves a tree."""
        key = self.key(origin, weights_key)
        if key in self._trees:
            return False
        self._seen[key] = self._seen.get(key, 0) + 1
        if len(self._seen) > 100_000:
            self._seen.clear()
        return self._seen.get(key) == 2

    def build(self, space: SearchSpace, weights: np.ndarray, weights_key, origin: Snapped,
              max_eta_s: float) -> tuple[np.ndarray, np.ndarray]:
        """The forward tree from `origin` (one bounded search; no lock needed): pass it to `put`."""
        g = self.graph
        return space.run(g.fwd_offsets, g.fwd_targets, g.fwd_edges, weights, g.edge_length_m,
                         exit_points(g, origin, weights), [], max_eta_s,
                         lambda dist, metres, _: (dist.astype(np.float32), metres.astype(np.float32)))

    def put(self, origin: Snapped, weights_key, tree: tuple[np.ndarray, np.ndarray]) -> None:
        """Keep a built tree (the oldest goes when the memory budget is full)."""
        if len(self._trees) >= self.max_trees:
            self._trees.pop(next(iter(self._trees)))  # oldest first
        self._trees[self.key(origin, weights_key)] = tree

    def note(self, space: SearchSpace, weights: np.ndarray, weights_key, origin: Snapped, max_eta_s: float) -> None:
        """Count a sighting; build the tree on the second one, here and now."""
        if self.sighted(origin, weights_key):
            self.put(origin, weights_key, self.build(space, weights, weights_key, origin, max_eta_s))


def eta_from_tree(graph: RoadGraph, weights: np.ndarray, target: Snapped, origin: Snapped,
                  tree: tuple[np.ndarray, np.ndarray], max_eta_s: float) -> EtaResult:
    dist, metres = tree
    options = [(float(dist[node]) + seconds, float(metres[node]) + length)
               for node, seconds, length in entry_points(graph, target, weights) if np.isfinite(dist[node])]
    direct = same_edge(graph, origin, target, weights)
    if direct:
        options.append(direct)
    snap_m = max(origin.distance_m, target.distance_m)
    if not options or min(options)[0] > max_eta_s:
        return EtaResult(None, None, False, False, snap_m)
    seconds, length = min(options)
    return EtaResult(float(seconds), float(length), True, False, snap_m)
