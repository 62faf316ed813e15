"""Snap a point to the nearest usable road edge: projected onto the edge's polyline, not the nearest node.

The graph knows its own extent: a point farther than `max_snap_distance_m` from every usable road is outside road
coverage and is never snapped to the graph's edge (its `Snapped` has no edge); callers answer it with a labelled
straight-line estimate instead (routing/eta.py).

Why distance alone and not also the roads' convex hull: every road lies inside that hull, so a hull grown by
`max_snap_distance_m` holds every point within that distance of a road and adds nothing, while the bare hull
cuts off real places seaward of the outermost road (on the city extract: Aikchol 2 hospital, 137 m from the
Ang Sila-Bang Saen road, and the unit based there).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import shapely

from dispatch.model import EARTH_RADIUS_M
from routing.errors import check_coordinates
from routing.graph import RoadGraph


@dataclass(frozen=True)
class Snapped:
    edge: int  # OFF_NETWORK_EDGE when off_network: there is no road position to route from
    fraction: float  # 0 at the edge's start node, 1 at its end, by length
    lat: float  # the point on the road; the given point itself when off_network
    lon: float
    distance_m: float  # from the given point to the nearest usable road, also when off_network
    off_network: bool  # outside road coverage (farther than the allowed snap distance): never routed
    uturn_s: float = 0.0  # a moving unit's cost to leave against `edge`'s direction (0: parked, either way free)


AT_END_M = 0.5
OFF_NETWORK_EDGE = -1
# With a heading, roads up to this much farther than the nearest one are candidates: the far carriageway of a
# divided road (medians of 5-20 m) plus consumer-GPS error (~5-10 m).
HEADING_SLACK_M = 25.0
HEADING_MATCH_DEG = 90.0  # an edge whose direction is within this of the heading is driven along


class Snapper:
    """Spatial index over the usable edges in local metres (shapely STRtree).

    `max_snap_distance_m`: a point farther than this from every usable road is off the network (see
    `config.Config.max_snap_distance_m` for why 500 m). Raises ValueError unless it is a positive number.
    """

    def __init__(self, graph: RoadGraph, *, max_snap_distance_m: float = 500.0, uturn_penalty_s: float = 0.0):
        if not max_snap_distance_m > 0:
            raise ValueError(f"max_snap_distance_m must be positive, not {max_snap_distance_m!r}")
        if not 0 <= uturn_penalty_s < float("inf"):
            raise ValueError(f"uturn_penalty_s must be a finite number ≥ 0, not {uturn_penalty_s!r}")
        self.graph = graph
        self.uturn_penalty_s = uturn_penalty_s
        self.max_snap_distance_m = max_snap_distance_m
        # The graph's local projection as plain floats: scalar maths here is several times cheaper than numpy.
        self.lat0, self.lon0 = graph.origin
        self.ky = math.radians(1) * EARTH_RADIUS_M
        self.kx = self.ky * math.cos(math.radians(self.lat0))
        self.edges = np.flatnonzero(graph.usable)
        # every usable edge's polyline in one call: its points' indices into the geometry arrays, line by line
        first, after = graph.geom_offsets[self.edges], graph.geom_offsets[self.edges + 1]
        sizes = after - first
        line_of_point = np.repeat(np.arange(len(self.edges)), sizes)
        point = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes) + np.repeat(first, sizes)
        x, y = graph.project(graph.geom_lat[point], graph.geom_lon[point])
        self.lines = shapely.linestrings(np.column_stack([x, y]), indices=line_of_point)
        self.tree = shapely.STRtree(self.lines)

    def snap(self, lat: float, lon: float, heading_deg: float | None = None) -> Snapped:
        """Nearest usable edge, or an off-network answer (no edge) outside road coverage; repeated positions
        (units parked at a station) come from a small cache. Raises InvalidCoordinates for bad input.

        With `heading_deg` (a moving unit's direction of travel, degrees clockwise from north) the edge driven
        along is chosen among those within `HEADING_SLACK_M` of the nearest — the right carriageway of a divided
        road, the right direction of a two-way one — and leaving it backwards costs `uturn_penalty_s`."""
        if not (type(lat) is float and type(lon) is float and -90 <= lat <= 90 and -180 <= lon <= 180):
            lat, lon = check_coordinates(lat, lon)  # the common case (valid floats, NaN fails above) skips the call
        if heading_deg is None or not math.isfinite(heading_deg):
            return self._snap_cached(round(lat, 6), round(lon, 6), None)
        return self._snap_cached(round(lat, 6), round(lon, 6), round(heading_deg % 360, 1))

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one Snapper per graph, lives as long as the process
    def _snap_cached(self, lat: float, lon: float, heading_deg: float | None) -> Snapped:
        point = shapely.Point((lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky)
        [index], [distance] = self.tree.query_nearest(point, return_distance=True, all_matches=False)
        if float(distance) > self.max_snap_distance_m:
            return Snapped(OFF_NETWORK_EDGE, 0.0, lat, lon, float(distance), True)
        uturn_s = 0.0
        if heading_deg is not None:
            index, distance = self._along_heading(point, heading_deg, int(index), float(distance))
            uturn_s = self.uturn_penalty_s
        line = self.lines[index]
        along = float(shapely.line_locate_point(line, point))
        if along < AT_END_M:  # on the node itself: say so exactly, so every road at that node counts
            along = 0.0
        elif along > line.length - AT_END_M:
            along = float(line.length)
        fraction = float(along / line.length) if line.length > 0 else 0.0
        snapped = shapely.line_interpolate_point(line, along)
        snap_lat, snap_lon = snapped.y / self.ky + self.lat0, snapped.x / self.kx + self.lon0
        return Snapped(int(self.edges[index]), min(max(fraction, 0.0), 1.0), snap_lat, snap_lon, float(distance),
                       False, uturn_s)

    def _along_heading(self, point, heading_deg: float, nearest: int, distance: float) -> tuple[int, float]:
        """(index, distance) of the nearest candidate edge whose direction at the point is within
        HEADING_MATCH_DEG of the heading; the nearest edge itself when none is."""
        candidates = self.tree.query(point, predicate="dwithin", distance=distance + HEADING_SLACK_M)
        best = None
        for index in candidates.tolist():
            line = self.lines[index]
            along = float(shapely.line_locate_point(line, point))
            ahead = shapely.line_interpolate_point(line, min(along + 1.0, line.length))
            behind = shapely.line_interpolate_point(line, max(along - 1.0, 0.0))
            bearing = math.degrees(math.atan2(ahead.x - behind.x, ahead.y - behind.y)) % 360
            if abs((bearing - heading_deg + 180) % 360 - 180) <= HEADING_MATCH_DEG:
                gap = float(shapely.distance(line, point))
                if best is None or gap < best[1]:
                    best = (index, gap)
        return best or (nearest, distance)

    def edges_within(self, polygon_wgs84) -> np.ndarray:
        """Edge ids whose geometry intersects a WGS84 polygon (shapely), for closures."""
        coords = np.asarray(polygon_wgs84.exterior.coords)
        x, y = self.graph.project(coords[:, 1], coords[:, 0])
        projected = shapely.Polygon(np.column_stack([x, y]))
        hits = self.tree.query(projected, predicate="intersects")
        found = set(self.edges[hits].tolist())
        # Closing a road closes both directions, including twins outside the usable set.
        found |= {int(self.graph.edge_twin[e]) for e in list(found) if self.graph.edge_twin[e] >= 0}
        return np.array(sorted(found), dtype=np.int64)
