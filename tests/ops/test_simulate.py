"""ops.simulate end to end, kept tiny: one simulated hour on the synthetic river town."""
import json

from ops import simulate


def test_simulate_prints_one_json_line_per_policy_and_writes_plots(tmp_path, capsys):
    simulate.main(["--region", "synthetic", "--hours", "1", "--seed", "3", "--calls-per-day", "240", "--json",
                   "--out", str(tmp_path)])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["policy"] for line in lines] == ["straight_line", "road_eta", "road_eta_moveup"]
    assert all(set(line) == {"policy", "incidents", "red_within_8min_pct", "p90_response_s", "mean_response_s",
                            "missed_acks", "reassigned"}
               for line in lines)
    assert len({line["incidents"] for line in lines}) == 1 and lines[0]["incidents"] > 0  # the same calls for all
    for name in ("synthetic-response-cdf.png", "synthetic-coverage.png", "synthetic-results.json"):
        assert (tmp_path / name).stat().st_size > 0
