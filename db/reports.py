"""Read-only queries for reports and replay: incidents by report time, one incident's events and units' tracks."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from db import tracks
from db.event_store import PostgresEventStore
from dispatch.model import Incident


async def incidents_reported_between(pool: asyncpg.Pool, start: datetime, end: datetime, *,
                                     limit: int = 100_000) -> list[Incident]:
    """Incidents (as projected from events) reported in [start, end), oldest first."""
    rows = await pool.fetch(
        "SELECT doc FROM incidents WHERE (doc->>'reported_at')::timestamptz >= $1"
        " AND (doc->>'reported_at')::timestamptz < $2 ORDER BY id LIMIT $3", start, end, limit)
    return [msgspec.convert(r["doc"], Incident) for r in rows]


async def incident_replay(store: PostgresEventStore, incident_id: int, now: datetime) -> dict[str, Any] | None:
    """The incident's events by seq and the AVL track of every unit they name, from its first event until its
    last (until `now` while the incident is open); None when no event mentions the incident.
    """
    events = await store.incident_events(incident_id)
    if not events:
        return None
    unit_ids = sorted({e.payload["unit_id"] for e in events if isinstance(e.payload.get("unit_id"), str)})
    incident = await store.get("incidents", incident_id)
    still_open = incident is not None and incident.is_open
    start, end = events[0].occurred_at, now if still_open else events[-1].occurred_at
    unit_tracks = [{"unit_id": unit_id, "points": [
        {"at": p["recorded_at"], "lat": p["lat"], "lon": p["lon"], "speed_mps": p["speed_mps"],
         "heading_deg": p["heading_deg"]} for p in await tracks.track(store.pool, unit_id, start, end)]}
        for unit_id in unit_ids]
    return {"incident_id": incident_id, "events": events, "tracks": unit_tracks}


async def call_events_between(pool: asyncpg.Pool, start: datetime, end: datetime, types: tuple[str, ...]) -> list[dict]:
    """Events of `types` about the incidents whose 1669 call was answered or abandoned in [start, end), or that a
    dispatcher reported from a call taken on the console (`answered_s_before`) then, by seq."""
    rows = await pool.fetch(
        "WITH answered AS (SELECT DISTINCT stream FROM events WHERE (type IN ('CallAnswered', 'CallAbandoned')"
        "  OR (type = 'IncidentReported' AND payload->>'answered_s_before' IS NOT NULL))"
        "  AND occurred_at >= $1 AND occurred_at < $2)"
        " SELECT type, payload, occurred_at FROM events WHERE type = ANY($3::text[])"
        " AND stream IN (SELECT stream FROM answered) ORDER BY seq", start, end, list(types))
    return [dict(r) for r in rows]
