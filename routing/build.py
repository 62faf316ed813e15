"""Build the road graph from any OSM extract (.osm.pbf, .osm, .osm.bz2) and cache it compiled.

OSM → osmium, drivable ways only (`drivable_by_ambulance`) and their nodes, into an unsimplified networkx graph
(`read_drivable_osm`) → simplified, never across a change of class, speed limit or access (`NO_MERGE_ACROSS`,
`simplify`) → travel time per edge (routing/speeds.py) plus the delay of the junction it enters
(`junction_delays`) → `RoadGraph` arrays (`compile_graph`) in one `.npz` file named by the OSM file's SHA-256 and
the build parameters. A later start with the same file loads the cache in well under a second; a changed file
or speed factor rebuilds.

The reader and `simplify` reproduce osmnx's `graph_from_xml` and `simplify_graph` exactly (same nodes, edges,
order, attributes, lengths), about twice as fast and without the XML detour for a .pbf; `networkx_graph(...,
via_osmnx=True)` still builds through osmnx as the reference (tests/routing/test_osm_reader.py, the --build
bench). Docs: docs/routing.md, "Graph build at province scale".

Determinism: osmnx keeps the differing values of merged ways as `list(set(...))`, whose order follows
PYTHONHASHSEED. We never merge across the tags that decide speed and access, so those stay single values; any
other merged attribute (names, refs, OSM ids) is sorted, so the same file gives the same arrays on every run.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import math
import os
from pathlib import Path

import networkx as nx
import numpy as np
from tqdm import tqdm

from routing.graph import RoadGraph, csr
from routing.speeds import (CAR_DEFAULT_KMH, MAJOR_CLASSES, JunctionDelays, highway_class, speed_kmh,
                            travel_time_s)

log = logging.getLogger("ems.routing")

BUILD_VERSION = 3  # 3: OSRM car speeds, maxspeed x 0.8, junction delays; 2: access by the most specific tag, ...
DRIVABLE = set(CAR_DEFAULT_KMH)
# OSM access tags from the most specific to the most general, for a motor car (the ambulance's class); the most
# specific one present decides. `emergency` is checked first: ambulances may use emergency-only ways.
ACCESS_TAGS = ("motorcar", "motor_vehicle", "vehicle", "access")
CLOSED = {"no", "private", "agricultural", "forestry"}  # yes/destination/designated/permissive/customers... are open
EMERGENCY_OPEN = {"yes", "designated", "permissive", "destination", "official"}
# A node where these change stays a graph node: merging there would average a speed or lose a public stretch.
NO_MERGE_ACROSS = ("highway", "maxspeed", "emergency", *ACCESS_TAGS)
# The tags kept on edges and nodes: osmnx's default `useful_tags_way`/`useful_tags_node`, plus name:en and the
# access tags, in osmnx's order (the reference build sets its settings to these).
WAY_TAGS = ("access", "area", "bridge", "est_width", "highway", "junction", "landuse", "lanes", "maxspeed", "name",
            "oneway", "ref", "service", "tunnel", "width", "name:en", "emergency",
            *(tag for tag in ACCESS_TAGS if tag != "access"))
NODE_TAGS = ("highway", "junction", "railway", "ref")
EARTH_RADIUS_M = 6_371_009  # mean radius, as osmnx measures edge lengths
CONTROL = "junction_control"  # node attribute: the OSM tag of a signal, crossing, stop or give-way (kept a node)


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes, read 1 MiB at a time: the OSM file's identity for the graph cache. OSError if
    unreadable."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def to_osm_xml(osm_path: Path, work_dir: Path) -> Path:
    """osmnx reads OSM XML (plain or .bz2); a .pbf is converted once with the osmium bindings."""
    if not osm_path.name.endswith(".pbf"):
        return osm_path
    import osmium

    out = work_dir / f"{osm_path.name.removesuffix('.pbf')}-{file_sha256(osm_path)[:12]}.osm"
    if not out.exists():
        tmp = out.with_name(f"{out.stem}.{os.getpid()}.tmp.osm")
        with osmium.SimpleWriter(str(tmp), overwrite=True) as writer:
            for obj in osmium.FileProcessor(str(osm_path)):
                writer.add(obj)
        tmp.replace(out)
    return out


# osmnx's `_add_paths`: the `oneway` values meaning one-way, and those meaning against the nodes' order.
ONEWAY_VALUES = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})
REVERSED_VALUES = frozenset({"-1", "reverse", "T"})


def great_circle_m(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Haversine distances in metres on a sphere of `EARTH_RADIUS_M`, computed step by step as osmnx does, so
    lengths match its to the last bit."""
    phi1, phi2 = np.deg2rad(lat1), np.deg2rad(lat2)
    half_dlat, half_dlon = (phi2 - phi1) / 2, (np.deg2rad(lon2) - np.deg2rad(lon1)) / 2
    h = np.minimum(1, np.sin(half_dlat) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(half_dlon) ** 2)
    return 2 * np.arcsin(np.sqrt(h)) * EARTH_RADIUS_M


