"""PostgreSQL event store: append events and update their projections in one transaction.

Every event draws its `seq` while its transaction holds one advisory lock (the append lock) and keeps it until
commit, so `seq` order is commit order: the relay can publish "everything after seq N" and never skip a
late-committing event.

One unit of work (`PgUnitOfWork`, the contract is `dispatch.ports.UnitOfWork`), run one of two ways:

- `run(actor, body)` (the busy paths), optimistic: the body reads without locks, each row's version
  (`last_seq`) noted. At the end one statement takes the append lock, checks the versions and writes. A changed
  row means the body runs again on fresh reads; after `conflict_attempts` conflicts it runs once more
  serialised, which cannot conflict (counted in `ems_units_serialised_total` and logged).
- `unit_of_work(actor)` (everything else), serialised: the first read takes the append lock and holds it until
  commit, so the unit's reads, even of other tables through `conn`, are as good as locked. Taken before any row
  lock, it keeps lock order global, so units of work never deadlock.

Either way, appends and idempotency results stay in memory and are written at the end by the same one statement,
`ems_commit_unit` (migration 0014), which takes a single JSON document with named fields. Seqs are drawn there:
`append` returns nothing, and once the unit has committed `uow.last_seq` is its last event's seq and every state
`get` handed out for a row the unit wrote carries that row's final `last_seq`.

The wait for the append lock is bounded (`lock_timeout_s`; PostgreSQL's `lock_timeout` also bounds
`pg_advisory_xact_lock`), so a stuck holder cannot stop every write: a timed-out wait is counted
(`ems_append_lock_timeouts_total`, `ems_store_busy_seconds`) and logged; `run` tries again after a short
backoff, and `unit_of_work` (whose body cannot be replayed) or a `run` out of attempts raises `StoreBusy`
(503 with Retry-After; nothing was written, so the same request may simply be repeated).

A unit cut by a database failover (the connection lost, the primary gone, demoted or cut off: see
`db.pool.is_connection_loss`) is run again on a fresh connection, which finds the new primary, until
`failover_wait_s` has passed; then DatabaseFailingOver (503 with Retry-After) is raised. A unit lost before its
commit statement wrote nothing, so running it again is safe. One lost during the commit statement may or may not
have committed: it is run again only when it claimed an idempotency key (the retry then finds the first result, so
it is answered once); otherwise it is refused, never doubled. `unit_of_work` bodies cannot be replayed: a lost one
is refused at once.

Projection tables are caches derived from the log, created by migrations (0013); `rebuild_projections` replays
the log into them.
"""
from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
import msgspec

from db.pool import DatabaseWatch, is_connection_loss
from dispatch.errors import DatabaseFailingOver, StoreBusy
from dispatch.events import Event, encode_event
from dispatch.ports import StoredEvent
from dispatch.projections import Projection, project
from dispatch.registry import PROJECTIONS, PROJECTIONS_BY_NAME, decode_event
from telemetry.metrics import (
    APPEND_LOCK_HELD, APPEND_LOCK_TIMEOUTS, APPEND_LOCK_WAIT, COMMIT_CONFLICTS, COMMIT_SECONDS, EVENTS_APPENDED,
    STORE_BUSY_SECONDS, UNITS_SERIALISED,
)

log = logging.getLogger("ems.store")
T = TypeVar("T")
APPEND_LOCK = 0x454D535F4150504E  # 'EMS_APPN'
_EVENT_COLUMNS = "seq, stream, type, payload, actor, occurred_at"
Row = tuple[str, Any]  # (projection name, key)


def _projection(name: str) -> Projection:
    try:
        return PROJECTIONS_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown projection {name!r}") from None


def _row_values(state: Any) -> tuple[Any, bool, int, dict]:
    return state.id, bool(getattr(state, "is_open", True)), state.last_seq, _doc(state)


def _stored(row: asyncpg.Record) -> StoredEvent:
    return StoredEvent(row["seq"], row["stream"], row["type"], row["payload"], row["actor"], row["occurred_at"])


def _doc(state: Any) -> dict:
    """A projection row's document, exactly as stored (string keys, like JSON)."""
    return msgspec.to_builtins(state, str_keys=True)


class WriteConflict(Exception):
    """A row an optimistic unit of work read changed before it could commit; run the unit again."""


