"""Derive the gazetteer from whatever OSM extract and POI files are loaded, and find the nearest named road.

Roads: every way with a `highway` tag and a name (name, name:th, name:en, alt_name, int_name, ref as
"ทางหลวง 3"/"route 3"), one place per name, placed at the way vertex nearest the middle of all its vertices.
Landmarks: every named Point feature of the GeoJSON POI files (civic and emergency POIs; duplicates by OSM id
once). Junctions: every road-graph node where two differently named roads meet (nodes of one pair farther apart
than `JUNCTION_CLUSTER_M` are separate junctions). The source key hashes the extract, the POI files and
`GAZETTEER_VERSION` with the normaliser's version, so any change to them rebuilds.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import shapely

from dispatch.model import EARTH_RADIUS_M
from dispatch.places import NORMALISATION_VERSION, PlaceRecord, normalise
from routing.build import file_sha256
from routing.graph import RoadGraph
from routing.snap import Snapper

GAZETTEER_VERSION = 2
JUNCTION_CLUSTER_M = 300.0  # one road pair crossing twice (a loop, a dual carriageway far apart) is two junctions
NAME_TAGS = ("name", "name:th", "name:en", "alt_name", "int_name", "official_name", "short_name", "old_name")
POI_KINDS = {"hospital": "hospital", "clinic": "clinic", "doctors": "clinic", "school": "school",
             "place_of_worship": "temple", "police": "police", "marketplace": "market", "fire_station": "fire"}


def poi_files(osm_file: Path, configured: Sequence[str | Path] = ()) -> list[Path]:
    """The POI files to load: those configured, else every .geojson beside the extract (non-Point features are
    skipped when read, so a roads GeoJSON there does no harm)."""
    if configured:
        return [Path(p) for p in configured]
    return sorted(Path(osm_file).parent.glob("*.geojson"))


def source_key(osm_file: Path, pois: Iterable[Path]) -> str:
    """Hash of the extract, the POI files and the derivation's version: the gazetteer is rebuilt when it changes."""
    parts = [f"v{GAZETTEER_VERSION}.{NORMALISATION_VERSION}", file_sha256(Path(osm_file))]
    parts += [f"{p.name}:{file_sha256(p)}" for p in pois]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(";") if v.strip()]


def _road_kind(name: str) -> str:
    folded = normalise(name)
    return "soi" if folded.startswith(normalise("ซอย")) or folded.startswith("soi") else "road"


def _middle_vertex(coords: np.ndarray) -> tuple[float, float]:
    """The vertex nearest the mean of all vertices: on the road, near its middle."""
    mean = coords.mean(axis=0)
    k = math.cos(math.radians(mean[0]))
    d = (coords[:, 0] - mean[0]) ** 2 + ((coords[:, 1] - mean[1]) * k) ** 2
    lat, lon = coords[int(np.argmin(d))]
    return float(lat), float(lon)


def graph_road_names(graph: RoadGraph) -> set[str]:
    """Every single road name the compiled graph carries (joined names split)."""
    names = set()
    for th, en in graph.names:
        for part in (th or "").split(" / ") + (en or "").split(" / "):
            if part:
                names.add(part)
    return names


def road_records(osm_file: Path, graph: RoadGraph | None) -> list[PlaceRecord]:
    """One place per road name in the extract, with every alias its ways carry."""
    import osmium

    coords: dict[str, list[tuple[float, float]]] = defaultdict(list)
    aliases: dict[str, dict[str, None]] = defaultdict(dict)
    english: dict[str, str] = {}
    ways = osmium.FileProcessor(str(osm_file)).with_locations().with_filter(osmium.filter.KeyFilter("highway"))
    for way in ways:
        if not way.is_way():
            continue
        tags = {k: way.tags.get(k) for k in (*NAME_TAGS, "ref")}
        primary = tags["name"] or tags["name:th"] or tags["name:en"]
        if not primary:
            continue
        for tag in NAME_TAGS:
            for value in _split(tags[tag]):
                aliases[primary][value] = None
        for ref in _split(tags["ref"]):
            for template in ("ทางหลวง {}", "ทางหลวงหมายเลข {}", "route {}", "highway {}"):
                aliases[primary][template.format(ref)] = None
        if tags["name:en"] or tags["int_name"]:
            english.setdefault(primary, tags["name:en"] or tags["int_name"])
        for node in way.nodes:
            if node.location.valid():
                coords[primary].append((node.location.lat, node.location.lon))
    in_graph = graph_road_names(graph) if graph is not None else set()
    records = []
    for primary, points in coords.items():
        lat, lon = _middle_vertex(np.array(points))
        records.append(PlaceRecord(kind=_road_kind(primary), name=primary, name_en=english.get(primary), lat=lat,
                                   lon=lon, source="osm_roads", names=list(aliases[primary]),
                                   in_road_graph=primary in in_graph))
    return records


