"""The event log, read in seq order (dispatchers and operators)."""
from __future__ import annotations

from api.base import BaseHandler
from db import audit


class EventsHandler(BaseHandler):
    async def get(self) -> None:
        """GET committed events after `since` (seq), at most `limit` (staff)."""
        self.require("dispatcher", "admin")
        since = self.int_argument("since", 0)
        limit = self.int_argument("limit", 500, low=1, high=5000)
        events = await self.ctx.store.events_since(since, limit=limit)
        last = events[-1].seq if events else since
        await self.audit("read", "events", {"since": since, "count": len(events)})
        self.send_json({"events": events, "next_since": last, "more": len(events) == limit})


class AuditHandler(BaseHandler):
    async def get(self) -> None:
        """GET audit-log rows after id `after`, at most `limit` (staff)."""
        self.require("admin", "dispatcher")
        after = self.int_argument("after", 0)
        limit = self.int_argument("limit", 500, low=1, high=5000)
        subject = self.get_query_argument("subject", None)
        self.send_json({"entries": await audit.entries(self.ctx.pool, subject=subject, after_id=after, limit=limit)})
