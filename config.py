"""The one typed configuration object, read from EMS_* environment variables once, in server.py."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent


class ConfigError(ValueError):
    pass


def default_var_dir() -> Path:
    """Where local state (embedded PostgreSQL/Redis, the road-graph cache) goes without EMS_VAR_DIR: var/ in a
    source checkout (also an editable install), else the user's state directory — never the installed package."""
    if (REPO_ROOT / "pyproject.toml").exists():
        return REPO_ROOT / "var"
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "chonburi-ems"


@dataclass(frozen=True)
class Config:
    database_url: str | None = None  # None: a local PostgreSQL on 5432, else an embedded one under var/
    redis_url: str | None = None  # None: a local Redis on 6379, else an embedded one under var/
    redis_namespace: str = "ems"  # key prefix, so several deployments (or test runs) can share one Redis
    mqtt_url: str | None = None  # None: a local Mosquitto on 1883 if present (panic buttons)
    host: str = "127.0.0.1"
    port: int = 8888
    public_url: str | None = None  # external base URL (Twilio signatures, SMS links); default http://host:port
    allowed_origins: tuple[str, ...] = ()  # WebSocket Origin allowlist; empty: same host as the request
    var_dir: Path = field(default_factory=default_var_dir)
    osm_file: Path = REPO_ROOT / "data" / "osm" / "chonburi_city_roads.osm.pbf"
    speed_factor: float = 1.15  # ambulance speed relative to the car defaults in routing/speeds.py
    max_eta_s: float = 3600.0  # recommendations ignore units farther than this by road
    demo: bool = True  # load the Chonburi demo (hospitals, stations, fleet, users) on first start
    service_area: tuple[float, float, float, float] = (12.50, 100.80, 13.62, 101.75)  # min_lat, min_lon, max_lat, max_lon
    max_body_bytes: int = 1_048_576
    ws_max_message_bytes: int = 65_536
    ws_queue_size: int = 500  # frames buffered per client before it is sent a snapshot instead
    replay_window: int = 5_000  # events a resuming client may replay; further back it gets a snapshot
    token_ttl_hours: float = 12.0
    rate_intake_per_min: int = 30  # per device / app key / address; dispatchers are never throttled on intake
    rate_api_per_min: int = 1200  # every other call, per identity or address
    ack_timeout_red_s: float = 30.0
    ack_timeout_other_s: float = 60.0
    auto_dispatch_red: bool = True
    escalation_steps_s: tuple[float, ...] = (0.0, 15.0, 30.0, 45.0)  # after the ack is due: repush, sms, voice, next unit
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_api_base: str | None = None  # override of Twilio's REST base URL (tests use a loopback fake)
    log_level: str = "INFO"
    clock_offset_s: float = 0.0  # fault drills only: skews this process's clock
    extra: Mapping[str, str] = field(default_factory=dict)
    # Integrations (issue #6)
    twilio_dispatch_number: str | None = None  # inbound calls are dialled here; unset: queued (<Enqueue>) for dispatchers
    twilio_queue: str = "ems-dispatch"  # the Twilio queue inbound calls wait in when no dispatch number is set
    share_link_ttl_s: float = 3600.0  # how long the caller's one-time location link stays valid
    webhook_max_skew_s: float = 300.0  # signed device webhooks: allowed clock difference of the timestamp
    panic_repeat_window_s: float = 60.0  # presses of one device this close together attach to one incident
    panic_rate_per_min: int = 20  # presses/heartbeats per device per minute before it is throttled (with an alert)
    device_heartbeat_timeout_s: float = 900.0  # no heartbeat for this long raises a device alert
    device_low_battery_pct: int = 20  # at or below: a low-battery device alert
    device_check_interval_s: float = 30.0  # how often missed heartbeats are looked for
    line_channel_secret: str | None = None  # LINE Messaging API channel secret: verifies X-Line-Signature
    mqtt_retry_s: float = 5.0  # wait between MQTT (re)connection attempts; start-up never waits for the broker
    fhir_timeout_s: float = 5.0  # a hospital FHIR endpoint slower than this counts as failed (SMS fallback)
    hospital_alert_poll_s: float = 0.5  # how often new hospital alerts are looked for in the event log
    app_rate_per_min: int = 60  # default token-bucket rate of a new citizen-app API key
    app_burst: int = 10  # default bucket size of a new citizen-app API key

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{'localhost' if self.host in ('0.0.0.0', '127.0.0.1') else self.host}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> Config:
        """Build from EMS_<FIELD> variables (upper case); raises ConfigError naming the bad variable."""
        env = os.environ if env is None else env
        values: dict = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = env.get(f"EMS_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            try:
                values[f.name] = _parse(f.type, raw)
            except ValueError as exc:
                raise ConfigError(f"EMS_{f.name.upper()}: {exc}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _parse(type_name: str, raw: str):
    if type_name == "int":
        return int(raw)
    if type_name == "float":
        return float(raw)
    if type_name == "bool":
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError("must be true or false")
    if type_name == "Path":
        return Path(raw)
    if type_name.startswith("tuple[str"):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if type_name.startswith("tuple[float"):
        parts = tuple(float(p) for p in raw.split(","))
        if len(parts) != 4:
            raise ValueError("must be four comma-separated numbers")
        return parts
    return raw
