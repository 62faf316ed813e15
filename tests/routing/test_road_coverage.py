"""Issue #13 item 6: the road graph knows its own extent. Pattaya and Laem Chabang lie far outside the city graph:
they are never snapped to its edge, and every answer about them is a straight-line estimate that says so."""
import pytest

from config import Config, ConfigError
from dispatch.model import LatLon, distance_m
from routing.cch import cch_available
from routing.eta import StraightLine, etas_to
from routing.search import SearchSpace
from routing.service import RoutingService
from routing.snap import OFF_NETWORK_EDGE, Snapper

PATTAYA = LatLon(12.93, 100.88)  # ~48 km south of the city graph
LAEM_CHABANG = LatLon(13.08, 100.88)  # ~28 km south-west of it
CITY = LatLon(13.3611, 100.9847)  # central Chon Buri, on a road
CITY_UNITS = [LatLon(13.3400, 100.9700), LatLon(13.3800, 100.9950)]


@pytest.fixture(params=["cch", "dijkstra"])
def routing(road_graph, request):
    """Each engine that can rank units (the CCH is the default), with unit trees kept (exercised)."""
    if request.param == "cch" and not cch_available():
        pytest.skip("routingkit-cch is not installed")
    return RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300, engine=request.param,
                          unit_trees=True)


@pytest.mark.parametrize("place", [PATTAYA, LAEM_CHABANG])
def test_a_point_far_outside_the_graph_is_not_snapped_to_its_edge(routing, place):
    snapped = routing.snap(place.lat, place.lon)
    assert snapped.off_network and snapped.edge == OFF_NETWORK_EDGE
    assert (snapped.lat, snapped.lon) == (place.lat, place.lon)  # the point itself, not the nearest road
    assert snapped.distance_m > 20_000


@pytest.mark.parametrize("place", [PATTAYA, LAEM_CHABANG])
def test_etas_to_a_point_outside_coverage_are_labelled_straight_line_estimates(routing, place):
    results = routing.etas_to_sync(place, CITY_UNITS)
    for unit, result in zip(CITY_UNITS, results):
        assert result.outside_coverage and result.eta_source == "straight_line" and not result.reachable
        expected_m = distance_m(unit, place) * routing.straight_line.detour_factor
        assert result.distance_m == pytest.approx(expected_m)
        assert result.eta_s == pytest.approx(expected_m / (routing.straight_line.speed_kmh / 3.6))
        assert result.eta_s > 45 * 60  # not the "0.5 min (0.5 km)" / "10.3 min" from the graph's edge
        assert result.snap_distance_m == pytest.approx(routing.snap(place.lat, place.lon).distance_m)
        assert result.to_json()["eta_source"] == "straight_line" and result.to_json()["outside_coverage"] is True


def test_a_city_point_keeps_its_road_eta(routing, road_graph):
    results = routing.etas_to_sync(CITY, CITY_UNITS)
    graph_only = etas_to(road_graph, SearchSpace(road_graph.node_count), routing.overrides.weights(),
                         routing.snap(CITY.lat, CITY.lon), [routing.snap(u.lat, u.lon) for u in CITY_UNITS],
                         routing.max_eta_s)
    incident_m = routing.snap(CITY.lat, CITY.lon).distance_m
    for unit, result, reference in zip(CITY_UNITS, results, graph_only):
        assert result.eta_source == "road" and not result.outside_coverage and result.reachable
        assert result.eta_s == pytest.approx(reference.eta_s)
        assert result.snap_distance_m == pytest.approx(max(incident_m, routing.snap(unit.lat, unit.lon).distance_m))
        assert result.snap_distance_m < routing.snapper.max_snap_distance_m


def test_a_unit_parked_outside_the_graph_gets_an_estimate_and_the_others_road_etas(routing):
    units = [CITY_UNITS[0], PATTAYA, CITY_UNITS[1]]
    for _ in range(3):  # the third query runs on cached trees: the off-network unit must never get one
        inside_a, pattaya, inside_b = routing.etas_to_sync(CITY, units)
        assert inside_a.eta_source == inside_b.eta_source == "road"
        assert pattaya.eta_source == "straight_line" and pattaya.outside_coverage
        assert pattaya.eta_s == pytest.approx(distance_m(PATTAYA, CITY) * 1.4 / (40 / 3.6))
    routing.wait_for_trees()  # the CCH engine builds them in the background
    assert len(routing.trees._trees) == 2


def test_the_low_level_search_refuses_an_off_network_point(routing, road_graph):
    with pytest.raises(ValueError, match="outside road coverage"):
        etas_to(road_graph, SearchSpace(road_graph.node_count), routing.overrides.weights(),
                routing.snap(PATTAYA.lat, PATTAYA.lon), [routing.snap(CITY.lat, CITY.lon)], routing.max_eta_s)


def test_a_route_outside_coverage_is_a_labelled_straight_line(routing):
    route = routing.route_sync(CITY, PATTAYA).to_json()
    assert route["outside_coverage"] is True and route["eta_source"] == "straight_line"
    assert route["destination"]["off_network"] is True and route["origin"]["off_network"] is False
    assert route["snap_distance_m"] == route["destination"]["snap_distance_m"] > 40_000
    assert route["geometry"]["coordinates"] == [[CITY.lon, CITY.lat], [PATTAYA.lon, PATTAYA.lat]]
    assert "straight-line estimate" in route["instructions"][0]["text_en"]
    assert "เส้นตรง" in route["instructions"][0]["text_th"]
    city = routing.route_sync(CITY_UNITS[0], CITY).to_json()
    assert city["outside_coverage"] is False and city["eta_source"] == "road"
    assert city["origin"]["off_network"] is False and 0 <= city["snap_distance_m"] < 300
    assert len(city["geometry"]["coordinates"]) > 2


def test_the_coverage_settings_are_honoured(routing, road_graph):
    unit = max(CITY_UNITS, key=lambda u: routing.snap(u.lat, u.lon).distance_m)
    set_back_m = routing.snap(unit.lat, unit.lon).distance_m
    assert set_back_m > 20  # a parked unit some way from its road: on the network at the default limit
    strict = RoutingService(road_graph, max_snap_distance_m=set_back_m / 2, straight_line=StraightLine(60.0, 1.2),
                            workers=1)
    assert strict.snap(unit.lat, unit.lon).off_network
    [result] = strict.etas_to_sync(CITY, [unit])
    assert result.eta_source == "straight_line"
    assert result.eta_s == pytest.approx(distance_m(unit, CITY) * 1.2 / (60 / 3.6))


def test_bad_coverage_settings_are_refused(road_graph):
    with pytest.raises(ValueError):
        Snapper(road_graph, max_snap_distance_m=0)
    with pytest.raises(ValueError):
        StraightLine(speed_kmh=0)
    with pytest.raises(ValueError):
        StraightLine(detour_factor=0.9)
    with pytest.raises(ConfigError, match="EMS_STRAIGHT_LINE_DETOUR_FACTOR"):
        Config.from_env({"EMS_STRAIGHT_LINE_DETOUR_FACTOR": "0.9"})
    with pytest.raises(ConfigError, match="EMS_MAX_SNAP_DISTANCE_M"):
        Config.from_env({"EMS_MAX_SNAP_DISTANCE_M": "-5"})
    assert Config.from_env({}).max_snap_distance_m == 500.0
