import time
import math
import random
from datetime import UTC, datetime, timedelta

import networkx as nx
import numpy as np
import pytest
import shapely

from dispatch.model import LatLon
from routing.errors import InvalidCoordinates
from routing.eta import etas_to
from routing.search import SearchSpace
from routing.snap import Snapped


def at_node_as_target(graph, node: int) -> Snapped:
    edge = int(np.flatnonzero(graph.usable & (graph.edge_src == node))[0])
    return Snapped(edge, 0.0, float(graph.node_lat[node]), float(graph.node_lon[node]), 0.0, False)


def at_node_as_origin(graph, node: int) -> Snapped:
    edge = int(np.flatnonzero(graph.usable & (graph.edge_dst == node))[0])
    return Snapped(edge, 1.0, float(graph.node_lat[node]), float(graph.node_lon[node]), 0.0, False)


def point_on_edge(graph, edge: int, fraction: float) -> LatLon:
    lat, lon = graph.edge_coords(edge)
    x, y = graph.project(lat, lon)
    line = shapely.linestrings(np.column_stack([x, y]))
    p = shapely.line_interpolate_point(line, fraction * line.length)
    plat, plon = graph.unproject(p.x, p.y)
    return LatLon(float(plat), float(plon))


@pytest.mark.parametrize("native", [True, False])
def test_etas_equal_networkx_on_random_pairs_of_the_real_graph(road_graph, nx_graph, native):
    nodes = list(nx_graph.nodes)
    usable_nodes = np.unique(road_graph.edge_src[road_graph.usable])
    rng = random.Random(7)
    space = SearchSpace(road_graph.node_count, native=native)
    worst = 0.0
    for _ in range(40):
        a, b = (int(x) for x in rng.sample(list(usable_nodes), 2))
        expected = nx.shortest_path_length(nx_graph, nodes[a], nodes[b], weight="travel_time")
        [ours] = etas_to(road_graph, space, road_graph.edge_time_s, at_node_as_target(road_graph, b),
                         [at_node_as_origin(road_graph, a)], max_eta_s=1e9)
        worst = max(worst, abs(ours.eta_s - expected))
    assert worst <= 0.5


def test_one_way_street_is_respected_both_ways(routing, road_graph):
    oneway = [e for e in np.flatnonzero(road_graph.usable & (road_graph.edge_twin < 0))
              if road_graph.edge_length_m[e] > 150]
    edge = int(oneway[0])
    near_start, near_end = point_on_edge(road_graph, edge, 0.2), point_on_edge(road_graph, edge, 0.8)
    [with_flow] = routing.etas_to_sync(near_end, [near_start])
    [against_flow] = routing.etas_to_sync(near_start, [near_end])
    along = 0.6 * road_graph.edge_time_s[edge]
    assert with_flow.eta_s == pytest.approx(along, rel=0.05)
    assert against_flow.eta_s is None or against_flow.eta_s > along * 1.5


def test_snapping_lands_mid_edge_not_on_a_node(routing, road_graph):
    edge = int(np.flatnonzero(road_graph.usable & (road_graph.edge_length_m > 300))[0])
    middle = point_on_edge(road_graph, edge, 0.5)
    offset = LatLon(middle.lat + 20 / 111_195, middle.lon)  # 20 m north of the road
    snapped = routing.snap(offset.lat, offset.lon)
    assert snapped.edge in (edge, int(road_graph.edge_twin[edge]))
    assert 0.3 < snapped.fraction < 0.7
    assert snapped.distance_m < 25 and not snapped.off_network


def test_points_far_from_roads_are_flagged_off_network(routing):
    snapped = routing.snap(13.25, 100.90)  # the sea west of the extract
    assert snapped.off_network and snapped.distance_m > 300
    [result] = routing.etas_to_sync(LatLon(13.361, 100.984), [LatLon(13.25, 100.90)])
    assert result.outside_coverage and result.eta_source == "straight_line"


