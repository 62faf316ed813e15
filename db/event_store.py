"""PostgreSQL event store: append events and update their projections in one transaction.

Every event draws its `seq` while its transaction holds one advisory lock (the append lock) and keeps it until
commit, so `seq` order is commit order: the relay can publish "everything after seq N" and never skip a
late-committing event. Two kinds of unit of work share that lock:

- `run(actor, body)` (the busy paths): the body reads without locks, each row's version (`last_seq`) noted, and
  its appends stay in memory; one statement (`ems_commit_unit`, migration 0012) takes the lock, checks the
  versions, writes everything and commits. The lock is held for that statement only. A changed row means the body
  runs again on fresh reads.
- `unit_of_work(actor)` (everything else): the first statement takes the lock (folded into that statement) and it
  is held until commit, so the unit's reads, even of other tables through `conn`, are as good as locked. Taken
  before any row lock, it keeps lock order global, so units of work never deadlock; round trips are kept few
  (an append is one statement, rows locked or written are served from memory).

Projection tables are caches derived from the log: `CREATE TABLE IF NOT EXISTS` from the domain's projection
registry at start-up, and `rebuild_projections` replays the log into them.
"""
from __future__ import annotations

import logging
import re
import time
import typing
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
import msgspec

from db.migrate import MIGRATION_LOCK
from dispatch.events import Event, encode_event
from dispatch.ports import StoredEvent
from dispatch.projections import Projection, project
from dispatch.registry import PROJECTIONS, PROJECTIONS_BY_NAME, decode_event
from telemetry.metrics import APPEND_LOCK_HELD, APPEND_LOCK_WAIT, COMMIT_CONFLICTS, COMMIT_SECONDS, EVENTS_APPENDED

log = logging.getLogger("ems.store")
T = TypeVar("T")
APPEND_LOCK = 0x454D535F4150504E  # 'EMS_APPN'
_EVENT_COLUMNS = "seq, stream, type, payload, actor, occurred_at"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def _projection(name: str) -> Projection:
    try:
        return PROJECTIONS_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown projection {name!r}") from None


def _key_sql_type(projection: Projection) -> str:
    return "bigint" if typing.get_type_hints(projection.state_type)["id"] is int else "text"


_KEY_TYPES = {p.name: _key_sql_type(p) for p in PROJECTIONS}


def _row_values(state: Any) -> tuple[Any, bool, int, dict]:
    return state.id, bool(getattr(state, "is_open", True)), state.last_seq, _doc(state)


def _stored(row: asyncpg.Record) -> StoredEvent:
    return StoredEvent(row["seq"], row["stream"], row["type"], row["payload"], row["actor"], row["occurred_at"])


# Prefixed to a statement so the append lock is taken before anything else it does (idempotent when held).
_WITH_APPEND_LOCK = "WITH append_lock AS MATERIALIZED (SELECT pg_advisory_xact_lock($1))"


def _append_sql(projections: tuple[Projection, ...]) -> str:
    """One statement: take the append lock, insert the event, upsert each projection row stamped with its seq.

    Parameters: $1 lock key, $2..$6 the event, then (id, is_open, doc) per projection.
    """
    parts = [_WITH_APPEND_LOCK, ", event AS (INSERT INTO events (stream, type, payload, actor, occurred_at)"
             " SELECT $2, $3, $4::jsonb, $5, $6 FROM append_lock RETURNING seq)"]
    for n, p in enumerate(projections):
        first = 7 + 3 * n
        parts.append(
            f", upsert_{p.name} AS (INSERT INTO {p.name} (id, is_open, last_seq, doc)"
            f" SELECT ${first}, ${first + 1}, event.seq, jsonb_set(${first + 2}::jsonb, '{{last_seq}}', to_jsonb(event.seq))"
            " FROM event ON CONFLICT (id) DO UPDATE SET is_open = EXCLUDED.is_open, last_seq = EXCLUDED.last_seq,"
            " doc = EXCLUDED.doc)"
        )
    parts.append(" SELECT seq FROM event")
    return "".join(parts)


