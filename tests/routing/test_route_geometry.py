"""Issue #13 item 11: a route's line runs from the origin to the destination, also along one shared road."""
import random

import numpy as np
import pytest

from dispatch.model import LatLon, distance_m
from tests.routing.test_routing import point_on_edge

NEAR_M = 2.0  # geometry is rounded to 6 decimals (~0.1 m); the snapped points are exact


def assert_runs_from_origin_to_target(routing, origin: LatLon, target: LatLon):
    route = routing.route_sync(origin, target)
    assert route is not None
    (start_lon, start_lat), (end_lon, end_lat) = route.geometry["coordinates"][0], route.geometry["coordinates"][-1]
    o, t = routing.snap(origin.lat, origin.lon), routing.snap(target.lat, target.lon)
    assert distance_m(LatLon(start_lat, start_lon), o) < NEAR_M, "the line does not start at the origin"
    assert distance_m(LatLon(end_lat, end_lon), t) < NEAR_M, "the line does not end at the destination"
    return route


def test_the_reported_same_edge_pair_runs_from_origin_to_destination(routing):
    origin, target = LatLon(13.34494812, 100.95135721), LatLon(13.34566588, 100.95338189)
    forward = assert_runs_from_origin_to_target(routing, origin, target)
    backward = assert_runs_from_origin_to_target(routing, target, origin)
    assert forward.distance_m == pytest.approx(backward.distance_m, rel=0.01)


def test_same_edge_pairs_both_ways_on_two_way_roads(routing, road_graph):
    rng = random.Random(11)
    two_way = [int(e) for e in np.flatnonzero(road_graph.usable & (road_graph.edge_twin >= 0))
               if road_graph.edge_length_m[e] > 100]
    for edge in rng.sample(two_way, 40):
        a, b = sorted(rng.uniform(0.1, 0.9) for _ in range(2))
        if b - a < 0.1:
            continue
        ahead, behind = point_on_edge(road_graph, edge, a), point_on_edge(road_graph, edge, b)
        for origin, target in ((ahead, behind), (behind, ahead)):
            route = assert_runs_from_origin_to_target(routing, origin, target)
            assert route.distance_m == pytest.approx((b - a) * road_graph.edge_length_m[edge], rel=0.02)


def test_random_routes_run_from_origin_to_destination(routing, road_graph):
    rng = random.Random(12)
    usable = [int(e) for e in np.flatnonzero(road_graph.usable)]
    for _ in range(30):
        e1, e2 = rng.sample(usable, 2)
        assert_runs_from_origin_to_target(routing, point_on_edge(road_graph, e1, rng.random()),
                                          point_on_edge(road_graph, e2, rng.random()))
