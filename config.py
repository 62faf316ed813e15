"""The one typed configuration object, read from EMS_* environment variables once, in server.py."""
from __future__ import annotations

import math
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent


class ConfigError(ValueError):
    """One or more settings are bad; `problems` lists each as "EMS_NAME: reason" (the message joins them)."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("bad configuration:\n  " + "\n  ".join(self.problems))


ESCALATION_STEPS = ("repush", "sms", "voice", "next_unit")  # the ladder's steps, in order (one delay each)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def setting(default, doc: str, *, min: float | None = None, max: float | None = None, above: float | None = None,
            length: int | None = None, choices: tuple | None = None, check=None):
    """One row of the settings table: default, doc (the reason an operator would change it) and its range.

    `min`/`max` are inclusive bounds, `above` an exclusive lower bound (for delays that must be positive); for a
    tuple they apply to every item, `length` fixes how many items it has. `check(value)` returns a reason string
    when a value passes those but is still wrong (e.g. an unordered list), else None.
    """
    return field(default=default, metadata={"doc": doc, "min": min, "max": max, "above": above, "length": length,
                                            "choices": choices, "check": check})


def _ordered(values: tuple[float, ...]) -> str | None:
    return None if list(values) == sorted(values) else "must not decrease"


def _some(values: tuple) -> str | None:
    return None if values else "must list at least one value"


def _area(values: tuple[float, ...]) -> str | None:
    min_lat, min_lon, max_lat, max_lon = values
    if not (-90 <= min_lat < max_lat <= 90 and -180 <= min_lon < max_lon <= 180):
        return ("must be min_lat,min_lon,max_lat,max_lon with -90 <= min_lat < max_lat <= 90, "
                "-180 <= min_lon < max_lon <= 180")
    return None


def _url(*schemes: str):
    def check(value: str | None) -> str | None:
        if value is None or value.split("://", 1)[0] in schemes and "://" in value:
            return None
        return f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}"
    return check


def _networks(values) -> str | None:
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return f"{value!r} is not an IP address or CIDR"
    return None


def default_var_dir() -> Path:
    """Where local state (embedded PostgreSQL/Redis, the road-graph cache) goes without EMS_VAR_DIR: var/ in a
    source checkout (also an editable install), else the user's state directory — never the installed package."""
    if (REPO_ROOT / "pyproject.toml").exists():
        return REPO_ROOT / "var"
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "chonburi-ems"