def _doc(state: Any) -> dict:
    """A projection row's document, exactly as stored (string keys, like JSON)."""
    return msgspec.to_builtins(state, str_keys=True)


class PgUnitOfWork:
    """One transaction on one connection, serialised by the append lock (see dispatch.ports.UnitOfWork)."""

    def __init__(self, conn: asyncpg.Connection, actor: str):
        self.conn = conn
        self.actor = actor
        self.last_seq = 0
        self.lock_taken_at: float | None = None  # perf_counter() when the append lock was first held
        # Rows this transaction has locked or written, by (projection, key): their document, or None when the
        # row does not exist (a key just drawn from a sequence). Nobody else can change them before we commit.
        self._rows: dict[tuple[str, Any], dict | None] = {}

    async def next_incident_id(self) -> int:
        incident_id = await self.conn.fetchval("SELECT nextval('incident_id_seq')")
        self._rows[("incidents", incident_id)] = None  # a fresh key: no row can exist yet
        return incident_id

    async def next_assignment_id(self) -> int:
        assignment_id = await self.conn.fetchval("SELECT nextval('assignment_id_seq')")
        self._rows[("assignments", assignment_id)] = None
        return assignment_id

    async def get(self, projection: str, key: Any, *, lock: bool = False) -> Any | None:
        p = _projection(projection)
        if (p.name, key) in self._rows:
            doc = self._rows[(p.name, key)]
        else:
            doc = await self._read_doc(p, key, lock=lock)
        return None if doc is None else msgspec.convert(doc, p.state_type)

    async def _read_doc(self, p: Projection, key: Any, *, lock: bool) -> dict | None:
        """The row's document read under the append lock (one round trip); a locked row is remembered."""
        suffix = " FOR UPDATE" if lock else ""
        doc = await self._locked_fetchval(
            f"{_WITH_APPEND_LOCK} SELECT (SELECT doc FROM {p.name} WHERE id = $2{suffix}) FROM append_lock",
            APPEND_LOCK, key,
        )
        if lock:
            self._rows[(p.name, key)] = doc
        return doc

    async def _locked_fetchval(self, sql: str, *args: Any) -> Any:
        """A statement that takes the append lock first; the first one in this transaction is timed."""
        if self.lock_taken_at is not None:
            return await self.conn.fetchval(sql, *args)
        started = time.perf_counter()
        value = await self.conn.fetchval(sql, *args)
        self.lock_taken_at = time.perf_counter()
        APPEND_LOCK_WAIT.observe(self.lock_taken_at - started)
        return value

    async def append(self, event: Event) -> int:
        type_name, payload = encode_event(event)
        folded = await _fold(self._rows, event, lambda p, key: self._read_doc(p, key, lock=True))
        args = [APPEND_LOCK, event.stream, type_name, payload, self.actor, event.at]
        args += [value for _, row_id, is_open, doc in folded for value in (row_id, is_open, doc)]
        seq = await self._locked_fetchval(_append_sql(tuple(p for p, *_ in folded)), *args)
        for *_, doc in folded:
            doc["last_seq"] = seq  # as the statement stamped it (encoded once, while the lock is held)
        self.last_seq = seq
        EVENTS_APPENDED.labels(type_name).inc()
        return seq

    async def claim_idempotency(self, scope: str, key: str) -> dict[str, Any] | None:
        inserted = await self._locked_fetchval(
            f"{_WITH_APPEND_LOCK} INSERT INTO idempotency (scope, key) SELECT $2, $3 FROM append_lock"
            " ON CONFLICT DO NOTHING RETURNING true",
            APPEND_LOCK, scope, key,
        )
        if inserted:
            return None
        return await self.conn.fetchval("SELECT result FROM idempotency WHERE scope = $1 AND key = $2", scope, key)

    async def remember(self, scope: str, key: str, result: dict[str, Any]) -> None:
        await self.conn.execute(
            "UPDATE idempotency SET result = $3 WHERE scope = $1 AND key = $2", scope, key, result
        )


