"""SQL for panic-button devices: the registry, heartbeats and alerts flags, press linkage, webhook nonces."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

PUBLIC_COLUMNS = ("id, person, address, lat, lon, medical_notes, contact_phones, registered_at, last_heartbeat_at,"
                  " battery_pct, heartbeat_alerted, battery_alerted, last_press_at, last_incident_id")


async def add_device(pool: asyncpg.Pool, device: dict[str, Any], secret: str) -> bool:
    """Register a device; False if the id is taken."""
    return bool(await pool.fetchval(
        "INSERT INTO devices (id, secret, person, address, lat, lon, medical_notes, contact_phones)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING RETURNING true",
        device["id"], secret, device["person"], device.get("address"), device.get("lat"), device.get("lon"),
        device.get("medical_notes"), device.get("contact_phones", [])))


async def device(pool_or_conn, device_id: str, *, lock: bool = False) -> asyncpg.Record | None:
    """One device with its secret (for signature checks); `lock` takes its row lock in a transaction."""
    return await pool_or_conn.fetchrow(f"SELECT * FROM devices WHERE id = $1{' FOR UPDATE' if lock else ''}",
                                       device_id)


async def devices(pool: asyncpg.Pool, limit: int = 1000) -> list[dict[str, Any]]:
    rows = await pool.fetch(f"SELECT {PUBLIC_COLUMNS} FROM devices ORDER BY id LIMIT $1", limit)
    return [dict(r) for r in rows]


async def note_press(conn: asyncpg.Connection, device_id: str, at: datetime, incident_id: int) -> None:
    await conn.execute("UPDATE devices SET last_press_at = $2, last_incident_id = $3 WHERE id = $1",
                       device_id, at, incident_id)


async def presses_on(conn: asyncpg.Connection, incident_id: int) -> int:
    return await conn.fetchval("SELECT count(*) FROM events WHERE stream = $1 AND type = 'PanicPressed'",
                               f"incident-{incident_id}")


async def heartbeat(pool: asyncpg.Pool, device_id: str, at: datetime, battery_pct: int | None,
                    low_battery_pct: int) -> tuple[bool, bool] | None:
    """Record a heartbeat; returns (low battery newly reached, heartbeat alert was active), None if unknown."""
    row = await pool.fetchrow(
        "UPDATE devices d SET last_heartbeat_at = $2, battery_pct = coalesce($3, d.battery_pct),"
        " heartbeat_alerted = false,"
        " battery_alerted = CASE WHEN $3::int IS NULL THEN d.battery_alerted ELSE $3::int <= $4 END"
        " FROM (SELECT battery_alerted, heartbeat_alerted FROM devices WHERE id = $1 FOR UPDATE) prev"
        " WHERE d.id = $1 RETURNING prev.battery_alerted AS was_low, d.battery_alerted AS is_low,"
        " prev.heartbeat_alerted AS was_silent",
        device_id, at, battery_pct, low_battery_pct)
    if row is None:
        return None
    return (row["is_low"] and not row["was_low"]), row["was_silent"]


async def mark_silent(pool: asyncpg.Pool, silent_since: datetime) -> list[asyncpg.Record]:
    """Flag devices with no heartbeat since `silent_since`; returns those newly flagged (once per silence)."""
    return await pool.fetch(
        "UPDATE devices SET heartbeat_alerted = true WHERE NOT heartbeat_alerted"
        " AND coalesce(last_heartbeat_at, registered_at) < $1 RETURNING id, last_heartbeat_at", silent_since)


async def use_nonce(pool: asyncpg.Pool, source: str, nonce: str) -> bool:
    """Remember a webhook nonce; False if it was seen before (a replay)."""
    return bool(await pool.fetchval(
        "INSERT INTO webhook_nonces (source, nonce) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
        source, nonce))


async def forget_nonces(pool: asyncpg.Pool, before: datetime) -> None:
    await pool.execute("DELETE FROM webhook_nonces WHERE seen_at < $1", before)


async def add_dead_letter(pool: asyncpg.Pool, topic: str, reason: str, raw: bytes, max_bytes: int) -> int:
    """Keep an MQTT message the listener could not use, raw bytes cut at `max_bytes`; returns its row id.
    Raises asyncpg/OS errors when PostgreSQL is unavailable (the caller then leaves the message unacknowledged)."""
    return await pool.fetchval(
        "INSERT INTO mqtt_dead_letters (topic, reason, payload, payload_bytes) VALUES ($1, $2, $3, $4) RETURNING id",
        topic[:512], reason[:500], raw[:max_bytes], len(raw))
