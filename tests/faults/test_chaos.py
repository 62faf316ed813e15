"""The fault drills of ops/chaos.py, run as part of the suite: every scenario passes, nothing lost or doubled."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_chaos_scenario_passes_with_nothing_lost_or_duplicated():
    result = subprocess.run([sys.executable, "-m", "ops.chaos", "--json"], cwd=REPO, capture_output=True, text=True,
                            timeout=900)
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    failed = [r for r in summary["results"] if not r["passed"]]
    assert failed == [], result.stderr[-3000:]
    assert summary["scenarios"] >= 10
    assert summary["passed"] == summary["scenarios"]
    assert summary["lost"] == 0 and summary["duplicated"] == 0
