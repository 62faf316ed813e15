"""Issue #13 items 10 and 12: the build is the same under any hash seed, and it follows OSM access tags."""
import subprocess
import sys
from collections import Counter

import numpy as np
import osmium
import pytest

from routing.build import drivable_by_ambulance
from routing.graph import RoadGraph
from tests.conftest import REPO
from tests.routing.conftest import OSM

BUILD = """
import sys
from routing.build import compile_graph, networkx_graph
compile_graph(networkx_graph(sys.argv[1], sys.argv[2])).save(__import__("pathlib").Path(sys.argv[3]))
"""


def test_the_compiled_graph_is_identical_under_different_hash_seeds(tmp_path):
    """osmnx keeps merged ways' values as list(set(...)); the arrays must not follow PYTHONHASHSEED."""
    builds = []
    for seed in ("0", "1", "4242"):
        out = tmp_path / f"roads-{seed}.npz"
        subprocess.run([sys.executable, "-c", BUILD, str(OSM), str(REPO / "var" / "cache"), str(out)], cwd=REPO,
                       env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}, check=True, timeout=240)
        builds.append(RoadGraph.load(out))
    first = builds[0]
    arrays = [name for name, value in vars(first).items() if isinstance(value, np.ndarray)]
    for other in builds[1:]:
        differing = [name for name in arrays if not np.array_equal(getattr(first, name), getattr(other, name))]
        assert differing == []
        assert other.names == first.names
        assert other.highways == first.highways


def test_no_compiled_edge_merges_two_road_classes_or_speed_limits(nx_graph):
    """Edges are never merged across a class or maxspeed change, so each has one class and one speed."""
    mixed = [(u, v, d["highway"]) for u, v, d in nx_graph.edges(data=True)
             if isinstance(d.get("highway"), list) or isinstance(d.get("maxspeed"), list)]
    assert mixed == []


@pytest.mark.parametrize(("tags", "drivable"), [
    ({"highway": "residential"}, True),
    ({"highway": "residential", "motorcar": "no"}, False),
    ({"highway": "residential", "motor_vehicle": "no"}, False),
    ({"highway": "residential", "access": "private"}, False),
    ({"highway": "residential", "access": "yes", "motor_vehicle": "no"}, False),  # the most specific tag decides
    ({"highway": "service", "access": "private", "motorcar": "destination"}, True),
    ({"highway": "service", "access": "no", "emergency": "yes"}, True),  # ambulances may use emergency access
    ({"highway": "service", "access": "designated"}, True),
    ({"highway": "residential", "emergency": "no"}, False),
    ({"highway": "footway"}, False),
    ({"highway": "residential", "access": float("nan")}, True),  # osmnx's missing value
])
def test_access_rule(tags, drivable):
    assert drivable_by_ambulance(tags) is drivable


def _ways_of_the_extract() -> tuple[dict[int, dict], dict[int, list[int]]]:
    ways, nodes_of = {}, {}
    for way in osmium.FileProcessor(str(OSM), osmium.osm.WAY):
        if "highway" in way.tags:
            ways[way.id] = dict(way.tags)
            nodes_of[way.id] = [n.ref for n in way.nodes]
    return ways, nodes_of


def _graph_osmids(nx_graph) -> set[int]:
    found = set()
    for _, _, d in nx_graph.edges(data=True):
        found.update(d["osmid"] if isinstance(d["osmid"], list) else [d["osmid"]])
    return found


def test_ways_closed_to_motor_vehicles_are_not_in_the_graph(nx_graph):
    ways, _ = _ways_of_the_extract()
    closed = {i for i, tags in ways.items()
              if tags.get("motorcar") == "no" or tags.get("motor_vehicle") in ("no", "private")}
    assert len(closed) >= 8  # the city extract has ten such sois
    assert closed & _graph_osmids(nx_graph) == set()


def test_a_public_way_running_on_into_a_private_one_keeps_its_public_part(nx_graph):
    """Where an open way continues into a closed one (and nothing else meets there), osmnx simplification used
    to merge the two into one edge, which was then dropped as private: the public stretch vanished."""
    ways, nodes_of = _ways_of_the_extract()
    ends = Counter()
    for refs in nodes_of.values():
        ends.update(refs)  # how many way-nodes each node is (a junction has 2 or more)
    continuations = []
    for closed_id, tags in ways.items():
        if drivable_by_ambulance({**tags, "access": None, "motorcar": None, "motor_vehicle": None}) and \
                not drivable_by_ambulance(tags):
            for end in (nodes_of[closed_id][0], nodes_of[closed_id][-1]):
                if ends[end] != 2:
                    continue
                for open_id, refs in nodes_of.items():
                    if open_id != closed_id and end in (refs[0], refs[-1]) and drivable_by_ambulance(ways[open_id]):
                        continuations.append((open_id, end))
    assert len(continuations) >= 5, "the extract should have public ways that run on into private ones"
    in_graph = _graph_osmids(nx_graph)
    lost = [open_id for open_id, _ in continuations if open_id not in in_graph]
    assert lost == []
    assert all(end in nx_graph for _, end in continuations)  # the public part ends where the private one starts
