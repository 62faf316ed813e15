"""Outage drill on a highly available cluster of the real engines: `python -m ops.ha [--json] [--only NAME ...]`
(`./ops/ha-drill` installs the engines first).

Starts on this machine, under var/ha/: etcd, three PostgreSQL nodes managed by Patroni (synchronous_mode), a Redis
master + replica watched by three Sentinels, and two ems server processes that reach PostgreSQL by a multi-host URL
and Redis through the Sentinels. Every PostgreSQL node is reached (by clients, its replicas and its peers) only
through a TCP proxy of the project's own, and its Patroni reaches etcd through another, so a node can be cut off
the network while it keeps running.

Steady load runs through every scenario: call-takers reporting incidents (each retrying its Idempotency-Key until
answered) and triaging them, dispatchers assigning units, crew tablets (WebSocket) acknowledging their assignments
and driving the unit through en route, on scene, available, and a console receiving every event. Scenarios:
the PostgreSQL primary SIGKILLed (host crash), a planned Patroni switchover, the primary cut off the network while
it runs, the Redis master SIGKILLed, and one server process SIGKILLed during a PostgreSQL failover.

One JSON line per scenario: {"scenario", "outage_s", "lost", "duplicated", "acked_then_lost", "passed"}, where
outage_s is the longest stretch without an acknowledged report (intake refused or held), and a last line
{"scenarios", "passed", "max_outage_s", "lost", "duplicated", "acked_then_lost"}.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import tornado.httpclient

from db.pool import connector, ensure_database
from ops.chaos import REPORT, Collector, Lab, assignment_delivery, delivery
from ops.clients import Api, Socket
from ops.tcp_proxy import TcpProxy
from runtime.local_services import (
    HOST, PostgresCluster, ServerProcess, free_port, open_parents, postgres_bin_dir, redis_sentinel, redis_server,
)

REPO = Path(__file__).resolve().parent.parent
HA_VAR = REPO / "var" / "ha"
SCOPE = "ems-ha"
REDIS_SERVICE = "ems"
# Patroni timing (ops/deploy/patroni.yml holds the same): the leader key lives `ttl` s unless renewed every
# `loop_wait` s; a leader that cannot renew it within `retry_timeout` s demotes itself (ttl >= loop_wait + 2 x
# retry_timeout keeps a demoting leader ahead of its key's expiry).
PATRONI_TIMING = {"ttl": 10, "loop_wait": 2, "retry_timeout": 4}
SENTINEL_DOWN_AFTER_MS = 2000
SERVER_ENV = {"EMS_DB_COMMAND_TIMEOUT_S": "5", "EMS_DB_CONNECT_TIMEOUT_S": "2", "EMS_DB_FAILOVER_WAIT_S": "10",
              "EMS_RATE_INTAKE_PER_MIN": "100000", "EMS_RATE_API_PER_MIN": "100000"}
UNPLANNED_TARGET_S = 15.0
PLANNED_TARGET_S = 5.0
INTAKE_WORKERS = 4
INTAKE_PER_WORKER_S = 3.0  # reports per second per call-taker (each also triaged): 12 reports, 24 writes a second
DISPATCH_UNITS = 4


# ---- the cluster ---------------------------------------------------------------------------------------------

def _service_user() -> tuple[int, int] | None:
    """(uid, gid) to run PostgreSQL and Patroni as when we are root (PostgreSQL refuses root), else None."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


def _give(path: Path) -> None:
    account = _service_user()
    if account:
        for item in [path, *path.rglob("*")]:
            os.chown(item, *account)


