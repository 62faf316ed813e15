"""Fault drills against real processes on loopback: `python -m ops.chaos [--json] [--only NAME ...]`.

Each scenario starts what it needs (a private PostgreSQL cluster and redis-server under var/chaos/, server
processes), breaks something for real (SIGKILL, stop, restart, added latency, a skewed clock), and then checks
that nothing accepted was lost and nothing was delivered twice. Prints a table, then one JSON line:
{"scenarios": N, "passed": N, "lost": 0, "duplicated": 0, "results": [...]}.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import asyncpg
import tornado.websocket

from db.event_store import PostgresEventStore
from db.identity import IdentityStore
from db.migrate import migrate
from dispatch import demo
from db.pool import create_pool, ensure_database
from ops.clients import Api, Socket
from runtime.local_services import PostgresCluster, ServerProcess, redis_server
from ops.processes import ServerProcess as EmsProcess
from ops.tcp_proxy import TcpProxy

REPO = Path(__file__).resolve().parent.parent
CHAOS_VAR = REPO / "var" / "chaos"
REPORT = {"channel": "phone", "location": {"lat": 13.3611, "lon": 100.9847}, "chief_complaint": "drill"}
ROUTE_PROBE = "/api/v1/route?from_lat=13.34&from_lon=100.97&to_lat=13.38&to_lon=100.995"


@dataclass
class Outcome:
    name: str
    passed: bool = False
    lost: int = 0
    duplicated: int = 0
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Lab:
    """Private PostgreSQL + Redis for one scenario, and the server processes it starts."""

    pg: PostgresCluster
    redis: ServerProcess
    database_url: str
    root: Path
    servers: list[EmsProcess] = field(default_factory=list)
    proxy: TcpProxy | None = None

    @classmethod
    async def open(cls, name: str) -> Lab:
        root = CHAOS_VAR / f"{name}-{os.getpid()}"  # per run: a concurrent run (the test suite) must not share it
        shutil.rmtree(root, ignore_errors=True)
        pg = PostgresCluster(root / "pg").start()
        redis = redis_server(root / "redis").start()
        database_url = pg.url.rsplit("/", 1)[0] + "/ems"
        await ensure_database(database_url)
        return cls(pg, redis, database_url, root)

    @property
    def redis_url(self) -> str:
        port = self.proxy.port if self.proxy else self.redis.port
        return f"redis://127.0.0.1:{port}/0"

    async def start_servers(self, count: int, **env: str) -> list[EmsProcess]:
        new = [EmsProcess(self.database_url, self.redis_url, var_dir=CHAOS_VAR, **env) for _ in range(count)]
        self.servers += new
        try:
            await asyncio.gather(*(s.ready(timeout_s=180) for s in new))  # a loaded machine starts Python slowly
        except TimeoutError as exc:
            health = [await health_of(s) for s in new if s.proc.poll() is None]
            raise TimeoutError(f"{exc}; healthz: {health}"[:400]) from None
        return new

    @asynccontextmanager
    async def pool(self):
        pool = await create_pool(self.database_url, min_size=1, max_size=1)
        try:
            yield pool
        finally:
            await pool.close()

    async def token(self, user_id: str = "drill-dispatcher", role: str = "dispatcher", unit_id: str | None = None) -> str:
        async with self.pool() as pool:
            identities = IdentityStore(pool)
            await identities.upsert_user(user_id, user_id, role, unit_id=unit_id)
            return await identities.issue_token(user_id)

    async def seed_city(self) -> list[str]:
        """The demo hospitals and fleet (before the servers start); returns the unit ids."""
        async with self.pool() as pool:
            await migrate(pool)
            store = PostgresEventStore(pool)
            await demo.seed(store)
            return sorted(u.id for u in await store.list("units"))

    async def routing_ready(self, token: str, timeout_s: float = 120) -> None:
        """Wait until every server has loaded the road graph (assignments need road ETAs)."""
        deadline = time.monotonic() + timeout_s
        for server in self.servers:
            while (await Api(server.base_url, token).get(ROUTE_PROBE))[0] != 200:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"road graph not loaded on port {server.port}")
                await asyncio.sleep(0.3)

    async def city_on_servers(self, n: int = 2) -> tuple[list[str], list[EmsProcess], str]:
        """The demo city seeded, `n` servers with their road graph loaded, and a dispatcher token."""
        units = await self.seed_city()
        servers = await self.start_servers(n)
        token = await self.token()
        await self.routing_ready(token)
        return units, servers, token

    async def count(self, sql: str) -> int:
        return (await self.fetch(sql))[0][0]

    async def fetch(self, sql: str) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.database_url)
        try:
            return await conn.fetch(sql)
        finally:
            await conn.close()

    async def close(self) -> None:
        for server in self.servers:
            server.stop()
        if self.proxy:
            await self.proxy.stop()
        self.redis.stop()
        self.pg.stop()
        shutil.rmtree(self.root, ignore_errors=True)


async def health_of(server: EmsProcess) -> object:
    try:
        return await Api(server.base_url).get("/healthz", token=None)
    except Exception as exc:  # not answering at all
        return repr(exc)


class Collector:
    """Reads every frame from a socket in the background and counts event seqs."""

    def __init__(self, socket: Socket):
        self.socket = socket
        self.seqs: list[int] = []
        self.alerts: list[dict] = []
        self.assignments: list[tuple[int, str]] = []  # (assignment id, unit id) of every UnitAssigned frame
        self.incident_of: dict[int, int] = {}  # assignment id -> its incident
        self.snapshot_seq = 0
        self.snapshots = 0
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            while (frame := await self.socket.next(timeout_s=3600)) is not None:
                if frame["type"] == "event":
                    self.seqs.append(frame["seq"])
                    if frame["event"]["type"] == "UnitAssigned":
                        payload = frame["event"]["payload"]
                        self.assignments.append((payload["assignment_id"], payload["unit_id"]))
                        self.incident_of[payload["assignment_id"]] = payload["incident_id"]
                elif frame["type"] == "alert":
                    self.alerts.append(frame)
                elif frame["type"] == "snapshot":
                    self.snapshot_seq = max(self.snapshot_seq, frame["seq"])
                    self.snapshots += 1
        except (OSError, tornado.websocket.WebSocketClosedError):
            pass  # the server died under it: the tablet reconnects elsewhere

    @property
    def last_seq(self) -> int:
        return max(self.seqs, default=self.snapshot_seq)

    async def wait_for_assignments(self, expected: set[int], timeout_s: float = 30) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if expected <= {a for a, _ in self.assignments}:
                return True
            await asyncio.sleep(0.1)
        return False

    async def wait_for(self, expected: set[int], timeout_s: float = 30) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if expected <= set(self.seqs):
                return True
            await asyncio.sleep(0.1)
        return False

    def close(self) -> None:
        self.task.cancel()
        self.socket.close()


def delivery(expected: list[int], seen: list[int]) -> tuple[int, int]:
    """(lost, duplicated) counts of event seqs."""
    return len(set(expected) - set(seen)), len(seen) - len(set(seen))


async def post_many(api: Api, count: int, *, key_prefix: str, during: Callable[[int], Awaitable[None]] | None = None):
    accepted = []
    for i in range(count):
        if during:
            await during(i)
        status, body = await api.post("/api/v1/incidents", REPORT, headers={"Idempotency-Key": f"{key_prefix}-{i}"})
        if status == 201:
            accepted.append(body["last_seq"])
        else:
            raise AssertionError(f"intake refused during the fault: {status} {body}")
    return accepted


# ---- scenarios ---------------------------------------------------------------------------------------------

async def redis_killed_between_commit_and_publish(lab: Lab, out: Outcome) -> None:
    """RELIABILITY 1: Redis dies mid-stream; intake keeps accepting; everything reaches the client once."""
    [server] = await lab.start_servers(1)
    token = await lab.token()
    collector = Collector(await Socket.connect(server.port, token))

    async def fault(i: int) -> None:
        if i == 20:
            lab.redis.kill()
        if i == 60:
            lab.redis.start()

    accepted = await post_many(Api(server.base_url, token), 100, key_prefix="k", during=fault)
    await collector.wait_for(set(accepted))
    await asyncio.sleep(1)
    out.lost, out.duplicated = delivery(accepted, collector.seqs)
    told = any(a.get("kind") == "realtime_degraded" and a.get("active") for a in collector.alerts)
    out.passed = out.lost == 0 and out.duplicated == 0 and told
    out.detail = f"{len(accepted)} accepted; dispatcher told 'realtime degraded': {told}"
    collector.close()


async def redis_restarted_empty(lab: Lab, out: Outcome) -> None:
    """RELIABILITY 2: Redis restarted with its data gone; consumers catch up from PostgreSQL by seq."""
    [server] = await lab.start_servers(1)
    token = await lab.token()
    api = Api(server.base_url, token)
    first = await post_many(api, 30, key_prefix="a")
    lab.redis.stop()
    lab.redis.start()
    collector = Collector(await Socket.connect(server.port, token, since=0))
    second = await post_many(api, 30, key_prefix="b")
    accepted = first + second
    await collector.wait_for(set(accepted))
    await asyncio.sleep(1)
    out.lost, out.duplicated = delivery(accepted, collector.seqs)
    out.passed = out.lost == 0 and out.duplicated == 0
    out.detail = f"{len(accepted)} events across an empty-Redis restart"
    collector.close()


async def postgres_restarted_retry_is_idempotent(lab: Lab, out: Outcome) -> None:
    """RELIABILITY 3: PostgreSQL restarts; nothing acknowledged before commit; a retry with the key gives one incident."""
    [server] = await lab.start_servers(1)
    token = await lab.token()
    api = Api(server.base_url, token)
    acknowledged = 0
    lab.pg.stop()
    status, _ = await api.post("/api/v1/incidents", REPORT, headers={"Idempotency-Key": "during-outage"})
    acknowledged += status in (200, 201)
    lab.pg.start()
    for _ in range(100):  # the client retries until the service answers
        status, body = await api.post("/api/v1/incidents", REPORT, headers={"Idempotency-Key": "during-outage"})
        if status in (200, 201):
            break
        await asyncio.sleep(0.2)
    status2, body2 = await api.post("/api/v1/incidents", REPORT, headers={"Idempotency-Key": "during-outage"})
    incidents = await lab.count("SELECT count(*) FROM incidents")
    out.duplicated = max(0, incidents - 1)
    out.lost = 0 if incidents >= 1 else 1
    out.passed = acknowledged == 0 and incidents == 1 and status2 == 200 and body2["id"] == body["id"]
    out.detail = f"acknowledged during outage: {acknowledged}; incidents after retries: {incidents}"


async def postgres_crashed_under_concurrent_intake(lab: Lab, out: Outcome) -> None:
    """RELIABILITY 3 (under load): four clients keep reporting, each retrying its key until answered, while
    PostgreSQL is stopped hard (immediate: in-flight transactions die) and restarted. Every acknowledged incident
    is stored, every key gives exactly one incident, and the pool comes back by itself. A report in flight is held
    and retried on the restarted server (EMS_DB_FAILOVER_WAIT_S) or refused; either way the crash must have cut
    through the intake (reports still to come when it ended)."""
    [server] = await lab.start_servers(1)
    token = await lab.token()
    api = Api(server.base_url, token)
    acknowledged: dict[str, set[int]] = {}
    refused, slowest_s, left_after_crash = 0, 0.0, 0

    async def client(c: int) -> None:
        nonlocal refused, slowest_s
        for n in range(25):
            key = f"c{c}-{n}"
            for _ in range(600):  # a real client retries its key until it gets an answer
                started = time.perf_counter()
                status, body = await api.post("/api/v1/incidents", REPORT, headers={"Idempotency-Key": key})
                slowest_s = max(slowest_s, time.perf_counter() - started)
                if status in (200, 201):
                    acknowledged.setdefault(key, set()).add(body["id"])
                    break
                refused += 1
                await asyncio.sleep(0.1)

    async def crash() -> None:
        nonlocal left_after_crash
        while len(acknowledged) < 30:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(lab.pg.stop, "immediate")
        await asyncio.sleep(2)
        await asyncio.to_thread(lab.pg.start)
        left_after_crash = 100 - len(acknowledged)

    await asyncio.gather(*(client(c) for c in range(4)), crash())
    stored = {r["id"] for r in await lab.fetch("SELECT id FROM incidents")}
    given = {i for ids in acknowledged.values() for i in ids}
    out.lost = len(given - stored) + (100 - len(acknowledged))
    out.duplicated = max(0, len(stored) - 100) + sum(len(ids) - 1 for ids in acknowledged.values())
    out.passed = out.lost == 0 and out.duplicated == 0 and len(stored) == 100 and left_after_crash > 0
    out.detail = (f"100 keys, {left_after_crash} still to come after the restart, {refused} refusals, longest "
                  f"request {slowest_s:.1f} s (held), {len(stored)} stored, each key one incident")


async def server_sigkilled_clients_resume_elsewhere(lab: Lab, out: Outcome) -> None:
    """RELIABILITY 4: a process is SIGKILLed; its client resumes on another with no loss and no duplicates."""
    a, b = await lab.start_servers(2)
    token = await lab.token()
    api_b = Api(b.base_url, token)
    first = Collector(await Socket.connect(a.port, token))
    before = await post_many(api_b, 15, key_prefix="x")
    await first.wait_for(set(before))
    a.kill()
    after = await post_many(api_b, 15, key_prefix="y")
    last = max(first.seqs)
    second = Collector(await Socket.connect(b.port, token, since=last))
    accepted = before + after
    await second.wait_for(set(after))
    await asyncio.sleep(1)
    seen = first.seqs + second.seqs
    out.lost, out.duplicated = delivery(accepted, seen)
    out.passed = out.lost == 0 and out.duplicated == 0 and seen == sorted(seen)
    out.detail = f"{len(first.seqs)} before the kill, {len(second.seqs)} after resume"
    first.close()
    second.close()


async def slow_redis_keeps_intake_bounded(lab: Lab, out: Outcome) -> None:
    """RELIABILITY 9: 300 ms added to every Redis exchange; intake latency stays bounded, delivery still complete.

    Bounded means measured against intake on the same machine before Redis turns slow: the p95 may grow by less than
    one Redis round trip (the rate limiter gives Redis 50 ms, then counts in-process)."""
    lab.proxy = await TcpProxy(lab.redis.port).start()
    [server] = await lab.start_servers(1, EMS_RATE_INTAKE_PER_MIN="1000")
    device = await lab.token("drill-device", "device")
    token = await lab.token()
    collector = Collector(await Socket.connect(server.port, token))
    api = Api(server.base_url, device)
    accepted: list[int] = []

    async def intake(prefix: str, count: int) -> list[float]:
        latencies = []
        for i in range(count):
            started = time.perf_counter()
            status, body = await api.post("/api/v1/incidents", REPORT, headers={"Idempotency-Key": f"{prefix}{i}"})
            latencies.append(time.perf_counter() - started)
            if status == 201:
                accepted.append(body["last_seq"])
        return latencies

    baseline = p95(await intake("b", 20))
    lab.proxy.latency_s = 0.3  # Redis turns slow under a running system
    slow = p95(await intake("s", 40))
    await collector.wait_for(set(accepted), timeout_s=60)
    out.lost, out.duplicated = delivery(accepted, collector.seqs)
    status, health = await Api(server.base_url).get("/healthz", token=None)
    visible = status == 503 or bool(health and health.get("realtime_degraded"))
    out.lost += 60 - len(accepted)
    out.passed = len(accepted) == 60 and out.lost == 0 and out.duplicated == 0 and slow - baseline < 0.2 and visible
    out.detail = (f"intake p95 {slow * 1000:.0f} ms with 300 ms Redis latency, {baseline * 1000:.0f} ms before; "
                  f"healthz shows it: {visible}")
    collector.close()


async def skewed_clocks_do_not_reorder(lab: Lab, out: Outcome) -> None:
    """RELIABILITY 8: two processes 5 minutes apart in opposite directions; order is seq order, no reordering."""
    ahead, behind = (await lab.start_servers(1, EMS_CLOCK_OFFSET_S="300"))[0], (await lab.start_servers(1, EMS_CLOCK_OFFSET_S="-300"))[0]
    token = await lab.token()
    collector = Collector(await Socket.connect(behind.port, token))
    created = []
    for i in range(20):
        server = ahead if i % 2 else behind
        _, body = await Api(server.base_url, token).post("/api/v1/incidents", REPORT)
        created.append(body["last_seq"])
    await collector.wait_for(set(created))
    out.lost, out.duplicated = delivery(created, collector.seqs)
    rows = await lab.fetch("SELECT seq, (payload->>'incident_id')::bigint AS id FROM events ORDER BY seq")
    in_creation_order = [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    out.passed = collector.seqs == created and in_creation_order and out.lost == 0
    out.detail = "delivery order = seq order = creation order despite ±5 min clocks"
    collector.close()


async def open_tablets(lab: Lab, port: int, units: list[str], since: dict[str, int] | None = None) -> dict[str, Collector]:
    """One crew tablet per unit, connected to the server on `port` (resuming after `since[unit]` if given)."""
    tablets = {}
    for unit_id in units:
        token = await lab.token(f"crew-{unit_id}", "crew", unit_id=unit_id)
        tablets[unit_id] = Collector(await Socket.connect(port, token, since=since[unit_id] if since else None))
    return tablets


async def dispatch_rounds(api: Api, units: list[str], rounds: int, *,
                          during: Callable[[int], Awaitable[None]] | None = None) -> list[tuple[int, str]]:
    """Each round: a new incident per unit, the unit assigned to it, then released (en route, on scene, available)."""
    made = []
    for r in range(rounds):
        if during:
            await during(r)
        for unit_id in units:
            status, incident = await api.post("/api/v1/incidents", REPORT, headers={"Idempotency-Key": f"{r}-{unit_id}"})
            if status not in (200, 201):
                raise AssertionError(f"intake refused during the fault: {status} {incident}")
            status, assignment = await api.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": unit_id})
            if status != 201:
                raise AssertionError(f"assignment refused during the fault: {status} {assignment}")
            made.append((assignment["id"], unit_id))
            for step in ("en_route", "on_scene", "available"):
                status, body = await api.post(f"/api/v1/units/{unit_id}/status", {"status": step})
                if status != 200:
                    raise AssertionError(f"unit status {step} refused: {status} {body}")
    return made


def assignment_delivery(made: list[tuple[int, str]], tablets: list[dict[str, Collector]]) -> tuple[int, int, int]:
    """(lost, duplicated, misrouted) assignment frames: each assignment must reach its own crew's tablets once; a
    crew sees the other units sent to its own incidents (co-responders), and no other unit's assignment."""
    lost = duplicated = misrouted = 0
    for unit_id in {u for _, u in made}:
        expected = {a for a, u in made if u == unit_id}
        collectors = [t[unit_id] for t in tablets if unit_id in t]
        seen = [a for c in collectors for a, u in c.assignments if u == unit_id]
        own_incidents = {c.incident_of[a] for c in collectors for a, u in c.assignments if u == unit_id}
        lost += len(expected - set(seen))
        duplicated += len(seen) - len(set(seen))
        misrouted += sum(1 for c in collectors for a, u in c.assignments
                         if u != unit_id and c.incident_of[a] not in own_incidents)
    return lost, duplicated, misrouted