def test_closure_changes_the_route_and_expires(routing, road_graph):
    origin, target = LatLon(13.3400, 100.9700), LatLon(13.3800, 100.9950)
    before = routing.route_sync(origin, target)
    coords = before.geometry["coordinates"]
    lon, lat = coords[len(coords) // 2]
    box = shapely.box(lon - 0.001, lat - 0.001, lon + 0.001, lat + 0.001)
    expires = datetime.now(UTC) + timedelta(seconds=1)
    routing.add_closure(box, expires_at=expires, reason="flood")
    during = routing.route_sync(origin, target)
    assert during.duration_s > before.duration_s
    assert not any(box.contains(shapely.Point(c)) for c in during.geometry["coordinates"])
    assert routing.list_overrides()[0].reason == "flood"
    while datetime.now(UTC) < expires:
        time.sleep(0.05)
    after = routing.route_sync(origin, target)
    assert after.duration_s == pytest.approx(before.duration_s)
    assert routing.list_overrides() == []


def test_slow_down_factor_scales_travel_time(routing, road_graph):
    origin, target = LatLon(13.3400, 100.9700), LatLon(13.3800, 100.9950)
    [base] = routing.etas_to_sync(target, [origin])
    routing.add_closure(range(road_graph.edge_count), expires_at=None, factor=2.0)
    [slow] = routing.etas_to_sync(target, [origin])
    assert slow.eta_s == pytest.approx(2 * base.eta_s, rel=1e-6)


def test_route_instructions_name_the_streets_in_thai_and_english(routing):
    route = routing.route_sync(LatLon(13.3400, 100.9700), LatLon(13.3800, 100.9950))
    named = [i for i in route.instructions if i["street"] and i["street_en"]]
    assert named, route.instructions
    step = named[-1]
    assert step["text_en"].endswith(f"onto {step['street_en']}")
    assert step["street"] in step["text_th"]
    assert route.instructions[-1]["text_en"] == "arrive at the destination"
    total = sum(i["distance_m"] for i in route.instructions)
    assert total == pytest.approx(route.distance_m, rel=0.05)
    assert route.geometry["type"] == "LineString" and len(route.geometry["coordinates"]) > 2


async def test_invalid_coordinates_raise_a_typed_error_naming_the_field(routing):
    with pytest.raises(InvalidCoordinates) as err:
        await routing.etas_to(LatLon(math.nan, 100.98), [LatLon(13.36, 100.98)])
    assert err.value.field == "target.lat"
    with pytest.raises(InvalidCoordinates) as err:
        await routing.etas_to(LatLon(13.36, 100.98), [LatLon(13.36, 181.0)])
    assert err.value.field == "origins[0].lon"


async def test_unreachable_is_an_explicit_result_not_infinity(routing, road_graph):
    target = LatLon(13.361, 100.984)
    snapped = routing.snap(target.lat, target.lon)
    start = routing.snap(13.3400, 100.9700)
    routing.add_closure([snapped.edge, int(road_graph.edge_twin[snapped.edge])], expires_at=None)
    [result] = await routing.etas_to(target, [LatLon(13.3400, 100.9700)])
    assert result.reachable is False and result.eta_s is None
    assert result.to_json() == {"eta_s": None, "distance_m": None, "reachable": False, "outside_coverage": False,
                                "eta_source": "road", "snap_distance_m": round(max(snapped.distance_m, start.distance_m), 1)}
    assert await routing.route(LatLon(13.3400, 100.9700), target) is None


def test_base_map_geojson_is_compact_and_attributed(routing):
    roads = routing.roads_geojson(min_class="secondary")
    assert roads["attribution"].startswith("© OpenStreetMap")
    assert {f["properties"]["highway"] for f in roads["features"]} <= {"motorway", "trunk", "primary", "secondary"}
    assert len(roads["features"]) > 50


def on_network_points(routing, rng: random.Random, count: int) -> list[LatLon]:
    """Random city points close enough to a road to be routed (the others get straight-line estimates)."""
    points: list[LatLon] = []
    while len(points) < count:
        point = LatLon(rng.uniform(13.33, 13.39), rng.uniform(100.96, 101.01))
        if not routing.snap(point.lat, point.lon).off_network:
            points.append(point)
    return points


def test_cached_unit_trees_give_the_same_etas_as_the_reverse_search(routing, road_graph):
    rng = random.Random(3)
    units, incidents = on_network_points(routing, rng, 20), on_network_points(routing, rng, 15)
    routing.etas_to_sync(incidents[0], units)
    assert routing.trees._trees == {}  # seen once: no tree yet
    routing.etas_to_sync(incidents[1], units)  # second sighting: trees are built
    routing.wait_for_trees()  # with the CCH engine, on a background thread
    assert len(routing.trees._trees) == 20
    for incident in incidents:
        warm = routing.etas_to_sync(incident, units)
        space = SearchSpace(road_graph.node_count)
        reference = etas_to(road_graph, space, routing.overrides.weights(), routing.snap(incident.lat, incident.lon),
                            [routing.snap(u.lat, u.lon) for u in units], routing.max_eta_s)
        for a, b in zip(warm, reference):
            assert (a.eta_s is None) == (b.eta_s is None)
            if a.eta_s is not None:
                assert a.eta_s == pytest.approx(b.eta_s, abs=0.01)
                assert a.distance_m == pytest.approx(b.distance_m, abs=0.5)
    routing.add_closure(range(road_graph.edge_count), expires_at=None, factor=2.0)
    slowed = routing.etas_to_sync(incidents[2], units)  # new weights: trees are not reused
    base = etas_to(road_graph, SearchSpace(road_graph.node_count), road_graph.edge_time_s,
                   routing.snap(incidents[2].lat, incidents[2].lon), [routing.snap(u.lat, u.lon) for u in units],
                   routing.max_eta_s)
    for a, b in zip(slowed, base):
        if a.eta_s is not None and b.eta_s is not None:
            assert a.eta_s == pytest.approx(2 * b.eta_s, rel=1e-4)