def read_drivable_osm(osm_path: Path) -> nx.MultiDiGraph:
    """The unsimplified graph of the ways an ambulance may drive, read with osmium (.osm, .osm.bz2, .osm.pbf).

    Equal to `osmnx.graph_from_xml(simplify=False, retain_all=True)` less its undrivable edges and the nodes left
    without one: the same nodes (file order), edges (way order, both directions unless one-way; `oneway=-1`
    reversed), attributes (`WAY_TAGS`, `NODE_TAGS`, `osmid`, `oneway`, `reversed`) and great-circle `length`
    (`great_circle_m`). osmnx is not imported. Only drivable ways and their nodes are held, two passes over the file.
    tests/routing/test_osm_reader.py compares the compiled graphs array by array.
    """
    import osmium

    paths: dict[int, tuple[list[int], dict]] = {}
    for way in osmium.FileProcessor(str(osm_path), osmium.osm.WAY).with_filter(osmium.filter.KeyFilter("highway")):
        tags = {key: way.tags[key] for key in WAY_TAGS if key in way.tags}
        if not drivable_by_ambulance(tags):
            continue
        refs = [node.ref for node in way.nodes]
        refs = [ref for i, ref in enumerate(refs) if i == 0 or ref != refs[i - 1]]  # osmnx drops repeated nodes
        if len(refs) >= 2 and way.id not in paths:
            paths[way.id] = (refs, tags)
    needed = {ref for refs, _ in paths.values() for ref in refs}
    G = nx.MultiDiGraph()
    for node in osmium.FileProcessor(str(osm_path), osmium.osm.NODE).with_filter(osmium.filter.IdFilter(needed)):
        if node.id not in G:
            attrs = {"y": node.location.lat, "x": node.location.lon}
            attrs.update((key, node.tags[key]) for key in NODE_TAGS if key in node.tags)
            G.add_node(node.id, **attrs)
    missing = needed.difference(G)
    if missing:
        raise ValueError(f"{osm_path.name}: {len(missing)} nodes of drivable ways are not in the file "
                         f"(e.g. {min(missing)}): extract it with complete ways")
    lat = {node: y for node, y in G.nodes(data="y")}
    lon = {node: x for node, x in G.nodes(data="x")}
    edges = []  # (u, v, attributes) in osmnx's order: way by way, forward then backward
    for way_id, (refs, tags) in paths.items():
        one_way = tags.get("oneway") in ONEWAY_VALUES or tags.get("junction") == "roundabout"
        if one_way and tags.get("oneway") in REVERSED_VALUES:
            refs.reverse()
        attrs = {"osmid": way_id, **tags, "oneway": one_way, "reversed": False}
        edges += [(u, v, attrs) for u, v in zip(refs, refs[1:])]
        if not one_way:
            attrs = {**attrs, "reversed": True}
            edges += [(v, u, attrs) for u, v in zip(refs, refs[1:])]
    if edges:
        us = np.array([lat[u] for u, _, _ in edges]), np.array([lon[u] for u, _, _ in edges])
        vs = np.array([lat[v] for _, v, _ in edges]), np.array([lon[v] for _, v, _ in edges])
        lengths = great_circle_m(us[0], us[1], vs[0], vs[1])
        lengths[np.isnan(lengths)] = 0
        G.add_edges_from((u, v, {**attrs, "length": length}) for (u, v, attrs), length in zip(edges, lengths))
    return G


