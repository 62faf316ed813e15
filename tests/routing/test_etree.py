"""Issue #20: our own CCH with kept walks (routing/etree.py, routing/_cch.c) gives the Dijkstra's seconds and metres,
its shortcuts are each checked against the slow way (a partial update against a full customization, a carried
walk against a fresh one, the suffix join against the oracle from points in the middle of roads), it is safe on
several threads while closures come and go and AVL fixes arrive, and a malformed hierarchy is an error, not a hang.
"""
import random
import threading

import numpy as np
import pytest

import routing.cch
import routing.search
from dispatch.model import LatLon, MovingFix
from routing.etree import EtreeIndex, etree_available
from routing.search import SearchError
from routing.service import RoutingService

pytestmark = pytest.mark.skipif(not etree_available(), reason="needs the native library and routingkit-cch")
THREADS = 4


@pytest.fixture(scope="module")
def services(road_graph):
    etree = RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300, engine="etree")
    dijkstra = RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300, engine="dijkstra",
                              unit_trees=False)
    return etree, dijkstra


def mid_road(graph, rng: random.Random) -> LatLon:
    """A point part-way along a random road: its ETA enters from both ends of the edge (two-entry goal walks)."""
    edge = int(rng.choice(list(np.flatnonzero(graph.usable))))
    a, b, t = int(graph.edge_src[edge]), int(graph.edge_dst[edge]), rng.uniform(0.2, 0.8)
    return LatLon(float(graph.node_lat[a] * (1 - t) + graph.node_lat[b] * t),
                  float(graph.node_lon[a] * (1 - t) + graph.node_lon[b] * t))


def jobs(graph, count: int, origins: int, seed: int) -> list[tuple[LatLon, list]]:
    rng = random.Random(seed)
    made = []
    for _ in range(count):
        units = [mid_road(graph, rng) for _ in range(origins)]
        units[::3] = [MovingFix(u.lat, u.lon, rng.uniform(0, 360)) for u in units[::3]]  # some drive, with headings
        made.append((mid_road(graph, rng), units))
    return made


def answers(service, target, origins) -> list[tuple]:
    return [(r.eta_s, r.distance_m) for r in service.etas_to_sync(target, origins)]


def same(got, want) -> bool:
    """Seconds to a millionth (the same edges summed in another order) and metres to a metre, every origin; a
    metre tolerance covers the shorter of two equally fast routes, which both engines take, differently ordered."""
    return all((a is None) == (b is None) and (a is None or (abs(a - b) <= 1e-6 and abs(m - n) <= 1.0))
               for (a, m), (b, n) in zip(got, want))


def test_etree_seconds_and_metres_match_the_dijkstra_from_the_middle_of_roads(services, road_graph):
    etree, dijkstra = services
    assert etree.engine == "etree" and not etree.unit_trees
    for target, origins in jobs(road_graph, 15, 30, seed=20):
        got, want = answers(etree, target, origins), answers(dijkstra, target, origins)
        assert same(got, want), (got, want)
        assert all(m is not None for s, m in got if s is not None)  # every unit has its road distance


def test_closures_and_slowdowns_are_partial_updates_equal_to_a_full_customization(road_graph):
    """Each new metric after a closure, a slowdown or a reopening is a partial update of the last one; every arc
    of it (seconds and metres, both ways) equals a customization from scratch, and every walk it carried over
    equals a walk made afresh."""
    index = EtreeIndex(road_graph)
    base = road_graph.edge_time_s.copy()
    rng = np.random.default_rng(7)
    usable = np.flatnonzero(road_graph.usable)
    index.warm(base, "base")
    starts = [int(n) for n in rng.choice(road_graph.usable_nodes(), 300)]
    index.keep_walks(base, "base", starts)
    weights, carried = base, 0
    for step in range(12):
        weights = weights.copy()
        chosen = rng.choice(usable, 40)
        if step % 3 == 0:
            weights[chosen] = np.inf  # a closure
        elif step % 3 == 1:
            weights[chosen] = weights[chosen] * 2.5  # a slowdown (a flood, a market day)
        else:
            weights[chosen] = base[chosen]  # reopened: faster again
        updates = index.partial_updates
        index.warm(weights, f"step-{step}")
        assert index.partial_updates == updates + 1
        current = index._current
        fresh = index._customize(weights, "fresh", None)
        for name in ("fwd", "bwd", "fwd_m", "bwd_m"):
            assert np.array_equal(getattr(current, name), getattr(fresh, name)), (step, name)
        scratch = index._borrow()
        for rank, kept in list(current.walks.items()):
            again = index._walk(scratch, fresh.fwd, fresh.fwd_m, [(rank, 0.0, 0.0)])
            assert np.array_equal(kept.walk.seconds, again.seconds) and np.array_equal(kept.walk.metres, again.metres)
        carried += len(current.walks)
    assert carried > 0


