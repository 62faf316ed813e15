"""Routes: geometry, duration, distance and turn-by-turn instructions with street names (Thai / English)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from routing.eta import AT_NODE, EtaResult, best_exit, exit_points, require_on_network, reverse_search, same_edge
from routing.graph import RoadGraph
from routing.search import SearchError, SearchSpace
from routing.snap import Snapped

TURNS = [  # (max absolute bearing change in degrees, English, Thai)
    (20, "continue", "ตรงไป"), (60, "bear {side}", "เบี่ยง{side_th}"), (135, "turn {side}", "เลี้ยว{side_th}"),
    (170, "turn sharp {side}", "เลี้ยวหักศอก{side_th}"), (181, "make a U-turn", "กลับรถ"),
]


OUTSIDE_COVERAGE_STEP = (  # the only instruction of a straight-line "route": there are no roads to name
    "outside road coverage: no road data here; time and distance are a straight-line estimate",
    "อยู่นอกพื้นที่ข้อมูลถนน: ไม่มีข้อมูลเส้นทาง เวลาและระยะทางเป็นค่าประมาณจากระยะเส้นตรง")


@dataclass
class Route:
    duration_s: float
    distance_m: float
    geometry: dict  # GeoJSON LineString, [lon, lat]
    instructions: list[dict] = field(default_factory=list)
    origin_snap_m: float = 0.0  # the given origin's distance to its nearest usable road
    destination_snap_m: float = 0.0
    origin_off_network: bool = False  # outside road coverage (routing/snap.py)
    destination_off_network: bool = False

    @property
    def outside_coverage(self) -> bool:
        """An end is off the network: the geometry is a straight line and the duration a straight-line estimate."""
        return self.origin_off_network or self.destination_off_network

    def to_json(self) -> dict:
        """The route as a JSON-ready dict: duration (s), distance (m), GeoJSON geometry, instructions, coverage and snap
        flags."""
        return {"duration_s": round(self.duration_s, 1), "distance_m": round(self.distance_m, 1),
                "geometry": self.geometry, "instructions": self.instructions,
                "outside_coverage": self.outside_coverage,
                "eta_source": "straight_line" if self.outside_coverage else "road",
                "snap_distance_m": round(max(self.origin_snap_m, self.destination_snap_m), 1),
                "origin": {"off_network": self.origin_off_network, "snap_distance_m": round(self.origin_snap_m, 1)},
                "destination": {"off_network": self.destination_off_network,
                                "snap_distance_m": round(self.destination_snap_m, 1)}}


def _bearing(lat1, lon1, lat2, lon2) -> float:
    y = math.sin(math.radians(lon2 - lon1)) * math.cos(math.radians(lat2))
    x = math.cos(math.radians(lat1)) * math.sin(math.radians(lat2)) - math.sin(math.radians(lat1)) * math.cos(
        math.radians(lat2)) * math.cos(math.radians(lon2 - lon1))
    return math.degrees(math.atan2(y, x)) % 360


def _cut(lat: np.ndarray, lon: np.ndarray, start: float, end: float) -> list[tuple[float, float]]:
    """The part of a polyline between two fractions of its length (start ≤ end)."""
    seg = np.hypot(np.diff(lat), np.diff(lon) * math.cos(math.radians(float(lat.mean()))))
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = cum[-1] or 1.0

    def at(f):
        d = f * total
        i = min(int(np.searchsorted(cum, d, side="right")) - 1, len(seg) - 1)
        r = 0.0 if seg[i] == 0 else (d - cum[i]) / seg[i]
        return float(lat[i] + r * (lat[i + 1] - lat[i])), float(lon[i] + r * (lon[i + 1] - lon[i]))

    inner = [(float(a), float(b)) for a, b, c in zip(lat, lon, cum) if start * total < c < end * total]
    return [at(start), *inner, at(end)]


def _turn_text(change: float, name_th: str | None, name_en: str | None) -> tuple[str, str]:
    side, side_th = ("right", "ขวา") if change > 0 else ("left", "ซ้าย")
    for limit, en, th in TURNS:
        if abs(change) < limit:
            verb_en, verb_th = en.format(side=side), th.format(side_th=side_th)
            break
    if not (name_th or name_en):  # an unnamed road: the turn alone ("turn left", not "turn left onto the road")
        return verb_en, verb_th
    return f"{verb_en} onto {name_en or name_th}", f"{verb_th}เข้าสู่ {name_th or name_en}"


def build_route(graph: RoadGraph, space: SearchSpace, weights: np.ndarray, origin: Snapped, target: Snapped,
                max_s: float) -> Route | None:
    """The fastest route from origin to target, or None if none exists within `max_s`. Both must be on the
    network (ValueError otherwise; see `straight_line_route`)."""
    require_on_network(origin, target)
    exits = exit_points(graph, origin, weights)

    def extract(dist, metres, next_edge):
        via_graph = best_exit(exits, dist, metres)
        direct = same_edge(graph, origin, target, weights)
        if direct and (via_graph is None or direct[0] <= via_graph[0]):
            return direct[0], direct[1], []
        if via_graph is None:
            return None
        node, path = via_graph[2], []
        while next_edge[node] >= 0:  # the reverse search's tree points from each node toward the target
            edge = int(next_edge[node])
            path.append(edge)
            node = int(graph.edge_dst[edge])
            if len(path) > graph.node_count:  # a tree has no cycles; one here means corrupt search state
                raise SearchError("the search tree has a cycle; route abandoned")
        return via_graph[0], via_graph[1], [*path, node, via_graph[2]]

    found = reverse_search(graph, space, weights, target, [n for n, _, _ in exits], max_s, extract)
    if found is None or found[0] > max_s:
        return None
    seconds, length, chain = found
    pieces: list[tuple[int, list[tuple[float, float]]]] = []
    if not chain:  # along the shared segment
        edge, o, t = _along_shared(graph, origin, target)
        lat, lon = graph.edge_coords(edge)
        pieces.append((edge, _cut(lat, lon, o, t)))
    else:
        *edges, entry_node, exit_node = chain
        if not (origin.fraction <= AT_NODE and exit_node == int(graph.edge_src[origin.edge])):
            first_edge = origin.edge if int(graph.edge_dst[origin.edge]) == exit_node else int(graph.edge_twin[origin.edge])
            first_fraction = origin.fraction if first_edge == origin.edge else 1 - origin.fraction
            lat, lon = graph.edge_coords(first_edge)
            pieces.append((first_edge, _cut(lat, lon, first_fraction, 1.0)))
        for edge in edges:
            lat, lon = graph.edge_coords(edge)
            pieces.append((edge, list(zip(lat.tolist(), lon.tolist()))))
        if not (target.fraction >= 1 - AT_NODE and entry_node == int(graph.edge_dst[target.edge])):
            last_edge = target.edge if int(graph.edge_src[target.edge]) == entry_node else int(graph.edge_twin[target.edge])
            last_fraction = target.fraction if last_edge == target.edge else 1 - target.fraction
            lat, lon = graph.edge_coords(last_edge)
            pieces.append((last_edge, _cut(lat, lon, 0.0, last_fraction)))
    return Route(float(seconds), float(length), _geometry(pieces), _instructions(graph, pieces),
                 origin_snap_m=origin.distance_m, destination_snap_m=target.distance_m)


def straight_line_route(origin, destination, origin_snap: Snapped, destination_snap: Snapped,
                        estimate: EtaResult) -> Route:
    """What a route request gets when an end is outside road coverage: the straight line between the given
    points (not their nearest roads), the straight-line estimate, and one bilingual step saying so."""
    en, th = OUTSIDE_COVERAGE_STEP
    steps = [{"text_en": en, "text_th": th, "street": None, "street_en": None,
              "distance_m": round(float(estimate.distance_m), 1)},
             _arrive_step()]
    line = [[round(float(p.lon), 6), round(float(p.lat), 6)] for p in (origin, destination)]
    return Route(float(estimate.eta_s), float(estimate.distance_m), {"type": "LineString", "coordinates": line}, steps,
                 origin_snap_m=origin_snap.distance_m, destination_snap_m=destination_snap.distance_m,
                 origin_off_network=origin_snap.off_network, destination_off_network=destination_snap.off_network)


def _along_shared(graph: RoadGraph, origin: Snapped, target: Snapped) -> tuple[int, float, float]:
    """(edge, origin fraction, target fraction ≥ origin fraction) of the drive along the shared segment: the
    origin's edge when the target lies ahead on it, else its twin (the same road driven the other way), as
    `same_edge` chose, so the geometry runs from the origin to the target."""
    t = target.fraction if target.edge == origin.edge else 1 - target.fraction
    twin = int(graph.edge_twin[origin.edge])
    if t >= origin.fraction or twin < 0:
        return origin.edge, origin.fraction, t
    return twin, 1 - origin.fraction, 1 - t


def _geometry(pieces) -> dict:
    coords: list[list[float]] = []
    for _, points in pieces:
        for lat, lon in points:
            point = [round(float(lon), 6), round(float(lat), 6)]
            if not coords or coords[-1] != point:
                coords.append(point)
    return {"type": "LineString", "coordinates": coords}


def _length_m(points) -> float:
    total = 0.0
    for (lat1, lon1), (lat2, lon2) in zip(points, points[1:]):
        dy = (lat2 - lat1) * 111_195
        dx = (lon2 - lon1) * 111_195 * math.cos(math.radians(lat1))
        total += math.hypot(dx, dy)
    return total


def _instructions(graph: RoadGraph, pieces) -> list[dict]:
    """One instruction per change of street; the turn is judged from the bearings where the streets meet."""
    steps: list[dict] = []
    previous_end_bearing = None
    for edge, points in pieces:
        name_th, name_en = graph.edge_label(edge)
        street = name_th or name_en
        distance = _length_m(points)
        if len(points) >= 2:
            start_bearing = _bearing(*points[0], *points[1])
            end_bearing = _bearing(*points[-2], *points[-1])
        else:
            start_bearing = end_bearing = previous_end_bearing or 0.0
        if steps and steps[-1]["street"] == street:
            steps[-1]["distance_m"] += distance
        else:
            if not steps:
                en = f"head out on {name_en or name_th}" if street else "head out"
                th = f"ออกตัวไปตาม {name_th or name_en}" if street else "ออกเดินทาง"
            else:
                change = (start_bearing - previous_end_bearing + 540) % 360 - 180
                en, th = _turn_text(change, name_th, name_en)
            steps.append({"text_en": en, "text_th": th, "street": street, "street_en": name_en,
                          "distance_m": distance})
        previous_end_bearing = end_bearing
    for step in steps:
        step["distance_m"] = round(float(step["distance_m"]), 1)
    steps.append(_arrive_step())
    return steps


def _arrive_step() -> dict:
    return {"text_en": "arrive at the destination", "text_th": "ถึงจุดหมาย", "street": None, "street_en": None,
            "distance_m": 0.0}