async def wait_for_tablets(made: list[tuple[int, str]], tablets: dict[str, Collector], timeout_s: float = 30,
                           already: dict[str, Collector] | None = None) -> None:
    """Until each tablet has every assignment of its unit (but those its earlier connection had already)."""
    for unit_id, tablet in tablets.items():
        had = {a for a, _ in already[unit_id].assignments} if already else set()
        await tablet.wait_for_assignments({a for a, u in made if u == unit_id} - had, timeout_s)


async def assignments_reach_tablets_once_through_redis_outage(lab: Lab, out: Outcome) -> None:
    """RELIABILITY 1 (assignments): Redis killed for half the run; every assignment reaches its crew exactly once."""
    units, (a, b), token = await lab.city_on_servers(2)
    tablets = await open_tablets(lab, a.port, units)

    async def fault(r: int) -> None:
        if r == 1:
            lab.redis.kill()
        if r == 3:
            lab.redis.start()

    made = await dispatch_rounds(Api(b.base_url, token), units, 4, during=fault)
    await wait_for_tablets(made, tablets)
    await asyncio.sleep(1)  # time for a duplicate to show up
    out.lost, out.duplicated, misrouted = assignment_delivery(made, [tablets])
    stored = await lab.count("SELECT count(*) FROM events WHERE type = 'UnitAssigned'")
    out.lost += len(made) - stored if stored < len(made) else 0
    out.passed = out.lost == 0 and out.duplicated == 0 and misrouted == 0 and stored == len(made)
    out.detail = f"{len(made)} assignments to {len(units)} tablets, Redis down for half of them; misrouted {misrouted}"
    for tablet in tablets.values():
        tablet.close()