def test_concurrent_etree_rankings_while_closures_come_and_go_and_fixes_arrive(services, road_graph):
    """Every answer on every thread is the oracle's for one of the two states (open or closed), never a mix and
    never a crash, while a writer toggles a closure (partial updates reusing the spare metric's memory) and the
    AVL feed makes walks for moving units."""
    _, dijkstra = services
    etree = RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300, engine="etree", workers=2)
    work = jobs(road_graph, 10, 20, seed=13)
    closed_edges = sorted(set(int(e) for e in np.flatnonzero(road_graph.usable)[::40]))  # few: partial updates
    open_answers = [answers(dijkstra, t, o) for t, o in work]
    dijkstra.add_closure(closed_edges, expires_at=None, closure_id="storm")
    closed_answers = [answers(dijkstra, t, o) for t, o in work]
    dijkstra.remove_override("storm")
    assert open_answers != closed_answers
    stop, errors, wrong, done = threading.Event(), [], [], [0]

    def reader(seed: int):
        rng = random.Random(seed)
        try:
            for _ in range(60):
                j = rng.randrange(len(work))
                got = answers(etree, *work[j])
                if not (same(got, open_answers[j]) or same(got, closed_answers[j])):
                    wrong.append(j)
                done[0] += 1
        except BaseException as exc:  # reported below
            errors.append(exc)

    def writer():
        while not stop.is_set():
            etree.add_closure(closed_edges, expires_at=None, closure_id="storm")
            etree.remove_override("storm")

    def avl():
        rng = random.Random(99)
        while not stop.is_set():
            etree.note_positions([MovingFix(p.lat, p.lon, rng.uniform(0, 360))
                                  for p in (mid_road(road_graph, rng) for _ in range(20))])

    readers = [threading.Thread(target=reader, args=(i,)) for i in range(THREADS)]
    others = [threading.Thread(target=writer), threading.Thread(target=avl)]
    for t in others + readers:
        t.start()
    for t in readers:
        t.join(timeout=240)
    stop.set()
    for t in others:
        t.join(timeout=60)
    assert not errors, errors
    assert not any(t.is_alive() for t in readers + others)
    assert wrong == [] and done[0] == THREADS * 60
    assert etree.etree.partial_updates >= 2


def test_noted_positions_leave_the_ranking_no_walk_to_make(road_graph):
    service = RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300, engine="etree")
    target, origins = jobs(road_graph, 1, 15, seed=4)[0]
    assert service.note_positions(origins) == len(origins)
    kept = len(service.etree._current.walks)
    assert kept > 0
    ranked = service.etas_to_sync(target, origins)
    assert len(service.etree._current.walks) == kept  # nothing new to walk: the AVL path made them all
    fresh = RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300, engine="etree")
    assert ranked == fresh.etas_to_sync(target, origins)


def test_a_malformed_hierarchy_is_an_error_not_a_hang(road_graph):
    index = EtreeIndex(road_graph)
    weights = road_graph.edge_time_s
    index.warm(weights, "base")
    scratch = index._borrow()
    metric = index._current
    with pytest.raises(SearchError):  # a start that is not a node
        index._walk(scratch, metric.fwd, metric.fwd_m, [(road_graph.node_count + 5, 0.0, 0.0)])
    child = int(np.flatnonzero(index.parent >= 0)[0])
    good_parent = index.parent
    index.parent = good_parent.copy()
    index.parent[index.parent[child]] = child  # a cycle: the parent points back down
    try:
        with pytest.raises(SearchError):
            index._walk(scratch, metric.fwd, metric.fwd_m, [(child, 0.0, 0.0)])
    finally:
        index.parent = good_parent
    # the scratch arrays were left clean: the next walk is right
    assert np.isinf(scratch.seconds).all() and not scratch.seen.any() and not scratch.metres.any()


def test_auto_falls_back_when_the_native_library_or_routingkit_is_missing(road_graph, monkeypatch, services):
    etree, _ = services
    target, origins = jobs(road_graph, 1, 10, seed=5)[0]
    expected = answers(etree, target, origins)
    monkeypatch.setattr(routing.search, "_native_lib", None)  # as if built without a compiler
    assert not etree_available()
    without_native = RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300)
    assert without_native.etree is None and without_native.engine == "cch"
    with pytest.raises(RuntimeError, match="native"):
        RoutingService(road_graph, engine="etree")
    by_fallback = [answers(without_native, target, origins)]
    monkeypatch.setattr(routing.cch, "_rk", None)
    without_either = RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300)
    assert without_either.hierarchy is None and without_either.engine == "python"
    by_fallback.append(answers(without_either, target, origins))
    for got in by_fallback:
        assert all((a is None) == (b is None) and (a is None or abs(a - b) <= 0.5) for (a, _), (b, _) in zip(got, expected))


def test_weights_or_nodes_that_do_not_fit_the_graph_are_refused(road_graph):
    """Found by review: longer weights were read past the edges' arrays, shorter ones closed the missing edges,
    and node -1 answered for the last node."""
    index = EtreeIndex(road_graph)
    weights = road_graph.edge_time_s
    for wrong in (np.concatenate([weights, np.ones(5)]), weights[:-40]):
        with pytest.raises(ValueError, match="edges"):
            index.warm(wrong, "wrong")
    index.warm(weights, "base")
    for node in (-1, road_graph.node_count):
        with pytest.raises(ValueError, match="not in the graph"):
            index.distances_to(weights, "base", [node], [(0, 0.0, 0.0)])
    seconds, metres = index.distances_to(weights, "base", [0, 1], [(1, 0.0, 0.0)])
    assert seconds[1] == 0.0 and metres[1] == 0.0
