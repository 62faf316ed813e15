"""The compiled road graph: flat numpy arrays, read-only and shared by every request.

Nodes are 0..n-1 with WGS84 coordinates. Edges are directed (a two-way street is two edges, each other's
`twin`), with length (m), travel time (s, junction delay included: `edge_delay_s`), a name and class index, and a polyline. Forward and reverse
adjacency are CSR arrays (`*_offsets[n+1]`, `*_targets`, `*_edges`). `usable[e]` marks edges inside the largest
strongly connected part: only those are snapped to, so every snapped point can reach every other.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from dispatch.model import EARTH_RADIUS_M


@dataclass(eq=False)
class RoadGraph:
    node_lat: np.ndarray
    node_lon: np.ndarray
    edge_src: np.ndarray
    edge_dst: np.ndarray
    edge_length_m: np.ndarray
    edge_time_s: np.ndarray
    edge_name: np.ndarray  # index into names, -1 when unnamed
    edge_highway: np.ndarray  # index into highways
    edge_twin: np.ndarray  # the opposite-direction edge over the same geometry, -1 for one-ways
    usable: np.ndarray
    geom_offsets: np.ndarray  # edge e's polyline is geom_lat/lon[geom_offsets[e]:geom_offsets[e+1]]
    geom_lat: np.ndarray
    geom_lon: np.ndarray
    fwd_offsets: np.ndarray
    fwd_targets: np.ndarray
    fwd_edges: np.ndarray
    rev_offsets: np.ndarray
    rev_targets: np.ndarray
    rev_edges: np.ndarray
    names: list[tuple[str | None, str | None]] = field(default_factory=list)  # (Thai/local name, English name)
    highways: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    edge_delay_s: np.ndarray | None = None  # the junction delay inside edge_time_s (entering edge_dst); None: none

    def junction_delays(self) -> np.ndarray:
        """Seconds of each edge's time spent at the junction it enters (zeros for a graph built without them)."""
        return np.zeros(self.edge_count) if self.edge_delay_s is None else self.edge_delay_s

    @property
    def node_count(self) -> int:
        """Number of graph nodes (intersections and dead ends)."""
        return len(self.node_lat)

    @property
    def edge_count(self) -> int:
        """Number of directed edges."""
        return len(self.edge_src)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min_lat, min_lon, max_lat, max_lon) of all nodes."""
        return (float(self.node_lat.min()), float(self.node_lon.min()), float(self.node_lat.max()),
                float(self.node_lon.max()))

    @property
    def origin(self) -> tuple[float, float]:
        """Centre of the local metric projection used for snapping (the nodes' mean, worked out once: the node
        arrays never change)."""
        cached = self.__dict__.get("_origin")
        if cached is None:
            cached = self.__dict__["_origin"] = (float(self.node_lat.mean()), float(self.node_lon.mean()))
        return cached

    def usable_nodes(self) -> np.ndarray:
        """Ids of the nodes on usable edges (the largest strongly connected part): every one reachable by road."""
        return np.unique(np.concatenate([self.edge_src[self.usable], self.edge_dst[self.usable]]))

    def project(self, lat, lon):
        """WGS84 → local metres (equirectangular around the graph's centre; accurate to ~0.1 % over a province)."""
        lat0, lon0 = self.origin
        k = math.radians(1) * EARTH_RADIUS_M
        return (np.asarray(lon) - lon0) * k * math.cos(math.radians(lat0)), (np.asarray(lat) - lat0) * k

    def unproject(self, x, y):
        """Projected metres (x east, y north of the graph's origin) back to (lat, lon) degrees; arrays in, arrays
        out."""
        lat0, lon0 = self.origin
        k = math.radians(1) * EARTH_RADIUS_M
        return np.asarray(y) / k + lat0, np.asarray(x) / (k * math.cos(math.radians(lat0))) + lon0

    def edge_coords(self, edge: int) -> tuple[np.ndarray, np.ndarray]:
        """The edge's geometry as (lat, lon) degree arrays, from its source to its target."""
        a, b = self.geom_offsets[edge], self.geom_offsets[edge + 1]
        return self.geom_lat[a:b], self.geom_lon[a:b]

    def edge_label(self, edge: int) -> tuple[str | None, str | None]:
        """The edge's street name as (Thai, English); (None, None) for an unnamed road."""
        index = int(self.edge_name[edge])
        return self.names[index] if index >= 0 else (None, None)

    def save(self, path: Path) -> None:
        """Write the compiled graph to `path` (.npz) atomically (temporary file, then rename). OSError if the folder is
        not writable."""
        arrays = {f.name: getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), np.ndarray)}
        text = json.dumps({"names": self.names, "highways": self.highways, "meta": self.meta}, ensure_ascii=False)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")  # one per writer; the rename is atomic
        np.savez(tmp, tables=np.frombuffer(text.encode(), dtype=np.uint8), **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> RoadGraph:
        """Read a graph written by `save` (no pickles). OSError/KeyError/ValueError if the file is missing or not such a
        graph."""
        with np.load(path, allow_pickle=False) as data:
            tables = json.loads(bytes(data["tables"]).decode())
            arrays = {name: data[name] for name in data.files if name != "tables"}
        return cls(**arrays, names=[tuple(n) for n in tables["names"]], highways=tables["highways"],
                   meta=tables["meta"])


def csr(count: int, keys: np.ndarray, values: np.ndarray, edge_ids: np.ndarray):
    """Group (key → value, edge id) pairs into CSR arrays ordered by key."""
    order = np.argsort(keys, kind="stable")
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.add.at(offsets, keys + 1, 1)
    return np.cumsum(offsets), values[order].astype(np.int32), edge_ids[order].astype(np.int32)