def patroni_config(name: str, root: Path, *, pg_port: int, pg_address: int, api_port: int, api_address: int,
                   etcd_port: int) -> dict:
    """One node's Patroni configuration (YAML is a superset of JSON: written as JSON). `pg_address` and
    `api_address` are the ports the others reach it at (its proxies), `etcd_port` the etcd it talks to."""
    return {
        "scope": SCOPE, "name": name,
        "restapi": {"listen": f"{HOST}:{api_port}", "connect_address": f"{HOST}:{api_address}"},
        # use_proxies: talk to etcd only at this address (no discovery of the members' own addresses), so the
        # node's etcd proxy really is its only way to etcd
        "etcd3": {"hosts": [f"{HOST}:{etcd_port}"], "use_proxies": True},
        "bootstrap": {
            "dcs": {**PATRONI_TIMING, "maximum_lag_on_failover": 1048576, "synchronous_mode": True,
                    "postgresql": {"use_pg_rewind": True, "use_slots": True,
                                   "parameters": {"wal_keep_size": "256MB", "max_connections": 200,
                                                  "wal_log_hints": "on"}}},
            "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, "data-checksums"],
            "pg_hba": ["local all all trust", f"host replication all {HOST}/32 trust", f"host all all {HOST}/32 trust"],
        },
        "postgresql": {
            "listen": f"{HOST}:{pg_port}", "connect_address": f"{HOST}:{pg_address}",
            "data_dir": str(root / "data"), "bin_dir": str(postgres_bin_dir()), "pgpass": str(root / "pgpass"),
            "authentication": {"superuser": {"username": "postgres", "password": "drill"},
                               "replication": {"username": "replicator", "password": "drill"},
                               "rewind": {"username": "postgres", "password": "drill"}},
            "parameters": {"unix_socket_directories": str(root)},
            "remove_data_directory_on_rewind_failure": True,
            "remove_data_directory_on_diverged_timelines": True,
        },
        "tags": {},
    }


