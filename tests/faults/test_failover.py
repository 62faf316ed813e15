"""Failover of the real engines under a running server: a PostgreSQL primary SIGKILLed and its streaming standby
promoted (the server holds a multi-host URL), and a Redis master SIGKILLed and replaced by Sentinel."""
import asyncio
import os
import shutil
import time

import asyncpg
import pytest

from runtime.local_services import PostgresCluster, redis_sentinel, redis_server
from server import Server
from tests.conftest import GOOD_REPORT, TEST_VAR, Api, Socket, make_user, reset_state, server_config, wait_until

# Every commit waits for the standby, so whatever was acknowledged is on the standby when the primary dies.
SYNCHRONOUS = {"synchronous_standby_names": "'*'", "synchronous_commit": "on", "wal_keep_size": "64MB"}


@pytest.fixture
def primary_and_standby():
    """A primary and its synchronous streaming standby (pg_basebackup) on free ports under a temp dir."""
    root = TEST_VAR / f"pg-pair-{os.getpid()}"
    primary = PostgresCluster(root / "a", settings=SYNCHRONOUS).start()
    standby = primary.clone_standby(root / "b").start()
    try:
        yield primary, standby
    finally:
        for cluster in (primary, standby):
            cluster.kill()
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


async def _scalar(url: str, sql: str):
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def test_postgres_primary_killed_standby_promoted_intake_resumes_nothing_acknowledged_lost(
        primary_and_standby, redis_url):
    primary, standby = primary_and_standby
    assert await wait_until(lambda: _scalar(primary.url, "SELECT count(*) = 1 FROM pg_stat_replication"
                                                         " WHERE sync_state = 'sync'"), timeout_s=20)
    both = f"postgresql://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/ems?target_session_attrs=read-write"
    running = Server(server_config(both, redis_url))
    await running.start()
    try:
        token = await make_user(running.ctx.pool, "d", "dispatcher")
        api = Api(f"http://127.0.0.1:{running.config.port}", token)
        acknowledged: dict[str, int] = {}
        refused: list[int] = []
        killed = asyncio.Event()
        promoted = asyncio.Event()
        held = []  # in flight while there was no primary, answered 201 at the first try: held, then run on the new one

        async def report(key: str) -> None:
            deadline = time.monotonic() + 30
            first_try = True
            while time.monotonic() < deadline:
                sent_before_promotion = not promoted.is_set()
                status, body = await api.post("/api/v1/incidents", GOOD_REPORT, headers={"Idempotency-Key": key})
                if status in (200, 201):
                    acknowledged[key] = body["id"]
                    if first_try and sent_before_promotion and killed.is_set():
                        held.append(key)
                    return
                first_try = False
                assert status == 503 and "failing over" in body["error"]["message"], (status, body)
                refused.append(status)
                await asyncio.sleep(0.2)

        async def clients() -> None:
            for n in range(40):
                await asyncio.gather(*(report(f"c{c}-{n}") for c in range(3)))

        async def fail_over() -> None:
            while len(acknowledged) < 30:
                await asyncio.sleep(0.01)
            primary.kill()
            killed.set()
            await asyncio.sleep(1.0)  # the cluster manager's detection time, shortened
            await asyncio.to_thread(standby.promote)
            promoted.set()

        await asyncio.wait_for(asyncio.gather(clients(), fail_over()), 60)
        assert len(acknowledged) == 120, "a key was never accepted after the promotion"
        stored = {r["id"] for r in await running.ctx.pool.fetch("SELECT id FROM incidents")}
        assert set(acknowledged.values()) <= stored, "an acknowledged incident is missing on the new primary"
        assert len(stored) == 120, "a retried key made a second incident"
        assert held, "no report in flight while there was no primary was held until the new one took it"

        async def names_the_standby() -> bool:  # the database watch looks once a second
            running.ctx.health._checked_at = float("-inf")  # no cached probe
            status, health = await api.get("/healthz", token=None)
            return status == 200 and health["database_primary"] == f"127.0.0.1:{standby.port}" and not (
                health["database_degraded"])

        assert await wait_until(names_the_standby, timeout_s=5), "/healthz does not name the new primary"
        assert f'ems_database_primary_info{{address="127.0.0.1:{standby.port}"}} 1.0' in await _metrics(api)
        status, _ = await api.post("/api/v1/incidents", GOOD_REPORT, headers={"Idempotency-Key": "after"})
        assert status == 201
    finally:
        await running.stop()


@pytest.fixture
async def redis_with_sentinel(tmp_path):
    """A Redis master, its replica and one Sentinel (quorum 1) on free ports."""
    master = redis_server(tmp_path / "master").start()
    replica = redis_server(tmp_path / "replica", replica_of=master.port).start()
    sentinel = redis_sentinel(tmp_path / "sentinel", master.port, service="ems-test").start()
    yield master, replica, sentinel
    for process in (sentinel, replica, master):
        process.stop()


async def test_redis_master_killed_sentinel_fails_over_and_fan_out_loses_no_frame(database_url, redis_with_sentinel):
    master, replica, sentinel = redis_with_sentinel
    await reset_state(database_url, f"redis://127.0.0.1:{master.port}/0")
    running = Server(server_config(database_url, None, redis_sentinels=(f"127.0.0.1:{sentinel.port}",),
                                   redis_service="ems-test"))
    await running.start()
    try:
        token = await make_user(running.ctx.pool, "d", "dispatcher")
        api = Api(f"http://127.0.0.1:{running.config.port}", token)
        socket = await Socket.connect(running.config.port, token)
        await socket.next_of("snapshot")
        seqs: list[int] = []

        async def collect():
            while (frame := await socket.next(timeout_s=60)) is not None:
                if frame["type"] == "event":
                    seqs.append(frame["seq"])

        collector = asyncio.create_task(collect())
        accepted = []
        status, health = await api.get("/healthz", token=None)
        assert health["redis_master"] == f"127.0.0.1:{master.port}"
        for i in range(60):
            if i == 20:
                master.kill()
            status, body = await api.post("/api/v1/incidents", GOOD_REPORT, headers={"Idempotency-Key": f"r{i}"})
            assert status == 201, body
            accepted.append(body["last_seq"])
            await asyncio.sleep(0.1)

        async def promoted() -> bool:
            running.ctx.health._checked_at = float("-inf")  # no cached probe
            _, health = await api.get("/healthz", token=None)
            return health["redis_master"] == f"127.0.0.1:{replica.port}" and not health["realtime_degraded"]

        assert await wait_until(promoted, timeout_s=20), "Sentinel did not hand the server the replica"
        assert f'ems_redis_master_info{{address="127.0.0.1:{replica.port}"}} 1.0' in await _metrics(api)
        later = []
        for i in range(10):  # published through the new master
            status, body = await api.post("/api/v1/incidents", GOOD_REPORT, headers={"Idempotency-Key": f"s{i}"})
            later.append(body["last_seq"])
        accepted += later
        assert await wait_until(lambda: _have(seqs, accepted), timeout_s=20), f"missing {set(accepted) - set(seqs)}"
        await asyncio.sleep(1)  # time for a duplicate to show up
        assert sorted(seqs) == sorted(set(seqs)) == seqs, "a frame came twice or out of order"
        assert await running.ctx.redis.xlen(f"{running.config.redis_namespace}:events") > 0
        collector.cancel()
        socket.close()
    finally:
        await running.stop()


async def _have(seen: list[int], expected: list[int]) -> bool:
    return set(expected) <= set(seen)


async def _metrics(api) -> str:
    status, text = await api.get("/metrics", token=None)
    assert status == 200
    return text
