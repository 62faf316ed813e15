"""A stuck holder of the append lock: writes wait a bounded time, are counted and logged, retry or fail clearly
(503 with Retry-After), and succeed once the lock is free. Nothing hangs and nothing is half-written."""
import asyncio
import logging
import time
from datetime import UTC, datetime

import asyncpg
import pytest
import tornado.httpclient

from db.event_store import APPEND_LOCK, PostgresEventStore
from dispatch.errors import StoreBusy
from dispatch.events import IncidentReported
from dispatch.model import Channel
from integrations.panic import mqtt as panic_mqtt
from integrations.panic.signing import frame
from server import Server
from telemetry.metrics import APPEND_LOCK_TIMEOUTS, STORE_BUSY_SECONDS
from tests.conftest import GOOD_REPORT, Api, make_user, server_config, wait_until
from tests.integrations.conftest import reset_integrations

BOUND_S = 0.3  # the store's lock timeout in these tests
NO_HANG_S = 20  # far above what a bounded write may take (2 tries x 0.3 s + backoff), far below "hangs"


def reported(incident_id: int) -> IncidentReported:
    return IncidentReported(at=datetime.now(UTC), incident_id=incident_id, channel=Channel.PHONE)


def timeouts(unit: str) -> float:
    return APPEND_LOCK_TIMEOUTS.labels(unit)._value.get()


def busy_count() -> float:
    return next(s.value for m in STORE_BUSY_SECONDS.collect() for s in m.samples if s.name.endswith("_count"))


@pytest.fixture
async def stuck_holder(database_url, pool):
    """Another connection holding the append lock (as a hung transaction would) until the test releases it."""
    conn = await asyncpg.connect(database_url)
    await conn.execute("SELECT pg_advisory_lock($1)", APPEND_LOCK)

    async def release():
        await conn.execute("SELECT pg_advisory_unlock_all()")

    yield release
    await conn.close()


async def new_incident(uow) -> int:
    incident_id = await uow.next_incident_id()
    await uow.append(reported(incident_id))
    return incident_id


async def test_a_lock_free_unit_retries_then_fails_clearly_and_succeeds_once_released(pool, stuck_holder, caplog):
    store = PostgresEventStore(pool, lock_timeout_s=BOUND_S, busy_attempts=2)
    before, busy_before = timeouts("optimistic"), busy_count()
    with caplog.at_level(logging.WARNING, logger="ems.store"):
        with pytest.raises(StoreBusy) as refused:
            await asyncio.wait_for(store.run("test", new_incident), NO_HANG_S)
    assert refused.value.retry_after_s >= 1
    assert timeouts("optimistic") == before + 2  # tried twice, both waits bounded
    assert busy_count() == busy_before + 1
    messages = [r.getMessage() for r in caplog.records]
    assert "append lock wait timed out; trying again" in messages
    assert "append lock unavailable: unit refused, nothing written" in messages
    assert await store.events_since(0) == [] and await store.list("incidents") == []

    await stuck_holder()
    incident_id = await asyncio.wait_for(store.run("test", new_incident), NO_HANG_S)
    assert [i.id for i in await store.list("incidents")] == [incident_id]


async def test_a_serialised_unit_fails_clearly_and_writes_nothing(pool, stuck_holder):
    store = PostgresEventStore(pool, lock_timeout_s=BOUND_S)
    before = timeouts("serialised")
    with pytest.raises(StoreBusy):
        async def write():
            async with store.unit_of_work("test") as uow:
                await uow.get("incidents", 1)  # the first read takes the append lock
                await uow.append(reported(1))
        await asyncio.wait_for(write(), NO_HANG_S)
    assert timeouts("serialised") == before + 1
    assert await store.events_since(0) == []

    await stuck_holder()
    async with store.unit_of_work("test") as uow:
        await uow.append(reported(1))
    assert uow.last_seq > 0 and (await store.get("incidents", 1)).last_seq == uow.last_seq


