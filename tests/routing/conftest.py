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


@pytest.fixture(scope="session")
def dijkstra_oracle(road_graph):
    """The bounded Dijkstra without trees: what the hierarchies' answers are checked against."""
    return RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300, engine="dijkstra", unit_trees=False)


def rank_while_closures_toggle(service, oracle, work: list, closed_edges: list[int], answer, same, *,
                               threads: int = 4, rounds: int = 60, alongside=()) -> None:
    """`threads` threads each rank `rounds` random jobs of `work` on `service` while another thread closes and
    reopens `closed_edges` without pause (and each of `alongside`, a function taking the stop event, runs on a
    thread of its own). Every answer (`answer(service, target, origins)`) must be `same` as the oracle's for the
    open or for the closed roads, never a mix, and no thread may fail or hang."""
    import random
    import threading

    open_answers = [answer(oracle, t, o) for t, o in work]
    oracle.add_closure(closed_edges, expires_at=None, closure_id="storm")
    closed_answers = [answer(oracle, t, o) for t, o in work]
    oracle.remove_override("storm")
    assert open_answers != closed_answers
    stop, errors, wrong, done = threading.Event(), [], [], [0]

    def reader(seed: int):
        rng = random.Random(seed)
        try:
            for _ in range(rounds):
                j = rng.randrange(len(work))
                got = answer(service, *work[j])
                if not (same(got, open_answers[j]) or same(got, closed_answers[j])):
                    wrong.append(j)
                done[0] += 1
        except BaseException as exc:  # reported below
            errors.append(exc)

    def toggler(stop_event):
        while not stop_event.is_set():
            service.add_closure(closed_edges, expires_at=None, closure_id="storm")
            service.remove_override("storm")

    readers = [threading.Thread(target=reader, args=(i,)) for i in range(threads)]
    others = [threading.Thread(target=f, args=(stop,)) for f in (toggler, *alongside)]
    for t in others + readers:
        t.start()
    for t in readers:
        t.join(timeout=240)
    stop.set()
    for t in others:
        t.join(timeout=60)
    assert not errors, errors
    assert not any(t.is_alive() for t in readers + others)
    assert wrong == [] and done[0] == threads * rounds
