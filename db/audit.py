"""The audit log of patient-data access (append-only: a trigger refuses updates, deletes and truncation)."""
from __future__ import annotations

from typing import Any

import asyncpg


async def record(pool: asyncpg.Pool, actor: str, action: str, subject: str, *, detail: dict | None = None,
                 remote_addr: str | None = None) -> None:
    """Append one audit-log row (who did what to which subject, from where). Raises asyncpg errors if the
    database is unreachable; nothing is written then.
    """
    await pool.execute(
        "INSERT INTO audit_log (actor, action, subject, detail, remote_addr) VALUES ($1, $2, $3, $4, $5)",
        actor, action, subject, detail, remote_addr,
    )


async def entries(pool: asyncpg.Pool, *, subject: str | None = None, after_id: int = 0, limit: int = 500) -> list[dict[str, Any]]:
    """Audit rows with id > `after_id` (optionally for one `subject`), oldest first, at most `limit`, as dicts
    (`at` a UTC datetime). Raises asyncpg errors if the database is unreachable.
    """
    rows = await pool.fetch(
        "SELECT id, at, actor, action, subject, detail, remote_addr FROM audit_log"
        " WHERE id > $1 AND ($2::text IS NULL OR subject = $2) ORDER BY id LIMIT $3",
        after_id, subject, limit,
    )
    return [dict(r) for r in rows]
