"""The realtime benchmark itself runs end to end on a small load and says what it measured (no timing asserts)."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_small_realtime_bench_delivers_every_assignment_once_and_prints_its_json_line():
    run = subprocess.run(
        [sys.executable, "-m", "ops.bench.realtime", "--json", "--clients", "25", "--rate", "10", "--seconds", "3",
         "--warmup", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=280)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert {"clients", "rate_per_s", "seconds", "p50_ms", "p99_ms", "lost", "duplicated"} <= result.keys()
    assert result["clients"] == 25 and result["assignments"] == 30 and result["warmup_assignments"] == 10
    assert result["lost"] == 0 and result["duplicated"] == 0 and result["errors"] == 0
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["commit_p50_ms"] is not None  # the servers' own histograms were read