async def _fold(rows: dict[tuple[str, Any], dict | None], event: Event,
                read: Callable[[Projection, Any], Any]) -> list[tuple[Projection, Any, bool, dict]]:
    """Fold `event` into every projection row it touches, reading rows not yet in `rows` with `read` (which
    must put them there); updates `rows` and returns (projection, row id, is_open, new document) per row."""
    touched = []
    for p in PROJECTIONS:
        key = p.key(event)
        if key is None:
            continue
        if (p.name, key) not in rows:
            await read(p, key)
        doc = rows[(p.name, key)]
        state = None if doc is None else msgspec.convert(doc, p.state_type)
        row_id, is_open, _, doc = _row_values(project(p, state, event, 0))
        rows[(p.name, row_id)] = doc
        touched.append((p, row_id, is_open, doc))
    return touched


class WriteConflict(Exception):
    """A row an optimistic unit of work read changed before it could commit; run the unit again."""


class OptimisticUnitOfWork:
    """A unit of work that holds no lock while it runs (see dispatch.ports.UnitOfWork).

    Reads remember each row's version (`last_seq`, 0 when absent); appends and idempotency claims are kept in
    memory. `commit` sends everything in one statement (`ems_commit_unit`), which takes the append lock, checks
    the versions and writes: the lock is held for that statement alone, not across round trips and event-loop
    turns. If a row changed meanwhile nothing is written and `WriteConflict` is raised. An event's seq is known
    only after the commit: `append` returns 0, and states handed out by `get` are stamped then.
    """

    def __init__(self, conn: asyncpg.Connection, actor: str):
        self.conn = conn
        self.actor = actor
        self.last_seq = 0
        self._rows: dict[tuple[str, Any], dict | None] = {}
        self._versions: dict[tuple[str, Any], int] = {}
        self._events: list[tuple[str, str, dict, Any]] = []  # (stream, type, payload, occurred_at)
        self._written: dict[tuple[str, Any], tuple[bool, int]] = {}  # row -> (is_open, index of its last event)
        self._claims: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._handed_out: list[tuple[tuple[str, Any], Any]] = []  # states of written rows given to the caller

    async def _next_id(self, projection: str, sequence: str) -> int:
        key = await self.conn.fetchval(f"SELECT nextval('{sequence}')")
        self._note_read((projection, key), None, 0)  # a fresh key: no row can exist yet
        return key

    async def next_incident_id(self) -> int:
        return await self._next_id("incidents", "incident_id_seq")

    async def next_assignment_id(self) -> int:
        return await self._next_id("assignments", "assignment_id_seq")

    async def _read(self, p: Projection, key: Any) -> None:
        row = await self.conn.fetchrow(f"SELECT doc, last_seq FROM {p.name} WHERE id = $1", key)
        if row is None:
            self._note_read((p.name, key), None, 0)
        else:
            self._note_read((p.name, key), row["doc"], row["last_seq"])

    def take_as_read(self, projection: str, state: Any | None) -> None:
        if state is not None:
            self._note_read((projection, state.id), _doc(state), state.last_seq)

    def _note_read(self, row: tuple[str, Any], doc: dict | None, version: int) -> None:
        self._rows[row] = doc
        self._versions[row] = version  # checked at commit

    async def get(self, projection: str, key: Any, *, lock: bool = False) -> Any | None:
        """The row as this unit sees it; `lock` needs nothing more here: every row read is checked at commit."""
        p = _projection(projection)
        if (p.name, key) not in self._rows:
            await self._read(p, key)
        doc = self._rows[(p.name, key)]
        if doc is None:
            return None
        state = msgspec.convert(doc, p.state_type)
        if (p.name, key) in self._written:
            self._handed_out.append(((p.name, key), state))
        return state

    async def append(self, event: Event) -> int:
        type_name, payload = encode_event(event)
        self._events.append((event.stream, type_name, payload, event.at))
        for p, row_id, is_open, _ in await _fold(self._rows, event, self._read):
            self._written[(p.name, row_id)] = (is_open, len(self._events))
        return 0

    async def claim_idempotency(self, scope: str, key: str) -> dict[str, Any] | None:
        if (scope, key) in self._claims:
            return None
        row = await self.conn.fetchrow("SELECT result FROM idempotency WHERE scope = $1 AND key = $2", scope, key)
        if row is not None and row["result"] is not None:
            return row["result"]
        self._claims[(scope, key)] = None  # inserted at commit; taken meanwhile means a conflict
        return None

    async def remember(self, scope: str, key: str, result: dict[str, Any]) -> None:
        self._claims[(scope, key)] = result

    async def commit(self) -> None:
        if not self._events and not self._claims:
            return  # read only
        checked = list(self._versions.items())
        written = list(self._written.items())
        started = time.perf_counter()
        try:
            seqs = await self.conn.fetchval(
                "SELECT ems_commit_unit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
                " $17, $18, $19)",
                APPEND_LOCK,
                [name for (name, _), _ in checked], [_KEY_TYPES[name] for (name, _), _ in checked],
                [str(key) for (_, key), _ in checked], [version for _, version in checked],
                [e[0] for e in self._events], [e[1] for e in self._events], [e[2] for e in self._events],
                [e[3] for e in self._events], self.actor,
                [name for (name, _), _ in written], [_KEY_TYPES[name] for (name, _), _ in written],
                [str(key) for (_, key), _ in written], [is_open for _, (is_open, _) in written],
                [index for _, (_, index) in written], [self._rows[row] for row, _ in written],
                [scope for scope, _ in self._claims], [key for _, key in self._claims], list(self._claims.values()),
            )
        except asyncpg.SerializationError as exc:
            raise WriteConflict(str(exc)) from None
        finally:
            COMMIT_SECONDS.observe(time.perf_counter() - started)
        for row, state in self._handed_out:
            state.last_seq = seqs[self._written[row][1] - 1]
        for _, type_name, _, _ in self._events:
            EVENTS_APPENDED.labels(type_name).inc()
        self.last_seq = seqs[-1] if seqs else 0