@dataclass
class PgNode:
    """One PostgreSQL node under Patroni, with the proxies that are its network."""

    name: str
    root: Path
    etcd_port: int
    pg_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    pg_proxy: TcpProxy | None = None  # clients, replicas and pg_rewind reach PostgreSQL here
    api_proxy: TcpProxy | None = None  # the other Patronis reach its REST API here
    etcd_proxy: TcpProxy | None = None  # its Patroni reaches etcd here
    proc: subprocess.Popen | None = None

    async def open_network(self) -> None:
        self.pg_proxy = await TcpProxy(self.pg_port).start()
        self.api_proxy = await TcpProxy(self.api_port).start()
        self.etcd_proxy = await TcpProxy(self.etcd_port).start()

    @property
    def proxies(self) -> list[TcpProxy]:
        return [p for p in (self.pg_proxy, self.api_proxy, self.etcd_proxy) if p]

    @property
    def address(self) -> str:
        """Where clients reach this node."""
        return f"{HOST}:{self.pg_proxy.port}"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        open_parents(self.root)
        config = patroni_config(self.name, self.root, pg_port=self.pg_port, pg_address=self.pg_proxy.port,
                                api_port=self.api_port, api_address=self.api_proxy.port,
                                etcd_port=self.etcd_proxy.port)
        (self.root / "patroni.yml").write_text(json.dumps(config, indent=2))
        _give(self.root)
        account = _service_user()
        log = open(self.root / "patroni.log", "ab")
        self.proc = subprocess.Popen(
            [shutil.which("patroni") or "patroni", str(self.root / "patroni.yml")], stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True, cwd=self.root,
            user=account[0] if account else None, group=account[1] if account else None)

    def crash(self) -> None:
        """SIGKILL Patroni and PostgreSQL together, like a host that lost power."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        PostgresCluster(self.root, self.pg_port).kill()

    def partition(self) -> None:
        for proxy in self.proxies:
            proxy.partition()

    def heal(self) -> None:
        for proxy in self.proxies:
            proxy.heal()


async def http_json(url: str, method: str = "GET", body: dict | None = None, timeout_s: float = 3) -> tuple[int, object]:
    """(status, parsed JSON or text) of one request; (599, error) when nothing answered."""
    client = tornado.httpclient.AsyncHTTPClient()
    try:
        response = await client.fetch(url, method=method, body=None if body is None else json.dumps(body),
                                      raise_error=False, request_timeout=timeout_s, connect_timeout=timeout_s)
    except Exception as exc:
        return 599, repr(exc)
    text = response.body.decode() if response.body else ""
    try:
        return response.code, json.loads(text)
    except ValueError:
        return response.code, text


class HaCluster:
    """etcd, the Patroni nodes, Redis with its Sentinels."""

    def __init__(self, root: Path, nodes: int = 3):
        self.root = root
        self.etcd_port, self.etcd_peer_port = free_port(), free_port()
        self.etcd: ServerProcess | None = None
        self.nodes = [PgNode(f"pg{i + 1}", root / f"pg{i + 1}", self.etcd_port) for i in range(nodes)]
        self.redis: list[ServerProcess] = []
        self.sentinels: list[ServerProcess] = []

    @property
    def database_url(self) -> str:
        hosts = ",".join(node.address for node in self.nodes)
        return f"postgresql://postgres@{hosts}/ems?target_session_attrs=read-write"

    @property
    def sentinel_addresses(self) -> str:
        return ",".join(f"{HOST}:{s.port}" for s in self.sentinels)

    async def start(self) -> None:
        missing = [tool for tool in ("etcd", "patroni", "redis-server", "redis-cli") if shutil.which(tool) is None]
        if missing:
            raise RuntimeError(f"{', '.join(missing)} not installed: run ./ops/ha-drill, which installs them")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)
        etcd_dir = self.root / "etcd"
        self.etcd = ServerProcess("etcd", [
            shutil.which("etcd") or "etcd", "--name", "drill", "--data-dir", str(etcd_dir / "data"),
            "--listen-client-urls", f"http://{HOST}:{self.etcd_port}",
            "--advertise-client-urls", f"http://{HOST}:{self.etcd_port}",
            "--listen-peer-urls", f"http://{HOST}:{self.etcd_peer_port}",
            "--initial-advertise-peer-urls", f"http://{HOST}:{self.etcd_peer_port}",
            "--initial-cluster", f"drill=http://{HOST}:{self.etcd_peer_port}",
            "--heartbeat-interval", "100", "--election-timeout", "1000"], self.etcd_port, etcd_dir / "etcd.log").start()
        await self.etcd_ready()
        for node in self.nodes:
            await node.open_network()
        self.nodes[0].start()  # the first bootstraps the cluster, the others clone it
        await self.wait_for(lambda members: any(m["role"] == "leader" and m["state"] == "running" for m in members),
                            "a leader", 120)
        for node in self.nodes[1:]:
            node.start()
        master = redis_server(self.root / "redis-a").start()
        replica = redis_server(self.root / "redis-b", replica_of=master.port).start()
        self.redis = [master, replica]
        self.sentinels = [redis_sentinel(self.root / f"sentinel-{i}", master.port, service=REDIS_SERVICE, quorum=2,
                                         down_after_ms=SENTINEL_DOWN_AFTER_MS, failover_timeout_ms=10_000).start()
                          for i in range(3)]
        await self.healthy(180)

    async def etcd_ready(self, timeout_s: float = 60) -> None:
        """Until etcd has elected itself (before that it tells its version as "not_decided", and Patroni fails)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status, body = await http_json(f"http://{HOST}:{self.etcd_port}/version")
            if status == 200 and isinstance(body, dict) and body.get("etcdcluster", "not_decided") != "not_decided":
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"etcd not ready within {timeout_s:.0f} s")

    async def members(self) -> list[dict]:
        """The cluster as Patroni sees it (asked of any node that answers)."""
        for node in self.nodes:
            if node.proc and node.proc.poll() is None:
                status, body = await http_json(f"http://{HOST}:{node.api_port}/cluster")
                if status == 200 and isinstance(body, dict):
                    return body.get("members", [])
        return []

    async def wait_for(self, condition, what: str, timeout_s: float) -> list[dict]:
        deadline = time.monotonic() + timeout_s
        members: list[dict] = []
        while time.monotonic() < deadline:
            members = await self.members()
            if members and condition(members):
                return members
            await asyncio.sleep(0.5)
        logs = {n.name: (n.root / "patroni.log").read_text(errors="replace")[-600:] for n in self.nodes
                if (n.root / "patroni.log").exists()}
        raise TimeoutError(f"no {what} within {timeout_s:.0f} s: {members}; Patroni logs end: {logs}")

    async def healthy(self, timeout_s: float = 180) -> None:
        """Every node running, a leader, a synchronous standby, every replica streaming."""
        def whole(members: list[dict]) -> bool:
            roles = Counter(m["role"] for m in members)
            return (len(members) == len(self.nodes) and roles["leader"] == 1 and roles["sync_standby"] >= 1
                    and all(m["state"] in ("running", "streaming") for m in members))
        await self.wait_for(whole, "whole cluster", timeout_s)

    async def leader(self) -> PgNode:
        members = await self.wait_for(lambda ms: any(m["role"] == "leader" for m in ms), "leader", 60)
        name = next(m["name"] for m in members if m["role"] == "leader")
        return next(node for node in self.nodes if node.name == name)

    async def sync_standby(self) -> PgNode:
        members = await self.wait_for(lambda ms: any(m["role"] == "sync_standby" for m in ms), "sync standby", 60)
        name = next(m["name"] for m in members if m["role"] == "sync_standby")
        return next(node for node in self.nodes if node.name == name)

    async def switchover(self) -> tuple[int, object]:
        leader, candidate = await self.leader(), await self.sync_standby()
        return await http_json(f"http://{HOST}:{leader.api_port}/switchover", "POST",
                               {"leader": leader.name, "candidate": candidate.name}, timeout_s=30)

    async def redis_master(self) -> ServerProcess:
        for sentinel in self.sentinels:
            reply = await asyncio.to_thread(subprocess.run, [
                "redis-cli", "-p", str(sentinel.port), "SENTINEL", "get-master-addr-by-name", REDIS_SERVICE],
                capture_output=True, text=True, timeout=5)
            lines = reply.stdout.split()
            if len(lines) == 2:
                return next(r for r in self.redis if r.port == int(lines[1]))
        raise RuntimeError("no Sentinel names a master")

    async def close(self) -> None:
        """Tear the drill's cluster down (its data goes with it, so no clean shutdown is owed)."""
        for node in self.nodes:
            node.crash()
            for proxy in node.proxies:
                await proxy.stop()
        for process in [*self.sentinels, *self.redis]:
            process.stop()
        if self.etcd:
            self.etcd.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class HaLab(Lab):
    """chaos.Lab's helpers (tokens, the demo city, server processes, queries) on the HA cluster."""

    @property
    def redis_url(self) -> str:
        return ""  # the servers ask the Sentinels (EMS_REDIS_SENTINELS)

    async def fetch(self, sql: str) -> list[asyncpg.Record]:
        conn = await connector(3)(self.database_url)  # the primary, past any node cut off
        try:
            return await conn.fetch(sql, timeout=30)
        finally:
            await conn.close()


