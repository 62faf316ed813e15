"""The thinned AVL track in PostgreSQL (latest positions live in Redis; see ws/avl.py)."""
from __future__ import annotations

from datetime import datetime

import asyncpg


async def record_position(pool: asyncpg.Pool, unit_id: str, at: datetime, lat: float, lon: float,
                          speed_mps: float | None, heading_deg: float | None, accuracy_m: float | None) -> None:
    """Keep one thinned AVL point (degrees; speed m/s, heading degrees, accuracy metres); a repeat of (unit, time) is
    ignored."""
    await pool.execute(
        "INSERT INTO unit_positions (unit_id, recorded_at, lat, lon, speed_mps, heading_deg, accuracy_m)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        unit_id, at, lat, lon, speed_mps, heading_deg, accuracy_m,
    )


async def last_positions(pool: asyncpg.Pool, unit_ids: list[str]) -> dict[str, tuple[float, float, datetime]]:
    """Per unit id, its latest stored point as (lat, lon, recorded_at UTC); units never seen are absent."""
    rows = await pool.fetch(
        "SELECT DISTINCT ON (unit_id) unit_id, lat, lon, recorded_at FROM unit_positions"
        " WHERE unit_id = any($1::text[]) ORDER BY unit_id, recorded_at DESC",
        unit_ids,
    )
    return {r["unit_id"]: (r["lat"], r["lon"], r["recorded_at"]) for r in rows}


async def track(pool: asyncpg.Pool, unit_id: str, since: datetime, until: datetime) -> list[dict]:
    """A unit's stored points between `since` and `until` (UTC, inclusive), oldest first, as dicts."""
    rows = await pool.fetch(
        "SELECT recorded_at, lat, lon, speed_mps, heading_deg FROM unit_positions"
        " WHERE unit_id = $1 AND recorded_at BETWEEN $2 AND $3 ORDER BY recorded_at",
        unit_id, since, until,
    )
    return [dict(r) for r in rows]
