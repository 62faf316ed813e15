"""Issue #20 item 4: `python -m ops.learn_speeds` learns the profile from the AVL positions the server stores
(PostgreSQL `unit_positions`), and the server's loader takes it."""
import asyncio
from pathlib import Path

import numpy as np

from ops import learn_speeds
from ops.bench.calibration import START
from routing.build import load_graph
from routing.drives import example_truth, simulate_drives
from routing.profile import HOURS, ProfileHours, SpeedProfile, load_profile
from routing.service import RoutingService
from tests.conftest import REPO
from tests.routing.conftest import OSM


async def test_speeds_are_learned_from_the_stored_avl_tracks(pool, database_url, tmp_path):
    graph = load_graph(OSM, REPO / "var" / "cache", progress=False)  # the server's default graph
    truth = example_truth(graph.highways)
    drives = simulate_drives(graph, truth, 120, seed=11, start=START)
    rows = [(f"SIM-{n % 12:02d}", fix.at, fix.lat, fix.lon, 12.0, fix.heading_deg, 5.0)
            for n, drive in enumerate(drives) for fix in drive.fixes]
    await pool.executemany("INSERT INTO unit_positions (unit_id, recorded_at, lat, lon, speed_mps, heading_deg,"
                           " accuracy_m) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING", rows)
    out = tmp_path / "speed-profile.json"
    await asyncio.to_thread(learn_speeds.main, ["--database-url", database_url, "--out", str(out)])
    profile = SpeedProfile.load(out)
    assert profile.speed_factor == 1.0 and "AVL of 12 units" in profile.source
    for highway in ("primary", "residential"):
        learned = np.array(profile.factors[highway])
        seen = np.array(profile.observed_s[highway]) >= 300
        errors = np.abs(learned - np.array([truth.factor(highway, h) for h in range(HOURS)]))[seen]
        assert seen.sum() >= 12 and np.median(errors) <= 0.08, (highway, errors)
    assert load_profile(None, out, 1.0).factors == profile.factors  # what the server loads at start


def test_the_profile_follows_the_local_hour(tmp_path):
    graph = load_graph(OSM, REPO / "var" / "cache", progress=False)
    routing = RoutingService(graph, engine="dijkstra")
    rush = SpeedProfile({h: [0.5 if hour == 8 else 1.0 for hour in range(HOURS)] for h in graph.highways})
    hours = ProfileHours(routing, rush)
    from datetime import UTC, datetime
    assert hours.apply(datetime(2026, 1, 5, 1, 10, tzinfo=UTC))  # 08:10 in Chon Buri
    eight = routing.overrides.weights().copy()
    assert not hours.apply(datetime(2026, 1, 5, 1, 50, tzinfo=UTC))  # same hour: nothing to do
    assert hours.apply(datetime(2026, 1, 5, 2, 0, tzinfo=UTC))  # 09:00
    nine = routing.overrides.weights()
    delay = graph.junction_delays()
    np.testing.assert_allclose(eight - delay, 2 * (nine - delay))
    assert load_profile(None, Path(tmp_path / "absent.json"), 1.0) is None


async def test_the_server_runs_on_the_profile_file_and_survives_a_bad_one(database_url, redis_url, tmp_path):
    from tests.conftest import demo_city_server

    good = tmp_path / "good.json"
    SpeedProfile({"primary": [0.5] * HOURS}).save(good)
    async with demo_city_server(database_url, redis_url, speed_profile_file=good) as server:
        routing = server.ctx.routing
        weights, key = routing.overrides.weights_with_key()
        assert key and str(key[0]).startswith(f"base:{SpeedProfile.load(good).version}@")
        primary = routing.graph.edge_highway == routing.graph.highways.index("primary")
        delay = routing.graph.junction_delays()
        np.testing.assert_allclose((weights - delay)[primary], 2 * (routing.graph.edge_time_s - delay)[primary])
    bad = tmp_path / "bad.json"
    SpeedProfile({"primary": [0.5] * HOURS}, speed_factor=1.15).save(bad)  # learned for another factor
    async with demo_city_server(database_url, redis_url, speed_profile_file=bad) as server:
        weights, key = server.ctx.routing.overrides.weights_with_key()
        assert key == () and np.array_equal(weights, server.ctx.routing.graph.edge_time_s)