# ---- the load ------------------------------------------------------------------------------------------------

class Tablet:
    """A crew tablet: one WebSocket after another (to the next server when one dies), resuming after the last
    seq it saw, and acknowledging each of its unit's assignments."""

    def __init__(self, unit_id: str, token: str, servers: list, api_of):
        self.unit_id, self.token, self.servers, self.api_of = unit_id, token, servers, api_of
        self.connections: list[Collector] = []
        self.acked: set[int] = set()
        self.task = asyncio.create_task(self._run())

    @property
    def last_seq(self) -> int:
        return max((c.last_seq for c in self.connections), default=0)

    async def _run(self) -> None:
        turn = 0
        while True:
            server = self.servers[turn % len(self.servers)]
            turn += 1
            if server.proc.poll() is not None:
                continue
            try:
                socket = await Socket.connect(server.port, self.token, since=self.last_seq if self.connections else None)
            except Exception:
                await asyncio.sleep(0.5)
                continue
            collector = Collector(socket)
            self.connections.append(collector)
            while not collector.task.done():
                await self._acknowledge(collector)
                await asyncio.sleep(0.1)
            await self._acknowledge(collector)

    async def _acknowledge(self, collector: Collector) -> None:
        for assignment_id, unit_id in list(collector.assignments):
            if unit_id == self.unit_id and assignment_id not in self.acked:
                status, _ = await self.api_of(self.token).post(f"/api/v1/assignments/{assignment_id}/ack")
                if status in (200, 409):  # 409: no longer awaited (already acknowledged, or moved on)
                    self.acked.add(assignment_id)

    def close(self) -> None:
        self.task.cancel()
        for collector in self.connections:
            collector.close()


