"""LINE Messaging API webhook: signature checked against the channel secret, then the events go to LineChannel."""
from __future__ import annotations

import json

from api.base import ApiError
from dispatch.errors import Unavailable
from integrations.line.service import message_events, signature_ok
from integrations.webhook_base import SignedWebhookHandler


class LineWebhookHandler(SignedWebhookHandler):
    async def post(self) -> None:
        secret = self.ctx.config.line_channel_secret
        if not secret:
            raise Unavailable("LINE is not configured on this server")
        raw = self.raw_body()
        await self.check_signature("X-Line-Signature", lambda signature: signature_ok(secret, raw, signature))
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            raise ApiError(400, "body must be JSON") from None
        events = message_events(body)
        for user_id in sorted({e["source"]["userId"] for e in events}):  # one flooding sender is throttled
            await self.throttle_source("line", user_id, self.ctx.config.rate_intake_per_min)
        self.send_json({"incident_ids": await self.ctx.line.receive(events)})
