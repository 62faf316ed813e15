"""Fan-out of committed events: PostgreSQL log → Redis Stream → every server process → its WebSocket clients.

`Relay` publishes the log to one Redis Stream with the entry id `<seq>-0`. Redis refuses an id at or below the
stream's top, which makes publishing idempotent: every process may run a relay, each event appears once, in
order. The relay's cursor is kept in PostgreSQL, so a restart or a Redis outage delays delivery, never loses it.

`EventFeed` (one per process) reads the stream after its last seq and hands events on in seq order. A jump in
seq is filled from PostgreSQL; while Redis is unreachable it polls PostgreSQL instead ("realtime degraded"), so
crews still get their assignments. Consumers drop anything at or below the last seq they passed on.

A stream can outlive its database: a fresh or restored PostgreSQL behind a Redis that kept its stream. Its ids then
belong to another history, and Redis would refuse every new `<seq>-0` at or below its top, silencing live frames.
The relay detects it — at start, the stream's top is beyond the database's last seq (the stream never holds an
uncommitted seq, so that cannot happen in one history); when publishing, a refused id whose stored entry is not
this event (or is missing though not trimmed) — and then resets the stream (deletes it, republishes from its
cursor; consumers fill the gap from PostgreSQL). A feed that has passed on events beyond the database's last seq
goes back to it.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from db.event_store import PostgresEventStore
from dispatch.ports import StoredEvent
from telemetry.metrics import FEED_LAG, RELAY_LAG, RELAY_PUBLISHED, RELAY_STREAM_RESETS, REALTIME_DEGRADED

log = logging.getLogger("ems.fanout")

DEFAULT_STREAM = "ems:events"
STREAM_MAXLEN = 100_000
ORIGIN_CHECK_AT_START_S = 2.0  # server start waits at most this for the stream check; the relay loop repeats it
_REDIS_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


def _entry_fields(row) -> dict[str, str]:
    """A stream entry from an `encoded_events_since` row (payload already JSON text)."""
    return {"stream": row["stream"], "type": row["type"], "payload": row["payload"], "actor": row["actor"],
            "occurred_at": row["occurred_at"].isoformat()}


def _decoded(fields: dict) -> dict[str, str]:
    return {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in fields.items()}


def _entry_seq(entry_id: bytes | str) -> int:
    return int((entry_id.decode() if isinstance(entry_id, bytes) else entry_id).split("-")[0])


def _same_event(row, fields: dict) -> bool:
    """Whether a stream entry is this database row's event (another relay published it), not another history's."""
    stored, ours = _decoded(fields), _entry_fields(row)
    return all(stored.get(key) == ours[key] for key in ("stream", "type", "actor", "occurred_at"))


def _entry_event(entry_id: bytes | str, fields: dict) -> StoredEvent:
    decoded = _decoded(fields)
    seq = _entry_seq(entry_id)
    return StoredEvent(
        seq, decoded["stream"], decoded["type"], json.loads(decoded["payload"]), decoded["actor"],
        datetime.fromisoformat(decoded["occurred_at"]),
    )


class Relay:
    """Publishes committed events to the Redis Stream; restartable from the cursor kept in PostgreSQL."""

    def __init__(
        self, store: PostgresEventStore, redis: aioredis.Redis, *, stream: str = DEFAULT_STREAM, batch: int = 500,
        idle_poll_s: float = 0.5,
    ):
        self.store = store
        self.stream = stream
        self.redis = redis
        self.batch = batch
        self.idle_poll_s = idle_poll_s
        self.degraded = False
        self.cursor_save_interval_s = 1.0  # a restart may re-publish up to this much; Redis refuses the repeats
        self._cursor_saved_at = 0.0
        self._saved_cursor = 0
        self._head = 0  # highest seq committed by this process (for the lag gauge)
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None

    def wake(self, seq: int = 0) -> None:
        """Called after a local commit so the event goes out without waiting for the poll."""
        self._head = max(self._head, seq)
        self._wakeup.set()

    async def start(self) -> None:
        """Check the stream belongs to this database (before any feed reads it), then publish in the background."""
        try:
            await asyncio.wait_for(self.check_stream_origin(), ORIGIN_CHECK_AT_START_S)
        except Exception as exc:  # Redis or PostgreSQL not there (yet): start anyway, the loop checks again
            log.warning("relay: stream origin not checked at start: %s", exc)
        self._task = asyncio.create_task(self._run(), name="relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _load_cursor(self) -> int:
        return await self.store.pool.fetchval("SELECT coalesce(max(last_seq), 0) FROM relay_cursor") or 0

    async def _save_cursor(self, seq: int) -> None:
        await self.store.pool.execute(
            "INSERT INTO relay_cursor (name, last_seq) VALUES ('redis', $1)"
            " ON CONFLICT (name) DO UPDATE SET last_seq = greatest(relay_cursor.last_seq, EXCLUDED.last_seq)",
            seq,
        )

    async def publish_once(self, cursor: int) -> tuple[int, bool]:
        """Publish one batch after `cursor`; returns the new cursor and whether more may be waiting (a full
        batch). Raises on Redis errors (nothing skipped)."""
        events = await self.store.encoded_events_since(cursor, limit=self.batch)
        if not events:
            return cursor, False
        pipe = self.redis.pipeline(transaction=False)
        for event in events:
            pipe.xadd(self.stream, _entry_fields(event), id=f"{event['seq']}-0", maxlen=STREAM_MAXLEN,
                      approximate=True)
        results = await pipe.execute(raise_on_error=False)
        refused = []
        for event, result in zip(events, results):
            if isinstance(result, ResponseError) and "equal or smaller" in str(result):
                refused.append(event)  # another process published it first, or the stream is another history's
                continue
            if isinstance(result, Exception):
                raise result
            RELAY_PUBLISHED.inc()
        if refused:
            foreign = await self._foreign_entry(refused)
            if foreign is not None:
                await self.reset_stream(foreign)
                return cursor, True  # publish this batch again into the fresh stream
        cursor = events[-1]["seq"]
        if self._cursor_save_due():
            await self._save_cursor_now(cursor)
        return cursor, len(events) == self.batch

    async def _foreign_entry(self, refused: list) -> str | None:
        """Why the refused ids show a stream from another history, or None when each is this very event (or was
        trimmed away by MAXLEN). One pipelined round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for event in refused:
            pipe.xrange(self.stream, f"{event['seq']}-0", f"{event['seq']}-0")
        pipe.xrange(self.stream, "-", "+", count=1)
        *stored, oldest = await pipe.execute()
        oldest_seq = _entry_seq(oldest[0][0]) if oldest else None
        for event, entries in zip(refused, stored):
            if entries:
                if not _same_event(event, entries[0][1]):
                    return f"entry {event['seq']}-0 is a different event"
            elif oldest_seq is None or event["seq"] >= oldest_seq:
                return f"entry {event['seq']}-0 is missing below the stream's top"
        return None

    async def check_stream_origin(self) -> bool:
        """Reset the stream if its top is beyond this database's last seq (a fresh or restored database); True
        when it did. Redis is read first: a stream of this history never holds a seq not yet committed."""
        top = await self.redis.xrevrange(self.stream, "+", "-", count=1)
        if not top:
            return False
        top_seq, last_seq = _entry_seq(top[0][0]), await self.store.last_seq()
        if top_seq <= last_seq:
            return False
        await self.reset_stream(f"its top {top_seq} is beyond the database's last seq {last_seq}")
        return True

    async def reset_stream(self, why: str) -> None:
        """Start a new stream generation: drop the foreign one; the relay republishes from its cursor."""
        log.error("relay: the Redis stream %s belongs to another database history (%s); resetting it", self.stream,
                  why)
        await self.redis.delete(self.stream)
        RELAY_STREAM_RESETS.inc()

    def _cursor_save_due(self) -> bool:
        return asyncio.get_running_loop().time() - self._cursor_saved_at >= self.cursor_save_interval_s

    async def _save_cursor_now(self, cursor: int) -> None:
        await self._save_cursor(cursor)
        self._cursor_saved_at = asyncio.get_running_loop().time()
        self._saved_cursor = cursor

    async def _run(self) -> None:
        cursor = await self._retry_forever(self._load_cursor)
        backoff = 0.2
        origin_checked = False  # again after every outage: the Redis that comes back may hold another history
        while True:
            try:
                if not origin_checked:
                    await self.check_stream_origin()
                    origin_checked = True
                self._wakeup.clear()  # before reading: a commit landing during the read must wake the next round
                cursor, more = await self.publish_once(cursor)
                RELAY_LAG.set(max(0, self._head - cursor))
                if self.degraded:
                    log.info("relay: redis reachable again, resumed after seq %s", cursor)
                self.degraded, backoff = False, 0.2
                if more:
                    continue  # drain the backlog before sleeping
                if cursor > self._saved_cursor and self._cursor_save_due():
                    await self._save_cursor_now(cursor)  # idle and a second since the last save
                try:
                    await asyncio.wait_for(self._wakeup.wait(), self.idle_poll_s)
                except asyncio.TimeoutError:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis or PostgreSQL down: keep the cursor, retry with backoff
                if not self.degraded:
                    log.warning("relay: publishing paused after seq %s: %s", cursor, exc)
                self.degraded, origin_checked = True, False
                RELAY_LAG.set(max(0, self._head - cursor))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    @staticmethod
    async def _retry_forever(fn):
        while True:
            try:
                return await fn()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("relay: waiting for the database: %s", exc)
                await asyncio.sleep(1)


