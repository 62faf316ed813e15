"""Issue #20 item 4: speeds learned from map-matched AVL tracks recover the true per-class, per-hour speeds of
simulated drives, and a bounded calibration benchmark meets the ≤ 10 % median ETA error on held-out drives."""
import json
import subprocess
import sys

import numpy as np
import pytest

from dispatch.model import LatLon
from ops.bench.calibration import START, bench_graph, calibration
from routing.drives import example_truth, simulate_drives
from routing.learn import MIN_HOUR_S, Matcher, learn_profile
from routing.profile import HOURS, NEUTRAL, ProfileError, SpeedProfile
from routing.service import RoutingService
from tests.conftest import REPO


@pytest.fixture(scope="module")
def town():
    return bench_graph("synthetic")


def test_learning_recovers_the_true_speeds_of_simulated_drives(town):
    truth = example_truth(town.highways)
    drives = simulate_drives(town, truth, 200, seed=7, start=START)
    matcher = Matcher(town)
    profile = learn_profile(town, [s for d in drives for s in matcher.match(d.fixes)])
    assert sorted(profile.factors) == sorted(town.highways)
    for highway in town.highways:
        observed = [h for h in range(HOURS) if profile.observed_s[highway][h] >= MIN_HOUR_S]
        assert len(observed) >= 20  # a week of drives covers nearly every hour of both classes
        errors = [abs(profile.factor(highway, h) - truth.factor(highway, h)) for h in observed]
        assert np.median(errors) <= 0.05, (highway, errors)
        assert max(errors) <= 0.2, (highway, errors)
        # rush hour is learned slower than the night, as the truth has it
        assert profile.factor(highway, 8) < profile.factor(highway, 2) - 0.1


def test_the_bounded_calibration_bench_meets_the_target(town):
    result = calibration(town, "synthetic", train=120, test=60)
    assert result["median_abs_err_pct_before"] > 15  # the truth differs from the defaults
    assert result["median_abs_err_pct_after"] <= 10
    assert result["met"] is True


def test_the_calibration_command_prints_its_json_line():
    out = subprocess.run([sys.executable, "-m", "ops.bench.routing", "--calibration", "--graph", "synthetic",
                          "--drives", "60", "--json"], cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    line = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"mode", "graph", "median_abs_err_pct_before", "median_abs_err_pct_after", "target_pct"} <= set(line)
    assert line["mode"] == "calibration"
    assert line["median_abs_err_pct_after"] < line["median_abs_err_pct_before"]


def test_a_profile_slows_its_class_at_its_hour_but_not_the_junction_delay(town, tmp_path):
    slow_primary = SpeedProfile({"primary": [0.5 if h == 8 else 1.0 for h in range(HOURS)]})
    primary = town.highways.index("primary")
    edges = town.edge_highway == primary
    at_eight, at_noon = slow_primary.weights(town, 8), slow_primary.weights(town, 12)
    delay = town.junction_delays()
    np.testing.assert_allclose(at_noon, town.edge_time_s)
    np.testing.assert_allclose(at_eight[edges] - delay[edges], 2 * (town.edge_time_s[edges] - delay[edges]))
    np.testing.assert_allclose(at_eight[~edges], town.edge_time_s[~edges])
    path = tmp_path / "profile.json"
    slow_primary.save(path)
    assert SpeedProfile.load(path).factors == slow_primary.factors
    assert SpeedProfile.load(path).version == slow_primary.version != NEUTRAL.version


@pytest.mark.parametrize("engine", ["dijkstra", "cch"])
def test_the_routing_service_answers_with_the_profile_of_the_hour(town, engine):
    routing = RoutingService(town, engine=engine)
    a, b = LatLon(float(town.node_lat[0]), float(town.node_lon[0])), LatLon(float(town.node_lat[-1]),
                                                                            float(town.node_lon[-1]))
    [base] = routing.etas_to_sync(b, [a])
    routing.overrides.set_base(SpeedProfile({h: [0.5] * HOURS for h in town.highways}).weights(town, 0), "slow")
    [slow] = routing.etas_to_sync(b, [a])
    delay_share = slow.eta_s - 2 * base.eta_s
    assert slow.eta_s > 1.8 * base.eta_s and delay_share < 0  # driving doubled, junction delays kept
    routing.overrides.set_base(town.edge_time_s, "default")
    assert routing.etas_to_sync(b, [a])[0].eta_s == pytest.approx(base.eta_s)


@pytest.mark.parametrize("text, reason", [
    ('{"format": 99, "factors": {}}', "format"),
    ('{"format": 1, "factors": {"primary": [1.0, 2.0]}}', "24 finite"),
    ('{"format": 1, "factors": {"primary": [' + ",".join(["9.0"] * 24) + "]}}", "outside"),
    ("not json", "not JSON"),
])
def test_a_bad_profile_file_is_refused_with_the_reason(tmp_path, text, reason):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ProfileError, match=reason):
        SpeedProfile.load(path)