async def test_a_unit_waiting_out_a_short_stall_commits_on_its_next_try(pool, stuck_holder):
    store = PostgresEventStore(pool, lock_timeout_s=BOUND_S, busy_attempts=50, busy_backoff_s=0.05)
    before, busy_before = timeouts("optimistic"), busy_count()
    write = asyncio.create_task(store.run("test", new_incident))

    async def timed_out_once() -> bool:
        return timeouts("optimistic") > before

    assert await wait_until(timed_out_once, timeout_s=NO_HANG_S, interval_s=0.02)
    assert not write.done()  # timed out once, waiting for its next try
    await stuck_holder()
    incident_id = await asyncio.wait_for(write, NO_HANG_S)
    assert (await store.get("incidents", incident_id)) is not None
    assert busy_count() == busy_before + 1  # the delay it suffered is recorded


class StuckLockServer:
    """An in-process server with a short lock bound, and a second connection that can hold the append lock."""

    def __init__(self, running: Server, holder: asyncpg.Connection):
        self.running, self.holder = running, holder

    async def hold(self) -> None:
        await self.holder.execute("SELECT pg_advisory_lock($1)", APPEND_LOCK)

    async def release(self) -> None:
        await self.holder.execute("SELECT pg_advisory_unlock_all()")

    async def dispatcher(self, user_id: str) -> Api:
        token = await make_user(self.running.ctx.pool, user_id, "dispatcher")
        return Api(f"http://127.0.0.1:{self.running.config.port}", token)


@pytest.fixture
async def stuck_server(database_url, redis_url):
    await reset_integrations(database_url, redis_url)
    running = Server(server_config(database_url, redis_url, append_lock_timeout_s=BOUND_S,
                                   panic_press_retry_s=(0.05,)))
    await running.start()
    holder = await asyncpg.connect(database_url)
    try:
        yield StuckLockServer(running, holder)
    finally:
        await holder.close()
        await running.stop()


async def test_intake_answers_503_with_retry_after_and_the_retry_creates_the_incident_once(stuck_server):
    api = await stuck_server.dispatcher("disp-lock")
    http = tornado.httpclient.AsyncHTTPClient()

    async def report():  # the raw client: the test needs the Retry-After header
        return await http.fetch(
            f"{api.base_url}/api/v1/incidents", method="POST", raise_error=False, request_timeout=NO_HANG_S,
            body=tornado.escape.json_encode(GOOD_REPORT),
            headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json",
                     "Idempotency-Key": "call-while-stuck"})

    await stuck_server.hold()
    refused = await report()
    assert refused.code == 503
    assert int(refused.headers["Retry-After"]) >= 1
    assert "retry" in tornado.escape.json_decode(refused.body)["error"]["message"]
    assert await stuck_server.running.ctx.store.list("incidents") == []

    await stuck_server.release()
    created, repeated = await report(), await report()
    assert (created.code, repeated.code) == (201, 200)
    assert len(await stuck_server.running.ctx.store.list("incidents")) == 1


async def test_a_panic_press_over_mqtt_is_left_for_redelivery_not_dropped(stuck_server):
    api = await stuck_server.dispatcher("disp-mqtt")
    status, device = await api.post("/api/v1/devices", {
        "id": "PB-LOCK", "person": "Somsri", "location": {"lat": 13.3611, "lon": 100.9847}})
    assert status == 201, device
    listener = stuck_server.running.integrations.mqtt
    raw = frame(device["secret"], int(time.time()), b'{"message_id": "press-while-stuck"}')  # signed as a button does

    await stuck_server.hold()
    with pytest.raises(panic_mqtt.Redeliver):  # not acknowledged: the broker delivers it again
        await asyncio.wait_for(listener.handle("ems/panic/PB-LOCK/press", raw), NO_HANG_S)
    assert await stuck_server.running.ctx.store.list("incidents") == []

    await stuck_server.release()
    await listener.handle("ems/panic/PB-LOCK/press", raw)  # the redelivery
    [incident] = await stuck_server.running.ctx.store.list("incidents")
    assert incident.channel.value == "panic_button"
