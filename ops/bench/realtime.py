"""Real-time benchmark: `python -m ops.bench.realtime [--json] [--clients 500] [--rate 100] [--seconds 30]`.

Two server processes share PostgreSQL and Redis. A client process holds the WebSockets (crews, one per unit;
dispatchers; hospital boards) spread over both servers. The load generator POSTs incidents at `rate` per second,
assigns each to a free unit (alternating servers) and cancels it again so the unit frees up. Measured: latency
from the assignment POST to the UnitAssigned frame on that unit's crew socket (p50/p99), assignments never
delivered (lost) and delivered twice (duplicated). The first `--warmup` seconds (default 3) run the same load
but stay out of the latency figures: new pool connections, statements prepared per connection and the first
sightings of each unit (which build its road tree) are start-up costs, not steady state; they count for lost and
duplicated. Server-side figures (commit, append lock, feed lag) come from the servers' /metrics histograms.
Prints a table and one JSON line.

The load generator keeps its HTTP connections alive (as a console's browser does) and opens as many as it needs,
so no time is spent queueing inside the generator itself: what is measured is the servers.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from db.event_store import PostgresEventStore
from db.identity import IdentityStore
from db.migrate import migrate
from db.pool import create_pool, ensure_database
from dispatch.events import UnitRegistered
from dispatch.model import Capability, LatLon
from runtime import local_services
from ops.bench import report
from ops.clients import Api, Socket
from runtime.event_loop import install_fast_loop
from ops.processes import ServerProcess

REPO = Path(__file__).resolve().parents[2]
VAR = REPO / "var" / "bench"


async def prepare(database_url: str, units: int, dispatchers: int, hospitals: int) -> dict:
    await ensure_database(database_url)
    pool = await create_pool(database_url, min_size=1, max_size=4)
    await migrate(pool)
    store = PostgresEventStore(pool)
    rng = random.Random(1669)
    async with store.unit_of_work("bench") as uow:
        for i in range(units):
            await uow.append(UnitRegistered(at=datetime.now(UTC), unit_id=f"U{i:04d}", capability=Capability.ALS,
                                            station_id="bench", station_name="bench",
                                            base=LatLon(rng.uniform(13.33, 13.39), rng.uniform(100.96, 101.01))))
    identities = IdentityStore(pool)
    tokens = {"crews": {}, "dispatchers": [], "hospitals": []}
    for i in range(units):
        await identities.upsert_user(f"crew-U{i:04d}", "crew", "crew", unit_id=f"U{i:04d}")
        tokens["crews"][f"U{i:04d}"] = await identities.issue_token(f"crew-U{i:04d}")
    for i in range(dispatchers):
        await identities.upsert_user(f"disp-{i}", "dispatcher", "dispatcher")
        tokens["dispatchers"].append(await identities.issue_token(f"disp-{i}"))
    for i in range(hospitals):
        await identities.upsert_user(f"ed-{i}", "ed", "hospital", hospital_id=f"H{i}")
        tokens["hospitals"].append(await identities.issue_token(f"ed-{i}"))
    await pool.close()
    return tokens


def client_process(ports: list[int], tokens: dict, ready, stop, out_path: str) -> None:
    """Holds every socket; records when each assignment frame reaches its crew."""

    async def main():
        received: dict[int, list[float]] = {}
        sockets = []

        async def crew(port, token):
            socket = await Socket.connect(port, token)
            sockets.append(socket)
            while (message := await socket.conn.read_message()) is not None:
                arrived = time.time()
                if "UnitAssigned" not in message:  # cheap filter; the frame itself is checked below
                    continue
                frame = json.loads(message)
                if frame["type"] == "event" and frame["event"]["type"] == "UnitAssigned":
                    received.setdefault(frame["event"]["payload"]["assignment_id"], []).append(arrived)

        async def passive(port, token):
            """Dispatchers and hospital boards: every frame is read off the socket, none needs decoding."""
            socket = await Socket.connect(port, token)
            sockets.append(socket)
            while await socket.conn.read_message() is not None:
                pass

        tasks = []
        for n, token in enumerate(tokens["crews"].values()):
            tasks.append(asyncio.create_task(crew(ports[n % 2], token)))
        for n, token in enumerate(tokens["dispatchers"] + tokens["hospitals"]):
            tasks.append(asyncio.create_task(passive(ports[n % 2], token)))
        while len(sockets) < len(tasks):
            await asyncio.sleep(0.1)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.2)
        Path(out_path).write_text(json.dumps({str(k): v for k, v in received.items()}))
        for task in tasks:
            task.cancel()

    install_fast_loop()  # the clients' own cost shares the machine with the servers they measure
    asyncio.run(main())


class KeepAliveApi:
    """A minimal HTTP/1.1 JSON client with a pool of keep-alive connections to one server (one request each).

    Like a proxy in front of the servers, it reuses a connection only while it has idled less than `IDLE_REUSE_S`
    (below the servers' EMS_HTTP_IDLE_TIMEOUT_S), and a reused connection the server closed before answering is
    replaced by a fresh one, once.
    """

    IDLE_REUSE_S = 5.0

    def __init__(self, port: int, token: str):
        self.port = port
        self.token = token
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def post(self, path: str, body: dict) -> tuple[int, dict | None]:
        data = json.dumps(body).encode()
        request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAuthorization: Bearer {self.token}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data
        reused = self._reusable()
        if reused is not None:
            answer = await self._exchange(*reused, request)
            if answer is not None:
                return answer
        answer = await self._exchange(*await asyncio.open_connection("127.0.0.1", self.port), request)
        if answer is None:
            raise ConnectionError("the server closed a fresh connection without answering")
        return answer

    def _reusable(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        now = time.monotonic()
        while self.idle:
            reader, writer, since = self.idle.pop()
            if now - since < self.IDLE_REUSE_S and not reader.at_eof():
                return reader, writer
            writer.close()
        return None

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        request: bytes) -> tuple[int, dict | None] | None:
        """The answer, or None when the connection was closed before any of it arrived."""
        try:
            writer.write(request)
            status_line = await reader.readline()
            if not status_line:
                writer.close()
                return None
            status = int(status_line.split()[1])
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and value.strip().lower() == "close":
                    close = True
            payload = await reader.readexactly(length) if length else b""
        except ConnectionResetError:
            writer.close()
            return None
        except Exception:
            writer.close()
            raise
        if close:
            writer.close()
        else:
            self.idle.append((reader, writer, time.monotonic()))
        return status, json.loads(payload) if payload else None

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()


async def load(servers: list[ServerProcess], dispatcher_token: str, units: list[str], rate: float,
               seconds: float, warmup_s: float) -> tuple[dict[int, float], set[int], int]:
    """Incidents at `rate` for `warmup_s` and then `seconds`; returns when each assignment was POSTed, the
    assignments of the measured part, and the number of errors."""
    apis = [KeepAliveApi(s.port, dispatcher_token) for s in servers]
    sent: dict[int, float] = {}
    measured: set[int] = set()
    first_measured = int(rate * warmup_s)
    free = list(units)
    errors = 0

    async def one(n: int):
        nonlocal errors
        api = apis[n % 2]
        status, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": {
            "lat": 13.36 + (n % 50) * 0.0005, "lon": 100.98}})
        if status != 201 or not free:
            errors += 1
            return
        unit = free.pop(0)
        started = time.time()
        status, assignment = await api.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": unit})
        if status == 201:
            sent[assignment["id"]] = started
            if n >= first_measured:
                measured.add(assignment["id"])
        else:
            errors += 1
        await api.post(f"/api/v1/incidents/{incident['id']}/status", {"status": "cancelled", "reason": "bench"})
        free.append(unit)

    tasks = []
    begin = time.monotonic()
    for n in range(first_measured + int(rate * seconds)):
        delay = begin + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    errors += sum(1 for r in results if isinstance(r, Exception))
    for api in apis:
        api.close()
    print(f"load: {len(sent)} assignments, {errors} errors, {time.monotonic() - begin:.1f} s", file=sys.stderr)
    return sent, measured, errors


async def run(args) -> dict:
    admin = local_services.postgres(VAR).url
    redis = local_services.redis(VAR).url
    name = f"ems_bench_{os.getpid()}"
    database_url = admin.rsplit("/", 1)[0] + f"/{name}"
    units = int(args.clients * 0.8)
    dispatchers = args.dispatchers if args.dispatchers is not None else max(1, int(args.clients * 0.04))
    hospitals = args.clients - units - dispatchers
    tokens = await prepare(database_url, units, dispatchers, hospitals)
    env = {"EMS_AUTO_DISPATCH_RED": "false", "EMS_ACK_TIMEOUT_OTHER_S": "600", "EMS_WS_QUEUE_SIZE": "5000"}
    servers = []
    try:
        for _ in range(2):  # one after the other: the first builds the road-graph cache the second then loads
            server = ServerProcess(database_url, redis, namespace=name, var_dir=VAR, **env)
            servers.append(server)
            await server.ready()
            await wait_for_roads(Api(server.base_url, tokens["dispatchers"][0]))
        context = multiprocessing.get_context("spawn")
        ready, stop = context.Event(), context.Event()
        out_path = str(VAR / f"received-{os.getpid()}.json")
        clients = context.Process(target=client_process, args=([s.port for s in servers], tokens, ready, stop, out_path))
        clients.start()
        while not ready.is_set():
            await asyncio.sleep(0.2)
        before = [await scrape(s.port) for s in servers]
        sent, measured, errors = await load(servers, tokens["dispatchers"][0], list(tokens["crews"]), args.rate,
                                           args.seconds, args.warmup)
        await asyncio.sleep(5)  # let the last frames arrive
        stages = stage_figures(before, [await scrape(s.port) for s in servers])
        stop.set()
        clients.join(60)
        received = {int(k): v for k, v in json.loads(Path(out_path).read_text()).items()}
    finally:
        for s in servers:
            s.stop()
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
    latencies = [(received[a][0] - t) * 1000 for a, t in sent.items() if a in received and a in measured]
    if args.dump:
        Path(args.dump).write_text(json.dumps(sorted((t, (received[a][0] - t) * 1000)
                                                      for a, t in sent.items() if a in received)))
    ordered = sorted(latencies)
    return {"clients": args.clients, "rate_per_s": args.rate, "seconds": args.seconds,
            "p50_ms": round(statistics.median(ordered), 2) if ordered else None,
            "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2) if ordered else None,
            "lost": sum(1 for a in sent if a not in received),
            "duplicated": sum(len(v) - 1 for v in received.values() if len(v) > 1),
            "assignments": len(measured), "warmup_s": args.warmup, "warmup_assignments": len(sent) - len(measured),
            "errors": errors, **stages}


STAGES = {"commit": "ems_commit_seconds", "lock_wait": "ems_append_lock_wait_seconds",
          "lock_held": "ems_append_lock_held_seconds", "feed_lag": "ems_event_feed_lag_seconds"}


async def scrape(port: int) -> dict[str, dict[float, float]]:
    """Cumulative bucket counts of the stage histograms on one server: {histogram: {upper bound: count}}."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    text = (await reader.read()).decode()
    writer.close()
    buckets: dict[str, dict[float, float]] = {name: {} for name in STAGES.values()}
    for line in text.splitlines():
        name, _, rest = line.partition("_bucket{")
        if name in buckets:
            bound = rest.split('le="', 1)[1].split('"', 1)[0]
            buckets[name][float(bound)] = float(line.rsplit(" ", 1)[1])
    return buckets


def stage_figures(before: list[dict], after: list[dict]) -> dict[str, float | None]:
    """Server-side p50/p99 (bucket upper bounds, ms) of each stage during the load, both servers together."""
    figures: dict[str, float | None] = {}
    for stage, name in STAGES.items():
        counts: dict[float, float] = {}
        for b, a in zip(before, after):
            for bound, count in a[name].items():
                counts[bound] = counts.get(bound, 0) + count - b[name].get(bound, 0)
        total = counts.get(float("inf"), 0)
        for q in (50, 99):
            bound = next((k for k in sorted(counts) if total and counts[k] >= total * q / 100), None)
            figures[f"{stage}_p{q}_ms"] = None if bound is None or bound == float("inf") else round(bound * 1000, 1)
    return figures


async def wait_for_roads(api: Api, timeout_s: float = 300) -> None:
    """The road graph loads in the background; assignments need it for their ETA."""
    deadline = time.monotonic() + timeout_s
    while (await api.get("/api/v1/map/roads?min_class=motorway"))[0] != 200:
        if time.monotonic() > deadline:
            raise TimeoutError(f"road graph not loaded in {timeout_s} s")
        await asyncio.sleep(0.5)


def table(result: dict) -> str:
    rows = [("clients", result["clients"]), ("rate (incidents/s)", result["rate_per_s"]),
            ("seconds", result["seconds"]), ("warm-up seconds (not in the latencies)", result["warmup_s"]),
            ("assignments", result["assignments"]), ("errors", result["errors"]),
            ("p50 POST → frame (ms)", result["p50_ms"]), ("p99 POST → frame (ms)", result["p99_ms"]),
            ("lost", result["lost"]), ("duplicated", result["duplicated"])]
    rows += [(f"server {stage.replace('_', ' ')} p{q} (ms, ≤ bucket)", result[f"{stage}_p{q}_ms"])
             for stage in STAGES for q in (50, 99)]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="real-time delivery benchmark")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=3, help="seconds of the same load first, not in the "
                        "latency figures (lost and duplicated count them): connections, statements, unit trees")
    parser.add_argument("--dispatchers", type=int, help="consoles among the clients (default 4 %%: every event "
                                                          "goes to each, so they set the fan-out cost)")
    parser.add_argument("--dump", help="write [sent_at, latency_ms] of every assignment to this JSON file")
    args = parser.parse_args()
    VAR.mkdir(parents=True, exist_ok=True)
    install_fast_loop()
    result = asyncio.run(run(args))
    report(result, table(result), as_json=args.json)


if __name__ == "__main__":
    main()
