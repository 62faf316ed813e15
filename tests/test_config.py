"""The settings table (config.py): every value's type and range checked at start-up, every bad variable named."""
import math
import subprocess
import sys
from pathlib import Path

import pytest

from config import Config, ConfigError, env_name, settings

REPO = Path(__file__).resolve().parent.parent


def problems_of(env: dict[str, str]) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        Config.from_env(env)
    return dict(problem.split(": ", 1) for problem in caught.value.problems)


@pytest.mark.parametrize("name, raw, reason", [
    ("EMS_WS_QUEUE_SIZE", "0", "between 1 and"),  # 0 made the per-client queue unbounded
    ("EMS_WS_QUEUE_SIZE", "-1", "between 1 and"),
    ("EMS_MAX_ETA_S", "nan", "finite"),
    ("EMS_MAX_ETA_S", "inf", "finite"),
    ("EMS_MAX_ETA_S", "0", "greater than 0"),
    ("EMS_PORT", "-5", "between 1 and 65535"),
    ("EMS_PORT", "70000", "between 1 and 65535"),
    ("EMS_PORT", "80.5", "whole number"),
    ("EMS_ESCALATION_STEPS_S", "0,15,30", "4 comma-separated values"),  # one delay per ladder step
    ("EMS_ESCALATION_STEPS_S", "0,15,30,45,60", "4 comma-separated values"),
    ("EMS_ESCALATION_STEPS_S", "0,30,15,45", "must not decrease"),
    ("EMS_ESCALATION_STEPS_S", "0,15,nan,45", "finite"),
    ("EMS_ESCALATION_STEPS_S", "-1,15,30,45", "between 0 and"),
    ("EMS_SERVICE_AREA", "12.5,100.8,13.6", "4 comma-separated values"),
    ("EMS_SERVICE_AREA", "13.6,100.8,12.5,101.7", "min_lat < max_lat"),
    ("EMS_SERVICE_AREA", "12.5,100.8,95,101.7", "max_lat <= 90"),
    ("EMS_ACK_TIMEOUT_RED_S", "0", "greater than 0"),
    ("EMS_SPEED_FACTOR", "-1", "greater than 0"),
    ("EMS_TOKEN_TTL_HOURS", "nan", "finite"),
    ("EMS_DEVICE_LOW_BATTERY_PCT", "101", "between 0 and 100"),
    ("EMS_REPLAY_WINDOW", "0", "between 1 and"),
    ("EMS_RATE_INTAKE_PER_MIN", "0", "between 1 and"),
    ("EMS_ESCALATION_POLL_S", "0", "greater than 0"),
    ("EMS_DEMO", "maybe", "true or false"),
    ("EMS_LOG_LEVEL", "loud", "one of DEBUG"),
    ("EMS_PUBLIC_URL", "ems.example.org", "http:// or https://"),
    ("EMS_DATABASE_URL", "mysql://localhost/ems", "postgres://"),
    ("EMS_PANIC_PRESS_RETRY_S", "0.2,nan", "finite"),  # retry delays are settings, not module constants
    ("EMS_FHIR_RETRY_S", "0.5,-1", "between 0 and"),
    ("EMS_TWILIO_STORE_RETRY_S", "1,0", "greater than 0"),
    ("EMS_TWILIO_STORE_RETRY_FOR_S", "0", "greater than 0"),
])
def test_a_bad_value_is_refused_naming_the_variable(name, raw, reason):
    found = problems_of({name: raw})
    assert list(found) == [name] and reason in found[name], found


def test_every_bad_variable_is_listed_at_once():
    found = problems_of({"EMS_WS_QUEUE_SIZE": "0", "EMS_MAX_ETA_S": "nan", "EMS_PORT": "-5",
                         "EMS_ESCALATION_STEPS_S": "0,15,30", "EMS_HOST": "0.0.0.0"})
    assert set(found) == {"EMS_WS_QUEUE_SIZE", "EMS_MAX_ETA_S", "EMS_PORT", "EMS_ESCALATION_STEPS_S"}


