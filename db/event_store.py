"""PostgreSQL event store: append events and update their projections in one transaction.

Units of work are serialised by one advisory lock, so `seq` order is commit order: the relay can publish
"everything after seq N" and never skip a late-committing event, and a unit of work's reads are as good as locked.
The first statement that reads or writes through the unit of work takes the lock (it is folded into that statement)
and it is held until commit; only id allocation runs outside it. Taken before any row lock, it keeps lock order
global, so units of work never deadlock.

Round trips are kept few because the lock is held across them: an append is one statement (event row plus every
projection row it changes), and rows this transaction has locked or written are served from memory.

Projection tables are caches derived from the log: `CREATE TABLE IF NOT EXISTS` from the domain's projection
registry at start-up, and `rebuild_projections` replays the log into them.
"""
from __future__ import annotations

import re
import typing
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import msgspec

from db.migrate import MIGRATION_LOCK
from dispatch.events import Event, decode_event, encode_event
from dispatch.ports import StoredEvent
from dispatch.projections import PROJECTIONS, Projection, project
from telemetry.metrics import EVENTS_APPENDED

APPEND_LOCK = 0x454D535F4150504E  # 'EMS_APPN'
_EVENT_COLUMNS = "seq, stream, type, payload, actor, occurred_at"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_BY_NAME = {p.name: p for p in PROJECTIONS}


def _projection(name: str) -> Projection:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown projection {name!r}") from None


def _key_sql_type(projection: Projection) -> str:
    return "bigint" if typing.get_type_hints(projection.state_type)["id"] is int else "text"


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
    """One transaction on one connection (see dispatch.ports.UnitOfWork)."""

    def __init__(self, conn: asyncpg.Connection, actor: str):
        self.conn = conn
        self.actor = actor
        self.last_seq = 0
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
        doc = await self.conn.fetchval(
            f"{_WITH_APPEND_LOCK} SELECT (SELECT doc FROM {p.name} WHERE id = $2{suffix}) FROM append_lock",
            APPEND_LOCK, key,
        )
        if lock:
            self._rows[(p.name, key)] = doc
        return doc

    async def append(self, event: Event) -> int:
        type_name, payload = encode_event(event)
        touched: list[tuple[Projection, Any, dict]] = []  # (projection, row id, its document)
        args: list[Any] = [APPEND_LOCK, event.stream, type_name, payload, self.actor, event.at]
        for p in PROJECTIONS:
            key = p.key(event)
            if key is None:
                continue
            if (p.name, key) not in self._rows:
                await self._read_doc(p, key, lock=True)
            doc = self._rows[(p.name, key)]
            state = None if doc is None else msgspec.convert(doc, p.state_type)
            row_id, is_open, _, doc = _row_values(project(p, state, event, 0))
            touched.append((p, row_id, doc))
            args += [row_id, is_open, doc]
        seq = await self.conn.fetchval(_append_sql(tuple(p for p, _, _ in touched)), *args)
        for p, row_id, doc in touched:
            doc["last_seq"] = seq  # as the statement stamped it (encoded once, while the lock is held)
            self._rows[(p.name, row_id)] = doc
        self.last_seq = seq
        EVENTS_APPENDED.labels(type_name).inc()
        return seq

    async def claim_idempotency(self, scope: str, key: str) -> dict[str, Any] | None:
        inserted = await self.conn.fetchval(
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
        if uow.last_seq and self.on_commit:
            self.on_commit(uow.last_seq)

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
                await _upsert(uow.conn, _BY_NAME[name], state)
        return count
