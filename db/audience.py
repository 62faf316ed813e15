"""What a replay needs to judge old events by the visibility of their time (dispatch.access.HistoryFilter)."""
from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from dispatch.access import AUDIENCE_EVENT_TYPES
from dispatch.ports import StoredEvent


async def audience_events(pool: asyncpg.Pool, incident_ids: Iterable[int], *, until_seq: int) -> list[StoredEvent]:
    """The audience-changing events of these incidents with seq at or below `until_seq`, in seq order.

    Every such event is stored on its incident's stream (`incident-<id>`), so the (stream, seq) index serves it.
    """
    streams = [f"incident-{incident_id}" for incident_id in incident_ids]
    if not streams:
        return []
    rows = await pool.fetch(
        "SELECT seq, stream, type, payload, actor, occurred_at FROM events"
        " WHERE stream = ANY($1::text[]) AND seq <= $2 AND type = ANY($3::text[]) ORDER BY seq",
        streams, until_seq, list(AUDIENCE_EVENT_TYPES))
    return [StoredEvent(r["seq"], r["stream"], r["type"], r["payload"], r["actor"], r["occurred_at"]) for r in rows]