class PgUnitOfWork:
    """One unit of work on one connection (see the module docstring and dispatch.ports.UnitOfWork).

    `serialised`: reads take the append lock (held until the transaction the caller opened commits) and nothing
    is checked at commit; otherwise reads take no lock, and their versions are checked at commit.
    """

    def __init__(self, conn: asyncpg.Connection, actor: str, *, serialised: bool, lock_timeout_ms: int):
        self.conn = conn
        self.actor = actor
        self.serialised = serialised
        self.last_seq = 0  # the seq of the unit's last event, once committed
        self.lock_taken_at: float | None = None  # perf_counter() when a serialised unit first held the append lock
        self._lock_timeout_ms = lock_timeout_ms
        # Rows as this unit sees them, by (projection, key): their document, or None when the row does not exist.
        self._rows: dict[Row, dict | None] = {}
        self._versions: dict[Row, int] = {}  # optimistic: last_seq of each row read (0 = absent), checked at commit
        self._events: list[dict[str, Any]] = []
        self._written: dict[Row, tuple[bool, int]] = {}  # row -> (is_open, 1-based index of its last event)
        self._claims: dict[tuple[str, str], tuple[dict[str, Any] | None, bool]] = {}  # -> (result, fresh)
        self._handed_out: list[tuple[Row, Any]] = []  # states of written rows given to the caller
        self.committing = False  # the commit statement was sent: a lost connection leaves its outcome unknown

    @property
    def claimed_key(self) -> bool:
        """Whether this unit claimed an idempotency key (a retry of it is then answered once)."""
        return bool(self._claims)

    # -- reads -------------------------------------------------------------------------------------------------
    async def _locked_read(self, *args: Any) -> Any:
        """`ems_locked_read` (migration 0014): take the append lock, then read in a snapshot taken after it.
        The first such read of the unit is timed. Raises asyncpg.LockNotAvailableError past the bound."""
        sql = "SELECT ems_locked_read($1, $2, $3, $4, $5, $6, $7)"
        if self.lock_taken_at is not None:
            return await self.conn.fetchval(sql, APPEND_LOCK, self._lock_timeout_ms, *args)
        started = time.perf_counter()
        value = await self.conn.fetchval(sql, APPEND_LOCK, self._lock_timeout_ms, *args)
        self.lock_taken_at = time.perf_counter()
        APPEND_LOCK_WAIT.observe(self.lock_taken_at - started)
        return value

    async def _read(self, p: Projection, key: Any, *, lock: bool = False) -> None:
        """Read the row into `_rows` (one round trip): under the append lock (and a row lock if asked) when
        serialised, else unlocked with its version noted."""
        if self.serialised:
            self._rows[(p.name, key)] = await self._locked_read(p.name, str(key), lock, None, None)
            return
        row = await self.conn.fetchrow(f"SELECT doc, last_seq FROM {p.name} WHERE id = $1", key)
        self._note_read((p.name, key), None if row is None else row["doc"], 0 if row is None else row["last_seq"])

    def _note_read(self, row: Row, doc: dict | None, version: int) -> None:
        self._rows[row] = doc
        if not self.serialised:
            self._versions[row] = version

    def take_as_read(self, projection: str, state: Any | None) -> None:
        """Use `state`, just read by the caller, as this unit's read of its row (its version is checked)."""
        if state is not None and not self.serialised:
            self._note_read((projection, state.id), _doc(state), state.last_seq)

    async def _next_id(self, projection: str, sequence: str) -> int:
        key = await self.conn.fetchval(f"SELECT nextval('{sequence}')")
        self._note_read((projection, key), None, 0)  # a fresh key: no row can exist yet
        return key

    async def next_incident_id(self) -> int:
        """A new incident id from its PostgreSQL sequence (never reused, even if this unit of work rolls back)."""
        return await self._next_id("incidents", "incident_id_seq")

    async def next_assignment_id(self) -> int:
        """A new assignment id from its PostgreSQL sequence (never reused, even if this unit of work rolls back)."""
        return await self._next_id("assignments", "assignment_id_seq")

    async def get(self, projection: str, key: Any, *, lock: bool = False) -> Any | None:
        """The row as this unit of work sees it (its own appends included), or None.

        Parameters
        ----------
        projection : str
            A registered projection ("incidents", "units", ...); KeyError otherwise.
        key : Any
            The row id.
        lock : bool
            Lock the row until commit (serialised units of work); a row read unlocked has its version checked at
            commit instead (optimistic units), and a conflict re-runs the body.
        """
        p = _projection(projection)
        if (p.name, key) not in self._rows:
            await self._read(p, key, lock=lock)
        doc = self._rows[(p.name, key)]
        if doc is None:
            return None
        state = msgspec.convert(doc, p.state_type)
        if (p.name, key) in self._written:
            self._handed_out.append(((p.name, key), state))
        return state

    # -- writes (kept in memory until commit) ------------------------------------------------------------------
    async def append(self, event: Event) -> None:
        """Queue `event` for the log and fold it into every projection it touches; written when the unit commits
        (KeyError for an unregistered type)."""
        type_name, payload = encode_event(event)
        self._events.append({"stream": event.stream, "type": type_name, "payload": payload, "occurred_at": event.at})
        for p in PROJECTIONS:
            key = p.key(event)
            if key is None:
                continue
            if (p.name, key) not in self._rows:
                await self._read(p, key, lock=True)
            doc = self._rows[(p.name, key)]
            state = project(p, None if doc is None else msgspec.convert(doc, p.state_type), event, 0)
            row_id, is_open, _, new_doc = _row_values(state)
            self._rows[(p.name, row_id)] = new_doc
            self._written[(p.name, row_id)] = (is_open, len(self._events))

    async def claim_idempotency(self, scope: str, key: str) -> dict[str, Any] | None:
        """The stored reply for (scope, key) if a committed unit already claimed it, else None (the claim is written at
        commit; a concurrent claimer conflicts there)."""
        if (scope, key) in self._claims:
            return self._claims[(scope, key)][0]
        if self.serialised:
            found = await self._locked_read(None, None, False, scope, key)
        else:
            row = await self.conn.fetchrow("SELECT result FROM idempotency WHERE scope = $1 AND key = $2", scope, key)
            found = None if row is None else {"result": row["result"]}
        if found is not None and found["result"] is not None:
            return found["result"]
        # Ours: inserted at commit if the key was free ("fresh": taken meanwhile is a conflict), else a key claimed
        # earlier without a result, which this unit now answers.
        self._claims[(scope, key)] = (None, found is None)
        return None

    async def remember(self, scope: str, key: str, result: dict[str, Any]) -> None:
        """Store `result` as the answer for (scope, key), claimed by this unit or an earlier one."""
        _, fresh = self._claims.get((scope, key), (None, False))
        self._claims[(scope, key)] = (result, fresh)

    async def commit(self) -> None:
        """Write everything in one statement (`ems_commit_unit`); a serialised unit calls it inside its open
        transaction. Raises WriteConflict (optimistic, a row read has changed) or asyncpg.LockNotAvailableError
        (the append lock was not had within the bound); either way nothing was written."""
        if not self._events and not self._claims:
            return  # read only
        unit = {
            "lock_key": APPEND_LOCK, "lock_timeout_ms": self._lock_timeout_ms, "actor": self.actor,
            "checks": [{"table": name, "id": key, "version": version}
                       for (name, key), version in self._versions.items()],
            "claims": [{"scope": scope, "key": key, "result": result, "fresh": fresh}
                       for (scope, key), (result, fresh) in self._claims.items()],
            "events": self._events,
            "rows": [{"table": name, "id": key, "is_open": is_open, "event": index, "doc": self._rows[(name, key)]}
                     for (name, key), (is_open, index) in self._written.items()],
        }
        started = time.perf_counter()
        if self.lock_taken_at is None and self.serialised:
            self.lock_taken_at = started  # no read took it: the commit statement does
        self.committing = True
        try:
            seqs = await self.conn.fetchval("SELECT ems_commit_unit($1::text::jsonb)",
                                            msgspec.json.encode(unit).decode())
        except asyncpg.SerializationError as exc:
            raise WriteConflict(str(exc)) from None
        finally:
            COMMIT_SECONDS.observe(time.perf_counter() - started)
        for row, state in self._handed_out:
            state.last_seq = seqs[self._written[row][1] - 1]
        for event in self._events:
            EVENTS_APPENDED.labels(event["type"]).inc()
        self.last_seq = seqs[-1] if seqs else 0