def _is_endpoint(G: nx.MultiDiGraph, node) -> bool:
    """osmnx's `_is_endpoint` rules with `node_attrs_include=[CONTROL]`, `edge_attrs_differ=NO_MERGE_ACROSS`: a
    self-loop, no way in or no way out, other than two neighbours with 2 or 4 edges, a controlled junction, or
    entering and leaving edges that differ in a tag that decides speed or access."""
    succ, pred = G.succ[node], G.pred[node]
    neighbours = set(succ) | set(pred)
    if node in neighbours:
        return True
    out_degree = sum(len(keyed) for keyed in succ.values())
    in_degree = sum(len(keyed) for keyed in pred.values())
    if out_degree == 0 or in_degree == 0:
        return True
    if not (len(neighbours) == 2 and out_degree + in_degree in (2, 4)):
        return True
    if CONTROL in G.nodes[node]:
        return True
    incident = [d for adjacent in (pred, succ) for keyed in adjacent.values() for d in keyed.values()]
    return any(len({d.get(tag) for d in incident}) > 1 for tag in NO_MERGE_ACROSS)


def _path_from(G: nx.MultiDiGraph, endpoint, successor, endpoints: set) -> list:
    """osmnx's `_build_path`: the nodes from `endpoint` through `successor` to the next endpoint."""
    path = [endpoint, successor]
    for after in G.successors(successor):
        if after in path:
            continue
        path.append(after)
        while after not in endpoints:
            onward = [n for n in G.successors(after) if n not in path]
            if len(onward) == 1:
                after = onward[0]
                path.append(after)
            elif not onward:
                return [*path, endpoint] if endpoint in G.succ[after] else path
            else:
                raise ValueError(f"cannot simplify the graph near node {after}: {len(onward)} ways on")
        return path
    return path


def simplify(G: nx.MultiDiGraph) -> None:
    """`osmnx.simplify_graph(G, node_attrs_include=[CONTROL], edge_attrs_differ=NO_MERGE_ACROSS)`, in place and
    without its copy of the graph: each chain of nodes between endpoints becomes one edge with the chain's
    `geometry`, summed `length` and the other attributes single when equal, else `list(set(...))` (then sorted by
    `_sorted_merges`); the same nodes and edges in the same order (tests/routing/test_osm_reader.py)."""
    from shapely import LineString

    endpoints = {node for node in G.nodes if _is_endpoint(G, node)}  # built as osmnx does: same iteration order
    merged, interstitial = [], []
    for endpoint in endpoints:
        for successor in G.successors(endpoint):
            if successor in endpoints:
                continue
            path = _path_from(G, endpoint, successor, endpoints)
            attributes: dict = {}
            for u, v in zip(path, path[1:]):
                for key, value in next(iter(G.succ[u][v].values())).items():
                    attributes.setdefault(key, []).append(value)
            for key, values in attributes.items():
                if key == "length":
                    attributes[key] = sum(values)
                elif len(set(values)) == 1:
                    attributes[key] = values[0]
                else:
                    attributes[key] = sorted(set(values), key=_merge_order)  # as `_sorted_merges` would
            attributes["geometry"] = LineString([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in path])
            interstitial += path[1:-1]
            merged.append((path[0], path[-1], attributes))
    for u, v, attributes in merged:
        G.add_edge(u, v, **attributes)
    G.remove_nodes_from(set(interstitial))
    rings = [c for c in nx.weakly_connected_components(G) if not any(_is_endpoint(G, n) for n in c)]
    G.remove_nodes_from(set().union(*rings))


def _values(value) -> list:
    return value if isinstance(value, list) else [value]


def drivable_by_ambulance(tags: dict) -> bool:
    """Whether an ambulance may drive an OSM way with these tags (one way's tags, not merged ones).

    A drivable highway class, and not closed to motor cars: `emergency=yes|designated|...` opens the way for an
    ambulance whatever else it says; otherwise the most specific of motorcar, motor_vehicle, vehicle, access
    that is present decides, and no/private/agricultural/forestry close it.
    """
    if highway_class(tags.get("highway")) not in DRIVABLE:
        return False
    emergency = _tag(tags.get("emergency"))
    if emergency in EMERGENCY_OPEN:
        return True
    if emergency == "no":
        return False
    for key in ACCESS_TAGS:
        value = _tag(tags.get(key))
        if value is not None:
            return value not in CLOSED
    return True


def _tag(value) -> str | None:
    """One tag value, lower-cased; a missing tag (None or osmnx's NaN) is None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value).strip().lower() or None


def _merge_order(item) -> tuple[str, str]:
    return type(item).__name__, str(item)


def _sorted_merges(G: nx.MultiDiGraph) -> None:
    """osmnx stores a merged attribute's values as list(set(...)), ordered by the hash seed: sort them."""
    for _, _, d in G.edges(data=True):
        for key, value in d.items():
            if isinstance(value, list):
                d[key] = sorted(value, key=_merge_order)