async def _upsert(conn: asyncpg.Connection, p: Projection, state: Any) -> None:
    await conn.execute(
        f"INSERT INTO {p.name} (id, is_open, last_seq, doc) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (id) DO UPDATE SET is_open = EXCLUDED.is_open, last_seq = EXCLUDED.last_seq,"
        " doc = EXCLUDED.doc",
        *_row_values(state),
    )


class PostgresEventStore:
    """The system of record (see dispatch.ports.EventStore). `on_commit(seq)` wakes the relay after a commit."""

    def __init__(self, pool: asyncpg.Pool, *, on_commit: Callable[[int], None] | None = None):
        self.pool = pool
        self.on_commit = on_commit

    async def ensure_projection_tables(self) -> None:
        """Create missing projection tables; serialised across processes (concurrent DDL races in PostgreSQL)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            for p in PROJECTIONS:
                if not _IDENTIFIER.match(p.name):
                    raise ValueError(f"projection name {p.name!r} is not a plain identifier")
                await conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {p.name} (id {_key_sql_type(p)} PRIMARY KEY,"
                    " is_open boolean NOT NULL, last_seq bigint NOT NULL, doc jsonb NOT NULL)"
                )
                await conn.execute(f"CREATE INDEX IF NOT EXISTS {p.name}_open ON {p.name} (is_open) WHERE is_open")

    @asynccontextmanager
    async def unit_of_work(self, actor: str) -> AsyncIterator[PgUnitOfWork]:
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                uow = PgUnitOfWork(conn, actor)
                yield uow
        if uow.lock_taken_at is not None:
            APPEND_LOCK_HELD.observe(time.perf_counter() - uow.lock_taken_at)
        if uow.last_seq and self.on_commit:
            self.on_commit(uow.last_seq)

    async def run(self, actor: str, body: Callable[[Any], Awaitable[T]], *, known: tuple[tuple[str, Any], ...] = (),
                  attempts: int = 5) -> T:
        """Run `body(uow)` as an optimistic unit of work and return what it returns.

        `known`: (projection, state) pairs the caller has just read; the first attempt takes them as read
        (their versions are checked at commit like any read) instead of reading them again.
        On a write conflict the body runs again on fresh reads (so it must do nothing but read, decide and
        append); after `attempts` conflicts it runs once more under the append lock, which cannot conflict.
        """
        for attempt in range(attempts):
            async with self.pool.acquire() as conn:
                uow = OptimisticUnitOfWork(conn, actor)
                if attempt == 0:
                    for projection, state in known:
                        uow.take_as_read(projection, state)
                result = await body(uow)
                try:
                    await uow.commit()
                except WriteConflict as exc:
                    COMMIT_CONFLICTS.inc()
                    log.debug("unit of work by %s conflicted (%s), attempt %s", actor, exc, attempt + 1)
                    continue
            if uow.last_seq and self.on_commit:
                self.on_commit(uow.last_seq)
            return result
        async with self.unit_of_work(actor) as uow:
            return await body(uow)

    async def get(self, projection: str, key: Any) -> Any | None:
        p = _projection(projection)
        doc = await self.pool.fetchval(f"SELECT doc FROM {p.name} WHERE id = $1", key)
        return None if doc is None else msgspec.convert(doc, p.state_type)

    async def list(self, projection: str, *, open_only: bool = False, limit: int = 1000) -> list[Any]:
        p = _projection(projection)
        rows = await self.pool.fetch(
            f"SELECT doc FROM {p.name} WHERE is_open OR NOT $1 ORDER BY id LIMIT $2", open_only, limit
        )
        return [msgspec.convert(r["doc"], p.state_type) for r in rows]

    async def events_since(self, seq: int, *, limit: int = 1000, until: int | None = None) -> list[StoredEvent]:
        rows = await self.pool.fetch(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE seq > $1 AND ($2::bigint IS NULL OR seq < $2)"
            " ORDER BY seq LIMIT $3",
            seq, until, limit,
        )
        return [_stored(r) for r in rows]

    async def encoded_events_since(self, seq: int, *, limit: int = 1000) -> list[asyncpg.Record]:
        """`events_since` for passing events on: the payload stays JSON text (never decoded and encoded again)."""
        return await self.pool.fetch(
            "SELECT seq, stream, type, payload::text AS payload, actor, occurred_at FROM events WHERE seq > $1"
            " ORDER BY seq LIMIT $2", seq, limit)

    async def stream_events(self, stream: str) -> list[StoredEvent]:
        rows = await self.pool.fetch(f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream = $1 ORDER BY seq", stream)
        return [_stored(r) for r in rows]

    async def incident_events(self, incident_id: int) -> list[StoredEvent]:
        """Every event about the incident (its own stream, and unit or hospital events that name it), by seq."""
        rows = await self.pool.fetch(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream = $1 OR payload->>'incident_id' = $2 ORDER BY seq",
            f"incident-{incident_id}", str(incident_id))
        return [_stored(r) for r in rows]

    async def last_seq(self) -> int:
        return await self.pool.fetchval("SELECT coalesce(max(seq), 0) FROM events")

    async def rebuild_projections(self, batch: int = 5000) -> int:
        """Replay the whole log into empty projection tables; returns the number of events replayed."""
        async with self.unit_of_work("system:rebuild") as uow:
            await uow.conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)  # no appends meanwhile
            states: dict[tuple[str, Any], Any] = {}
            for p in PROJECTIONS:
                await uow.conn.execute(f"TRUNCATE {p.name}")
            seq, count = 0, 0
            while rows := await uow.conn.fetch(
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
                await _upsert(uow.conn, PROJECTIONS_BY_NAME[name], state)
        return count
