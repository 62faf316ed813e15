"""Issue #20: the customizable contraction hierarchy gives the Dijkstra's ETAs (within 0.5 s; in practice to the
millisecond), stays right across closures (partial metric updates), is safe on several threads while closures
come and go, and the bounded Dijkstra still answers when routingkit-cch is missing."""
import random
import threading

import numpy as np
import pytest

import routing.cch
from dispatch.model import LatLon
from routing.cch import METRES_FOR_FASTEST, cch_available
from routing.service import RoutingService

pytestmark = pytest.mark.skipif(not cch_available(), reason="routingkit-cch is not installed")
THREADS = 4


@pytest.fixture(scope="module")
def services(road_graph):
    cch = RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300, engine="cch")
    dijkstra = RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300, engine="dijkstra",
                              unit_trees=False)
    return cch, dijkstra


def at(graph, node: int) -> LatLon:
    return LatLon(float(graph.node_lat[node]), float(graph.node_lon[node]))


def jobs(graph, count: int, origins: int, seed: int) -> list[tuple[LatLon, list[LatLon]]]:
    rng = random.Random(seed)
    usable = list(graph.usable_nodes())
    made = []
    for _ in range(count):
        target, *rest = rng.sample(usable, origins + 1)
        made.append((at(graph, target), [at(graph, n) for n in rest]))
    return made


def assert_same_etas(got, want):
    assert [r.eta_s is None for r in got] == [r.eta_s is None for r in want]
    for a, b in zip(got, want):
        if a.eta_s is not None:
            assert abs(a.eta_s - b.eta_s) <= 0.5
            if a.distance_m is not None and b.distance_m is not None:  # the CCH traces the fastest ten only
                assert a.distance_m == pytest.approx(b.distance_m, abs=1.0)


def test_cch_etas_match_the_dijkstra_before_during_and_after_a_closure(services, road_graph):
    cch, dijkstra = services
    assert cch.engine == "cch"
    work = jobs(road_graph, 12, 25, seed=20)
    for target, origins in work:
        assert_same_etas(cch.etas_to_sync(target, origins), dijkstra.etas_to_sync(target, origins))
    target, origins = work[0]
    before = cch.etas_to_sync(target, origins)
    route = dijkstra.route_sync(origins[0], target)
    busy = sorted(set(int(e) for e in np.flatnonzero(road_graph.usable)[::7]))  # close a seventh of the roads
    for service in services:
        service.add_closure(busy, expires_at=None, closure_id="flood")
    try:
        closed = cch.etas_to_sync(target, origins)
        assert_same_etas(closed, dijkstra.etas_to_sync(target, origins))
        assert closed != before and route is not None
        for t, o in work[1:4]:
            assert_same_etas(cch.etas_to_sync(t, o), dijkstra.etas_to_sync(t, o))
    finally:
        for service in services:
            service.remove_override("flood")
    assert_same_etas(cch.etas_to_sync(target, origins), before)
    assert cch.cch.partial_updates >= 2  # the closure and the reopening were partial updates, not rebuilds


def test_the_fastest_origins_carry_their_road_metres(services, road_graph):
    cch, dijkstra = services
    target, origins = jobs(road_graph, 1, 40, seed=3)[0]
    got, want = cch.etas_to_sync(target, origins), dijkstra.etas_to_sync(target, origins)
    order = sorted((r.eta_s, i) for i, r in enumerate(got) if r.eta_s is not None)
    for _, i in order[:METRES_FOR_FASTEST]:
        assert got[i].distance_m == pytest.approx(want[i].distance_m, abs=1.0)


@pytest.mark.parametrize("unit_trees", [False, True])
def test_concurrent_cch_rankings_while_closures_come_and_go(services, road_graph, unit_trees):
    """Every answer on every thread is the oracle's for one of the two states (open or closed), never a mix and
    never a crash, while a writer toggles the closure (each toggle swaps the two metrics); with unit trees, the
    background builder runs meanwhile too."""
    _, dijkstra = services
    cch = RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300, engine="cch", unit_trees=unit_trees)
    work = jobs(road_graph, 10, 20, seed=13)
    closed_edges = sorted(set(int(e) for e in np.flatnonzero(road_graph.usable)[::5]))
    open_answers = [[r.eta_s for r in dijkstra.etas_to_sync(t, o)] for t, o in work]
    dijkstra.add_closure(closed_edges, expires_at=None, closure_id="storm")
    closed_answers = [[r.eta_s for r in dijkstra.etas_to_sync(t, o)] for t, o in work]
    dijkstra.remove_override("storm")
    assert open_answers != closed_answers
    stop, errors, wrong, done = threading.Event(), [], [], [0]

    def matches(got, want):
        return all((a is None) == (b is None) and (a is None or abs(a - b) <= 0.5) for a, b in zip(got, want))

    def reader(seed: int):
        rng = random.Random(seed)
        try:
            for _ in range(60):
                j = rng.randrange(len(work))
                got = [r.eta_s for r in cch.etas_to_sync(*work[j])]
                if not (matches(got, open_answers[j]) or matches(got, closed_answers[j])):
                    wrong.append(j)
                done[0] += 1
        except BaseException as exc:  # reported below
            errors.append(exc)

    def writer():
        while not stop.is_set():
            cch.add_closure(closed_edges, expires_at=None, closure_id="storm")
            cch.remove_override("storm")

    readers = [threading.Thread(target=reader, args=(i,)) for i in range(THREADS)]
    toggler = threading.Thread(target=writer)
    toggler.start()
    for t in readers:
        t.start()
    for t in readers:
        t.join(timeout=240)
    stop.set()
    toggler.join(timeout=60)
    assert not errors, errors
    assert not any(t.is_alive() for t in readers)
    assert wrong == [] and done[0] == THREADS * 60


def test_without_routingkit_the_dijkstra_answers(road_graph, monkeypatch, services):
    cch, _ = services
    target, origins = jobs(road_graph, 1, 10, seed=5)[0]
    expected = cch.etas_to_sync(target, origins)
    monkeypatch.setattr(routing.cch, "_rk", None)
    assert not cch_available()
    fallback = RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300)  # engine "auto", trees default
    assert fallback.cch is None and fallback.engine in ("native-c", "python") and fallback.unit_trees
    assert_same_etas(fallback.etas_to_sync(target, origins), expected)
    with pytest.raises(RuntimeError, match="routingkit-cch"):
        RoutingService(road_graph, engine="cch")