@dataclass(frozen=True)
class Config:
    """Every setting, one row each: EMS_<NAME> in the environment, type, default, range and why it exists.

    Built once (server.py: `Config.from_env`) and passed down; constructing it validates every field, so no
    component ever sees a value outside its range.
    """

    database_url: str | None = setting(None, "PostgreSQL URL; unset: a local one on 5432, else an embedded one "
                                             "under var/",
                                       check=_url("postgres", "postgresql"))
    append_lock_timeout_s: float = setting(2.0, "longest wait for the event log's append lock; a write waiting "
                                                "longer answers 503 with Retry-After", above=0, max=60)
    db_failover_wait_s: float = setting(10.0, "how long a write cut by a database failover is retried on the new "
                                              "primary before it answers 503 (intake held, not queued)", min=0, max=60)
    db_connect_timeout_s: float = setting(3.0, "longest wait for a PostgreSQL host when connecting (all hosts of the "
                                               "URL are asked at once; one cut off the network answers never)",
                                          above=0, max=60)
    db_command_timeout_s: float = setting(15.0, "longest wait for one statement; a primary cut off the network "
                                                "holds a query this long before it counts as lost", above=0, max=600)
    db_idle_close_s: float = setting(600.0, "a pooled PostgreSQL connection idle this long is closed; a new one "
                                            "pays statement planning on its first search (50-200 ms)", above=0,
                                     max=86400)
    redis_url: str | None = setting(None, "Redis URL; unset: a local one on 6379, else an embedded one under var/",
                                    check=_url("redis", "rediss", "unix", "redis+sentinel"))
    redis_sentinels: tuple[str, ...] = setting((), "comma-separated host:port of Redis Sentinels; set: the Redis "
                                                   "master is asked of them (EMS_REDIS_URL then unused)",
                                               check=lambda v: next((f"{x!r} is not host:port" for x in v
                                                                     if not x.rpartition(":")[2].isdigit()), None))
    redis_service: str = setting("ems", "the master's name the Sentinels monitor (EMS_REDIS_SENTINELS)",
                                 check=lambda v: None if v.strip() else "must not be empty")
    redis_namespace: str = setting("ems", "key prefix, so several deployments (or test runs) can share one Redis",
                                   check=lambda v: None if v.strip() else "must not be empty")
    mqtt_url: str | None = setting(None, "MQTT broker URL; unset: a local Mosquitto on 1883 if present (panic buttons)",
                                   check=_url("mqtt", "mqtts", "tcp", "ssl", "ws", "wss"))
    host: str = setting("127.0.0.1", "listen address", check=lambda v: None if v.strip() else "must not be empty")
    port: int = setting(8888, "HTTP port", min=1, max=65535)
    public_url: str | None = setting(None, "external base URL (Twilio signatures, SMS links); default http://host:port",
                                     check=_url("http", "https"))
    allowed_origins: tuple[str, ...] = setting((), "WebSocket Origin allowlist; empty: same host as the request")
    # Loopback by default: the deploy nginx (ops/deploy/nginx.conf) runs on the same host; anyone else reaching
    # Tornado directly is the client itself and may not name another address.
    trusted_proxies: tuple[str, ...] = setting(("127.0.0.1", "::1"), "peers whose X-Forwarded-For / X-Real-IP / "
                                               "X-Forwarded-Proto are believed (addresses or CIDRs)",
                                               check=_networks)
    var_dir: Path = setting(default_var_dir(), "where embedded databases, caches and simulator output go: var/ in a "
                                               "source checkout, else $XDG_STATE_HOME/chonburi-ems (never the "
                                               "installed package)")
    osm_file: Path = setting(REPO_ROOT / "data" / "osm" / "chonburi_city_roads.osm.pbf",
                             "any OSM extract (.osm.pbf, .osm, .osm.bz2) for the road graph")
    # Issue #20: the car defaults (OSRM's free-flow car speeds, maxspeed x 0.8) with junction delays already give
    # a median 40.6 km/h between the city's hospitals, the urban ambulance average (docs/routing.md); an ambulance
    # under lights and sirens keeps about free-flow speed through traffic, so 1.0. The learned time-of-day profile
    # (EMS_SPEED_PROFILE_FILE) then corrects per class and hour from the fleet's own tracks.
    speed_factor: float = setting(1.0, "ambulance speed relative to the car defaults in routing/speeds.py",
                                  above=0, max=5)
    speed_profile_file: Path | None = setting(None, "time-of-day speeds per road class learned from the fleet's AVL "
                                                    "(python -m ops.learn_speeds); unset: var_dir/speed-profile.json "
                                                    "when it exists, else the calibrated defaults all day")
    max_eta_s: float = setting(3600.0, "recommendations ignore units farther than this by road", above=0, max=86_400)
    # Issue #20: "auto" takes our customizable contraction hierarchy with kept walks (etree), else RoutingKit's
    # (routingkit-cch); they answer rankings of moving units in milliseconds where the bounded Dijkstra settles half
    # a province.
    routing_engine: str = setting("auto", "what answers ETAs from units without a cached tree: auto, etree, cch or "
                                  "dijkstra", choices=("auto", "etree", "cch", "dijkstra"))
    # A moving unit drives on in its heading; turning back costs a stop, a three-point turn or a loop to a gap in
    # the median. 30 s: a U-turn at a Thai median gap with traffic (a short wait plus the turn itself).
    uturn_penalty_s: float = setting(30.0, "seconds added when a moving unit must turn around to reach a place "
                                           "behind it", min=0, max=600)
    # Road coverage (issue #13): farther than this from every road of the graph a point is "outside road coverage":
    # never snapped to the graph's edge, answered with a labelled straight-line estimate, never auto-dispatched.
    # 500 m: GPS error, a house set back from its soi and private lanes OSM lacks can put real callers a few
    # hundred metres from the nearest mapped road; past 500 m the unmapped last stretch outweighs the ETA
    # differences between nearby units, so a road ETA would mislead.
    max_snap_distance_m: float = setting(500.0, "farther than this (m) from the road graph a point gets a labelled "
                                                "straight-line ETA and is never auto-dispatched", above=0,
                                         max=100_000)
    # 1.4: driving distance averages about 1.4 x the straight line (Boscoe, Henry & Zdeb 2012; 1.2-1.6 by country,
    # Ballou et al. 2002). 40 km/h: a little below the graph's ambulance speeds (~43 km/h across the city), on purpose:
    # with no roads known, an optimistic guess would rank an uncertain unit above one whose road ETA is real.
    straight_line_speed_kmh: float = setting(40.0, "speed of the straight-line estimate outside road coverage",
                                             above=0, max=200)
    straight_line_detour_factor: float = setting(1.4, "road distance over straight-line distance assumed outside "
                                                      "road coverage (roads are never shorter)", min=1, max=5)
    demo: bool = setting(True, "load the Chonburi demo (hospitals, stations, fleet, users) on first start")
    service_area: tuple[float, float, float, float] = setting(
        (12.50, 100.80, 13.62, 101.75), "min_lat,min_lon,max_lat,max_lon: outside it incidents are flagged and never "
        "auto-dispatched", length=4, check=_area)
    max_body_bytes: int = setting(1_048_576, "largest HTTP request body accepted (413 beyond)", min=1024,
                                  max=1 << 30)
    ws_max_message_bytes: int = setting(65_536, "largest WebSocket frame accepted (close 1009 beyond)", min=1024,
                                        max=1 << 26)
    ws_queue_size: int = setting(500, "frames buffered per client before it is sent a snapshot instead; must be "
                                      "at least 1 (0 would make the queue unbounded)", min=1, max=1_000_000)
    ws_max_per_user: int = setting(20, "sockets one user may hold open per process (tabs, reconnect overlap); "
                                       "beyond: 429", min=1, max=10_000)
    http_idle_timeout_s: float = setting(10.0, "to send a request's headers, and idle between keep-alive requests; "
                                               "then closed (a proxy in front keeps its upstream idle time below)",
                                         above=0, max=3600)
    http_body_timeout_s: float = setting(60.0, "to send a whole request body (1 MB at mobile speeds); then closed",
                                         above=0, max=3600)
    health_redis_slow_ms: float = setting(100.0, "a Redis round trip slower than this shows in /healthz as "
                                                 "realtime_degraded (live frames lag; intake goes on)", above=0,
                                          max=60_000)
    health_cache_s: float = setting(1.0, "/healthz answers from a check at most this old, so a flood cannot load "
                                         "the database", min=0, max=60)
    console_alerts_lookback_s: float = setting(12 * 3600.0, "a console that connects is shown the alerts of this "
                                                            "far back (a shift), newest first", min=0, max=7 * 86_400)
    console_alerts_max: int = setting(200, "at most this many of those alerts", min=0, max=10_000)
    replay_window: int = setting(5_000, "events a resuming client may replay; further back it gets a snapshot",
                                 min=1, max=10_000_000)
    token_ttl_hours: float = setting(12.0, "how long a login token stays valid", above=0, max=24 * 366)
    token_verify_cache_s: float = setting(5.0, "how long a process trusts a verified token without asking the "
                                               "database (a user disabled in SQL is refused after at most this; "
                                               "revocation through the API is immediate); 0: ask every time",
                                          min=0, max=300)
    login_max_failures_per_user: int = setting(5, "wrong passwords for one user id before it is locked out (with "
                                                  "backoff)", min=1, max=1000)
    login_max_failures_per_address: int = setting(30, "wrong passwords from one address before it is locked out "
                                                      "(higher: a hospital's staff may share one NAT address)",
                                                  min=1, max=100_000)
    login_lockout_s: float = setting(30.0, "the first lockout; each further failure doubles it", above=0, max=86_400)
    login_lockout_max_s: float = setting(900.0, "the longest lockout, so a guesser cannot lock a dispatcher out for "
                                                "hours", above=0, max=86_400)
    login_failure_window_s: float = setting(900.0, "failures older than this (since the last one) are forgotten",
                                            above=0, max=7 * 86_400)
    login_redis_budget_s: float = setting(1.0, "a login waits this long for Redis's lockout state before counting in "
                                               "this process alone (longer than intake's 50 ms: a login is no "
                                               "emergency, and a lockout must hold in a process just started)",
                                          above=0, max=30)
    rate_intake_per_min: int = setting(30, "intake calls per device / app key / address per minute; dispatchers "
                                           "are never throttled on intake", min=1, max=1_000_000)
    rate_api_per_min: int = setting(1200, "every other call, per identity or address per minute", min=1,
                                    max=10_000_000)
    ack_timeout_red_s: float = setting(30.0, "a crew must acknowledge a red assignment within this", above=0,
                                       max=3600)
    ack_timeout_other_s: float = setting(60.0, "a crew must acknowledge any other assignment within this",
                                         above=0, max=3600)
    auto_dispatch_red: bool = setting(True, "assign units to a red incident as soon as it is triaged")
    escalation_steps_s: tuple[float, ...] = setting(
        (0.0, 15.0, 30.0, 45.0), "seconds after the ack was due for each ladder step: " + ", ".join(ESCALATION_STEPS)
        + " (the last re-assigns the incident to the next unit)", length=len(ESCALATION_STEPS), min=0, max=3600,
        check=_ordered)
    escalation_poll_s: float = setting(0.25, "how often the escalation ladder looks for due steps", above=0, max=60)
    mutual_aid_answer_timeout_s: float = setting(
        120.0, "an agency asked to lend a unit must accept or decline within this; then the 1669 centre is alerted",
        above=0, max=3600)
    mutual_aid_poll_s: float = setting(1.0, "how often overdue mutual-aid requests are looked for", above=0, max=60)
    twilio_account_sid: str | None = setting(None, "Twilio account SID (unset: SMS/voice are only recorded)")
    twilio_auth_token: str | None = setting(None, "Twilio auth token (also verifies webhook signatures)")
    twilio_from_number: str | None = setting(None, "the number SMS and calls come from")
    twilio_timeout_s: float = setting(10.0, "longest wait for one Twilio REST call (SMS, voice, answering a call); "
                                            "then it counts as failed and the dispatcher is told", above=0, max=120)
    twilio_store_retry_s: tuple[float, ...] = setting(
        (1.0, 2.0, 4.0, 8.0, 15.0, 30.0), "waits between tries to store a 1669 call or text the database refused "
        "(down, failing over, busy); the last repeats until twilio_store_retry_for_s", above=0, max=600,
        check=_some)
    twilio_store_retry_for_s: float = setting(3600.0, "a call or text not stored within this is given up (its "
                                                      "Twilio parameters go to the error log)", above=0, max=86_400)
    twilio_api_base: str | None = setting(None, "override of Twilio's REST base URL (tests use a loopback fake)",
                                          check=_url("http", "https"))
    log_level: str = setting("INFO", "log level", choices=LOG_LEVELS)
    clock_offset_s: float = setting(0.0, "fault drills only: skews this process's clock", min=-86_400, max=86_400)
    ws_token_recheck_s: float = setting(30.0, "how often open sockets' tokens are checked again (expiry)", above=0,
                                        max=3600)
    avl_min_interval_s: float = setting(1.0, "position pings closer together than this from one unit are dropped",
                                        min=0, max=3600)
    avl_track_every_s: float = setting(15.0, "the stored track keeps at most one point per unit this often",
                                       min=0, max=3600)
    avl_track_min_move_m: float = setting(100.0, "...or one point per this much movement", min=0, max=100_000)
    avl_fanout_interval_s: float = setting(1.0, "unit positions are pushed to dispatchers in batches this often",
                                           above=0, max=60)
    relay_idle_poll_s: float = setting(0.5, "the relay looks for unpublished events this often when not woken",
                                       above=0, max=60)
    feed_poll_s: float = setting(0.5, "retry delay of a process's event feed after a Redis or PostgreSQL error",
                                 above=0, max=60)
    coverage_cell_m: float = setting(600.0, "cell size of the console's coverage grid", min=100, max=10_000)
    coverage_post_rows_ttl_s: float = setting(300.0, "how long the standby posts' ETA rows are reused (road "
                                                     "closures show up after at most this)", above=0, max=86_400)
    extra: Mapping[str, str] = field(default_factory=dict)
    # Integrations (issue #6)
    twilio_dispatch_number: str | None = setting(None, "inbound calls are dialled here; unset: queued (<Enqueue>) "
                                                       "for dispatchers")
    twilio_queue: str = setting("ems-dispatch", "the Twilio queue inbound calls wait in when no dispatch number "
                                                "is set", check=lambda v: None if v.strip() else "must not be empty")
    call_answer_alert_s: float = setting(15.0, "a 1669 call waiting this long in the queue alerts every dispatcher "
                                               "(NENA: 90 % answered within 15 s)", above=0, max=600)
    kpi_call_answer_target_s: float = setting(15.0, "KPI report: calls answered within this many seconds count as on "
                                                    "time (NFPA 1225: 90 % within 15 s)", above=0, max=600)
    kpi_call_dispatch_target_s: float = setting(60.0, "KPI report: answered calls dispatched within this many seconds "
                                                      "of the answer count as on time (NFPA 1225: 90 % within 60 s)",
                                                above=0, max=3600)
    call_queue_check_s: float = setting(1.0, "how often the call queue is checked for calls waiting past "
                                             "call_answer_alert_s", above=0, max=60)
    call_recording: bool = setting(True, "record answered 1669 calls (Twilio Dial record) for quality review")
    # ERC guidance: an AED a bystander can fetch and bring back within a few minutes; 500 m is a run of about 4 min
    # there and back, farther and CPR without it is the better use of the bystander.
    aed_file: Path | None = setting(None, "public AED points (GeoJSON FeatureCollection of Points, shape in "
                                          "docs/operations.md) shown by the telephone-CPR coach; unset: none known",
                                    check=lambda p: None if p.is_file() else "no such file")
    aed_search_m: float = setting(500.0, "the CPR coach lists AED points within this straight-line distance of the "
                                         "patient", above=0, max=5000)
    # The browser pages' tunable numbers (issue #17), served to every signed-in page by /api/v1/page-settings.
    page_stale_position_s: float = setting(120.0, "unit board: a unit whose last GPS fix is older than this is "
                                                  "marked stale (tablets report every page_tablet_ping_s)",
                                           above=0, max=86_400)
    page_tablet_ping_s: float = setting(5.0, "how often a crew tablet reports its GPS position (fresher positions "
                                             "against battery and data)", min=1, max=600)
    page_hospital_refresh_s: float = setting(15.0, "how often the hospital board re-reads inbound ETAs (events "
                                                   "bring everything else at once)", min=1, max=3600)
    page_confirm_window_s: float = setting(5.0, "a destructive button (close, cancel, reopen a road, merge) waits "
                                                "this long for its second press", min=1, max=60)
    page_repeat_assignment_s: float = setting(8.0, "a second assignment to the same incident within this many "
                                                   "seconds asks the dispatcher first", min=0, max=600)
    recording_link_ttl_s: float = setting(300.0, "how long a link that plays a call recording in replay stays valid",
                                          above=0, max=86_400)
    call_recording_retention_days: int = setting(90, "recordings older than this are no longer offered for playback "
                                                     "in replay (the retention period agreed with the data officer)",
                                                 min=1, max=3650)
    share_link_ttl_s: float = setting(3600.0, "how long the caller's one-time location link stays valid", above=0,
                                      max=7 * 86_400)
    webhook_max_skew_s: float = setting(300.0, "signed device webhooks: allowed clock difference of the timestamp",
                                        above=0, max=3600)
    panic_repeat_window_s: float = setting(60.0, "presses of one device this close together attach to one incident",
                                           min=0, max=86_400)
    panic_rate_per_min: int = setting(20, "presses/heartbeats per device per minute before it is throttled (with "
                                          "an alert)", min=1, max=100_000)
    device_heartbeat_timeout_s: float = setting(900.0, "no heartbeat for this long raises a device alert", above=0,
                                                max=7 * 86_400)
    device_low_battery_pct: int = setting(20, "at or below: a low-battery device alert", min=0, max=100)
    device_check_interval_s: float = setting(30.0, "how often missed heartbeats are looked for", above=0, max=3600)
    line_channel_secret: str | None = setting(None, "LINE Messaging API channel secret: verifies X-Line-Signature")
    mqtt_retry_s: float = setting(5.0, "wait between MQTT (re)connection attempts; start-up never waits for the "
                                       "broker", above=0, max=3600)
    mqtt_restart_max_s: float = setting(60.0, "a crashed MQTT listener restarts after mqtt_retry_s, doubling up "
                                              "to this", above=0, max=3600)
    panic_press_retry_s: tuple[float, ...] = setting(
        (0.2, 0.5, 1.0, 2.0), "waits between in-process tries to store an MQTT panic press the database refused; "
        "then it is left to the broker's redelivery", min=0, max=60)
    mqtt_dead_letter_max_bytes: int = setting(1_048_576, "raw bytes kept per unusable MQTT message (its length is "
                                                         "always kept)", min=0, max=1 << 30)
    mqtt_signed_only: bool = setting(True, "MQTT presses/heartbeats must be signed like the webhook; false only while "
                                           "a fleet's firmware is being updated (unsigned messages are then taken from "
                                           "anyone who can reach the broker)")
    fhir_timeout_s: float = setting(5.0, "a hospital FHIR endpoint slower than this counts as failed (SMS "
                                         "fallback)", above=0, max=300)
    fhir_retry_s: tuple[float, ...] = setting(
        (0.5, 1.0, 2.0, 4.0, 8.0), "waits between tries to POST a pre-arrival alert to a hospital's FHIR endpoint; "
        "then the SMS fallback", min=0, max=600)
    hospital_alert_poll_s: float = setting(0.5, "how often new hospital alerts are looked for in the event log",
                                           above=0, max=60)
    app_rate_per_min: int = setting(60, "default token-bucket rate of a new citizen-app API key", min=1,
                                    max=1_000_000)
    # Place search (issue #16): the gazetteer of roads, landmarks, junctions and the fleet's hospitals and stations.
    places_poi_files: tuple[str, ...] = setting((), "GeoJSON POI files for the gazetteer; empty: every .geojson "
                                                    "beside the OSM file")
    geocode_similarity_threshold: float = setting(0.25, "pg_trgm similarity floor for a name to be a candidate at "
                                                        "all", min=0, max=1)
    geocode_candidates: int = setting(40, "names fetched from PostgreSQL per query before ranking", min=1, max=1000)
    geocode_min_score: float = setting(0.3, "candidates scoring below this are not shown", min=0, max=1)
    geocode_near_weight: float = setting(0.15, "the most nearness to near= adds to a score (a perfect name match is "
                                               "1.0)", min=0, max=1)
    geocode_near_scale_m: float = setting(5000.0, "the nearness bonus falls by e every this many metres", above=0,
                                          max=1_000_000)
    geocode_auto_min_confidence: float = setting(0.6, "an address-only report is placed only by a candidate this "
                                                      "good (and stays flagged for a dispatcher to confirm)",
                                                 min=0, max=1)
    reverse_road_max_m: float = setting(250.0, "reverse geocoding names no road farther than this", above=0,
                                        max=100_000)
    reverse_landmark_max_m: float = setting(2000.0, "nor a landmark farther than this", above=0, max=1_000_000)
    app_burst: int = setting(10, "default bucket size of a new citizen-app API key", min=1, max=1_000_000)

    def __post_init__(self) -> None:
        problems = [problem for f in settings() for problem in _problems(f, getattr(self, f.name))]
        if problems:
            raise ConfigError(problems)



    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{'localhost' if self.host in ('0.0.0.0', '127.0.0.1') else self.host}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> Config:
        """Build from EMS_<FIELD> variables (upper case); ConfigError lists every bad variable at once."""
        env = os.environ if env is None else env
        values: dict = {}
        problems: list[str] = []
        for f in settings():
            raw = env.get(env_name(f.name))
            if raw is None or raw == "":
                continue
            try:
                values[f.name] = _parse(f.type, raw)
            except ValueError as exc:
                problems.append(f"{env_name(f.name)}: {exc} (got {raw!r})")
        values.update({k: v for k, v in overrides.items() if v is not None})
        for f in settings():  # range problems of the values that parsed, reported with the parse problems
            if f.name in values:
                problems += _problems(f, values[f.name])
        if problems:
            raise ConfigError(problems)
        return cls(**values)


