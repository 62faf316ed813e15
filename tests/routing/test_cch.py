"""Issue #20: the customizable contraction hierarchy gives the Dijkstra's ETAs (within 0.5 s; in practice to the
millisecond), stays right across closures (partial metric updates), is safe on several threads while closures
come and go, and the bounded Dijkstra still answers when routingkit-cch is missing."""
import random

import numpy as np
import pytest

import routing.cch
from dispatch.model import LatLon, MovingFix
from routing.cch import METRES_FOR_FASTEST, cch_available
from routing.service import RoutingService
from tests.routing.conftest import rank_while_closures_toggle

pytestmark = pytest.mark.skipif(not cch_available(), reason="routingkit-cch is not installed")


@pytest.fixture(scope="module")
def services(road_graph, dijkstra_oracle):
    return RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300, engine="cch"), dijkstra_oracle


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
    assert cch.cch_metres == "search"
    for target, origins in jobs(road_graph, 4, 40, seed=3):
        got, want = cch.etas_to_sync(target, origins), dijkstra.etas_to_sync(target, origins)
        order = sorted((r.eta_s, i) for i, r in enumerate(got) if r.eta_s is not None)
        assert len(order) > METRES_FOR_FASTEST
        for rank, (_, i) in enumerate(order):
            if rank < METRES_FOR_FASTEST:
                assert got[i].distance_m == pytest.approx(want[i].distance_m, abs=1.0)
            else:
                assert got[i].distance_m is None


def test_metres_by_cch_path_queries_agree_with_the_search(services, road_graph):
    """The earlier way of tracing metres (a CCH path query each), kept for the churn benchmark, gives the same
    answers as the default one bounded search."""
    cch, _ = services
    by_paths = RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300, engine="cch", cch_metres="paths")
    for target, origins in jobs(road_graph, 4, 30, seed=8):
        got, want = by_paths.etas_to_sync(target, origins), cch.etas_to_sync(target, origins)
        assert [r.eta_s for r in got] == [r.eta_s for r in want]
        assert [r.distance_m is None for r in got] == [r.distance_m is None for r in want]
        for a, b in zip(got, want):
            if a.distance_m is not None:
                assert a.distance_m == pytest.approx(b.distance_m, abs=1.0)
    with pytest.raises(ValueError, match="cch_metres"):
        RoutingService(road_graph, engine="cch", cch_metres="guess")


def test_noted_positions_are_snapped_before_the_ranking(road_graph):
    """`note_positions` (the server calls it with each second's AVL fixes) leaves a ranking nothing to snap but
    its target, moving units' headings included; a bad position is skipped, not raised."""
    service = RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300, engine="cch")
    target, parked = jobs(road_graph, 1, 12, seed=21)[0]
    moving = [MovingFix(o.lat + 1e-5, o.lon, float(30 * i)) for i, o in enumerate(parked[:6])]
    origins = parked[6:] + moving
    assert service.note_positions([*origins, LatLon(95.0, 100.0)]) == len(origins)
    cache = service.snapper._snap_cached
    before = cache.cache_info()
    noted = service.etas_to_sync(target, origins)
    after = cache.cache_info()
    assert after.misses - before.misses == 1  # the incident only
    # the origins' snaps were remembered by their positions when noted: not even a cache lookup in the ranking
    assert after.hits == before.hits and all(o in service._snaps for o in origins)
    fresh = RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300, engine="cch")
    assert noted == fresh.etas_to_sync(target, origins)


@pytest.mark.parametrize("unit_trees", [False, True])
def test_concurrent_cch_rankings_while_closures_come_and_go(dijkstra_oracle, road_graph, unit_trees):
    """Every answer on every thread is the oracle's for one of the two states (open or closed), never a mix and
    never a crash, while a writer toggles the closure (each toggle swaps the two metrics); with unit trees, the
    background builder runs meanwhile too."""
    cch = RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300, engine="cch", unit_trees=unit_trees)

    def answer(service, target, origins):
        return [(r.eta_s, r.distance_m) for r in service.etas_to_sync(target, origins)]

    def matches(got, want):  # seconds, and road metres where the CCH traced them (the fastest ten)
        return all((a is None) == (b is None) and (a is None or abs(a - b) <= 0.5)
                   and (m is None or abs(m - n) <= 1.0) for (a, m), (b, n) in zip(got, want))

    closed_edges = sorted(set(int(e) for e in np.flatnonzero(road_graph.usable)[::5]))
    rank_while_closures_toggle(cch, dijkstra_oracle, jobs(road_graph, 10, 20, seed=13), closed_edges, answer, matches)


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