def poi_records(paths: Iterable[Path]) -> list[PlaceRecord]:
    """Named Point features of GeoJSON files (OSM tags as properties), once per OSM id."""
    records, seen = [], set()
    for path in paths:
        try:
            features = json.loads(Path(path).read_text(encoding="utf-8")).get("features") or []
        except (OSError, ValueError, AttributeError):
            continue
        for f in features:
            props, geometry = f.get("properties") or {}, f.get("geometry") or {}
            if geometry.get("type") != "Point":
                continue
            names = [v for tag in NAME_TAGS for v in _split(props.get(tag))]
            osm_id = props.get("id") or f.get("id")
            if not names or (osm_id and osm_id in seen):
                continue
            seen.add(osm_id)
            lon, lat = geometry["coordinates"][:2]
            kind = POI_KINDS.get(props.get("amenity") or "", props.get("kind") or props.get("amenity") or "place")
            if kind == "place_of_worship" or props.get("religion"):
                kind = "temple" if props.get("religion") in (None, "buddhist") else "worship"
            records.append(PlaceRecord(kind=kind, name=props.get("name") or names[0], name_en=props.get("name:en"),
                                       lat=float(lat), lon=float(lon), source="osm_pois", names=names,
                                       subdistrict=props.get("addr:subdistrict")))
    return records


def junction_records(graph: RoadGraph, roads: Sequence[PlaceRecord]) -> list[PlaceRecord]:
    """A place at every node where two named roads of `roads` meet, named "แยก A ตัด B" / "A / B"."""
    by_name = {r.name: r for r in roads}
    names_at: dict[int, set[str]] = defaultdict(set)
    for edge in range(graph.edge_count):
        index = int(graph.edge_name[edge])
        if index < 0:
            continue
        th, en = graph.names[index]
        for name in (th or en or "").split(" / "):
            if name in by_name:
                names_at[int(graph.edge_src[edge])].add(name)
                names_at[int(graph.edge_dst[edge])].add(name)
    kept: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    records = []
    k = math.radians(1) * EARTH_RADIUS_M
    for node, names in sorted(names_at.items()):
        if len(names) < 2:
            continue
        lat, lon = float(graph.node_lat[node]), float(graph.node_lon[node])
        ordered = sorted(names)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                near = [p for p in kept[(a, b)]
                        if math.hypot((p[0] - lat) * k, (p[1] - lon) * k * math.cos(math.radians(lat))) < JUNCTION_CLUSTER_M]
                if near:
                    continue
                kept[(a, b)].append((lat, lon))
                ra, rb = by_name[a], by_name[b]
                name_en = f"{ra.name_en} / {rb.name_en}" if ra.name_en and rb.name_en else None
                records.append(PlaceRecord(kind="junction", name=f"แยก {a} ตัด {b}", name_en=name_en, lat=lat,
                                           lon=lon, source="junction", names=[f"แยก {b} ตัด {a}"],
                                           in_road_graph=True, roads=(a, b)))
    return records


def build_records(osm_file: Path, pois: Sequence[Path], graph: RoadGraph | None, *,
                  reachable_m: float = 500.0) -> list[PlaceRecord]:
    """Every place the extract, the POI files and the graph give (roads first: junctions refer to them). A
    landmark is `in_road_graph` when a usable road lies within `reachable_m` of it (routing to it is real)."""
    roads = road_records(osm_file, graph)
    junctions = junction_records(graph, roads) if graph is not None else []
    landmarks = poi_records(pois)
    if graph is not None:
        snapper = Snapper(graph, max_snap_distance_m=reachable_m)
        for place in landmarks:
            place.in_road_graph = not snapper.snap(place.lat, place.lon).off_network
    return [*roads, *landmarks, *junctions]


def fleet_records(hospitals: Iterable, units: Iterable) -> list[PlaceRecord]:
    """The fleet's hospitals and stations (projection rows) as landmarks."""
    records = [PlaceRecord(kind="hospital", name=h.name_th, name_en=h.name_en, lat=h.location.lat,
                           lon=h.location.lon, source="fleet", names=[h.name_th, h.name_en]) for h in hospitals]
    stations = {}
    for u in units:
        stations.setdefault(u.station_id, u)
    records += [PlaceRecord(kind="station", name=u.station_name, name_en=None, lat=u.base.lat, lon=u.base.lon,
                            source="fleet", names=[u.station_name]) for u in stations.values() if u.station_name]
    return records


def nearest_named_road(routing, lat: float, lon: float, max_m: float) -> tuple[str | None, str | None, float] | None:
    """(Thai/local name, English name, distance m) of the nearest named usable road within `max_m` of the point,
    from the routing service's spatial index; None when there is none that close."""
    snapper = routing.snapper
    point = shapely.Point((lon - snapper.lon0) * snapper.kx, (lat - snapper.lat0) * snapper.ky)
    hits = snapper.tree.query(point, predicate="dwithin", distance=max_m)
    best = None
    for index in hits:
        th, en = routing.graph.edge_label(int(snapper.edges[index]))
        if th is None and en is None:
            continue
        d = float(shapely.distance(snapper.lines[index], point))
        if best is None or d < best[2]:
            best = (th, en, d)
    return best