class Balancer:
    """What a load balancer does for the clients: the next server when one does not answer."""

    def __init__(self, servers: list):
        self.servers = servers

    def api(self, token: str) -> Failover:
        return Failover(self, token)


class Failover:
    def __init__(self, balancer: Balancer, token: str):
        self.balancer, self.token = balancer, token
        self.turn = 0

    async def post(self, path: str, body=None, **kw):
        return await self.call("POST", path, body, **kw)

    async def get(self, path: str, **kw):
        return await self.call("GET", path, **kw)

    async def call(self, method: str, path: str, body=None, **kw):
        servers = self.balancer.servers
        self.turn += 1  # round robin
        for _ in range(len(servers)):
            server = servers[self.turn % len(servers)]
            if server.proc.poll() is None:
                try:
                    status, reply = await Api(server.base_url, self.token).call(method, path, body, **kw)
                    if status != 599:
                        return status, reply
                except Exception:
                    pass
            self.turn += 1  # not answering: the next server
        return 599, "no server answered"


@dataclass
class Traffic:
    """Steady load for one scenario; everything it was told is kept for the reckoning."""

    tag: str
    dispatcher: Failover
    units: list[str]
    tablets: dict[str, Tablet]
    acked: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (incident id, seq)
    ack_times: list[float] = field(default_factory=list)
    refused: list[tuple[float, int]] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)  # keys never acknowledged within the client's patience
    made: list[tuple[int, str]] = field(default_factory=list)  # (assignment id, unit) created
    errors: list[str] = field(default_factory=list)
    running: bool = True
    tasks: list[asyncio.Task] = field(default_factory=list)
    writes: int = 0  # requests answered 2xx (reports, triage, assignments, statuses)
    started_at: float = field(default_factory=time.monotonic)

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._call_taker(w)) for w in range(INTAKE_WORKERS)]
        self.tasks += [asyncio.create_task(self._dispatcher(u)) for u in self.units]

    async def stop(self) -> None:
        self.running = False
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _until_answered(self, path: str, body, *, ok=(200, 201), headers=None, patience_s: float = 60):
        """POST until an answer in `ok` or a 4xx (the call-taker keeps the form and presses send again)."""
        deadline = time.monotonic() + patience_s
        while time.monotonic() < deadline:
            status, reply = await self.dispatcher.post(path, body, headers=headers)
            if status in ok or 400 <= status < 500:
                self.writes += status in ok
                return status, reply
            self.refused.append((time.monotonic(), status))
            await asyncio.sleep(0.2)
        return 0, None

    async def _read(self, path: str, patience_s: float = 60):
        """GET until 200 (reads too are refused while no primary answers)."""
        deadline = time.monotonic() + patience_s
        while time.monotonic() < deadline:
            status, reply = await self.dispatcher.get(path)
            if status == 200:
                return reply
            await asyncio.sleep(0.2)
        return None

    async def report(self, key: str) -> int | None:
        status, body = await self._until_answered("/api/v1/incidents", {**REPORT, "chief_complaint": self.tag},
                                                  headers={"Idempotency-Key": key})
        if status not in (200, 201):
            self.unanswered.append(key)
            return None
        self.acked[key] = (body["id"], body["last_seq"])
        self.ack_times.append(time.monotonic())
        return body["id"]

    async def _call_taker(self, worker: int) -> None:
        n = 0
        while self.running:
            started = time.monotonic()
            incident_id = await self.report(f"{self.tag}-w{worker}-{n}")
            n += 1
            if incident_id is not None:
                await self._until_answered(f"/api/v1/incidents/{incident_id}/triage", {"group": 11, "determinant": 3})
            await asyncio.sleep(max(0.0, started + 1 / INTAKE_PER_WORKER_S - time.monotonic()))

    async def _dispatcher(self, unit_id: str) -> None:
        n = 0
        while self.running:
            incident_id = await self.report(f"{self.tag}-{unit_id}-{n}")
            n += 1
            if incident_id is None:
                continue
            status, body = await self._until_answered(f"/api/v1/incidents/{incident_id}/assignments",
                                                      {"unit_id": unit_id})
            if status == 409:  # an attempt cut by a failover may have committed: look before trying again
                mine = await self._read(f"/api/v1/incidents/{incident_id}/assignments") or {}
                found = [a for a in mine.get("assignments", []) if a["unit_id"] == unit_id]
                if not found:
                    self.errors.append(f"assign {unit_id}: {body}")
                    await asyncio.sleep(1)
                    await self._release(unit_id)
                    continue
                body = found[0]
            elif status != 201:
                self.errors.append(f"assign {unit_id}: {status} {body}")
                continue
            self.made.append((body["id"], unit_id))
            deadline = time.monotonic() + 10
            while body["id"] not in self.tablets[unit_id].acked and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await self._release(unit_id)
            await self._until_answered(f"/api/v1/incidents/{incident_id}/status", {"status": "closed"})

    async def _release(self, unit_id: str) -> None:
        for step in ("en_route", "on_scene", "available"):
            await self._until_answered(f"/api/v1/units/{unit_id}/status", {"status": step})

    def outage_s(self, fault_at: float) -> float:
        """The longest stretch from the fault on with no report acknowledged."""
        times = sorted(t for t in self.ack_times if t >= fault_at)
        if not times:
            return float("inf")
        return round(max([times[0] - fault_at, *(b - a for a, b in zip(times, times[1:]))]), 2)


