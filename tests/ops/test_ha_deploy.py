"""ops/deploy holds the configuration `python -m ops.ha` measured: the same failover timing and server settings."""
import re
from pathlib import Path

from ops.ha import PATRONI_TIMING, SENTINEL_DOWN_AFTER_MS, SERVER_ENV, patroni_config

DEPLOY = Path(__file__).resolve().parents[2] / "ops" / "deploy"


def _setting(text: str, name: str) -> str:
    found = re.search(rf"^\s*{re.escape(name)}\s*[:=]?\s*(\S+)\s*$", text, re.MULTILINE)
    assert found, f"{name} missing"
    return found.group(1)


def test_patroni_yml_has_the_drilled_timing_and_synchronous_mode():
    text = (DEPLOY / "patroni.yml").read_text()
    for name, value in PATRONI_TIMING.items():
        assert int(_setting(text, f"{name}:")) == value, name
    assert _setting(text, "synchronous_mode:") == "true"
    drilled = patroni_config("n", Path("/x"), pg_port=1, pg_address=2, api_port=3, api_address=4, etcd_port=5)
    assert drilled["bootstrap"]["dcs"]["synchronous_mode"] is True
    assert PATRONI_TIMING["ttl"] >= PATRONI_TIMING["loop_wait"] + 2 * PATRONI_TIMING["retry_timeout"]


def test_sentinel_conf_has_the_drilled_timing():
    text = (DEPLOY / "sentinel.conf").read_text()
    assert re.search(rf"^sentinel down-after-milliseconds ems {SENTINEL_DOWN_AFTER_MS}$", text, re.MULTILINE)
    assert re.search(r"^sentinel monitor ems \S+ \d+ 2$", text, re.MULTILINE)  # a majority of three


def test_server_env_has_the_drilled_database_settings():
    lines = dict(line.split("=", 1) for line in (DEPLOY / "ems-ha.env").read_text().splitlines()
                 if line and not line.startswith("#"))
    for name in ("EMS_DB_FAILOVER_WAIT_S", "EMS_DB_CONNECT_TIMEOUT_S", "EMS_DB_COMMAND_TIMEOUT_S"):
        assert float(lines[name]) == float(SERVER_ENV[name]), name
    assert "target_session_attrs=read-write" in lines["EMS_DATABASE_URL"]