def mark_controlled_nodes(G: nx.MultiDiGraph, delays: JunctionDelays) -> None:
    """Give nodes whose OSM `highway` tag sets a delay (signals, crossing, stop, give way) a `junction_control`
    attribute, before simplification: osmnx keeps a node with that attribute as a graph node, so a signal in the
    middle of a way is not merged away."""
    for node, data in G.nodes(data=True):
        tag = _tag(data.get("highway"))
        if delays.tagged(tag) is not None:
            data[CONTROL] = tag


def add_junction_delays(G: nx.MultiDiGraph, delays: JunctionDelays) -> None:
    """Add to every edge's `travel_time` the delay of the junction it enters, kept as `junction_delay_s` too.

    A node tagged `junction_control` costs its tag's delay to every edge entering it. Otherwise, at a node joined
    to three or more neighbours: major roads on three or more sides → an inferred signal for every entering edge;
    major roads on two sides → a minor road entering gives way (the major road passes free).
    """
    edges = [(u, v, d) for u, adjacent in G.adjacency() for v, keyed in adjacent.items() for d in keyed.values()]
    classes: dict = {}  # raw highway → whether major
    majors = []
    neighbours: dict = {}
    major: dict = {}
    for u, v, d in edges:
        raw = _hashable(d.get("highway"))
        is_major = classes.get(raw)
        if is_major is None:
            is_major = classes[raw] = highway_class(d.get("highway")) in MAJOR_CLASSES
        majors.append(is_major)
        if u != v:
            for a, b in ((u, v), (v, u)):
                neighbours.setdefault(a, set()).add(b)
                if is_major:
                    major.setdefault(a, set()).add(b)
    controls = {node: tag for node, tag in G.nodes(data=CONTROL) if tag is not None}
    for (_, v, d), is_major in zip(edges, majors):
        control = controls.get(v)
        if control is not None:
            delay = delays.tagged(control) or 0.0
        elif len(neighbours.get(v, ())) < 3:
            delay = 0.0
        elif len(major.get(v, ())) >= 3:
            delay = delays.inferred_signals
        elif len(major.get(v, ())) == 2 and not is_major:
            delay = delays.minor_onto_major
        else:
            delay = 0.0
        d["junction_delay_s"] = delay
        d["travel_time"] = d["travel_time"] + delay


def networkx_graph(osm_path: str | Path, work_dir: str | Path, *, speed_factor: float = 1.0,
                   junction_delays: JunctionDelays | None = None, via_osmnx: bool = False) -> nx.MultiDiGraph:
    """The drivable osmnx-style graph with `travel_time` (s) on every edge: what we compile, and the test oracle.
    `junction_delays`: default `JunctionDelays()`; `speeds.NO_JUNCTION_DELAYS` for free-flowing junctions.
    `via_osmnx`: the former build through osmnx's XML reader and `simplify_graph`, kept as the reference that the
    default (osmium reader, `simplify`) must equal exactly (tests/routing/test_osm_reader.py, the --build bench)."""
    delays = JunctionDelays() if junction_delays is None else junction_delays
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    # Unsimplified first, so access is judged per OSM way: where a public way runs on into a private one the
    # private part is dropped and the public part stays (simplifying first merged them into one closed edge).
    if via_osmnx:
        import osmnx as ox

        ox.settings.useful_tags_way, ox.settings.useful_tags_node = list(WAY_TAGS), list(NODE_TAGS)
        G = ox.graph_from_xml(to_osm_xml(Path(osm_path), work_dir), simplify=False, retain_all=True)
        G.remove_edges_from([(u, v, k) for u, v, k, d in G.edges(keys=True, data=True)
                             if not drivable_by_ambulance(d)])
        G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
        mark_controlled_nodes(G, delays)
        G = ox.simplify_graph(G, node_attrs_include=[CONTROL], edge_attrs_differ=list(NO_MERGE_ACROSS))
        _sorted_merges(G)
    else:
        G = read_drivable_osm(Path(osm_path))
        mark_controlled_nodes(G, delays)
        simplify(G)
    speeds: dict = {}  # (highway, maxspeed) → km/h: a few hundred pairs for a million edges
    for d in (d for _, adjacent in G.adjacency() for keyed in adjacent.values() for d in keyed.values()):
        key = (_hashable(d.get("highway")), _hashable(d.get("maxspeed")))
        if key not in speeds:
            speeds[key] = speed_kmh(d.get("highway"), d.get("maxspeed"))
        d["speed_kph"] = speeds[key]
        d["travel_time"] = travel_time_s(float(d["length"]), d["speed_kph"], speed_factor)
    add_junction_delays(G, delays)
    return G