def env_name(field_name: str) -> str:
    return f"EMS_{field_name.upper()}"


def settings() -> list:
    """The rows of the settings table (every field but `extra`)."""
    return [f for f in fields(Config) if f.name != "extra"]


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _problems(f, value) -> list[str]:
    """Why `value` is not acceptable for setting `f` (empty when it is), each naming the variable."""
    name, rule, type_name = env_name(f.name), f.metadata, f.type
    optional = type_name.endswith("| None")
    if value is None:
        return [] if optional else [f"{name}: is required"]
    base = type_name.removesuffix(" | None")
    if base.startswith("tuple"):
        if not isinstance(value, tuple):
            return [f"{name}: must be a list"]
        if rule.get("length") is not None and len(value) != rule["length"]:
            return [f"{name}: must be {rule['length']} comma-separated values (got {len(value)})"]
        item_type = "float" if base.startswith("tuple[float") else "str"
        items = [_value_problem(item_type, rule, item) for item in value]
        found = next((p for p in items if p), None)
        if found:
            return [f"{name}: every value {found}"]
    else:
        found = _value_problem(base, rule, value)
        if found:
            return [f"{name}: {found}"]
    reason = rule["check"](value) if rule.get("check") else None
    return [f"{name}: {reason}"] if reason else []


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _value_problem(type_name: str, rule, value) -> str | None:
    if type_name in ("int", "float"):
        if not _is_number(value) or (type_name == "int" and not isinstance(value, int)):
            return "must be a whole number" if type_name == "int" else "must be a number"
        if not math.isfinite(value):
            return "must be a finite number"
        low, high, above = rule.get("min"), rule.get("max"), rule.get("above")
        got = f" (got {_number(value)})"
        if above is not None and not value > above:
            return f"must be greater than {_number(above)}" + (
                f" and at most {_number(high)}" if high is not None else "") + got
        if (low is not None and value < low) or (high is not None and value > high):
            return (f"must be between {_number(low)} and {_number(high)}" if low is not None and high is not None
                    else f"must be at least {_number(low)}" if low is not None else
                    f"must be at most {_number(high)}") + got
    elif type_name == "bool":
        if not isinstance(value, bool):
            return "must be true or false"
    elif type_name == "Path":
        if not isinstance(value, Path):
            return "must be a path"
    elif type_name == "str":
        if not isinstance(value, str):
            return "must be text"
    if rule.get("choices") and value not in rule["choices"]:
        return f"must be one of {', '.join(rule['choices'])}"
    return None


def _parse(type_name: str, raw: str):
    """The typed value of an environment string; ValueError saying what was expected."""
    type_name = type_name.removesuffix(" | None")
    if type_name == "int":
        try:
            return int(raw.strip())
        except ValueError:
            raise ValueError("must be a whole number") from None
    if type_name == "float":
        try:
            return float(raw.strip())
        except ValueError:
            raise ValueError("must be a number") from None
    if type_name == "bool":
        if raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if raw.strip().lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError("must be true or false")
    if type_name == "Path":
        return Path(raw)
    if type_name.startswith("tuple[str"):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if type_name.startswith("tuple[float"):
        try:
            return tuple(float(p) for p in raw.split(","))
        except ValueError:
            raise ValueError("must be comma-separated numbers") from None
    return raw
