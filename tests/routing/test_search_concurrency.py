"""Issue #13 item 1: searches on several threads at once give the single-threaded answers, and a search is
bounded in memory and time whatever graph it is given (a clear error, never a spin or a stray write)."""
import random
import threading

import networkx as nx
import numpy as np
import pytest

from dispatch.model import LatLon
from ops.bench.routing import synthetic_graph
from routing.build import compile_graph
from routing.cch import cch_available
from routing.search import SearchError, SearchSpace, search_engine
from routing.service import RoutingService

THREADS = 4
GRID_SIDE = 120  # 14,400 nodes: the grid on which the shared heap gave 693 wrong answers of 821


@pytest.fixture(scope="module")
def grid():
    G = synthetic_graph(GRID_SIDE)
    return G, compile_graph(G)


def full_search(space: SearchSpace, graph, source: int, targets: list[int]) -> list[tuple[float, float]]:
    """(seconds, metres) from `source` to each target over the forward graph, unbounded, no early stop."""
    return space.run(graph.fwd_offsets, graph.fwd_targets, graph.fwd_edges, graph.edge_time_s, graph.edge_length_m,
                     [(source, 0.0, 0.0)], [], np.inf,
                     lambda dist, metres, _: [(float(dist[t]), float(metres[t])) for t in targets])


def run_on_threads(work, jobs: list, threads: int = THREADS) -> list:
    """Each thread runs every job (in its own shuffled order) with its own state; all start together."""
    barrier = threading.Barrier(threads)
    answers: list[dict] = [{} for _ in range(threads)]
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        order = list(range(len(jobs)))
        random.Random(index).shuffle(order)
        state = work.state()
        barrier.wait()
        try:
            for j in order:
                answers[index][j] = work(state, jobs[j])
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=240)
    assert not any(t.is_alive() for t in pool), "a search thread never finished"
    assert not errors, errors
    return answers


def test_native_engine_is_built_and_used():
    """The install compiled the C search (setup.py); the rest of this file would otherwise test Python only."""
    assert search_engine() == "native-c"
    assert SearchSpace(10).is_native


def test_concurrent_native_searches_match_the_single_threaded_oracle(grid):
    G, graph = grid
    rng = random.Random(13)
    targets = [rng.randrange(graph.node_count) for _ in range(40)]
    sources = [rng.randrange(graph.node_count) for _ in range(24)]
    oracle_space = SearchSpace(graph.node_count)
    assert oracle_space.is_native
    oracle = [full_search(oracle_space, graph, s, targets) for s in sources]

    class Work:
        state = staticmethod(lambda: SearchSpace(graph.node_count))

        def __call__(self, space, source):
            return full_search(space, graph, source, targets)

    answers = run_on_threads(Work(), sources)
    wrong = sum(answer[j] != oracle[j] for answer in answers for j in range(len(sources)))
    assert wrong == 0, f"{wrong} of {THREADS * len(sources)} concurrent searches differ from the oracle"
    nodes = list(G.nodes)
    for j in range(3):  # and the oracle itself is right
        expected = nx.single_source_dijkstra_path_length(G, nodes[sources[j]], weight="travel_time")
        for t, (seconds, _) in zip(targets, oracle[j]):
            assert seconds == pytest.approx(expected[nodes[t]], abs=1e-6)


