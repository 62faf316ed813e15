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


# -- the 1669 call queue (migration 0030) ---------------------------------------------------------------------
CALL_COLUMNS = ("call_sid, incident_id, phone, state, queued_at, answered_at, answered_by, ended_at, recording_sid,"
                " recording_url, recording_duration_s, called_back_by, called_back_at")


async def add_call(pool: asyncpg.Pool, call_sid: str, incident_id: int, phone: str | None, at: datetime) -> None:
    """A call entered the queue; a retried webhook (same CallSid) changes nothing."""
    await pool.execute("INSERT INTO calls (call_sid, incident_id, phone, queued_at) VALUES ($1, $2, $3, $4)"
                       " ON CONFLICT (call_sid) DO NOTHING", call_sid, incident_id, phone, at)


async def call(pool: asyncpg.Pool, call_sid: str) -> asyncpg.Record | None:
    return await pool.fetchrow(f"SELECT {CALL_COLUMNS} FROM calls WHERE call_sid = $1", call_sid)


# How a dispatcher takes a call: from which state to which, and the columns that name who and when.
TAKE = {"answer": ("waiting", "active", "answered_by", "answered_at"),
        "call_back": ("abandoned", "called_back", "called_back_by", "called_back_at")}


async def claim_call(pool: asyncpg.Pool, call_sid: str, how: str, actor: str,
                     at: datetime) -> asyncpg.Record | None:
    """Take a call for `actor` (`how`: answer a waiting call, or call_back an abandoned one): one conditional
    UPDATE, so of two dispatchers at once exactly one gets the row back; None when the call is not in that state."""
    before, after, who, when = TAKE[how]
    return await pool.fetchrow(
        f"UPDATE calls SET state = '{after}', {who} = $2, {when} = $3 WHERE call_sid = $1"
        f" AND state = '{before}' RETURNING {CALL_COLUMNS}", call_sid, actor, at)


async def release_call(pool: asyncpg.Pool, call_sid: str, how: str, actor: str) -> None:
    """Undo claim_call when Twilio refused (only if `actor` still holds the call): back in the queue, or back on the
    call-back list."""
    before, after, who, when = TAKE[how]
    await pool.execute(f"UPDATE calls SET state = '{before}', {who} = NULL, {when} = NULL"
                       f" WHERE call_sid = $1 AND state = '{after}' AND {who} = $2", call_sid, actor)


async def reopen_call_back(conn: Any, call_sid: str) -> asyncpg.Record | None:
    """A call-back the caller did not pick up: back on the call-back list (None if it is not called back, e.g. a
    repeated callback from Twilio)."""
    return await conn.fetchrow(
        f"UPDATE calls SET state = 'abandoned', called_back_by = NULL, called_back_at = NULL, callback_sid = NULL"
        f" WHERE call_sid = $1 AND state = 'called_back' RETURNING {CALL_COLUMNS}", call_sid)


async def settle_call_backs(conn: Any, phone: str, at: datetime) -> list[str]:
    """The caller of `phone` is on the line again: their calls waiting for a call-back end (the call sids)."""
    rows = await conn.fetch("UPDATE calls SET state = 'ended', ended_at = $2 WHERE phone = $1 AND state = 'abandoned'"
                            " RETURNING call_sid", phone, at)
    return sorted(r["call_sid"] for r in rows)


async def set_callback_sid(conn: Any, call_sid: str, callback_sid: str) -> None:
    await conn.execute("UPDATE calls SET callback_sid = $2 WHERE call_sid = $1", call_sid, callback_sid)


async def end_call(conn: Any, call_sid: str, state: str, at: datetime,
                   from_states: tuple[str, ...]) -> asyncpg.Record | None:
    """Move the call to `state` (abandoned | ended) if it is in one of `from_states`; None otherwise."""
    return await conn.fetchrow(
        f"UPDATE calls SET state = $2, ended_at = $3 WHERE call_sid = $1 AND state = ANY($4::text[])"
        f" RETURNING {CALL_COLUMNS}", call_sid, state, at, list(from_states))


async def set_recording(conn: Any, call_sid: str, recording_sid: str, url: str,
                        duration_s: int | None) -> asyncpg.Record | None:
    """Link a finished recording to its call, once (a repeated callback returns None)."""
    return await conn.fetchrow(
        f"UPDATE calls SET recording_sid = $2, recording_url = $3, recording_duration_s = $4 WHERE call_sid = $1"
        f" AND recording_sid IS DISTINCT FROM $2 RETURNING {CALL_COLUMNS}", call_sid, recording_sid, url, duration_s)


async def calls_listed(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    """Waiting and active calls, and abandoned calls whose incident is still open (to call back), oldest first."""
    return await pool.fetch(
        f"SELECT {', '.join('c.' + c.strip() for c in CALL_COLUMNS.split(','))} FROM calls c"
        " LEFT JOIN incidents i ON i.id = c.incident_id"
        " WHERE c.state IN ('waiting', 'active')"
        "    OR (c.state = 'abandoned' AND coalesce(i.is_open, true))"
        " ORDER BY c.queued_at, c.call_sid")


async def add_recording_link(pool: asyncpg.Pool, token_sha256: str, call_sid: str, actor: str,
                             expires_at: datetime) -> None:
    await pool.execute("INSERT INTO recording_links (token_sha256, call_sid, actor, expires_at)"
                       " VALUES ($1, $2, $3, $4)", token_sha256, call_sid, actor, expires_at)


async def recording_for_link(pool: asyncpg.Pool, token_sha256: str, now: datetime) -> asyncpg.Record | None:
    """The call behind an unexpired recording link, or None."""
    return await pool.fetchrow(
        f"SELECT {', '.join('c.' + c.strip() for c in CALL_COLUMNS.split(','))}, l.actor FROM recording_links l"
        " JOIN calls c USING (call_sid) WHERE l.token_sha256 = $1 AND l.expires_at > $2", token_sha256, now)


async def overdue_calls(pool: asyncpg.Pool, before: datetime) -> list[asyncpg.Record]:
    """Calls still waiting that entered the queue before `before` and were not yet alerted, oldest first."""
    return await pool.fetch(f"SELECT {CALL_COLUMNS} FROM calls WHERE state = 'waiting' AND queued_at < $1"
                            " AND overdue_alerted_at IS NULL ORDER BY queued_at", before)


async def mark_overdue_alerted(conn: Any, call_sid: str, at: datetime) -> bool:
    """Mark the call alerted; False if it was already (another process got there first) or is no longer waiting."""
    return await conn.fetchval("UPDATE calls SET overdue_alerted_at = $2 WHERE call_sid = $1 AND state = 'waiting'"
                               " AND overdue_alerted_at IS NULL RETURNING true", call_sid, at) is not None
