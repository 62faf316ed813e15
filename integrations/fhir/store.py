"""SQL for hospital alerts: FHIR endpoints per hospital, and the position in the event log already handled."""
from __future__ import annotations

import asyncpg

from dispatch.ports import StoredEvent

CURSOR = "hospital-alerts"


async def set_endpoint(pool: asyncpg.Pool, hospital_id: str, fhir_url: str | None, sms_phone: str | None) -> None:
    await pool.execute(
        "INSERT INTO hospital_endpoints (hospital_id, fhir_url, sms_phone) VALUES ($1, $2, $3)"
        " ON CONFLICT (hospital_id) DO UPDATE SET fhir_url = EXCLUDED.fhir_url, sms_phone = EXCLUDED.sms_phone",
        hospital_id, fhir_url, sms_phone)


async def endpoint(pool: asyncpg.Pool, hospital_id: str) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT * FROM hospital_endpoints WHERE hospital_id = $1", hospital_id)


async def start_cursor(pool: asyncpg.Pool) -> None:
    """A fresh deployment starts delivery at the end of the log (no old alerts resent); a known cursor stays."""
    await pool.execute("INSERT INTO relay_cursor (name, last_seq) SELECT $1, coalesce(max(seq), 0) FROM events"
                       " ON CONFLICT (name) DO NOTHING", CURSOR)


async def cursor(pool: asyncpg.Pool) -> int:
    """Where alert delivery is up to: one read a round; started here if start_cursor has not run."""
    last_seq = await pool.fetchval("SELECT last_seq FROM relay_cursor WHERE name = $1", CURSOR)
    if last_seq is None:
        await start_cursor(pool)
        last_seq = await pool.fetchval("SELECT last_seq FROM relay_cursor WHERE name = $1", CURSOR)
    return last_seq


async def advance(pool: asyncpg.Pool, seq: int) -> None:
    await pool.execute("UPDATE relay_cursor SET last_seq = greatest(last_seq, $2) WHERE name = $1", CURSOR, seq)


async def alert_events(pool: asyncpg.Pool, after: int, limit: int = 200) -> list[StoredEvent]:
    """Pre-arrival alerts, arrivals at hospital and newly recorded vital signs after `after`, in seq order."""
    rows = await pool.fetch(
        "SELECT seq, stream, type, payload, actor, occurred_at FROM events WHERE seq > $1"
        " AND (type IN ('HospitalAlerted', 'VitalsRecorded')"
        "      OR (type = 'IncidentStatusChanged' AND payload->>'status' = 'at_hospital'))"
        " ORDER BY seq LIMIT $2", after, limit)
    return [StoredEvent(r["seq"], r["stream"], r["type"], r["payload"], r["actor"], r["occurred_at"]) for r in rows]
