"""Issue #20: the osmium reader and our `simplify` build exactly the graph that osmnx's XML reader and
`simplify_graph` built (`networkx_graph(via_osmnx=True)`, kept as the reference), array by array."""
import numpy as np
import pytest

from routing.build import compile_graph, networkx_graph
from routing.graph import RoadGraph
from tests.conftest import REPO
from tests.routing.conftest import OSM

CACHE = REPO / "var" / "cache"

# Edge cases the city extract may lack: oneway=-1, a roundabout, an isolated one-way ring (dropped), repeated node
# refs, parallel ways, a signal mid-way (kept as a node), closed and undrivable ways, a maxspeed change mid-road,
# name:en, a node no way uses.
SMALL_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
<node id="1" lat="13.3600000" lon="100.9800000"/>
<node id="2" lat="13.3610000" lon="100.9800000"/>
<node id="3" lat="13.3620000" lon="100.9801000"><tag k="highway" v="traffic_signals"/></node>
<node id="4" lat="13.3630000" lon="100.9802000"/>
<node id="5" lat="13.3640000" lon="100.9803000"/>
<node id="6" lat="13.3640000" lon="100.9813000"/>
<node id="7" lat="13.3640000" lon="100.9823000"/>
<node id="8" lat="13.3650000" lon="100.9823000"/>
<node id="9" lat="13.3660000" lon="100.9833000"/>
<node id="10" lat="13.3650000" lon="100.9843000"/>
<node id="11" lat="13.3630000" lon="100.9833000"/>
<node id="12" lat="13.3700000" lon="100.9900000"/>
<node id="13" lat="13.3710000" lon="100.9900000"/>
<node id="14" lat="13.3710000" lon="100.9910000"/>
<node id="15" lat="13.3620000" lon="100.9790000"/>
<node id="16" lat="13.3610000" lon="100.9780000"/>
<node id="17" lat="13.3590000" lon="100.9790000"/>
<node id="18" lat="13.3580000" lon="100.9800000"/>
<node id="19" lat="13.3570000" lon="100.9810000"/>
<node id="20" lat="13.3500000" lon="100.9500000"/>
<way id="101"><nd ref="1"/><nd ref="2"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="5"/>
  <tag k="highway" v="residential"/><tag k="name" v="ซอย 1"/><tag k="name:en" v="Soi 1"/></way>
<way id="102"><nd ref="5"/><nd ref="6"/><nd ref="7"/>
  <tag k="highway" v="primary"/><tag k="oneway" v="-1"/><tag k="maxspeed" v="60"/></way>
<way id="103"><nd ref="7"/><nd ref="8"/><nd ref="9"/><nd ref="10"/><nd ref="11"/><nd ref="7"/>
  <tag k="highway" v="secondary"/><tag k="junction" v="roundabout"/></way>
<way id="104"><nd ref="12"/><nd ref="13"/><nd ref="14"/><nd ref="12"/>
  <tag k="highway" v="service"/><tag k="oneway" v="yes"/></way>
<way id="105"><nd ref="3"/><nd ref="15"/><nd ref="16"/><tag k="highway" v="service"/><tag k="access" v="private"/></way>
<way id="106"><nd ref="1"/><nd ref="17"/><tag k="highway" v="footway"/></way>
<way id="107"><nd ref="1"/><nd ref="18"/><tag k="highway" v="tertiary"/><tag k="maxspeed" v="50"/></way>
<way id="108"><nd ref="18"/><nd ref="19"/><tag k="highway" v="tertiary"/><tag k="maxspeed" v="80"/></way>
<way id="109"><nd ref="5"/><nd ref="6"/><tag k="highway" v="residential"/><tag k="oneway" v="reverse"/></way>
<way id="110"><nd ref="16"/><nd ref="17"/><tag k="building" v="yes"/></way>
<way id="111"><nd ref="4"/><nd ref="11"/><tag k="highway" v="service"/><tag k="access" v="no"/>
  <tag k="emergency" v="yes"/></way>
</osm>
"""


def _assert_identical(ours: RoadGraph, reference: RoadGraph) -> None:
    arrays = [name for name, value in vars(reference).items() if isinstance(value, np.ndarray)]
    assert len(arrays) >= 15
    differing = [name for name in arrays if getattr(ours, name).dtype != getattr(reference, name).dtype
                 or not np.array_equal(getattr(ours, name), getattr(reference, name))]
    assert differing == []
    assert ours.names == reference.names
    assert ours.highways == reference.highways


@pytest.mark.parametrize("extract", [OSM, OSM.with_name("chonburi_city_roads.osm.bz2")], ids=["pbf", "bz2"])
def test_the_city_extract_compiles_to_the_same_arrays_as_through_osmnx(extract):
    ours = compile_graph(networkx_graph(extract, CACHE))
    reference = compile_graph(networkx_graph(extract, CACHE, via_osmnx=True))
    assert ours.node_count > 9000 and ours.edge_count > 20000
    assert (ours.edge_delay_s > 0).any() and len(ours.names) > 100  # the comparison covers delays and names
    _assert_identical(ours, reference)


def test_edge_cases_compile_to_the_same_arrays_as_through_osmnx(tmp_path):
    extract = tmp_path / "small.osm"
    extract.write_text(SMALL_OSM, encoding="utf-8")
    G = networkx_graph(extract, tmp_path)
    assert {12, 13, 14, 20, 15}.isdisjoint(G)  # the isolated ring, an unused node and the private way are gone
    assert (6, 5) in G.edges and (5, 6) not in G.edges  # oneway=-1 and oneway=reverse run against the nodes
    assert 3 in G  # the signal mid-way stays a node
    assert 18 in G  # a maxspeed change stays a node
    _assert_identical(compile_graph(G), compile_graph(networkx_graph(extract, tmp_path, via_osmnx=True)))


def test_a_way_whose_nodes_are_missing_is_a_clear_error(tmp_path):
    extract = tmp_path / "clipped.osm"
    extract.write_text(SMALL_OSM.replace('<node id="4" lat="13.3630000" lon="100.9802000"/>\n', ""), encoding="utf-8")
    with pytest.raises(ValueError, match="1 nodes of drivable ways are not in the file"):
        networkx_graph(extract, tmp_path)
