"""Read-only queries for reports and replay: incidents by report time, one incident's events and units' tracks,
and the closed operations of the NIEMS ITEMS export."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from db import tracks
from db.event_store import PostgresEventStore
from dispatch.model import Hospital, Incident, Unit
from dispatch.ports import StoredEvent


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


async def closed_operations(pool: asyncpg.Pool, start: datetime, end: datetime) -> dict[str, Any]:
    """What the ITEMS export needs for the closed incidents reported in [start, end): the incidents (oldest
    first), the events about each (by incident id, seq order), the units' status changes from `start` until a
    day after `end` (for "back at base"), and every unit and hospital row, retired ones included."""
    incidents = [i for i in await incidents_reported_between(pool, start, end) if i.status.value == "closed"]
    ids = [i.id for i in incidents]
    rows = await pool.fetch(
        "SELECT seq, stream, type, payload, actor, occurred_at FROM events"
        " WHERE stream = ANY($1::text[]) OR (payload ? 'incident_id' AND payload->>'incident_id' = ANY($2::text[]))"
        " ORDER BY seq", [f"incident-{i}" for i in ids], [str(i) for i in ids])
    by_incident: dict[int, list[StoredEvent]] = {i: [] for i in ids}
    unit_ids: set[str] = set()
    for row in rows:
        event = StoredEvent(row["seq"], row["stream"], row["type"], row["payload"], row["actor"], row["occurred_at"])
        incident_id = event.payload.get("incident_id")
        if incident_id is None and event.stream.startswith("incident-"):
            incident_id = int(event.stream.removeprefix("incident-"))
        if incident_id in by_incident:
            by_incident[incident_id].append(event)
        if isinstance(event.payload.get("unit_id"), str):
            unit_ids.add(event.payload["unit_id"])
    unit_rows = await pool.fetch(
        "SELECT seq, stream, type, payload, actor, occurred_at FROM events WHERE type = 'UnitStatusChanged'"
        " AND payload->>'unit_id' = ANY($1::text[])"
        " AND occurred_at >= $2 AND occurred_at < $3::timestamptz + interval '1 day'"
        " ORDER BY seq", sorted(unit_ids), start, end)
    unit_events = [StoredEvent(r["seq"], r["stream"], r["type"], r["payload"], r["actor"], r["occurred_at"])
                   for r in unit_rows]
    units = {r["id"]: msgspec.convert(r["doc"], Unit) for r in await pool.fetch("SELECT id, doc FROM units")}
    hospitals = {r["id"]: msgspec.convert(r["doc"], Hospital)
                 for r in await pool.fetch("SELECT id, doc FROM hospitals")}
    return {"incidents": incidents, "events": by_incident, "unit_events": unit_events, "units": units,
            "hospitals": hospitals}
