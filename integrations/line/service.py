"""LINE Messaging API intake: a message to the 1669 LINE account opens or continues its sender's incident thread.

Threads are keyed by the sender's LINE user id (source.userId), as SMS threads are by phone number. LINE may
redeliver an event; its webhookEventId makes each one count once. A location message moves the incident to the
shared position, flagged as caller-provided. Replies from the console go by SMS only (not yet by LINE push).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from typing import Any

from dispatch.channels import CallerLocationShared, LineMessageReceived
from dispatch.errors import FieldError, Invalid
from dispatch.intake import parse_location
from dispatch.model import Channel
from integrations.caller_store import caller_thread

log = logging.getLogger("ems.line")

MAX_EVENTS = 100  # LINE batches a few events per request; more than this is not LINE
TEXT_MAX = 5000  # LINE's limit for one text message
KIND = re.compile(r"^[a-z]{1,32}$")  # text, location, sticker, image, …
ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # webhookEventId and userId (e.g. "U4af4980629...")


def signature_ok(channel_secret: str, body: bytes, signature: str) -> bool:
    """X-Line-Signature is the base64 HMAC-SHA256 of the raw request body, keyed with the channel secret."""
    expected = base64.b64encode(hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected.encode(), signature.encode())


def message_events(body: Any) -> list[dict[str, Any]]:
    """The message events of a webhook body sent by users; others (follow, unsend, group chats) are skipped.

    Invalid if the body is not `{"events": [...]}`; a single malformed event is logged and skipped, so the
    rest of the batch still arrives (an emergency channel never drops a good message for a bad neighbour).
    """
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise Invalid(FieldError("events", "must be a list of LINE webhook events"))
    if len(body["events"]) > MAX_EVENTS:
        raise Invalid(FieldError("events", f"must hold at most {MAX_EVENTS} events"))
    found = []
    for event in body["events"]:
        if not isinstance(event, dict) or event.get("type") != "message":
            continue
        source, message = event.get("source"), event.get("message")
        if not (isinstance(source, dict) and isinstance(source.get("userId"), str) and ID.match(source["userId"])
                and isinstance(event.get("webhookEventId"), str) and ID.match(event["webhookEventId"])
                and isinstance(message, dict) and isinstance(message.get("type"), str)):
            log.warning("malformed LINE message event skipped")
            continue
        found.append(event)
    return found


def _text(value: Any, limit: int) -> str | None:
    """User text as PostgreSQL can store it: no NUL, valid UTF-8 (a lone surrogate becomes "?"), at most `limit`."""
    if not isinstance(value, str):
        return None
    return value.replace("\x00", "")[:limit].encode("utf-8", "replace").decode() or None


class LineChannel:
    def __init__(self, ctx: Any):
        self.ctx = ctx

    async def receive(self, events: list[dict[str, Any]]) -> list[int]:
        """Each event from `message_events` into its sender's thread; the incident ids, in order."""
        return [await self._message(event) for event in events]

    async def _message(self, event: dict[str, Any]) -> int:
        event_id, user_id, message = event["webhookEventId"], event["source"]["userId"], event["message"]
        kind = message["type"] if KIND.match(message["type"]) else "other"
        text = _text(message.get("text"), TEXT_MAX) if kind == "text" else None
        location, flags = None, []
        if kind == "location":
            errors: list[FieldError] = []
            location, flags = parse_location({"lat": message.get("latitude"), "lon": message.get("longitude")},
                                             self.ctx.intake.area, errors)
        async with self.ctx.store.unit_of_work(f"line:{user_id}") as uow:
            first = await uow.claim_idempotency("line-event", event_id)
            if first is not None:  # a redelivery
                return first["incident_id"]
            report = {"channel": Channel.LINE.value, "chief_complaint": text[:2000] if text else None,
                      "address": _text(message.get("address"), 500) if kind == "location" else None}
            incident, opened = await caller_thread(self.ctx, uow, {"line_user_id": user_id}, report, Channel.LINE)
            now = self.ctx.clock.now()
            await uow.append(LineMessageReceived(at=now, incident_id=incident.id, webhook_event_id=event_id,
                                                 line_user_id=user_id, kind=kind, body=text, opened_thread=opened))
            if location is not None:
                await uow.append(CallerLocationShared(at=now, incident_id=incident.id, location=location,
                                                      outside_service_area=bool(flags)))
            await uow.remember("line-event", event_id, {"incident_id": incident.id})
            return incident.id
