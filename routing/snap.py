"""Snap a point to the nearest usable road edge: projected onto the edge's polyline, not the nearest node."""
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
    edge: int
    fraction: float  # 0 at the edge's start node, 1 at its end, by length
    lat: float
    lon: float
    distance_m: float  # from the given point to the road
    off_network: bool  # farther than the allowed snapping distance: the ETA is a guess from the nearest road


AT_END_M = 0.5


class Snapper:
    """Spatial index over the usable edges in local metres (shapely STRtree)."""

    def __init__(self, graph: RoadGraph, *, off_network_m: float = 500.0):
        self.graph = graph
        self.off_network_m = off_network_m
        # The graph's local projection as plain floats: scalar maths here is several times cheaper than numpy.
        self.lat0, self.lon0 = graph.origin
        self.ky = math.radians(1) * EARTH_RADIUS_M
        self.kx = self.ky * math.cos(math.radians(self.lat0))
        self.edges = np.flatnonzero(graph.usable)
        lines = []
        for edge in self.edges:
            lat, lon = graph.edge_coords(int(edge))
            x, y = graph.project(lat, lon)
            lines.append(shapely.linestrings(np.column_stack([x, y])))
        self.lines = np.array(lines, dtype=object)
        self.tree = shapely.STRtree(self.lines)

    def snap(self, lat: float, lon: float) -> Snapped:
        """Nearest usable edge; repeated positions (units parked at a station) come from a small cache."""
        lat, lon = check_coordinates(lat, lon)
        return self._snap_cached(round(lat, 6), round(lon, 6))

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one Snapper per graph, lives as long as the process
    def _snap_cached(self, lat: float, lon: float) -> Snapped:
        point = shapely.Point((lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky)
        [index], [distance] = self.tree.query_nearest(point, return_distance=True, all_matches=False)
        line = self.lines[index]
        along = float(shapely.line_locate_point(line, point))
        if along < AT_END_M:  # on the node itself: say so exactly, so every road at that node counts
            along = 0.0
        elif along > line.length - AT_END_M:
            along = float(line.length)
        fraction = float(along / line.length) if line.length > 0 else 0.0
        snapped = shapely.line_interpolate_point(line, along)
        snap_lat, snap_lon = snapped.y / self.ky + self.lat0, snapped.x / self.kx + self.lon0
        return Snapped(int(self.edges[index]), min(max(fraction, 0.0), 1.0), snap_lat, snap_lon,
                       float(distance), float(distance) > self.off_network_m)

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
