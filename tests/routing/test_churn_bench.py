"""Issue #20: the churn benchmark's own correctness on a small grid (not its timing): the engines it measures
(pandana aside: its rebuilds are slow even here; the full run covers it) print the agreed JSON fields and ranks within 0.5 s of the exact oracle, closures included."""
import json
import subprocess
import sys

from tests.conftest import REPO

FIELDS = {"mode", "engine", "chosen", "nodes", "units", "moving_pct", "rank_p50_ms", "rank_p99_ms", "closure_delay_s",
          "max_abs_err_s", "cpu_s_per_min", "peak_mb"}


def test_churn_mode_prints_one_exact_json_line_per_engine():
    run = subprocess.run([sys.executable, "-m", "ops.bench.routing", "--churn", "--json", "--side", "30", "--minutes",
                          "2", "--engines", "etree,dijkstra-trees,cch,cch-paths,cch+trees"], cwd=REPO, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert [line["engine"] for line in lines] == ["etree", "dijkstra-trees", "cch", "cch-paths", "cch+trees"]
    assert sum(line["chosen"] for line in lines) == 1
    for line in lines:
        assert FIELDS <= set(line), line
        assert line["mode"] == "churn" and line["nodes"] == 900 and line["units"] == 400
        assert line["moving_pct"] == 30
        assert line["oracle_checks"] >= 8  # two closure events and three samples a minute
        assert line["max_abs_err_s"] != "inf" and line["max_abs_err_s"] <= 0.5, line
        assert line["closure_delay_s"] is not None and line["rank_p99_ms"] >= line["rank_p50_ms"] > 0
        assert line["rank_cpu_p99_ms"] >= line["rank_cpu_p50_ms"] > 0
        assert len(line["per_minute"]) == 2