class EventFeed:
    """Reads the stream in seq order and passes each event once to `deliver` (called synchronously)."""

    def __init__(
        self,
        store: PostgresEventStore,
        redis: aioredis.Redis,
        deliver: Callable[[StoredEvent], None],
        *,
        stream: str = DEFAULT_STREAM,
        block_ms: int = 1000,
        poll_s: float = 0.5,
    ):
        self.store = store
        self.stream = stream
        self.redis = redis
        self.deliver = deliver
        self.block_ms = block_ms
        self.poll_s = poll_s
        self.last_seq = 0
        self.degraded = False
        self.on_degraded_change: Callable[[bool], None] | None = None
        self._task: asyncio.Task | None = None

    async def start(self, from_seq: int) -> None:
        self.last_seq = from_seq
        self._task = asyncio.create_task(self._run(), name="event-feed")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _set_degraded(self, degraded: bool) -> None:
        if degraded != self.degraded:
            self.degraded = degraded
            REALTIME_DEGRADED.set(1 if degraded else 0)
            log.warning("realtime %s", "DEGRADED: redis unreachable, polling PostgreSQL" if degraded else "restored")
            if self.on_degraded_change:
                self.on_degraded_change(degraded)

    def _pass_on(self, event: StoredEvent) -> None:
        if event.seq <= self.last_seq:
            return
        self.last_seq = event.seq
        FEED_LAG.observe(max(0.0, time.time() - event.occurred_at.timestamp()))
        try:
            self.deliver(event)
        except Exception:  # one bad consumer must not stop the feed
            log.exception("feed: delivering seq %s failed", event.seq)

    async def catch_up_from_db(self, until: int | None = None) -> None:
        while True:
            events = await self.store.events_since(self.last_seq, limit=1000, until=until)
            for event in events:
                self._pass_on(event)
            if len(events) < 1000:
                break
        if not events and until is None:
            last_seq = await self.store.last_seq()
            if self.last_seq > last_seq:  # passed on another history's events (a restored database)
                log.error("feed: passed seq %s but the database ends at %s; following the database", self.last_seq,
                          last_seq)
                self.last_seq = last_seq

    async def _run(self) -> None:
        quiet_reads = 0
        while True:
            try:
                reply = await self.redis.xread({self.stream: f"{self.last_seq}-0"}, count=500, block=self.block_ms)
                self._set_degraded(False)
                entries = reply[0][1] if reply else []
                for entry_id, fields in entries:
                    event = _entry_event(entry_id, fields)
                    if event.seq > self.last_seq + 1:
                        await self.catch_up_from_db(until=event.seq)  # gap: Redis lost data, or a burnt seq
                    self._pass_on(event)
                quiet_reads = 0 if entries else quiet_reads + 1
                if quiet_reads >= 5:  # belt and braces: a relay that cannot publish must not hide events
                    quiet_reads = 0
                    await self.catch_up_from_db()
            except asyncio.CancelledError:
                raise
            except _REDIS_ERRORS:
                self._set_degraded(True)
                try:
                    await self.catch_up_from_db()
                except Exception as exc:
                    log.warning("feed: database unreachable too: %s", exc)
                await asyncio.sleep(self.poll_s)
            except Exception:
                log.exception("feed: unexpected error")
                await asyncio.sleep(self.poll_s)
