"""A synthetic road network for simulations and tests: a street grid split by a river with few bridges, faster
arterials, and one-way streets. Built as an osmnx-style graph and compiled like a real extract.
"""
from __future__ import annotations

import math

import networkx as nx
import numpy as np

from routing.build import add_junction_delays, compile_graph
from routing.graph import RoadGraph
from routing.speeds import JunctionDelays

M_PER_DEG_LAT = 111_320.0


def river_grid(*, width_km: float = 24.0, height_km: float = 16.0, spacing_m: float = 400.0,
               river_km: float | None = None, bridges_km: tuple[float, ...] = (2.0, 14.0),
               arterial_every: int = 5, local_kmh: float = 30.0, arterial_kmh: float = 60.0,
               oneway_every: int = 3, origin: tuple[float, float] = (13.0, 101.2),
               junction_delays: JunctionDelays | None = None) -> RoadGraph:
    """A `width_km` x `height_km` grid of streets `spacing_m` apart, south-west corner at `origin` (lat, lon).

    A river runs north-south just east of `river_km` from the west edge (the middle by default); only the east-west
    streets nearest to `bridges_km` (from the south edge) cross it. Every `arterial_every`-th street is an
    arterial; every `oneway_every`-th other north-south street is one-way, alternating north and south.
    `junction_delays`: delays at junctions as a real extract gets them (routing/build.py); None: free junctions.
    """
    lat0, lon0 = origin
    m_per_deg_lon = M_PER_DEG_LAT * math.cos(math.radians(lat0))
    cols, rows = int(width_km * 1000 // spacing_m) + 1, int(height_km * 1000 // spacing_m) + 1
    # the river runs between two north-south streets, so no street sits on it
    river_x = (math.floor((river_km if river_km is not None else width_km / 2) * 1000 / spacing_m) + 0.5) * spacing_m
    bridge_rows = {round(b * 1000 / spacing_m) for b in bridges_km}
    G = nx.MultiDiGraph(crs="epsg:4326")
    for i in range(cols):
        for j in range(rows):
            G.add_node(i * rows + j, x=lon0 + i * spacing_m / m_per_deg_lon, y=lat0 + j * spacing_m / M_PER_DEG_LAT)

    def road(a: int, b: int, arterial: bool, name: str, both_ways: bool = True, northward: bool = True) -> None:
        kmh = arterial_kmh if arterial else local_kmh
        data = {"length": spacing_m, "travel_time": spacing_m / (kmh / 3.6), "name": name,
                "highway": "primary" if arterial else "residential"}
        if both_ways or northward:
            G.add_edge(a, b, **data)
        if both_ways or not northward:
            G.add_edge(b, a, **data)

    for i in range(cols):
        for j in range(rows):
            node = i * rows + j
            if j + 1 < rows:  # north-south street number i
                arterial = i % arterial_every == 0
                oneway = not arterial and i % oneway_every == 0
                road(node, node + 1, arterial, f"Street {i}", both_ways=not oneway, northward=(i // oneway_every) % 2 == 0)
            if i + 1 < cols:  # east-west avenue number j
                crosses = i * spacing_m < river_x <= (i + 1) * spacing_m
                if not crosses or j in bridge_rows:
                    road(node, node + rows, j % arterial_every == 0 or j in bridge_rows, f"Avenue {j}")
    if junction_delays is not None:
        add_junction_delays(G, junction_delays)
    return compile_graph(G, {"source": "synthetic river grid", "width_km": width_km, "height_km": height_km,
                             "river_km": river_x / 1000, "bridges_km": list(bridges_km)})


def grid_point(graph: RoadGraph, x_km: float, y_km: float) -> tuple[float, float]:
    """(lat, lon) of a point `x_km` east and `y_km` north of the grid's south-west corner."""
    lat0, lon0 = float(graph.node_lat.min()), float(graph.node_lon.min())
    return lat0 + y_km * 1000 / M_PER_DEG_LAT, lon0 + x_km * 1000 / (M_PER_DEG_LAT * math.cos(math.radians(lat0)))


def grid_km(graph: RoadGraph) -> tuple[np.ndarray, np.ndarray]:
    """(x_km, y_km) of every node east and north of the grid's south-west corner: the inverse of `grid_point`."""
    lat0, lon0 = float(graph.node_lat.min()), float(graph.node_lon.min())
    km_per_deg_lat = M_PER_DEG_LAT / 1000
    return (graph.node_lon - lon0) * km_per_deg_lat * np.cos(np.radians(lat0)), (graph.node_lat - lat0) * km_per_deg_lat