# ---- scenarios -----------------------------------------------------------------------------------------------

@dataclass
class Drill:
    cluster: HaCluster
    lab: HaLab
    servers: list
    units: list[str]
    dispatcher: Failover
    tablets: dict[str, Tablet]
    console: list[Collector]

    async def run(self, name: str, fault, *, target_s: float, redis: bool = False) -> dict:
        traffic = Traffic(name, self.dispatcher, self.units[:DISPATCH_UNITS], self.tablets)
        traffic.start()
        await asyncio.sleep(4)  # steady before the fault
        fault_at = time.monotonic()
        await fault()
        deadline = time.monotonic() + 60
        while not [t for t in traffic.ack_times if t > fault_at + 0.5] and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(5)  # steady after recovery
        await traffic.stop()
        await self.tablets_have(traffic.made, timeout_s=30)
        seqs = [seq for _, seq in traffic.acked.values()]
        await self.console_collector().wait_for(set(seqs), timeout_s=30)
        await asyncio.sleep(1)  # time for a duplicate to show up
        return await self.reckon(name, traffic, fault_at, target_s, seqs)

    async def tablets_have(self, made: list[tuple[int, str]], timeout_s: float) -> None:
        """Until every assignment reached its unit's tablet (on any of its connections), or the time is up."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            seen = {(a, u) for t in self.tablets.values() for c in t.connections for a, u in c.assignments}
            if set(made) <= seen:
                return
            await asyncio.sleep(0.2)

    def console_collector(self) -> Collector:
        return self.console[-1]

    async def reckon(self, name: str, traffic: Traffic, fault_at: float, target_s: float, seqs: list[int]) -> dict:
        ids = {incident_id for incident_id, _ in traffic.acked.values()}
        stored = {r["id"] for r in await self.lab.fetch(
            f"SELECT id FROM incidents WHERE doc->>'chief_complaint' = '{name}'")}
        acked_then_lost = len(ids - stored)
        assigned = Counter((r["i"], r["u"]) for r in await self.lab.fetch(
            "SELECT (payload->>'incident_id')::bigint AS i, payload->>'unit_id' AS u FROM events"
            " WHERE type = 'UnitAssigned'"))
        ours = {i for i in stored}
        doubled_assignments = sum(n - 1 for (i, _), n in assigned.items() if i in ours and n > 1)
        per_tablet = [{u: c} for t in self.tablets.values() for c in t.connections for u in [t.unit_id]]
        frames_lost, frames_doubled, misrouted = assignment_delivery(traffic.made, per_tablet)
        console_lost, console_doubled = delivery(seqs, [s for c in self.console for s in c.seqs])
        lost = len(traffic.unanswered) + frames_lost + console_lost
        duplicated = max(0, len(stored) - len(traffic.acked)) + doubled_assignments + frames_doubled + console_doubled
        outage = traffic.outage_s(fault_at)
        passed = (outage <= target_s and lost == 0 and duplicated == 0 and acked_then_lost == 0 and misrouted == 0
                  and not traffic.errors)
        rate = traffic.writes / (time.monotonic() - traffic.started_at)
        detail = (f"{rate:.1f} writes/s; {len(traffic.acked)} reports acknowledged ({len(traffic.refused)} tries refused or unanswered, then retried), "
                  f"{len(traffic.made)} assignments; errors {traffic.errors[:2]}")
        print(f"{'PASS' if passed else 'FAIL'}  {name:<34} outage {outage:>5} s  {detail}", file=sys.stderr, flush=True)
        return {"scenario": name, "outage_s": outage, "lost": lost, "duplicated": duplicated,
                "acked_then_lost": acked_then_lost, "passed": passed}

    # -- the faults --

    async def postgres_primary_sigkill(self) -> dict:
        leader = await self.cluster.leader()

        async def fault():
            leader.crash()
        result = await self.run("postgres_primary_sigkill", fault, target_s=UNPLANNED_TARGET_S)
        leader.start()  # the host comes back: Patroni rejoins it as a replica (pg_rewind)
        await self.cluster.healthy()
        return result

    async def planned_switchover(self) -> dict:
        async def fault():
            status, body = await self.cluster.switchover()
            if status != 200:
                raise RuntimeError(f"switchover refused: {status} {body}")
        result = await self.run("planned_switchover", fault, target_s=PLANNED_TARGET_S)
        await self.cluster.healthy()
        return result

    async def postgres_primary_cut_off(self) -> dict:
        leader = await self.cluster.leader()

        async def fault():
            leader.partition()
        result = await self.run("postgres_primary_cut_off", fault, target_s=UNPLANNED_TARGET_S)
        leader.heal()
        await self.cluster.healthy()
        return result

    async def redis_master_sigkill(self) -> dict:
        master = await self.cluster.redis_master()

        async def fault():
            master.kill()
        result = await self.run("redis_master_sigkill", fault, target_s=UNPLANNED_TARGET_S)
        master.start()  # back as a replica of the new master (the Sentinels reconfigure it)
        await asyncio.to_thread(subprocess.run, ["redis-cli", "-p", str(master.port), "REPLICAOF", HOST,
                                                 str((await self.cluster.redis_master()).port)],
                                capture_output=True, timeout=5)
        return result

    async def server_sigkill_during_postgres_failover(self) -> dict:
        leader = await self.cluster.leader()
        victim = self.servers[0]  # the tablets' server

        async def fault():
            leader.crash()
            await asyncio.sleep(1)
            victim.kill()
        result = await self.run("server_sigkill_during_postgres_failover", fault, target_s=UNPLANNED_TARGET_S)
        leader.start()
        await self.cluster.healthy()
        return result


SCENARIOS = ["redis_master_sigkill", "planned_switchover", "postgres_primary_sigkill", "postgres_primary_cut_off",
             "server_sigkill_during_postgres_failover"]


async def places_ready(servers: list, token: str, timeout_s: float = 300) -> None:
    """Until every server answers place search (the gazetteer is built after the road graph)."""
    deadline = time.monotonic() + timeout_s
    for server in servers:
        while (await Api(server.base_url, token).get("/api/v1/geocode?q=hospital"))[0] == 503:
            if time.monotonic() > deadline:
                raise TimeoutError(f"place search not ready on port {server.port}")
            await asyncio.sleep(0.5)


async def drill(names: list[str] | None) -> list[dict]:
    root = HA_VAR / str(os.getpid())
    cluster = HaCluster(root)
    lab: HaLab | None = None
    tablets: dict[str, Tablet] = {}
    console: list[Collector] = []
    try:
        await cluster.start()
        lab = HaLab(None, None, cluster.database_url, root)
        await ensure_database(cluster.database_url)
        units = await lab.seed_city()
        servers = await lab.start_servers(2, EMS_REDIS_SENTINELS=cluster.sentinel_addresses,
                                          EMS_REDIS_SERVICE=REDIS_SERVICE, **SERVER_ENV)
        token = await lab.token()
        await lab.routing_ready(token, timeout_s=300)
        await places_ready(servers, token)  # its build loads the machine: not during a scenario
        balancer = Balancer(servers)
        for unit_id in units[:DISPATCH_UNITS]:
            crew = await lab.token(f"crew-{unit_id}", "crew", unit_id=unit_id)
            tablets[unit_id] = Tablet(unit_id, crew, servers, balancer.api)
        console.append(Collector(await Socket.connect(servers[1].port, token)))  # the server that is not killed
        run = Drill(cluster, lab, servers, units, balancer.api(token), tablets, console)
        results = []
        for name in SCENARIOS:
            if names and name not in names:
                continue
            try:
                results.append(await asyncio.wait_for(getattr(run, name)(), 600))
            except Exception as exc:
                print(f"FAIL  {name}: {type(exc).__name__}: {exc}"[:600], file=sys.stderr, flush=True)
                results.append({"scenario": name, "outage_s": None, "lost": 0, "duplicated": 0, "acked_then_lost": 0,
                                "passed": False, "error": f"{type(exc).__name__}: {exc}"[:300]})
        return results
    finally:
        for tablet in tablets.values():
            tablet.close()
        for collector in console:
            collector.close()
        if lab:
            for server in lab.servers:
                server.stop()
        await cluster.close()


async def _until_signalled(work):
    """Run `work`; SIGTERM or SIGINT cancel it, so its clean-up still stops every process it started."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    return await task


def summary(results: list[dict]) -> dict:
    outages = [r["outage_s"] for r in results if r["outage_s"] is not None]
    return {"scenarios": len(results), "passed": sum(r["passed"] for r in results),
            "max_outage_s": max(outages, default=None), "lost": sum(r["lost"] for r in results),
            "duplicated": sum(r["duplicated"] for r in results),
            "acked_then_lost": sum(r["acked_then_lost"] for r in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON line per scenario, then the sum")
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, help="run only these scenarios")
    args = parser.parse_args()
    results = asyncio.run(_until_signalled(drill(args.only)))
    total = summary(results)
    for line in [*results, total]:
        print(json.dumps(line) if args.json else line, flush=True)
    sys.exit(0 if total["passed"] == total["scenarios"] else 1)


if __name__ == "__main__":
    main()
