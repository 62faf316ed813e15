"""SQL shared by the messaging channels: the incidents a caller (by phone number or LINE user) took part in."""
from __future__ import annotations

from typing import Any

import msgspec

from dispatch.model import Incident


async def incidents_with_caller(pool_or_conn, caller_match: dict[str, Any], *, before_id: int | None = None,
                                open_only: bool = False, limit: int = 20) -> list[Incident]:
    """Incidents with a caller matching `caller_match` (e.g. {"phone": …}), newest first (optionally only those
    older than `before_id`, or only open ones)."""
    rows = await pool_or_conn.fetch(
        "SELECT doc FROM incidents WHERE doc->'callers' @> $1::jsonb"
        " AND ($2::bigint IS NULL OR id < $2) AND (is_open OR NOT $3) ORDER BY id DESC LIMIT $4",
        [caller_match], before_id, open_only, limit)
    return [msgspec.convert(r["doc"], Incident) for r in rows]
