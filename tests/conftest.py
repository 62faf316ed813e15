"""Real services for every test: PostgreSQL, Redis and Mosquitto found running on loopback or started under
var/test/ (see runtime/local_services.py). One fresh database per test session; tables emptied before each test
that asks for the store or a server."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import redis.asyncio as aioredis

from config import Config
from db.event_store import PostgresEventStore
from db.identity import IdentityStore
from db.migrate import migrate
from db.pool import create_pool
from dispatch import demo
from dispatch.registry import PROJECTIONS
from runtime import local_services
from ops.clients import Api, Socket  # noqa: F401 - re-exported for the tests
from ops.processes import ServerProcess
from server import Server

REPO = Path(__file__).resolve().parent.parent
TEST_VAR = REPO / "var" / "test"
TEST_REDIS_DB = 15  # never the database a developer's own server uses
REDIS_NAMESPACE = f"ems-test-{os.getpid()}"  # concurrent test runs must not share a stream
GOOD_REPORT = {"channel": "app", "location": {"lat": 13.3611, "lon": 100.9847}, "chief_complaint": "chest pain"}


ISSUED_TOKENS: set[str] = set()  # every token make_user handed out this session: none may reach a log
UNREDACTED_TOKEN = re.compile(r"(?i)(?:token(?:=|%3D)|bearer\s+)(?!\[redacted\])[A-Za-z0-9_\-]{16,}")
TOKEN_SHAPED = re.compile(r"[A-Za-z0-9_\-]{43}")  # secrets.token_urlsafe(32)


def token_leaks(text: str) -> list[str]:
    """Live tokens in `text`: an unredacted `token=`/`Bearer` value, or a token this session issued."""
    return UNREDACTED_TOKEN.findall(text) + [w for w in TOKEN_SHAPED.findall(text) if w in ISSUED_TOKENS]


class TokenLeakWatch(logging.Handler):
    """Installed on the root logger for the whole session: remembers every record that carries a live token."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = " ".join([record.getMessage(), *(str(v) for v in record.__dict__.values())])
            if record.exc_info:
                text += logging.Formatter().formatException(record.exc_info)
        except Exception:  # a record that cannot be rendered is another test's problem, not a leak
            return
        if token_leaks(text):
            self.leaks.append(f"{record.name}: {text[:300]}")


@pytest.fixture(scope="session")
def token_leak_watch():
    """Every log record of the run, in-process (access log included) and of every server child process the run
    started (tests, benchmarks, chaos and HA drills alike)."""
    watch, started = TokenLeakWatch(), time.time()
    logging.getLogger().addHandler(watch)
    logging.getLogger("ems.access").setLevel(logging.INFO)  # the 2xx lines carry URLs too
    yield watch
    logging.getLogger().removeHandler(watch)
    for path in (REPO / "var").rglob("server-*.log"):  # var/test, and the bench, chaos and HA labs' servers
        if path.stat().st_mtime >= started:
            watch.leaks += [f"{path.name}: {line[:300]}" for line in path.read_text(errors="replace").splitlines()
                            if token_leaks(line)]
    assert not watch.leaks, f"bearer tokens reached the logs: {watch.leaks[:5]}"


@pytest.fixture(autouse=True)
def no_token_in_logs(token_leak_watch):
    before = len(token_leak_watch.leaks)
    yield
    assert token_leak_watch.leaks[before:] == [], "a bearer token reached a log line"


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    return local_services.postgres(TEST_VAR).url


@pytest.fixture(scope="session")
def redis_base_url() -> str:
    return local_services.redis(TEST_VAR).url


@pytest.fixture(scope="session")
def mqtt_url() -> str:
    return local_services.mosquitto(TEST_VAR).url


@pytest.fixture(scope="session")
async def database_url(pg_admin_url):
    name = f"ems_test_{os.getpid()}"
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(pg_admin_url)._replace(path=f"/{name}"))
    pool = await create_pool(url, min_size=1, max_size=2)
    await migrate(pool)
    await pool.close()
    yield url
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
def redis_url(redis_base_url) -> str:
    return urlunsplit(urlsplit(redis_base_url)._replace(path=f"/{TEST_REDIS_DB}"))