@pytest.mark.parametrize("engine", ["dijkstra", "cch", "etree"])
def test_concurrent_service_etas_and_routes_match_one_thread(road_graph, nx_graph, engine):
    """Through RoutingService, as the server runs it: ETA searches and route searches on parallel threads. No
    cached trees: every ETA call is a reverse search ("dijkstra") or a CCH sweep ("cch", the default engine, whose
    routes are still searched by the Dijkstra beside it)."""
    if engine in ("cch", "etree") and not cch_available():
        pytest.skip("routingkit-cch is not installed")
    service = RoutingService(road_graph, max_eta_s=3600, max_snap_distance_m=300, workers=THREADS, engine=engine,
                             unit_trees=False)
    assert service.engine in ("cch", "etree", search_engine())
    usable = road_graph.usable_nodes()
    rng = random.Random(20)
    jobs = []
    for _ in range(30):
        target, *origins = (int(n) for n in rng.sample(list(usable), 6))
        jobs.append(("eta", target, origins))
        jobs.append(("route", origins[0], target))

    def at(node: int) -> LatLon:
        return LatLon(float(road_graph.node_lat[node]), float(road_graph.node_lon[node]))

    def call(_state, job):
        kind, a, b = job
        if kind == "eta":
            return [(r.eta_s, r.distance_m) for r in service.etas_to_sync(at(a), [at(n) for n in b])]
        route = service.route_sync(at(a), at(b))
        return None if route is None else (route.duration_s, route.distance_m, route.geometry["coordinates"])

    oracle = [call(None, job) for job in jobs]

    class Work:
        state = staticmethod(lambda: None)
        __call__ = staticmethod(call)

    answers = run_on_threads(Work(), jobs)
    wrong = sum(answer[j] != oracle[j] for answer in answers for j in range(len(jobs)))
    assert wrong == 0, f"{wrong} of {THREADS * len(jobs)} concurrent answers differ from one thread's"
    nodes = list(nx_graph.nodes)
    for (_, target, origins), etas in list(zip(jobs, oracle))[:10:2]:
        for origin, (eta_s, _) in zip(origins, etas):
            expected = nx.shortest_path_length(nx_graph, nodes[origin], nodes[target], weight="travel_time")
            assert eta_s == pytest.approx(expected, abs=0.5)


