"""Issue #13 item 4 / #20 item 6: a normal (not editable) install serves the demo with routing from any directory,
with the C search compiled at install time; built without a C compiler it routes the same with the Python search.

The wheel is built once per case without build isolation and installed without dependencies into a fresh venv
that reads its dependencies from this test venv's site-packages, so nothing is downloaded.
"""
import asyncio
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path

import asyncpg
import pytest

from routing.cch import cch_available
from runtime.local_services import free_port
from tests.conftest import REPO

STEP_TIMEOUT_S = 180
ROUTE_QUERY = "from_lat=13.34494812&from_lon=100.95135721&to_lat=13.34566588&to_lon=100.95338189"


def run(*args, cwd: Path, env: dict | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=STEP_TIMEOUT_S)
    assert done.returncode == 0, f"{args[:3]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def install_wheel(tmp_path: Path, name: str, build_env: dict) -> Path:
    """Build the project's wheel (no isolation, no deps) and install it into a fresh venv; returns its python."""
    wheels, venv, source = tmp_path / f"{name}-wheels", tmp_path / f"{name}-venv", tmp_path / f"{name}-source"
    # From a copy of the project's files: a build/ or an editable install's library in the checkout must not
    # stand in for this build's own compile (and the checkout gets no build/ of ours).
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO)
    for relative in filter(None, listed.split("\0")):
        if (REPO / relative).is_file():
            (source / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / relative, source / relative)
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheels, source,
        cwd=tmp_path, env=build_env)
    [wheel] = wheels.glob("*.whl")
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    # The dependencies come from this test venv's site-packages, put on the path after the new venv's own (a
    # plain directory entry: its .pth files, the editable install's among them, are not read).
    [new_site] = (venv / "lib").glob("python3*/site-packages")
    (new_site / "test-venv-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # --ignore-installed: the test venv's editable install of the same version must not count as "satisfied".
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", wheel, cwd=tmp_path)
    return venv / "bin" / "python"


PROBE = """
import json, sys, sysconfig
from pathlib import Path
import bootstrap, config, routing, routing.search
site = Path(sysconfig.get_paths()["purelib"]).resolve()
cfg = config.Config.from_env({})
print(json.dumps({
    "site": str(site), "routing": routing.__file__, "web": str(bootstrap.WEB_DIR),
    "web_exists": (bootstrap.WEB_DIR / "console.html").exists(), "osm_exists": cfg.osm_file.exists(),
    "var_dir": str(cfg.var_dir), "engine": routing.search.search_engine(),
}))
"""

SAME_ETAS = """
import json, random, sys
from dispatch.model import LatLon
from routing.service import RoutingService
from routing.synthetic import river_grid
graph = river_grid()
service = RoutingService(graph, max_eta_s=7200, workers=1, engine="dijkstra")  # ETAs by this search, not the CCH
rng = random.Random(5)
pick = lambda: LatLon(rng.uniform(13.01, 13.13), rng.uniform(101.21, 101.41))
answers = [[r.eta_s for r in service.etas_to_sync(pick(), [pick() for _ in range(5)])] for _ in range(20)]
route = service.route_sync(LatLon(13.02, 101.22), LatLon(13.12, 101.40))
print(json.dumps({"etas": answers, "route_s": route.duration_s, "engine": service.engine}))
"""


def probe(python: Path, cwd: Path, script: str = PROBE, env: dict | None = None) -> dict:
    return json.loads(run(python, "-c", script, cwd=cwd, env=env).strip().splitlines()[-1])


def http(url: str, *, data: bytes | None = None, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"} if data else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_for(check, timeout_s: float, what: str, log: Path):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except OSError:  # not listening yet
            pass
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout_s} s; server log:\n{log.read_text()[-3000:]}")


@pytest.mark.timeout(600)
def test_wheel_install_serves_the_demo_with_native_routing_from_another_directory(tmp_path, pg_admin_url,
                                                                                 redis_url):
    python = install_wheel(tmp_path, "native", dict(os.environ))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    home = tmp_path / "home"
    facts = probe(python, elsewhere, env={**os.environ, "HOME": str(home), "XDG_STATE_HOME": ""})
    assert Path(facts["routing"]).resolve().is_relative_to(facts["site"]), "imported the checkout, not the wheel"
    assert facts["web_exists"] and facts["osm_exists"]
    assert facts["engine"] == "native-c"
    assert Path(facts["var_dir"]) == home / ".local" / "state" / "chonburi-ems"

    port, name = free_port(), f"ems_pkg_{os.getpid()}"
    database_url = pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "EMS_DATABASE_URL": database_url,
           "EMS_REDIS_URL": redis_url, "EMS_REDIS_NAMESPACE": f"ems-pkg-{os.getpid()}", "EMS_PORT": str(port),
           "EMS_LOG_LEVEL": "INFO"}
    log = tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        server = subprocess.Popen([python.parent / "ems"], cwd=elsewhere, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        def routing_loaded():
            assert server.poll() is None, f"server exited:\n{log.read_text()[-3000:]}"
            code, body = http(base + "/healthz")
            return code == 200 and json.loads(body)["routing"] == "loaded"

        wait_for(routing_loaded, 240, "the server did not load its road graph", log)
        code, page = http(base + "/console.html")
        assert code == 200 and b"<html" in page.lower()
        code, body = http(base + "/api/v1/login", data=json.dumps({"user_id": "dispatcher-1", "password": "1669"}).encode())
        assert code == 200, body
        token = json.loads(body)["token"]
        code, body = http(f"{base}/api/v1/route?{ROUTE_QUERY}", token=token)
        assert code == 200, body
        route = json.loads(body)
        assert route["duration_s"] > 0 and len(route["geometry"]["coordinates"]) >= 2
        # Said once the graph is serving (the cost is measured just after): in /metrics and the start-up log.
        def engine_logged():
            lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
            return [line for line in lines if "routing_search_engine" in line]

        [said] = wait_for(engine_logged, 60, "no start-up log line named the search engine", log)
        eta_engine = "etree" if cch_available() else "native-c"  # the wheel's venv reads this venv's packages; native: etree
        assert (said["routing_search_engine"], said["routing_eta_engine"]) == ("native-c", eta_engine)
        assert said["search_cost_ms"] > 0 and said["eta_cost_ms"] > 0
        metrics = http(base + "/metrics")[1].decode()
        assert f'ems_routing_search_engine_info{{engine="native-c",eta_engine="{eta_engine}"}} 1.0' in metrics
        gauges = dict(line.rsplit(" ", 1) for line in metrics.splitlines() if line.startswith("ems_routing_"))
        assert float(gauges["ems_routing_search_cost_ms"]) == said["search_cost_ms"]
        assert float(gauges["ems_routing_eta_cost_ms"]) == said["eta_cost_ms"]
    finally:
        server.terminate()
        server.wait(15)
        # a loop of its own, never made current: asyncio.run would leave the session's loop unset for later tests
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(_drop_database(pg_admin_url, name))
        finally:
            loop.close()
    assert (home / ".local" / "state" / "chonburi-ems" / "cache").is_dir()  # the graph cache, not site-packages
    assert not list(Path(facts["site"]).glob("var*")), "the server wrote into site-packages"


async def _drop_database(admin_url: str, name: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.mark.timeout(600)
def test_built_without_a_c_compiler_it_routes_the_same_with_the_python_search(tmp_path):
    """CC names no compiler: the optional extension is skipped, the install succeeds, and the fallback search
    gives exactly the native answers."""
    no_compiler = {**os.environ, "CC": "/nonexistent/cc", "LDSHARED": "/nonexistent/cc -shared"}
    python = install_wheel(tmp_path, "no-cc", no_compiler)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert probe(python, elsewhere)["engine"] == "python"
    fallback = probe(python, elsewhere, SAME_ETAS)
    native = probe(Path(sys.executable), elsewhere, SAME_ETAS)
    assert (fallback["engine"], native["engine"]) == ("python", "native-c")
    assert fallback["etas"] == native["etas"]
    assert fallback["route_s"] == native["route_s"]
