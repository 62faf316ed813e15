"""Read-only queries for reports and replay: incidents by report time, one incident's events in seq order."""
from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from dispatch.model import Incident
from dispatch.ports import StoredEvent


async def incidents_reported_between(pool: asyncpg.Pool, start: datetime, end: datetime, *,
                                     limit: int = 100_000) -> list[Incident]:
    """Incidents (as projected from events) reported in [start, end), oldest first."""
    rows = await pool.fetch(
        "SELECT doc FROM incidents WHERE (doc->>'reported_at')::timestamptz >= $1"
        " AND (doc->>'reported_at')::timestamptz < $2 ORDER BY id LIMIT $3", start, end, limit)
    return [msgspec.convert(r["doc"], Incident) for r in rows]


async def incident_events(pool: asyncpg.Pool, incident_id: int) -> list[StoredEvent]:
    """Every event about the incident (its own stream, and unit or hospital events that name it), by seq."""
    rows = await pool.fetch(
        "SELECT seq, stream, type, payload, actor, occurred_at FROM events"
        " WHERE stream = $1 OR payload->>'incident_id' = $2 ORDER BY seq",
        f"incident-{incident_id}", str(incident_id))
    return [StoredEvent(r["seq"], r["stream"], r["type"], r["payload"], r["actor"], r["occurred_at"]) for r in rows]
