"""Several server processes starting at once on a cold cache build the road graph once and all load it."""
import subprocess
import sys

from tests.conftest import REPO
from tests.routing.conftest import OSM

LOAD = "import sys; from routing.build import load_graph; print(load_graph(sys.argv[1], sys.argv[2], progress=False).node_count)"


def test_processes_starting_together_on_a_cold_cache_all_get_the_graph(tmp_path):
    starts = [subprocess.Popen([sys.executable, "-c", LOAD, str(OSM), str(tmp_path)], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [process.communicate(timeout=300) for process in starts]
    assert [process.returncode for process in starts] == [0, 0, 0], [err[-2000:] for _, err in results]
    node_counts = {int(out.strip()) for out, _ in results}
    assert len(node_counts) == 1 and node_counts.pop() > 5000
    assert len(list(tmp_path.glob("roads-*.npz"))) == 1
    assert not list(tmp_path.glob("*.tmp.*"))