async def tablets_resume_after_sigkill_with_each_assignment_once(lab: Lab, out: Outcome) -> None:
    """RELIABILITY 4 (assignments): the tablets' process is SIGKILLed mid-run; they resume on the other one."""
    units, (a, b), token = await lab.city_on_servers(2)
    first = await open_tablets(lab, a.port, units)
    resumed: dict[str, Collector] = {}

    async def fault(r: int) -> None:
        if r == 1:
            a.kill()  # round 1 is dispatched while every tablet is cut off
        if r == 2:
            resumed.update(await open_tablets(lab, b.port, units, since={u: t.last_seq for u, t in first.items()}))

    made = await dispatch_rounds(Api(b.base_url, token), units, 3, during=fault)
    await wait_for_tablets(made, resumed, already=first)
    await asyncio.sleep(1)
    out.lost, out.duplicated, misrouted = assignment_delivery(made, [first, resumed])
    out.passed = out.lost == 0 and out.duplicated == 0 and misrouted == 0
    before = sum(len(t.assignments) for t in first.values())
    out.detail = f"{len(made)} assignments: {before} before the kill, the rest after resuming; misrouted {misrouted}"
    for tablet in [*first.values(), *resumed.values()]:
        tablet.close()


async def mass_casualty_burst_triaged_and_units_assigned_once(lab: Lab, out: Outcome) -> None:
    """RELIABILITY 13: 1,000 incidents in a burst on two processes (10 % retried by the network), all triaged (10 %
    red, auto-dispatched) while dispatchers race for the same units: all stored once, all triaged, a console gets
    every report once, no unit is assigned twice, each crew tablet is told once."""
    units, servers, token = await lab.city_on_servers(2)
    tablets = await open_tablets(lab, servers[0].port, units)
    console = Collector(await Socket.connect(servers[1].port, token))
    apis = [Api(s.base_url, token) for s in servers]
    semaphore = asyncio.Semaphore(40)

    async def report(i: int, process: int) -> tuple[int, int, int]:
        async with semaphore:
            status, body = await apis[process].post("/api/v1/incidents", REPORT,
                                                    headers={"Idempotency-Key": f"mci-{i}"})
            return (status, body["id"], body["last_seq"]) if status in (200, 201) else (status, 0, 0)

    async def triage(n: int, incident_id: int) -> int:
        card = {"group": 6, "determinant": 1} if n % 10 == 0 else {"group": 11, "determinant": 3}
        async with semaphore:
            return (await apis[n % 2].post(f"/api/v1/incidents/{incident_id}/triage", card))[0]

    async def grab(n: int, incident_id: int) -> int:
        async with semaphore:  # two dispatchers, one per process, want the same unit for different patients
            return (await apis[n % 2].post(f"/api/v1/incidents/{incident_id}/assignments",
                                           {"unit_id": units[(n // 2) % len(units)]}))[0]

    started = time.monotonic()
    first = await asyncio.gather(*(report(i, i % 2) for i in range(1000)))
    intake_s = time.monotonic() - started
    retries = await asyncio.gather(*(report(i, (i + 1) % 2) for i in range(0, 1000, 10)))  # via the other process
    ids = [incident_id for status, incident_id, _ in first if status == 201]
    retried_same = all(r == (200, first[i * 10][1], first[i * 10][2]) for i, r in enumerate(retries))
    triaged = await asyncio.gather(*(triage(n, i) for n, i in enumerate(ids)),
                                   *(grab(n, i) for n, i in enumerate(ids[1:41:2] * 2)))
    elapsed = time.monotonic() - started
    stored = await lab.count("SELECT count(*) FROM incidents")
    with_triage = await lab.count("SELECT count(*) FROM incidents WHERE doc->'triage' IS NOT NULL"
                                  " AND doc->>'triage' <> 'null'")
    made = [(r["a"], r["u"]) for r in await lab.fetch(
        "SELECT (payload->>'assignment_id')::bigint AS a, payload->>'unit_id' AS u FROM events"
        " WHERE type = 'UnitAssigned'")]
    per_unit = Counter(unit_id for _, unit_id in made)
    reports = [seq for status, _, seq in first if status == 201]
    await console.wait_for(set(reports), timeout_s=60)
    await wait_for_tablets(made, tablets)
    await asyncio.sleep(1)
    console_lost, console_duplicated = delivery(reports, console.seqs)
    lost_frames, duplicated_frames, misrouted = assignment_delivery(made, [tablets])
    double_booked = sum(n - 1 for n in per_unit.values() if n > 1)
    out.lost = (1000 - stored if stored < 1000 else 0) + (stored - with_triage) + lost_frames + console_lost
    out.duplicated = double_booked + duplicated_frames + console_duplicated + max(0, stored - 1000)
    bad_status = sorted({s for s in triaged[:len(ids)] if s != 200} | {s for s in triaged[len(ids):] if s not in (201, 409)})
    out.passed = (len(ids) == 1000 and stored == 1000 and with_triage == 1000 and retried_same and not out.lost
                  and not out.duplicated and not misrouted and not bad_status and len(per_unit) == len(units))
    out.detail = (f"1000 stored in {intake_s:.1f} s and triaged by {elapsed:.1f} s; 100 retries gave the first result: "
                  f"{retried_same}; {len(made)} assignments over {len(per_unit)} units, double-booked {double_booked}; "
                  f"unexpected statuses {bad_status}; console missed {sorted(set(reports) - set(console.seqs))[:5]} "
                  f"(snapshots {console.snapshots}), tablets missed {lost_frames}, misrouted {misrouted}; stored {stored}, "
                  f"triaged {with_triage}, units {len(units)}")
    console.close()
    for tablet in tablets.values():
        tablet.close()


SCENARIOS: list[Callable[[Lab, Outcome], Awaitable[None]]] = [
    redis_killed_between_commit_and_publish,
    redis_restarted_empty,
    postgres_restarted_retry_is_idempotent,
    postgres_crashed_under_concurrent_intake,
    server_sigkilled_clients_resume_elsewhere,
    slow_redis_keeps_intake_bounded,
    skewed_clocks_do_not_reorder,
    assignments_reach_tablets_once_through_redis_outage,
    tablets_resume_after_sigkill_with_each_assignment_once,
    mass_casualty_burst_triaged_and_units_assigned_once,
]


async def run(names: list[str] | None = None) -> list[Outcome]:
    outcomes = []
    for scenario in SCENARIOS:
        if names and scenario.__name__ not in names:
            continue
        out = Outcome(scenario.__name__)
        started = time.monotonic()
        lab = await Lab.open(scenario.__name__)
        try:
            await asyncio.wait_for(scenario(lab, out), 300)
        except Exception as exc:
            out.passed = False
            out.detail = f"{type(exc).__name__}: {exc}"[:500]
        finally:
            await lab.close()
        out.seconds = round(time.monotonic() - started, 1)
        outcomes.append(out)
        print(f"{'PASS' if out.passed else 'FAIL'}  {out.name:<48} lost={out.lost} dup={out.duplicated} "
              f"{out.seconds:>6.1f}s  {out.detail}", file=sys.stderr, flush=True)
    return outcomes


# ---- soak --------------------------------------------------------------------------------------------------

def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute."""
    if len(points) < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / len(points)
    mean_v = sum(v for _, v in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return 0.0 if spread == 0 else 60 * sum((t - mean_t) * (v - mean_v) for t, v in points) / spread


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)] if values else 0.0


class TimedApi:
    """Api calls that record their latency and count failures."""

    def __init__(self, api: Api, latencies: list[tuple[float, float]], errors: list[str]):
        self.api, self.latencies, self.errors = api, latencies, errors

    async def post(self, path: str, body=None, *, ok=(200, 201), **kw):
        started = time.monotonic()
        try:
            status, reply = await self.api.post(path, body, **kw)
        except Exception as exc:  # timeouts and resets count as errors, the load goes on
            status, reply = 599, repr(exc)
        self.latencies.append((time.monotonic(), time.monotonic() - started))
        if status not in ok:
            self.errors.append(f"{path} {status} {str(reply)[:200]}")
        return status, reply


async def soak(minutes: float, rate_per_s: float) -> dict:
    """Intake at `rate_per_s` incidents/s (triaged, then cancelled) plus whole jobs (assign, en route, on scene,
    available, close) at a quarter of that rate, across two processes with consoles and crew tablets open."""
    lab = await Lab.open("soak")
    try:
        units, servers, token = await lab.city_on_servers(2)
        consoles = [Collector(await Socket.connect(s.port, token)) for s in servers]
        tablets = await open_tablets(lab, servers[1].port, units)
        latencies: list[tuple[float, float]] = []
        errors: list[str] = []
        apis = [TimedApi(Api(s.base_url, token), latencies, errors) for s in servers]
        accepted: list[int] = []
        made: list[tuple[int, str]] = []
        in_flight = asyncio.Semaphore(64)
        started = time.monotonic()
        deadline = started + minutes * 60

        async def one_call(n: int) -> None:
            async with in_flight:
                api = apis[n % 2]
                status, incident = await api.post("/api/v1/incidents", REPORT, headers={"Idempotency-Key": f"soak-{n}"})
                if status != 201:
                    return
                accepted.append(incident["last_seq"])
                await api.post(f"/api/v1/incidents/{incident['id']}/triage", {"group": 11, "determinant": 3})
                await api.post(f"/api/v1/incidents/{incident['id']}/status", {"status": "cancelled", "reason": "soak"})

        async def intake() -> None:
            calls, n = set(), 0
            while time.monotonic() < deadline:
                task = asyncio.create_task(one_call(n))
                calls.add(task)
                task.add_done_callback(calls.discard)
                n += 1
                await asyncio.sleep(max(0.0, started + n / rate_per_s - time.monotonic()))
            await asyncio.gather(*calls)

        async def jobs() -> None:
            n, jobs_per_s = 0, rate_per_s / 4
            while time.monotonic() < deadline:
                await asyncio.sleep(max(0.0, started + n / jobs_per_s - time.monotonic()))
                unit_id, api = units[n % len(units)], apis[n % 2]
                n += 1
                status, incident = await api.post("/api/v1/incidents", REPORT)
                if status != 201:
                    continue
                accepted.append(incident["last_seq"])
                status, assignment = await api.post(f"/api/v1/incidents/{incident['id']}/assignments",
                                                    {"unit_id": unit_id}, ok=(201,))
                if status != 201:
                    continue
                made.append((assignment["id"], unit_id))
                for step in ("en_route", "on_scene", "available"):
                    await api.post(f"/api/v1/units/{unit_id}/status", {"status": step})
                await api.post(f"/api/v1/incidents/{incident['id']}/status", {"status": "closed"})

        samples: list[dict] = []
        sample_s = max(5.0, min(30.0, minutes * 60 / 12))

        async def sample() -> None:
            while time.monotonic() < deadline:
                await asyncio.sleep(sample_s)
                now = time.monotonic()
                recent = [d for t, d in latencies if t > now - sample_s]
                seen = set(consoles[0].seqs)
                samples.append({"t": now - started, "rss_mb": sum(rss_mb(s.proc.pid) for s in servers),
                                "p95_ms": p95(recent) * 1000, "backlog": sum(1 for q in accepted if q not in seen)})

        await asyncio.gather(intake(), jobs(), sample())
        expected = set(accepted)
        for console in consoles:
            await console.wait_for(expected, timeout_s=60)
        await wait_for_tablets(made, tablets, timeout_s=60)
        await asyncio.sleep(1)
        lost = duplicated = 0
        for console in consoles:
            console_lost, console_duplicated = delivery(accepted, console.seqs)
            lost, duplicated = lost + console_lost, duplicated + console_duplicated
        tablets_lost, tablets_duplicated, misrouted = assignment_delivery(made, [tablets])
        steady = [x for x in samples if x["t"] >= min(30.0, minutes * 60 / 4)] or samples  # after warm-up
        all_latencies = [d for _, d in latencies]
        for collector in [*consoles, *tablets.values()]:
            collector.close()
        return {
            "soak_minutes": minutes, "rate_per_s": rate_per_s, "requests": len(latencies), "errors": len(errors),
            "incidents": len(accepted), "assignments": len(made), "lost": lost + tablets_lost,
            "duplicated": duplicated + tablets_duplicated + misrouted,
            "rss_mb_start": round(samples[0]["rss_mb"], 1) if samples else None,
            "rss_mb_end": round(samples[-1]["rss_mb"], 1) if samples else None,
            "rss_slope_mb_per_min": round(slope_per_minute([(x["t"], x["rss_mb"]) for x in steady]), 2),
            "latency_p95_ms": round(p95(all_latencies) * 1000, 1),
            "latency_p95_slope_ms_per_min": round(slope_per_minute([(x["t"], x["p95_ms"]) for x in steady]), 2),
            "backlog_max": max((x["backlog"] for x in samples), default=0),
            "backlog_slope_per_min": round(slope_per_minute([(x["t"], x["backlog"]) for x in steady]), 2),
            "samples": len(samples), "first_errors": errors[:3],
        }
    finally:
        await lab.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON line with the totals")
    parser.add_argument("--only", nargs="*", help="run only these scenarios")
    parser.add_argument("--soak", type=float, metavar="MINUTES",
                        help="instead of the scenarios: run load for MINUTES and report memory and latency slopes")
    parser.add_argument("--rate", type=float, default=8.0, help="soak intake rate, incidents per second (default 8)")
    args = parser.parse_args()
    if args.soak:
        report = asyncio.run(soak(args.soak, args.rate))
        print(json.dumps(report, ensure_ascii=False) if args.json else json.dumps(report, indent=2, ensure_ascii=False))
        sys.exit(0 if report["lost"] == 0 and report["duplicated"] == 0 and report["errors"] == 0 else 1)
    outcomes = asyncio.run(run(args.only))
    summary = {"scenarios": len(outcomes), "passed": sum(o.passed for o in outcomes),
               "lost": sum(o.lost for o in outcomes), "duplicated": sum(o.duplicated for o in outcomes),
               "results": [asdict(o) for o in outcomes]}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    sys.exit(0 if summary["passed"] == summary["scenarios"] else 1)


if __name__ == "__main__":
    main()
