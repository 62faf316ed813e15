"""Redis and PostgreSQL really stopped and restarted under a running server (private instances)."""
import asyncio
import os

import pytest

from runtime.local_services import PostgresCluster, redis_server
from server import Server
from tests.conftest import GOOD_REPORT, TEST_VAR, Api, Socket, make_user, reset_state, server_config, wait_until


@pytest.fixture
async def private_redis(tmp_path):
    server = redis_server(tmp_path / "redis").start()
    yield server
    server.stop()


async def test_redis_stopped_and_restarted_during_100_posts_loses_and_duplicates_nothing(
    database_url, private_redis
):
    redis_url = f"redis://127.0.0.1:{private_redis.port}/0"
    await reset_state(database_url, redis_url)
    running = Server(server_config(database_url, redis_url))
    await running.start()
    try:
        token = await make_user(running.ctx.pool, "d", "dispatcher")
        api = Api(f"http://127.0.0.1:{running.config.port}", token)
        socket = await Socket.connect(running.config.port, token)
        await socket.next_of("snapshot")
        frames: list[dict] = []

        async def collect():
            while True:
                frame = await socket.next(timeout_s=60)
                if frame is None:
                    return
                frames.append(frame)

        collector = asyncio.create_task(collect())
        accepted = []
        for i in range(100):
            if i == 30:
                private_redis.kill()  # data gone: it keeps nothing on disk
            if i == 70:
                status, health = await api.get("/healthz", token=None)
                assert status == 503 and health["failing"] == ["redis"]
                private_redis.start()
            status, body = await api.post("/api/v1/incidents", GOOD_REPORT, headers={"Idempotency-Key": f"k{i}"})
            assert status == 201, body
            accepted.append(body["last_seq"])

        def event_seqs():
            return [f["seq"] for f in frames if f["type"] == "event"]

        async def all_delivered():
            return set(event_seqs()) >= set(accepted)

        assert await wait_until(all_delivered), f"missing {set(accepted) - set(event_seqs())}"
        await asyncio.sleep(1.5)  # time for any duplicate to show up
        assert sorted(event_seqs()) == sorted(accepted)  # exactly once each
        assert event_seqs() == sorted(event_seqs())  # in seq order
        degraded = [f for f in frames if f["type"] == "alert" and f.get("kind") == "realtime_degraded"]
        assert [a["active"] for a in degraded][:1] == [True], "dispatcher was not told realtime degraded"
        assert await wait_until(lambda: _healthy(api))
        collector.cancel()
        socket.close()
        assert len(await running.ctx.store.list("incidents", limit=500)) == 100
    finally:
        await running.stop()


async def _healthy(api) -> bool:
    status, _ = await api.get("/healthz", token=None)
    return status == 200


async def test_postgres_restart_pool_recovers_and_health_returns(tmp_path, redis_url):
    cluster = PostgresCluster(TEST_VAR / f"pg-restart-{os.getpid()}").start()
    try:
        database_url = cluster.url.rsplit("/", 1)[0] + "/ems"
        running = Server(server_config(database_url, redis_url))
        await running.start()
        try:
            token = await make_user(running.ctx.pool, "d", "dispatcher")
            api = Api(f"http://127.0.0.1:{running.config.port}", token)
            assert (await api.post("/api/v1/incidents", GOOD_REPORT))[0] == 201
            cluster.stop()
            status, health = await api.get("/healthz", token=None)
            assert status == 503 and "postgresql" in health["failing"]
            cluster.start()
            assert await wait_until(lambda: _healthy(api)), "healthz did not return to 200"
            status, body = await api.post("/api/v1/incidents", GOOD_REPORT)
            assert status == 201, body
            assert body["id"] == 2
        finally:
            await running.stop()
    finally:
        cluster.stop()
        import shutil
        shutil.rmtree(cluster.root, ignore_errors=True)
