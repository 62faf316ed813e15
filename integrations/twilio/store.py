"""SQL for the Twilio channel: outbound message status, one-time location links, caller history, SMS threads."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg



async def record_status(pool: asyncpg.Pool, sid: str, kind: str, status: str, rank: int, *, to_phone: str | None = None,
                        incident_id: int | None = None, purpose: str | None = None,
                        error_code: str | None = None) -> asyncpg.Record | None:
    """Move message `sid` forward to `status` (rank); creates the row if this is the first news of it.

    Returns the row when the status moved (a new row, or a higher rank), None when the update was a duplicate or
    arrived out of order. Details missing on one side (callbacks carry no purpose) are filled from the other.
    """
    return await pool.fetchrow(
        "INSERT INTO outbound_messages (sid, kind, to_phone, incident_id, purpose, status, status_rank, error_code)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (sid) DO UPDATE SET"
        "  status = CASE WHEN EXCLUDED.status_rank > outbound_messages.status_rank"
        "                THEN EXCLUDED.status ELSE outbound_messages.status END,"
        "  status_rank = greatest(outbound_messages.status_rank, EXCLUDED.status_rank),"
        "  error_code = coalesce(EXCLUDED.error_code, outbound_messages.error_code),"
        "  to_phone = coalesce(outbound_messages.to_phone, EXCLUDED.to_phone),"
        "  incident_id = coalesce(outbound_messages.incident_id, EXCLUDED.incident_id),"
        "  purpose = coalesce(outbound_messages.purpose, EXCLUDED.purpose),"
        "  updated_at = now()"
        " WHERE EXCLUDED.status_rank > outbound_messages.status_rank"
        "    OR (outbound_messages.purpose IS NULL AND EXCLUDED.purpose IS NOT NULL)"
        " RETURNING sid, kind, to_phone, incident_id, purpose, status, status_rank, error_code,"
        "  (xmax = 0) AS inserted",
        sid, kind, to_phone, incident_id, purpose, status, rank, error_code,
    )


async def message(pool: asyncpg.Pool, sid: str) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT * FROM outbound_messages WHERE sid = $1", sid)


async def messages_for(pool: asyncpg.Pool, incident_id: int) -> dict[str, str]:
    """Current status of every message sent about an incident, by sid."""
    rows = await pool.fetch("SELECT sid, status FROM outbound_messages WHERE incident_id = $1", incident_id)
    return {r["sid"]: r["status"] for r in rows}


async def add_share_link(pool: asyncpg.Pool, token_sha256: str, incident_id: int, expires_at: datetime) -> None:
    await pool.execute("INSERT INTO share_links (token_sha256, incident_id, expires_at) VALUES ($1, $2, $3)",
                       token_sha256, incident_id, expires_at)


async def use_share_link(conn: asyncpg.Connection, token_sha256: str, now: datetime) -> int | None:
    """Spend a one-time link; the incident id, or None if unknown, expired or already used."""
    return await conn.fetchval(
        "UPDATE share_links SET used_at = $2 WHERE token_sha256 = $1 AND used_at IS NULL AND expires_at > $2"
        " RETURNING incident_id", token_sha256, now)


async def thread_events(pool: asyncpg.Pool, incident_id: int) -> list[dict[str, Any]]:
    """The message thread of an incident (texts and LINE messages in, SMS replies out), in order."""
    rows = await pool.fetch(
        "SELECT seq, type, payload, actor, occurred_at FROM events WHERE stream = $1"
        " AND type IN ('SmsReceived', 'SmsSent', 'LineMessageReceived') ORDER BY seq", f"incident-{incident_id}")
    return [dict(r) for r in rows]
