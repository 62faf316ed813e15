"""Issue #20 item 3: a moving unit is snapped with its heading (the carriageway it drives, not the nearest one of a
divided road) and turning around costs the configured U-turn penalty, with either engine."""
import math

import networkx as nx
import pytest

from dispatch.model import LatLon, MovingFix
from routing.build import compile_graph
from routing.cch import cch_available
from routing.service import RoutingService

LAT0, LON0 = 13.0, 101.0
M_PER_DEG = 111_195.0
PENALTY_S = 30.0
FAST, SLOW = 60 / 3.6, 30 / 3.6  # m/s: the divided road, the side street


def at(x_m: float, y_m: float) -> tuple[float, float]:
    """(lat, lon) of a point x metres east and y metres north of the origin."""
    return LAT0 + y_m / M_PER_DEG, LON0 + x_m / (M_PER_DEG * math.cos(math.radians(LAT0)))


@pytest.fixture(scope="module")
def divided_road():
    """A north-south divided road 800 m long, carriageways 16 m apart (northbound on the west side, as Thais
    drive on the left), joined at both ends by a gap in the median, and a two-way side street of 400 m east from
    the middle of the southbound carriageway."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    points = {"w0": (0, 0), "wm": (0, 400), "w1": (0, 800), "e1": (16, 800), "em": (16, 400), "e0": (16, 0),
              "x": (416, 400)}
    for name, (x, y) in points.items():
        lat, lon = at(x, y)
        G.add_node(name, y=lat, x=lon)

    def road(a, b, speed, highway, length=None):
        metres = length or math.dist(points[a], points[b])
        G.add_edge(a, b, length=metres, travel_time=metres / speed, highway=highway, name=f"{a}-{b}")

    for a, b in (("w0", "wm"), ("wm", "w1"), ("e1", "em"), ("em", "e0"), ("w1", "e1"), ("e0", "w0")):
        road(a, b, FAST, "primary")
    road("em", "x", SLOW, "residential")
    road("x", "em", SLOW, "residential")
    return compile_graph(G)


def engines() -> list[str]:
    return ["dijkstra", "cch"] if cch_available() else ["dijkstra"]


def service(graph, engine: str, penalty: float = PENALTY_S) -> RoutingService:
    return RoutingService(graph, max_eta_s=3600, max_snap_distance_m=300, engine=engine, unit_trees=False,
                          uturn_penalty_s=penalty)


def edge_named(graph, name: str) -> int:
    return next(e for e in range(graph.edge_count) if graph.edge_label(e)[0] == name)


def test_heading_picks_the_carriageway_driven_not_the_nearest(divided_road):
    routing = service(divided_road, "dijkstra")
    lat, lon = at(10, 200)  # 6 m from the southbound carriageway, 10 m from the northbound one
    parked = routing.snap(lat, lon)
    assert parked.edge == edge_named(divided_road, "em-e0") and parked.uturn_s == 0
    northbound = routing.snap_origin(MovingFix(lat, lon, 2.0))
    assert northbound.edge == edge_named(divided_road, "w0-wm") and northbound.uturn_s == PENALTY_S
    assert northbound.fraction == pytest.approx(0.5, abs=0.01)
    southbound = routing.snap_origin(MovingFix(lat, lon, 185.0))
    assert southbound.edge == parked.edge


@pytest.mark.parametrize("engine", engines())
def test_a_northbound_unit_drives_round_by_the_median_gap(divided_road, engine):
    routing = service(divided_road, engine)
    lat, lon = at(10, 200)
    target = LatLon(*at(416, 400))  # the far end of the side street
    [moving] = routing.etas_to_sync(target, [MovingFix(lat, lon, 0.0)])
    # north 600 m to the gap, across 16 m, south 400 m on the other carriageway, then 400 m of side street
    assert moving.eta_s == pytest.approx((600 + 16 + 400) / FAST + 400 / SLOW, abs=0.05)
    [parked] = routing.etas_to_sync(target, [LatLon(lat, lon)])  # on the southbound side it drives round the south
    assert parked.eta_s == pytest.approx((200 + 16 + 800 + 16 + 400) / FAST + 400 / SLOW, abs=0.05)


@pytest.mark.parametrize("engine", engines())
def test_turning_around_on_a_two_way_street_costs_the_penalty(divided_road, engine):
    lat, lon = at(216, 400)  # half-way along the side street
    behind = LatLon(*at(100, 400))
    driving_east, driving_west = MovingFix(lat, lon, 90.0), MovingFix(lat, lon, 270.0)
    routing = service(divided_road, engine)
    back = 116 / SLOW
    etas = [r.eta_s for r in routing.etas_to_sync(behind, [driving_east, driving_west, LatLon(lat, lon)])]
    assert etas == pytest.approx([back + PENALTY_S, back, back], abs=0.05)
    free = service(divided_road, engine, penalty=0.0)
    assert free.etas_to_sync(behind, [driving_east])[0].eta_s == pytest.approx(back, abs=0.05)
    route = routing.route_sync(driving_east, behind)
    assert route.duration_s == pytest.approx(back + PENALTY_S, abs=0.05)


def test_a_negative_penalty_is_refused(divided_road):
    with pytest.raises(ValueError, match="uturn_penalty_s"):
        service(divided_road, "dijkstra", penalty=-1.0)


def test_an_avl_record_carries_its_heading_only_while_driving():
    from ws.avl import position_of

    driving = position_of({"lat": 13.1, "lon": 101.1, "speed_mps": 12.0, "heading_deg": 271.0})
    assert driving == MovingFix(13.1, 101.1, 271.0)
    for record in ({"lat": 13.1, "lon": 101.1, "speed_mps": 0.5, "heading_deg": 271.0},  # creeping: noise
                   {"lat": 13.1, "lon": 101.1, "speed_mps": 12.0, "heading_deg": None},
                   {"lat": 13.1, "lon": 101.1}):
        assert position_of(record) == LatLon(13.1, 101.1)