async def _upsert(conn: asyncpg.Connection, p: Projection, state: Any) -> None:
    await conn.execute(
        f"INSERT INTO {p.name} (id, is_open, last_seq, doc) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (id) DO UPDATE SET is_open = EXCLUDED.is_open, last_seq = EXCLUDED.last_seq,"
        " doc = EXCLUDED.doc",
        *_row_values(state),
    )


class PostgresEventStore:
    """The system of record (see dispatch.ports.EventStore). `on_commit(seq)` wakes the relay after a commit.

    Parameters
    ----------
    lock_timeout_s : longest wait for the append lock, seconds (EMS_APPEND_LOCK_TIMEOUT_S); must be > 0.
    conflict_attempts : optimistic runs of a `run` body before it runs serialised.
    busy_attempts : tries of a `run` unit whose lock wait timed out before it raises StoreBusy.
    busy_backoff_s : first pause after a timed-out wait, doubled (with jitter) for each further one, seconds.
    failover_wait_s : how long a unit cut by a database failover keeps being retried before 503 (0: never).
    watch : told of lost and regained connections (the console's database banner, /healthz).
    """

    def __init__(self, pool: asyncpg.Pool, *, on_commit: Callable[[int], None] | None = None,
                 lock_timeout_s: float = 2.0, conflict_attempts: int = 5, busy_attempts: int = 2,
                 busy_backoff_s: float = 0.05, failover_wait_s: float = 0.0, watch: DatabaseWatch | None = None):
        if not lock_timeout_s > 0:  # PostgreSQL reads lock_timeout = 0 as "wait for ever"
            raise ValueError("lock_timeout_s must be greater than 0")
        self.pool = pool
        self.on_commit = on_commit
        self.lock_timeout_s = lock_timeout_s
        self.conflict_attempts = conflict_attempts
        self.busy_attempts = max(1, busy_attempts)
        self.busy_backoff_s = busy_backoff_s
        self.failover_wait_s = failover_wait_s
        self.watch = watch

    def _lost(self, exc: BaseException) -> None:
        if self.watch is not None:
            self.watch.lost(exc)

    def _reached(self) -> None:
        if self.watch is not None and self.watch.degraded:
            self.watch.reached()

    def _new_unit(self, conn: asyncpg.Connection, actor: str, *, serialised: bool) -> PgUnitOfWork:
        return PgUnitOfWork(conn, actor, serialised=serialised, lock_timeout_ms=max(1, round(self.lock_timeout_s * 1000)))

    def _committed(self, uow: PgUnitOfWork) -> None:
        if uow.last_seq and self.on_commit:
            self.on_commit(uow.last_seq)

    @asynccontextmanager
    async def _serialised(self, actor: str) -> AsyncIterator[PgUnitOfWork]:
        """A serialised unit: one transaction, committed (one statement, then COMMIT) when the block ends."""
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                uow = self._new_unit(conn, actor, serialised=True)
                yield uow
                await uow.commit()
        if uow.lock_taken_at is not None:
            APPEND_LOCK_HELD.observe(time.perf_counter() - uow.lock_taken_at)
        self._committed(uow)

    def _refused(self, actor: str, kind: str, attempts: int, lost_s: float) -> StoreBusy:
        """The StoreBusy to raise once a unit gives up on the append lock (logged and counted)."""
        STORE_BUSY_SECONDS.observe(lost_s)
        retry_after_s = float(max(1, math.ceil(self.lock_timeout_s)))
        log.error("append lock unavailable: unit refused, nothing written",
                  extra={"actor": actor, "unit": kind, "attempts": attempts, "lost_s": round(lost_s, 3),
                         "lock_timeout_s": self.lock_timeout_s})
        return StoreBusy(self.lock_timeout_s, retry_after_s)

    @asynccontextmanager
    async def unit_of_work(self, actor: str) -> AsyncIterator[PgUnitOfWork]:
        """A serialised unit of work (see the module docstring). Raises StoreBusy, having written nothing, when
        the append lock is not had within `lock_timeout_s` (the block cannot be replayed, so it is not retried)."""
        started = time.perf_counter()
        try:
            async with self._serialised(actor) as uow:
                yield uow
        except asyncpg.LockNotAvailableError:
            APPEND_LOCK_TIMEOUTS.labels("serialised").inc()
            raise self._refused(actor, "serialised", 1, time.perf_counter() - started) from None
        except Exception as exc:
            if not is_connection_loss(exc):
                raise
            self._lost(exc)
            raise DatabaseFailingOver(time.perf_counter() - started) from None
        self._reached()

    async def run(self, actor: str, body: Callable[[Any], Awaitable[T]], *, known: tuple[tuple[str, Any], ...] = (),
                  attempts: int | None = None) -> T:
        """Run `body(uow)` as an optimistic unit of work and return what it returns.

        `known`: (projection, state) pairs the caller has just read; the first attempt takes them as read
        (their versions are checked at commit like any read) instead of reading them again.
        The body may run more than once, so it must do nothing but read, decide and append through `uow`:
        on a write conflict it runs again on fresh reads, and after `attempts` (default `conflict_attempts`)
        conflicts once more serialised, which cannot conflict; after a timed-out wait for the append lock it
        runs again after a backoff, up to `busy_attempts` tries, then StoreBusy is raised (nothing written).
        """
        attempts = self.conflict_attempts if attempts is None else attempts
        conflicts = timeouts = losses = 0
        started = time.perf_counter()
        while True:
            serialised = conflicts >= attempts
            uow = None
            try:
                if serialised:
                    async with self._serialised(actor) as uow:
                        result = await body(uow)
                else:
                    async with self.pool.acquire() as conn:
                        uow = self._new_unit(conn, actor, serialised=False)
                        if conflicts == timeouts == losses == 0:
                            for projection, state in known:
                                uow.take_as_read(projection, state)
                        result = await body(uow)
                        await uow.commit()
            except WriteConflict as exc:
                conflicts += 1
                COMMIT_CONFLICTS.inc()
                log.debug("unit of work by %s conflicted (%s), attempt %s", actor, exc, conflicts)
                if conflicts == attempts:  # the switch-over is rare and costly: make it visible
                    UNITS_SERIALISED.inc()
                    log.warning("unit of work serialised after repeated write conflicts",
                                extra={"actor": actor, "conflicts": conflicts})
                continue
            except asyncpg.LockNotAvailableError:
                timeouts += 1
                kind = "serialised" if serialised else "optimistic"
                APPEND_LOCK_TIMEOUTS.labels(kind).inc()
                if timeouts >= self.busy_attempts:
                    raise self._refused(actor, kind, timeouts, time.perf_counter() - started) from None
                pause_s = self.busy_backoff_s * 2 ** (timeouts - 1) * random.uniform(1, 2)  # jitter spreads retries
                log.warning("append lock wait timed out; trying again",
                            extra={"actor": actor, "unit": kind, "attempt": timeouts, "pause_s": round(pause_s, 3),
                                   "lock_timeout_s": self.lock_timeout_s})
                await asyncio.sleep(pause_s)
                continue
            except Exception as exc:
                if not is_connection_loss(exc):
                    raise
                self._lost(exc)
                losses += 1
                waited_s = time.perf_counter() - started
                ambiguous = uow is not None and uow.committing and not uow.claimed_key
                if ambiguous or waited_s + 0.5 > self.failover_wait_s:
                    log.warning("unit of work cut by a database failover: refused",
                                extra={"actor": actor, "attempts": losses, "waited_s": round(waited_s, 2),
                                       "commit_outcome_unknown": ambiguous, "error": repr(exc)[:200]})
                    raise DatabaseFailingOver(waited_s) from None
                await asyncio.sleep(min(0.5, 0.1 * losses))
                continue
            if losses:
                log.info("unit of work retried after a database failover",
                         extra={"actor": actor, "attempts": losses + 1,
                                "waited_s": round(time.perf_counter() - started, 2)})
            self._reached()
            if timeouts:
                STORE_BUSY_SECONDS.observe(time.perf_counter() - started)
            if not serialised:
                self._committed(uow)
            return result

    async def get(self, projection: str, key: Any) -> Any | None:
        """The committed row, or None. KeyError for an unknown projection; asyncpg errors if the database is
        unreachable."""
        p = _projection(projection)
        doc = await self.pool.fetchval(f"SELECT doc FROM {p.name} WHERE id = $1", key)
        return None if doc is None else msgspec.convert(doc, p.state_type)

    async def get_many(self, projection: str, keys: Iterable[Any]) -> list[Any]:
        """The committed rows of `keys` that exist, in one query, in the order of `keys`. KeyError for an unknown
        projection."""
        p, keys = _projection(projection), list(keys)
        if not keys:
            return []
        rows = await self.pool.fetch(f"SELECT id, doc FROM {p.name} WHERE id = ANY($1)", keys)
        by_key = {r["id"]: msgspec.convert(r["doc"], p.state_type) for r in rows}
        return [by_key[k] for k in keys if k in by_key]

    async def list(self, projection: str, *, open_only: bool = False, limit: int = 1000) -> list[Any]:
        """Up to `limit` committed rows by id; `open_only` keeps open ones. KeyError for an unknown projection."""
        p = _projection(projection)
        rows = await self.pool.fetch(
            f"SELECT doc FROM {p.name} WHERE is_open OR NOT $1 ORDER BY id LIMIT $2", open_only, limit
        )
        return [msgspec.convert(r["doc"], p.state_type) for r in rows]

    async def events_since(self, seq: int, *, limit: int = 1000, until: int | None = None) -> list[StoredEvent]:
        """Up to `limit` committed events with `seq` < seq-number < `until` (no upper bound when None), in seq order."""
        rows = await self.pool.fetch(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE seq > $1 AND ($2::bigint IS NULL OR seq < $2)"
            " ORDER BY seq LIMIT $3",
            seq, until, limit,
        )
        return [_stored(r) for r in rows]

    async def recent_events(self, types: Iterable[str], *, since: datetime, until_seq: int,
                            limit: int) -> list[StoredEvent]:
        """The newest `limit` committed events of these types that happened at or after `since`, with seq at or
        below `until_seq`, in seq order (the events_type_time index serves it)."""
        # MATERIALIZED: found through events_type_time first, then ordered; without it the planner may walk the
        # whole log backwards by seq looking for a few alerts (~500 ms of a console's snapshot at 500 incidents)
        rows = await self.pool.fetch(
            f"WITH recent AS MATERIALIZED (SELECT {_EVENT_COLUMNS} FROM events WHERE type = ANY($1::text[])"
            " AND occurred_at >= $2 AND seq <= $3) SELECT * FROM recent ORDER BY seq DESC LIMIT $4",
            list(types), since, until_seq, limit)
        return [_stored(r) for r in reversed(rows)]

    async def encoded_events_since(self, seq: int, *, limit: int = 1000) -> list[asyncpg.Record]:
        """`events_since` for passing events on: the payload stays JSON text (never decoded and encoded again)."""
        return await self.pool.fetch(
            "SELECT seq, stream, type, payload::text AS payload, actor, occurred_at FROM events WHERE seq > $1"
            " ORDER BY seq LIMIT $2", seq, limit)

    async def stream_events(self, stream: str) -> list[StoredEvent]:
        """Every event of one stream (e.g. "roads"), in seq order; unbounded, for small streams only."""
        rows = await self.pool.fetch(f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream = $1 ORDER BY seq", stream)
        return [_stored(r) for r in rows]

    async def incident_events(self, incident_id: int) -> list[StoredEvent]:
        """Every event about the incident (its own stream, and unit or hospital events that name it), by seq."""
        rows = await self.pool.fetch(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream = $1 OR payload->>'incident_id' = $2 ORDER BY seq",
            f"incident-{incident_id}", str(incident_id))
        return [_stored(r) for r in rows]

    async def last_seq(self) -> int:
        """The highest committed seq (0 for an empty log)."""
        return await self.pool.fetchval("SELECT coalesce(max(seq), 0) FROM events")

    async def rebuild_projections(self, batch: int = 5000) -> int:
        """Replay the whole log into empty projection tables; returns the number of events replayed.

        Holds the append lock throughout (no appends meanwhile); StoreBusy if it cannot be had within the bound."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT set_config('lock_timeout', $1, true)", f"{round(self.lock_timeout_s * 1000)}ms")
            try:
                await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)
            except asyncpg.LockNotAvailableError:
                APPEND_LOCK_TIMEOUTS.labels("serialised").inc()
                raise self._refused("system:rebuild", "serialised", 1, self.lock_timeout_s) from None
            states: dict[tuple[str, Any], Any] = {}
            for p in PROJECTIONS:
                await conn.execute(f"TRUNCATE {p.name}")
            seq, count = 0, 0
            while rows := await conn.fetch(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2", seq, batch
            ):
                for row in rows:
                    event = decode_event(row["type"], row["payload"])
                    for p in PROJECTIONS:
                        key = p.key(event)
                        if key is not None:
                            states[(p.name, key)] = project(p, states.get((p.name, key)), event, row["seq"])
                    seq, count = row["seq"], count + 1
            for (name, _), state in states.items():
                await _upsert(conn, PROJECTIONS_BY_NAME[name], state)
        return count
