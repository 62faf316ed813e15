"""SQL shared by the messaging channels: the incidents a caller (by phone number or LINE user) took part in, and
the caller's thread (their open incident) that a new message continues or opens."""
from __future__ import annotations

from typing import Any

import msgspec

from dispatch.model import Channel, Incident
from integrations.uow import intake_within


async def incidents_with_caller(pool_or_conn, caller_match: dict[str, Any], *, before_id: int | None = None,
                                open_only: bool = False, limit: int = 20) -> list[Incident]:
    """Incidents with a caller matching `caller_match` (e.g. {"phone": …}), newest first (optionally only those
    older than `before_id`, or only open ones)."""
    rows = await pool_or_conn.fetch(
        "SELECT doc FROM incidents WHERE doc->'callers' @> $1::jsonb"
        " AND ($2::bigint IS NULL OR id < $2) AND (is_open OR NOT $3) ORDER BY id DESC LIMIT $4",
        [caller_match], before_id, open_only, limit)
    return [msgspec.convert(r["doc"], Incident) for r in rows]


async def caller_thread(ctx: Any, uow: Any, caller_match: dict[str, Any] | None, report: dict[str, Any],
                        channel: Channel) -> tuple[Incident, bool]:
    """The caller's open incident, or (none open, or no caller to match) a new one from `report`, inside `uow`
    (under the store's append lock, so two first messages from one caller open one thread). (incident, opened)."""
    thread = await incidents_with_caller(uow.conn, caller_match, open_only=True, limit=1) if caller_match else []
    if thread:
        return thread[0], False
    incident, _ = await intake_within(ctx, uow).report(report, actor=uow.actor, strict=False, default_channel=channel)
    return incident, True
