"""Issue #20: the province-scale build benchmark builds its synthetic extract with the server's builder (a small
one here; the 300k-node figure is in docs/routing.md)."""
import json
import subprocess
import sys

from tests.conftest import REPO


def test_the_build_bench_builds_the_whole_grid_and_reports_its_json_line():
    out = subprocess.run([sys.executable, "-m", "ops.bench.routing", "--build", "--side", "30", "--json"], cwd=REPO,
                         capture_output=True, text=True, timeout=180, check=True)
    line = json.loads(out.stdout.strip().splitlines()[-1])
    assert line["mode"] == "build" and line["side"] == 30
    assert line["nodes"] >= 30 * 30 - 1  # every crossing (a corner may merge into its two streets)
    assert line["edges"] >= 4 * 30 * 29 - 4  # both directions of every block
    assert line["build_s"] > 0 and line["peak_mb"] > 0 and isinstance(line["met"], bool)