async def wait_until(check, timeout_s: float = 30.0, interval_s: float = 0.2) -> bool:
    """Poll an async predicate until it holds or the time is up."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return True
        await asyncio.sleep(interval_s)
    return False


async def fresh_rate_window(margin_s: float = 15.0) -> None:
    """Rate limits count in one-minute windows: start a flood test well inside one, so it cannot straddle two."""
    import time

    into = time.time() % 60
    if into > 60 - margin_s:
        await asyncio.sleep(60 - into + 0.5)


async def reset_state(database_url: str, redis_url: str | None) -> None:
    tables = ", ".join(["idempotency", "relay_cursor", "tokens", "users", "unit_positions",
                        *(p.name for p in PROJECTIONS)])
    conn = await asyncpg.connect(database_url)
    try:
        append_only = ("events", "audit_log")  # tests alone may empty them, with their guards briefly off
        for table in append_only:
            await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        await conn.execute(f"TRUNCATE {tables}, {', '.join(append_only)} RESTART IDENTITY CASCADE")
        for table in append_only:
            await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        await conn.execute("ALTER SEQUENCE incident_id_seq RESTART")
        await conn.execute("ALTER SEQUENCE assignment_id_seq RESTART")
    finally:
        await conn.close()
    if redis_url:
        client = aioredis.from_url(redis_url)
        keys = [key async for key in client.scan_iter(f"{REDIS_NAMESPACE}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
async def pool(database_url, redis_url):
    await reset_state(database_url, redis_url)
    pool = await create_pool(database_url, min_size=1, max_size=10)
    yield pool
    await pool.close()


@pytest.fixture
def store(pool) -> PostgresEventStore:
    return PostgresEventStore(pool)


def server_config(database_url: str, redis_url: str, **overrides) -> Config:
    values = dict(database_url=database_url, redis_url=redis_url, port=local_services.free_port(), demo=False,
                  var_dir=TEST_VAR, redis_namespace=REDIS_NAMESPACE)
    values.update(overrides)
    return Config(**values)


async def routing_ready(server, timeout_s: float = 60) -> None:
    """Until the in-process server has loaded its road graph (it loads in the background after start)."""
    for _ in range(int(timeout_s / 0.1)):
        if server.ctx.roads.ready:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("road graph did not load")


@contextlib.asynccontextmanager
async def demo_city_server(database_url: str, redis_url: str, **config_overrides):
    """A fresh in-process server with the demo city seeded and its road graph loaded; stopped afterwards."""
    await reset_state(database_url, redis_url)
    running = Server(server_config(database_url, redis_url, **config_overrides))
    await running.start()
    try:
        await demo.seed(running.ctx.store)
        await routing_ready(running)
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def server(database_url, redis_url):
    await reset_state(database_url, redis_url)
    running = Server(server_config(database_url, redis_url))
    await running.start()
    yield running
    await running.stop()


async def make_user(pool, user_id: str, role: str, *, unit_id=None, hospital_id=None, agency_id=None) -> str:
    identities = IdentityStore(pool)
    await identities.upsert_user(user_id, user_id, role, unit_id=unit_id, hospital_id=hospital_id,
                                 agency_id=agency_id)
    token = await identities.issue_token(user_id)
    ISSUED_TOKENS.add(token)
    return token


@pytest.fixture
async def dispatcher_api(server) -> Api:
    token = await make_user(server.ctx.pool, "disp-test", "dispatcher")
    return Api(f"http://127.0.0.1:{server.config.port}", token)


def server_process(database_url: str, redis_url: str, **env: str) -> ServerProcess:
    return ServerProcess(database_url, redis_url, namespace=REDIS_NAMESPACE, var_dir=TEST_VAR, **env)


@pytest.fixture
async def two_servers(database_url, redis_url):
    await reset_state(database_url, redis_url)
    servers = [server_process(database_url, redis_url) for _ in range(2)]
    try:
        await asyncio.gather(*(s.ready() for s in servers))
        yield servers
    finally:
        for s in servers:
            s.stop()