def _name(value) -> str | None:
    values = [str(v) for v in _values(value) if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return " / ".join(dict.fromkeys(values)) or None


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


def _twins(src: np.ndarray, dst: np.ndarray, length: np.ndarray) -> np.ndarray:
    """For each edge u→v, the last edge v→u of the same length to 0.1 m (Python's `round`), else -1."""
    rounded = np.array([round(value, 1) for value in length.tolist()])
    n = np.int64(max(int(src.max(initial=0)), int(dst.max(initial=0))) + 1)
    pairs, pair_ids = np.unique(np.concatenate([src * n + dst, dst * n + src]), return_inverse=True)
    _, length_ids = np.unique(rounded, return_inverse=True)
    keys = pair_ids[:len(src)] * np.int64(len(length) + 1) + length_ids
    wanted = pair_ids[len(src):] * np.int64(len(length) + 1) + length_ids
    order = np.argsort(keys, kind="stable")  # equal keys keep edge order: the last is the latest edge
    at = np.searchsorted(keys[order], wanted, side="right") - 1
    found = (at >= 0) & (keys[order][np.maximum(at, 0)] == wanted)
    return np.where(found, order[np.maximum(at, 0)], -1).astype(np.int32)


def _in_largest_strong_component(count: int, src: np.ndarray, dst: np.ndarray, G: nx.MultiDiGraph,
                                 index: dict) -> np.ndarray:
    """Per node, whether it is in the largest strongly connected component (scipy; networkx's first largest on a
    tie in size)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    in_largest = np.zeros(count, dtype=bool)
    if not count:
        return in_largest
    matrix = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(count, count)).tocsr()
    _, labels = connected_components(matrix, directed=True, connection="strong")
    sizes = np.bincount(labels)
    if np.count_nonzero(sizes == sizes.max()) == 1:
        return labels == sizes.argmax()
    largest = max(nx.strongly_connected_components(G), key=len)
    in_largest[[index[node] for node in largest]] = True
    return in_largest


def compile_graph(G: nx.MultiDiGraph, meta: dict | None = None) -> RoadGraph:
    """Flatten an osmnx graph (with `travel_time`) into RoadGraph arrays."""
    index = {node: i for i, node in enumerate(G)}
    count = len(index)
    node_lat = np.fromiter((y for _, y in G.nodes(data="y")), dtype=np.float64, count=count)
    node_lon = np.fromiter((x for _, x in G.nodes(data="x")), dtype=np.float64, count=count)
    edges = [(u, v, d) for u, adjacent in G.adjacency() for v, keyed in adjacent.items() for d in keyed.values()]
    src = np.fromiter((index[u] for u, _, _ in edges), dtype=np.int32, count=len(edges))
    dst = np.fromiter((index[v] for _, v, _ in edges), dtype=np.int32, count=len(edges))
    length = np.fromiter((float(d["length"]) for _, _, d in edges), dtype=np.float64, count=len(edges))
    seconds = np.fromiter((float(d["travel_time"]) for _, _, d in edges), dtype=np.float64, count=len(edges))
    delay = np.fromiter((float(d.get("junction_delay_s", 0.0)) for _, _, d in edges), dtype=np.float64,
                        count=len(edges))
    names: dict[tuple, int] = {}
    highways: dict[str, int] = {}
    labels: dict[tuple, tuple] = {}  # raw (name, name:en) → label, as many edges share a name
    classes: dict = {}  # raw highway → class name
    name_ids, highway_ids = [], []
    for _, _, d in edges:
        raw = (_hashable(d.get("name")), _hashable(d.get("name:en")))
        label = labels.get(raw)
        if label is None:
            label = labels[raw] = (_name(d.get("name")), _name(d.get("name:en")))
        name_ids.append(-1 if label == (None, None) else names.setdefault(label, len(names)))
        highway = _hashable(d.get("highway"))
        kind = classes.get(highway)
        if kind is None:
            kind = classes[highway] = str(highway_class(d.get("highway")))
        highway_ids.append(highways.setdefault(kind, len(highways)))
    in_largest = _in_largest_strong_component(count, src, dst, G, index)
    # Geometry: u → v for a plain edge; a merged edge's shapely line, turned to run from u to v.
    shapes = {e: d["geometry"] for e, (_, _, d) in enumerate(edges) if "geometry" in d}
    points = np.full(len(edges), 2, dtype=np.int64)
    for e, line in shapes.items():
        points[e] = len(line.coords)
    geom_offsets = np.concatenate([[0], np.cumsum(points)]).astype(np.int64)
    geom_lat, geom_lon = np.empty(geom_offsets[-1]), np.empty(geom_offsets[-1])
    plain = np.ones(len(edges), dtype=bool)
    plain[list(shapes)] = False
    first = geom_offsets[:-1][plain]
    geom_lat[first], geom_lon[first] = node_lat[src[plain]], node_lon[src[plain]]
    geom_lat[first + 1], geom_lon[first + 1] = node_lat[dst[plain]], node_lon[dst[plain]]
    for e, line in shapes.items():
        xs, ys = line.xy
        coords = list(zip(ys, xs))
        start = (node_lat[src[e]], node_lon[src[e]])
        if (start[0] - coords[0][0]) ** 2 + (start[1] - coords[0][1]) ** 2 > \
                (start[0] - coords[-1][0]) ** 2 + (start[1] - coords[-1][1]) ** 2:
            coords.reverse()  # always run from u to v
        geom_lat[geom_offsets[e]:geom_offsets[e + 1]] = [c[0] for c in coords]
        geom_lon[geom_offsets[e]:geom_offsets[e + 1]] = [c[1] for c in coords]
    edge_ids = np.arange(len(edges), dtype=np.int32)
    fwd = csr(count, src, dst, edge_ids)
    rev = csr(count, dst, src, edge_ids)
    return RoadGraph(
        node_lat=node_lat, node_lon=node_lon, edge_src=src, edge_dst=dst, edge_length_m=length,
        edge_time_s=seconds, edge_name=np.array(name_ids, dtype=np.int32),
        edge_highway=np.array(highway_ids, dtype=np.int32), edge_twin=_twins(src, dst, length),
        usable=in_largest[src] & in_largest[dst],
        geom_offsets=geom_offsets, geom_lat=geom_lat, geom_lon=geom_lon,
        fwd_offsets=fwd[0], fwd_targets=fwd[1], fwd_edges=fwd[2], rev_offsets=rev[0], rev_targets=rev[1],
        rev_edges=rev[2], names=list(names), highways=list(highways), meta=meta or {},
        edge_delay_s=np.array(delay),
    )


def load_graph(osm_path: str | Path, cache_dir: str | Path, *, speed_factor: float = 1.0,
               junction_delays: JunctionDelays | None = None, progress: bool = True) -> RoadGraph:
    """The compiled graph for `osm_path`, from the cache when the file and parameters are unchanged."""
    osm_path, cache_dir = Path(osm_path), Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    digest = file_sha256(osm_path)
    delays = JunctionDelays() if junction_delays is None else junction_delays
    key = hashlib.sha256(f"{digest}:{speed_factor}:{delays.key()}:{BUILD_VERSION}".encode()).hexdigest()[:16]
    cached = cache_dir / f"roads-{key}.npz"
    if cached.exists():
        return RoadGraph.load(cached)
    with open(cache_dir / f"roads-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # processes starting together build once; the others wait and load
        if cached.exists():
            return RoadGraph.load(cached)
        return _build_and_save(osm_path, digest, cached, speed_factor=speed_factor, delays=delays, progress=progress)


def _build_and_save(osm_path: Path, digest: str, cached: Path, *, speed_factor: float, delays: JunctionDelays,
                    progress: bool) -> RoadGraph:
    with tqdm(total=3, desc=f"road graph {osm_path.name}", unit="step", disable=not progress) as bar:
        bar.set_postfix_str("reading OSM")
        G = networkx_graph(osm_path, cached.parent, speed_factor=speed_factor, junction_delays=delays)
        bar.update()
        bar.set_postfix_str(f"compiling {len(G)} nodes")
        graph = compile_graph(G, {"source": osm_path.name, "sha256": digest, "speed_factor": speed_factor})
        bar.update()
        bar.set_postfix_str("saving")
        graph.save(cached)
        bar.update()
    log.info("road graph built", extra={"nodes": graph.node_count, "edges": graph.edge_count, "cache": str(cached)})
    return graph