def test_good_values_are_read_with_their_types():
    config = Config.from_env({"EMS_PORT": "9000", "EMS_MAX_ETA_S": "1800", "EMS_ESCALATION_STEPS_S": "0,5,5,20",
                              "EMS_DEMO": "off", "EMS_ALLOWED_ORIGINS": "https://a.example, https://b.example"})
    assert (config.port, config.max_eta_s, config.escalation_steps_s, config.demo) == (9000, 1800.0,
                                                                                       (0.0, 5.0, 5.0, 20.0), False)
    assert config.allowed_origins == ("https://a.example", "https://b.example")


def test_the_object_checks_itself_however_it_is_built():
    """Code that builds a Config directly (tests, tools, `dataclasses.replace`) gets the same checks."""
    with pytest.raises(ConfigError, match="EMS_WS_QUEUE_SIZE"):
        Config(ws_queue_size=0)
    with pytest.raises(ConfigError, match="EMS_MAX_ETA_S"):
        Config(max_eta_s=math.nan)
    with pytest.raises(ConfigError, match="EMS_PORT"):
        Config(port=True)  # a bool is not a port number


def test_every_setting_has_a_reason_and_is_documented_in_env_example_with_its_default():
    documented = {}
    for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.startswith("EMS_"):
            name, _, value = line.partition("=")
            documented[name] = value
    defaults = Config()
    for f in settings():
        assert f.metadata.get("doc"), f"{f.name} has no doc in config.py"
        name = env_name(f.name)
        assert name in documented, f"{name} missing from .env.example"
        if documented[name] and f.type != "Path":
            assert getattr(Config.from_env({name: documented[name]}), f.name) == getattr(defaults, f.name), name
    assert set(documented) <= {env_name(f.name) for f in settings()}  # no stale lines


def test_the_server_exits_non_zero_listing_every_bad_variable():
    env = {"PATH": "/usr/bin:/bin", "EMS_WS_QUEUE_SIZE": "0", "EMS_MAX_ETA_S": "nan", "EMS_PORT": "-5",
           "EMS_ESCALATION_STEPS_S": "0,15,30"}
    done = subprocess.run([sys.executable, "server.py"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    for name in ("EMS_WS_QUEUE_SIZE", "EMS_MAX_ETA_S", "EMS_PORT", "EMS_ESCALATION_STEPS_S"):
        assert name in done.stderr


async def test_settings_reach_the_components_that_use_them(database_url, redis_url):
    """Passed down from the one config object: with the token cache off, a user disabled in SQL is refused at once;
    the ladder polls and AVL thins at the configured rates; the integrations retry with the configured waits."""
    from server import Server
    from tests.conftest import Api, make_user, reset_state, server_config

    await reset_state(database_url, redis_url)
    running = Server(server_config(database_url, redis_url, token_verify_cache_s=0, escalation_poll_s=0.1,
                                   avl_min_interval_s=2.5, panic_press_retry_s=(0.1, 0.3), fhir_retry_s=(0.7,)))
    await running.start()
    try:
        assert (running.ladder.poll_s, running.ctx.avl.min_interval_s) == (0.1, 2.5)
        integrations = running.integrations
        assert (integrations.mqtt.press_retry_s, integrations.hospital_alerts.retry_delays_s) == ((0.1, 0.3), (0.7,))
        api = Api(f"http://127.0.0.1:{running.config.port}", await make_user(running.ctx.pool, "d-off", "dispatcher"))
        assert (await api.get("/api/v1/incidents"))[0] == 200
        await running.ctx.pool.execute("UPDATE users SET disabled_at = now() WHERE id = 'd-off'")
        assert (await api.get("/api/v1/incidents"))[0] == 401
    finally:
        await running.stop()