@pytest.mark.parametrize("native", [True, False])
def test_a_search_is_bounded_by_the_graph_even_with_negative_cycles(grid, native):
    """Each node is expanded once, so the heap never holds more than sources + edges items: even weights that
    break Dijkstra's assumptions (a negative cycle) end the search instead of spinning or growing memory."""
    _, graph = grid
    weights = graph.edge_time_s.copy()
    weights[: len(weights) // 3] = -5.0
    space = SearchSpace(graph.node_count, native=native)
    reached = space.run(graph.fwd_offsets, graph.fwd_targets, graph.fwd_edges, weights, graph.edge_length_m,
                        [(0, 0.0, 0.0)], [], np.inf, lambda dist, *_: int(np.isfinite(dist).sum()))
    assert reached == graph.node_count
    if native:
        assert space.heap_key.size == 1 + graph.edge_count  # sized once from the graph, never grown
    assert np.isinf(space.dist).all() and (space.next_edge == -1).all() and not space.settled.any()


@pytest.mark.parametrize("native", [True, False])
def test_a_malformed_graph_is_a_clear_error_and_leaves_the_space_clean(grid, native):
    _, graph = grid
    space = SearchSpace(graph.node_count, native=native)
    bad_edges = graph.fwd_edges.copy()
    bad_edges[len(bad_edges) // 2:] = graph.edge_count + 7  # names an edge that does not exist
    with pytest.raises(SearchError, match="does not exist"):
        space.run(graph.fwd_offsets, graph.fwd_targets, bad_edges, graph.edge_time_s, graph.edge_length_m,
                  [(0, 0.0, 0.0)], [], np.inf, lambda *_: None)
    assert np.isinf(space.dist).all() and (space.next_edge == -1).all() and not space.settled.any()
    with pytest.raises(ValueError, match="source node"):
        space.run(graph.fwd_offsets, graph.fwd_targets, graph.fwd_edges, graph.edge_time_s, graph.edge_length_m,
                  [(graph.node_count, 0.0, 0.0)], [], np.inf, lambda *_: None)
    # The space still answers correctly afterwards.
    good = full_search(space, graph, 0, [graph.node_count - 1])
    assert good == full_search(SearchSpace(graph.node_count, native=native), graph, 0, [graph.node_count - 1])


def test_native_heap_overflow_is_reported_not_grown(grid):
    """The C function never allocates: handed a heap too small it says so (and how many nodes to reset)."""
    _, graph = grid
    space = SearchSpace(graph.node_count)
    lib = space.lib
    import ctypes

    count = ctypes.c_int64(0)
    src = np.array([0], dtype=np.int32)
    status = lib.dijkstra(graph.node_count, graph.edge_count, graph.fwd_offsets, graph.fwd_targets, graph.fwd_edges,
                          graph.edge_time_s, graph.edge_length_m, 1, src, np.zeros(1), np.zeros(1), 0,
                          np.zeros(0, dtype=np.int32), np.inf, space.dist, space.aux, space.next_edge, space.settled,
                          space.goal_flag, space.touched, ctypes.byref(count), np.zeros(3), np.zeros(3, dtype=np.int32),
                          3)
    assert status == -2
    assert 1 <= count.value <= graph.node_count
    space._reset(space.touched[: count.value])
    assert np.isinf(space.dist).all()


def test_python_fallback_gives_the_native_answers_on_the_city_graph(road_graph):
    """The engine a machine without a C compiler runs: the same seconds and metres to the bit, and the same tree."""
    rng = random.Random(3)
    native, fallback = SearchSpace(road_graph.node_count), SearchSpace(road_graph.node_count, native=False)
    g = road_graph
    for _ in range(15):
        source = rng.randrange(g.node_count)
        goals = [rng.randrange(g.node_count) for _ in range(rng.choice([0, 5]))]
        answers = [space.run(g.rev_offsets, g.rev_targets, g.rev_edges, g.edge_time_s, g.edge_length_m,
                             [(source, 0.0, 0.0)], goals, 1800.0,
                             lambda dist, metres, _: (dist.copy(), metres.copy()))
                   for space in (native, fallback)]
        (native_s, native_m), (python_s, python_m) = answers
        if goals:  # an early stop settles the goals; other nodes may differ by what was still in the heap
            native_s, native_m, python_s, python_m = (a[goals] for a in (native_s, native_m, python_s, python_m))
        assert np.array_equal(native_s, python_s)
        assert np.array_equal(native_m, python_m)


def test_weights_and_their_key_are_read_together_while_closures_change(road_graph):
    """Unit trees are cached by the overrides' key: the weights handed out with a key must be that key's."""
    from routing.overrides import Overrides

    overrides = Overrides(road_graph.edge_time_s)
    edge, stop = 5, threading.Event()
    mismatches: list[tuple] = []

    def toggle():
        while not stop.is_set():
            overrides.add([edge], factor=None, expires_at=None, override_id="flood")
            overrides.remove("flood")

    def read():
        for _ in range(20_000):
            weights, key = overrides.weights_with_key()
            if np.isinf(weights[edge]) != ("flood" in key):
                mismatches.append(key)

    writer = threading.Thread(target=toggle)
    readers = [threading.Thread(target=read) for _ in range(2)]
    writer.start()
    for t in readers:
        t.start()
    for t in readers:
        t.join()
    stop.set()
    writer.join()
    assert mismatches == []


def test_a_route_walk_on_a_corrupt_tree_is_an_error_not_an_endless_loop(road_graph):
    """The issue's spinning thread (100 % CPU, 21 GB): a route walked a search tree that overlapping searches had
    corrupted into a cycle, appending edges for ever. A cycle now ends the walk with a SearchError."""
    from routing.route import build_route

    g = road_graph
    service = RoutingService(g, max_eta_s=3600, max_snap_distance_m=300, workers=1, engine="dijkstra")
    usable = g.usable_nodes()
    origin, target = (service.snap(float(g.node_lat[n]), float(g.node_lon[n])) for n in (usable[10], usable[-10]))
    weights = service.overrides.weights()

    class CycleInTheTree:
        """Runs the real search, then turns the tree's first step from each goal back on itself."""

        def __init__(self):
            self.real, self.cycles = SearchSpace(g.node_count), 0

        def run(self, offsets, targets, edge_ids, weights, lengths, sources, goals, limit, extract):
            def corrupt(dist, metres, next_edge):
                for node in goals:
                    edge = int(next_edge[node])
                    if edge >= 0 and g.edge_twin[edge] >= 0 and next_edge[g.edge_dst[edge]] >= 0:
                        next_edge[g.edge_dst[edge]] = g.edge_twin[edge]  # back to `node`: node -> y -> node ...
                        self.cycles += 1
                return extract(dist, metres, next_edge)
            return self.real.run(offsets, targets, edge_ids, weights, lengths, sources, goals, limit, corrupt)

    assert build_route(g, SearchSpace(g.node_count), weights, origin, target, 3600) is not None
    corrupt_space, outcome = CycleInTheTree(), []

    def walk():  # on a thread, so an endless walk fails the test instead of hanging it
        try:
            outcome.append(build_route(g, corrupt_space, weights, origin, target, 3600))
        except BaseException as exc:  # reported below
            outcome.append(exc)

    walker = threading.Thread(target=walk, daemon=True)
    walker.start()
    walker.join(timeout=60)
    assert outcome, "the route walk never ended"
    assert corrupt_space.cycles >= 1
    assert isinstance(outcome[0], SearchError) and "cycle" in str(outcome[0])
    assert np.isinf(corrupt_space.real.dist).all()  # the space was left clean for the next search
