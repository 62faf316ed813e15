"""Issue #20 item 4: junction delays are part of the travel times, from OSM node tags or inferred where the
extract has none, and calibrated car speeds (OSRM's defaults, maxspeed x 0.8) decide the driving part."""
import numpy as np
import pytest

from dispatch.model import LatLon
from routing.build import compile_graph, networkx_graph
from routing.service import RoutingService
from routing.speeds import NO_JUNCTION_DELAYS, JunctionDelays, speed_kmh
from routing.synthetic import grid_point, river_grid

# A straight 1.1 km residential street west-east with a signalised pedestrian crossing in the middle (node 2),
# a second street (maxspeed 50) continuing east of node 3.
OSM_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
  <node id="1" lat="13.3600" lon="100.9800"/>
  <node id="2" lat="13.3600" lon="100.9846">{signal}</node>
  <node id="3" lat="13.3600" lon="100.9902"/>
  <node id="4" lat="13.3600" lon="100.9948"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
  <way id="11"><nd ref="3"/><nd ref="4"/><tag k="highway" v="residential"/><tag k="maxspeed" v="50"/></way>
</osm>
"""
SIGNAL = '<tag k="highway" v="traffic_signals"/>'


def street(tmp_path, signal: str, delays=None):
    path = tmp_path / f"street-{bool(signal)}.osm"
    path.write_text(OSM_XML.format(signal=signal), encoding="utf-8")
    return compile_graph(networkx_graph(path, tmp_path, junction_delays=delays))


def west_to_east_s(graph) -> float:
    routing = RoutingService(graph, max_eta_s=3600, max_snap_distance_m=100, engine="dijkstra")
    [eta] = routing.etas_to_sync(LatLon(13.3600, 100.9947), [LatLon(13.3600, 100.9801)])
    return eta.eta_s


def test_a_traffic_signal_on_the_way_adds_its_delay_to_the_eta(tmp_path):
    delays = JunctionDelays()
    plain, signalled = street(tmp_path, ""), street(tmp_path, SIGNAL, delays)
    # the signal node stays a graph node (not merged into the way) and edges entering it carry the delay
    assert signalled.node_count == plain.node_count + 1
    assert sorted(signalled.junction_delays()[signalled.junction_delays() > 0]) == [delays.traffic_signals] * 2
    assert west_to_east_s(signalled) == pytest.approx(west_to_east_s(plain) + delays.traffic_signals, abs=0.5)
    none = street(tmp_path, SIGNAL, NO_JUNCTION_DELAYS)
    assert west_to_east_s(none) == pytest.approx(west_to_east_s(plain), abs=0.5)


def test_car_defaults_and_posted_limits():
    assert speed_kmh("residential", None) == 25.0  # OSRM car: residential 25 km/h
    assert speed_kmh("primary", None) == 65.0
    assert speed_kmh("trunk", None) == 85.0
    assert speed_kmh("residential", "50") == pytest.approx(40.0)  # a posted limit at 80 %


def test_junctions_without_tags_get_inferred_delays():
    """Where arterials cross (major roads on four sides) every entering edge waits as at a signal; a residential
    street meeting one arterial gives way; the arterial itself passes free; residential crossings are free."""
    delays = JunctionDelays()
    graph = river_grid(width_km=4, height_km=4, spacing_m=400, arterial_every=5, junction_delays=delays)
    plain = river_grid(width_km=4, height_km=4, spacing_m=400, arterial_every=5)
    added = graph.edge_time_s - plain.edge_time_s
    np.testing.assert_allclose(added, graph.junction_delays())
    values = set(np.round(added, 3))
    assert values == {0.0, delays.inferred_signals, delays.minor_onto_major}
    # an ETA across an arterial crossing is slower by the delays of the junctions on the way
    a, b = grid_point(graph, 1.3, 2.0), grid_point(graph, 2.7, 2.0)  # along avenue 5, an arterial, across street 5
    slow = RoutingService(graph, engine="dijkstra").etas_to_sync(LatLon(*b), [LatLon(*a)])[0].eta_s
    free = RoutingService(plain, engine="dijkstra").etas_to_sync(LatLon(*b), [LatLon(*a)])[0].eta_s
    assert slow == pytest.approx(free + delays.inferred_signals, abs=0.5)
