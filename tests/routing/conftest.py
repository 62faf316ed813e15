import pytest

from routing.build import compile_graph, networkx_graph
from routing.service import RoutingService
from tests.conftest import REPO

OSM = REPO / "data" / "osm" / "chonburi_city_roads.osm.pbf"


@pytest.fixture(scope="session")
def nx_graph():
    """The osmnx graph with travel times: the oracle, and the source of the compiled graph below."""
    return networkx_graph(OSM, REPO / "var" / "cache")


@pytest.fixture(scope="session")
def road_graph(nx_graph):
    return compile_graph(nx_graph)


@pytest.fixture
def routing(road_graph):
    return RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300, unit_trees=True)  # trees exercised
