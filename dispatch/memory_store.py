"""An in-process EventStore with the same semantics as db/event_store.py, for domain tests and the simulator.

Transactions are serialised by one lock, so row locks are implicit; a failing transaction leaves no trace.
"""
from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from dispatch.events import Event, encode_event
from dispatch.ports import StoredEvent
from dispatch.projections import project
from dispatch.registry import PROJECTIONS


class MemoryUnitOfWork:
    def __init__(self, store: MemoryEventStore, actor: str):
        self.store = store
        self.actor = actor
        self.rows = {p.name: dict(store.rows[p.name]) for p in PROJECTIONS}
        self.events: list[StoredEvent] = []
        self.idempotency = dict(store.idempotency)
        self.next_id = store.next_id
        self.last_seq = 0  # set at commit (see dispatch.ports.UnitOfWork)

    async def next_incident_id(self) -> int:
        """The next id (shared counter for incidents and assignments in memory)."""
        self.next_id += 1
        return self.next_id

    async def next_assignment_id(self) -> int:
        """The next id (shared counter for incidents and assignments in memory)."""
        self.next_id += 1
        return self.next_id

    async def get(self, projection: str, key: Any, *, lock: bool = False) -> Any | None:
        """A copy of the row as this unit of work sees it, or None; `lock` is implied (one writer at a time)."""
        return copy.deepcopy(self.rows[projection].get(key))

    async def append(self, event: Event) -> None:
        """Record `event` with the next seq and apply it to every projection it touches (KeyError for an unregistered
        event type)."""
        seq = self.store.last_seq + len(self.events) + 1
        type_name, payload = encode_event(event)
        self.events.append(StoredEvent(seq, event.stream, type_name, payload, self.actor, event.at))
        for projection in PROJECTIONS:
            key = projection.key(event)
            if key is not None:
                state = copy.deepcopy(self.rows[projection.name].get(key))
                self.rows[projection.name][key] = project(projection, state, event, seq)

    async def claim_idempotency(self, scope: str, key: str) -> dict[str, Any] | None:
        """The stored reply for (scope, key) if one was remembered, else None."""
        return self.idempotency.get((scope, key))

    async def remember(self, scope: str, key: str, result: dict[str, Any]) -> None:
        """Store `result` as the reply for (scope, key), committed with the unit of work."""
        self.idempotency[(scope, key)] = result


class MemoryEventStore:
    def __init__(self) -> None:
        self.rows: dict[str, dict[Any, Any]] = {p.name: {} for p in PROJECTIONS}
        self.log: list[StoredEvent] = []
        self.idempotency: dict[tuple[str, str], dict[str, Any]] = {}
        self.next_id = 0
        self._lock = asyncio.Lock()

    @property
    def last_seq(self) -> int:
        """The seq of the last committed event (0 when empty)."""
        return self.log[-1].seq if self.log else 0

    @asynccontextmanager
    async def unit_of_work(self, actor: str) -> AsyncIterator[MemoryUnitOfWork]:
        """One unit of work at a time; committed when the block ends, discarded if it raises."""
        async with self._lock:
            uow = MemoryUnitOfWork(self, actor)
            yield uow
            self.rows, self.idempotency, self.next_id = uow.rows, uow.idempotency, uow.next_id
            self.log.extend(uow.events)
            uow.last_seq = uow.events[-1].seq if uow.events else 0

    async def run(self, actor: str, body, *, known=()):
        """`body(uow)` in one unit of work; returns its result (`known` is accepted for the port's signature)."""
        async with self.unit_of_work(actor) as uow:
            return await body(uow)

    async def get(self, projection: str, key: Any) -> Any | None:
        """A copy of the committed row, or None (KeyError for an unknown projection)."""
        return copy.deepcopy(self.rows[projection].get(key))

    async def get_many(self, projection: str, keys: Iterable[Any]) -> list[Any]:
        """Copies of the committed rows of `keys` that exist, in the order of `keys`."""
        rows = self.rows[projection]
        return copy.deepcopy([rows[k] for k in keys if k in rows])

    async def list(self, projection: str, *, open_only: bool = False, limit: int = 1000) -> list[Any]:
        """Copies of up to `limit` committed rows, in insertion order; `open_only` keeps open ones."""
        rows = [r for r in self.rows[projection].values() if not open_only or getattr(r, "is_open", True)]
        return copy.deepcopy(rows[:limit])

    async def events_since(self, seq: int, *, limit: int = 1000) -> list[StoredEvent]:
        """Up to `limit` committed events with seq > `seq`, in seq order."""
        return [e for e in self.log if e.seq > seq][:limit]

    async def recent_events(self, types: Iterable[str], *, since: datetime, until_seq: int,
                            limit: int) -> list[StoredEvent]:
        """The newest `limit` committed events of these types at or after `since`, seq <= `until_seq`, in seq order."""
        wanted = set(types)
        found = [e for e in self.log if e.type in wanted and e.occurred_at >= since and e.seq <= until_seq]
        return found[-limit:] if limit else []
