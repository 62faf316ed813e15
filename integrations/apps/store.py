"""SQL for citizen-app API keys (only their SHA-256 is stored)."""
from __future__ import annotations

import asyncpg


async def add_key(pool: asyncpg.Pool, key_id: str, name: str, key_sha256: str, rate_per_min: int, burst: int) -> None:
    await pool.execute("INSERT INTO api_keys (id, name, key_sha256, rate_per_min, burst) VALUES ($1, $2, $3, $4, $5)",
                       key_id, name, key_sha256, rate_per_min, burst)


async def key_by_hash(pool: asyncpg.Pool, key_sha256: str) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT id, name, rate_per_min, burst FROM api_keys"
                               " WHERE key_sha256 = $1 AND revoked_at IS NULL", key_sha256)


async def keys(pool: asyncpg.Pool) -> list[dict]:
    rows = await pool.fetch("SELECT id, name, rate_per_min, burst, created_at, revoked_at FROM api_keys ORDER BY id")
    return [dict(r) for r in rows]


async def revoke(pool: asyncpg.Pool, key_id: str) -> bool:
    return bool(await pool.fetchval("UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL"
                                    " RETURNING true", key_id))
