"""Issue #14 item 17: a Redis stream that outlived its database (a fresh or restored PostgreSQL) must not silence
live frames. Real Redis, real PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime

import redis.asyncio as aioredis

from dispatch.channels import DeviceAlertRaised
from tests.conftest import REDIS_NAMESPACE, wait_until
from telemetry.metrics import RELAY_STREAM_RESETS
from ws.fanout import EventFeed, Relay

STREAM = f"{REDIS_NAMESPACE}:events"


async def append_alerts(store, first: int, count: int) -> None:
    for n in range(first, first + count):
        async with store.unit_of_work("system:test") as uow:
            await uow.append(DeviceAlertRaised(at=datetime.now(UTC), device_id=f"dev-{n}", kind="low_battery"))


async def old_history(redis, top_seq: int) -> None:
    """The stream as another database's relay left it: entries 1..top_seq of events this database never had."""
    for seq in range(1, top_seq + 1):
        await redis.xadd(STREAM, {"stream": "incident-9", "type": "IncidentClosed", "payload": "{}",
                                  "actor": "dispatcher:gone", "occurred_at": "2026-01-01T00:00:00+00:00"},
                         id=f"{seq}-0")


async def run_relay_and_feed(store, redis, delivered: list):
    relay = Relay(store, redis, stream=STREAM, idle_poll_s=0.05)
    feed = EventFeed(store, redis, delivered.append, stream=STREAM, block_ms=100, poll_s=0.1)
    await relay.start()
    await feed.start(from_seq=await store.last_seq())  # as server.py does
    return relay, feed


async def test_a_restored_database_behind_a_newer_stream_still_gets_its_live_frames(store, redis_url):
    redis = aioredis.from_url(redis_url)
    await old_history(redis, 50)  # Redis kept the stream up to seq 50; the database was restored at seq 5
    await append_alerts(store, 1, 5)
    delivered: list = []
    relay, feed = await run_relay_and_feed(store, redis, delivered)
    try:
        await append_alerts(store, 6, 3)  # new work after the restore: seq 6, 7, 8
        assert await wait_until(lambda: _at_least(delivered, 3), 10)
        assert [(e.seq, e.type, e.payload["device_id"]) for e in delivered] == [
            (6, "DeviceAlertRaised", "dev-6"), (7, "DeviceAlertRaised", "dev-7"), (8, "DeviceAlertRaised", "dev-8")]
        entries = await redis.xrange(STREAM)
        assert [e[0] for e in entries][-3:] == [b"6-0", b"7-0", b"8-0"]
        assert all(fields[b"type"] == b"DeviceAlertRaised" for _, fields in entries)  # none of the old history
    finally:
        await feed.stop()
        await relay.stop()
        await redis.aclose()


async def test_a_stream_of_another_history_below_the_database_top_is_found_when_publishing(store, redis_url):
    redis = aioredis.from_url(redis_url)
    await append_alerts(store, 1, 8)
    await old_history(redis, 5)  # the top (5) is not beyond the database (8): found by the refused ids instead
    resets_before = RELAY_STREAM_RESETS._value.get()
    delivered: list = []
    relay = Relay(store, redis, stream=STREAM, idle_poll_s=0.05)
    await relay.start()
    try:
        assert await wait_until(lambda: _stream_length(redis, 8), 10)
        entries = await redis.xrange(STREAM)
        assert [fields[b"type"] for _, fields in entries] == [b"DeviceAlertRaised"] * 8
        assert RELAY_STREAM_RESETS._value.get() == resets_before + 1
        feed = EventFeed(store, redis, delivered.append, stream=STREAM, block_ms=100, poll_s=0.1)
        await feed.start(from_seq=0)
        assert await wait_until(lambda: _at_least(delivered, 8), 10)
        await feed.stop()
        assert [e.payload["device_id"] for e in delivered] == [f"dev-{n}" for n in range(1, 9)]
    finally:
        await relay.stop()
        await redis.aclose()


async def test_two_relays_on_one_history_never_reset_the_stream(store, redis_url):
    redis = aioredis.from_url(redis_url)
    resets_before = RELAY_STREAM_RESETS._value.get()
    relays = [Relay(store, redis, stream=STREAM, idle_poll_s=0.02) for _ in range(2)]
    for relay in relays:
        await relay.start()
    try:
        await append_alerts(store, 1, 30)
        for relay in relays:
            relay.wake(30)
        assert await wait_until(lambda: _stream_length(redis, 30), 10)
        await relays[1].publish_once(0)  # every id refused: each entry is checked and found to be this event
        assert RELAY_STREAM_RESETS._value.get() == resets_before
        assert await redis.xlen(STREAM) == 30
    finally:
        for relay in relays:
            await relay.stop()
        await redis.aclose()


async def _at_least(items: list, n: int) -> bool:
    return len(items) >= n


async def _stream_length(redis, n: int) -> bool:
    return await redis.xlen(STREAM) >= n
