"""Twilio channel logic: inbound calls and texts become incidents, dispatchers reply, status callbacks advance.

Inbound webhooks are idempotent on Twilio's CallSid / MessageSid (Twilio retries); the incident is committed
before the answer, and the slow parts (caller history, texting the location link) run after it.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from dispatch.channels import (
    DELIVERED_STATUSES,
    FAILED_STATUSES,
    CallerLocationShared,
    CallReceived,
    OutboundMessageDelivered,
    OutboundMessageFailed,
    ShareLinkSent,
    SmsReceived,
    SmsSent,
    status_rank,
)
from db.pool import is_connection_loss
from dispatch.error_codes import ErrorCode
from dispatch.errors import Conflict, DomainError, FieldError, Invalid, NotFound, Unavailable
from dispatch.intake import parse_location
from dispatch.model import Channel, Incident
from dispatch.ports import get_or_not_found
from integrations.background import AfterWork
from integrations.caller_store import caller_thread, incidents_with_caller
from integrations.twilio import store
from integrations.twilio.calls import QUEUE_PATH, CallQueue
from integrations.twilio.spoken import GREETING, say

log = logging.getLogger("ems.twilio")

SMS_MAX = 1600  # Twilio's limit for one (concatenated) message body


def _storage_fault(exc: Exception) -> bool:
    """True when `exc` is about the database (down, failing over, busy), not about the request: worth a retry.
    A lost connection is judged by `db.pool.is_connection_loss`, the one rule the event store and the HTTP layer use
    too; any other error (bad data, a bug) is not retried."""
    return isinstance(exc, Unavailable) or is_connection_loss(exc)


def share_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TwilioChannel:
    """Voice, SMS and location sharing for one server process."""

    def __init__(self, ctx: Any, notifier: Any, after: AfterWork):
        self.ctx = ctx
        self.notifier = notifier
        self.after = after
        self.calls = CallQueue(ctx, notifier)

    # -- voice -------------------------------------------------------------------------------------------------
    async def answer_call(self, params: dict[str, str]) -> str:
        """The TwiML answer to a 1669 call. The caller is greeted and queued for a dispatcher even when the incident
        cannot be stored now (database down, failing over or busy: Twilio would play an error and hang up on a
        5xx); the incident is then stored in the background as soon as the database takes it, once per CallSid."""
        try:
            await self.inbound_call(params)
        except Exception as exc:
            if not _storage_fault(exc):
                raise
            self._store_later(lambda: self.inbound_call(params), f"call {params.get('CallSid')}", params)
        return self.answer_twiml()

    async def inbound_call(self, params: dict[str, str]) -> tuple[Incident, str]:
        """Open the incident for a call (once per CallSid) and return it with the TwiML answer.

        The follow-up (history, location link) is scheduled to run after the answer, for the first delivery only.
        """
        call_sid = _required(params, "CallSid")
        phone = params.get("From") or None
        body = {"channel": Channel.PHONE.value, "caller": {"phone": phone} if phone else None}
        incident, created = await self.ctx.intake.report(
            body, actor=f"twilio:{call_sid}", idempotency_key=f"call:{call_sid}", strict=False,
            default_channel=Channel.PHONE)
        await self.calls.queued(call_sid, incident.id, phone)  # before the answer: the queue shows it at once
        if created:
            self.after.run(self._after_call(incident, call_sid), f"call {call_sid}")
        return incident, self.answer_twiml()

    def answer_twiml(self) -> str:
        config = self.ctx.config
        response = VoiceResponse()
        say(response, GREETING)
        if config.twilio_dispatch_number:
            response.dial(config.twilio_dispatch_number, timeout=20)
        # Twilio posts to the action when the caller leaves the queue (hung up: listed for call-back)
        response.enqueue(config.twilio_queue, action=self.calls.url(QUEUE_PATH), method="POST")
        # also the fallback when the dispatch line does not answer
        return str(response)

    async def _after_call(self, incident: Incident, call_sid: str) -> None:
        phone = incident.callers[0].phone if incident.callers else None
        earlier = await incidents_with_caller(self.ctx.pool, {"phone": phone}, before_id=incident.id) if phone else []
        history = [i.id for i in earlier]
        async with self.ctx.store.unit_of_work(f"twilio:{call_sid}") as uow:
            await uow.append(CallReceived(at=self.ctx.clock.now(), incident_id=incident.id, call_sid=call_sid,
                                          phone=phone, earlier_incidents=history))
        if phone:
            await self.send_share_link(incident.id, phone)

    async def caller_history(self, incident_id: int) -> dict[str, Any]:
        """Earlier incidents from the numbers that called about this one, newest first."""
        incident = await get_or_not_found(self.ctx.store, "incidents", incident_id)
        phones = sorted({c.phone for c in incident.callers if c.phone})
        earlier = {}
        for phone in phones:
            for other in await incidents_with_caller(self.ctx.pool, {"phone": phone}, before_id=incident_id):
                earlier[other.id] = other
        return {"incident_id": incident_id, "phones": phones,
                "incidents": [earlier[k] for k in sorted(earlier, reverse=True)]}

    # -- location link -----------------------------------------------------------------------------------------
    async def send_share_link(self, incident_id: int, phone: str) -> str:
        """Text the caller a one-time link to web/share.html; records ShareLinkSent (with the error if it failed)."""
        token = secrets.token_urlsafe(24)
        expires = self.ctx.clock.now() + timedelta(seconds=self.ctx.config.share_link_ttl_s)
        await store.add_share_link(self.ctx.pool, share_token_hash(token), incident_id, expires)
        link = f"{self.ctx.config.base_url.rstrip('/')}/share.html#t={token}"
        text = f"1669 ชลบุรี: แตะลิงก์เพื่อส่งตำแหน่งของท่าน / Tap to share your location: {link}"
        sid, error = None, None
        try:
            sid = await self.notifier.send_sms(phone, text, incident_id=incident_id, purpose="share_link")
        except DomainError as exc:
            error = str(exc)[:300]
        async with self.ctx.store.unit_of_work("system:twilio") as uow:
            await uow.append(ShareLinkSent(at=self.ctx.clock.now(), incident_id=incident_id, message_sid=sid,
                                           error=error))
        return token

    async def share_location(self, token: Any, raw_location: Any, accuracy_m: Any = None) -> Incident:
        """Spend a one-time link: the position becomes the incident's location, flagged caller-provided."""
        if not isinstance(token, str) or not 10 <= len(token) <= 100:
            raise Invalid(FieldError("token", "must be the token from the link"))
        errors: list[FieldError] = []
        location, flags = parse_location(raw_location, self.ctx.intake.area, errors)
        if accuracy_m is not None and (isinstance(accuracy_m, bool) or not isinstance(accuracy_m, int | float)
                                       or not 0 <= accuracy_m < 1e6):
            errors.append(FieldError("accuracy_m", "must be a number of metres"))
        if location is None and not errors:
            errors.append(FieldError("location", "is required"))
        if errors:
            raise Invalid(errors)
        async with self.ctx.store.unit_of_work("caller:share-link") as uow:
            incident_id = await store.use_share_link(uow.conn, share_token_hash(token), self.ctx.clock.now())
            if incident_id is None:
                raise NotFound("this link is unknown, already used or expired")
            await uow.append(CallerLocationShared(
                at=self.ctx.clock.now(), incident_id=incident_id, location=location,
                accuracy_m=float(accuracy_m) if accuracy_m is not None else None,
                outside_service_area=bool(flags)))
            return await uow.get("incidents", incident_id)

    # -- SMS ---------------------------------------------------------------------------------------------------
    async def receive_sms(self, params: dict[str, str]) -> None:
        """Take a text to 1669. Twilio does not retry a text the server failed to take, so one the database cannot
        store now is kept in memory and stored in the background once it can (once per MessageSid)."""
        try:
            await self.inbound_sms(params)
        except Exception as exc:
            if not _storage_fault(exc):
                raise
            self._store_later(lambda: self.inbound_sms(params), f"text {params.get('MessageSid')}", params)

    async def inbound_sms(self, params: dict[str, str]) -> tuple[Incident, bool, bool]:
        """A text to 1669 continues the sender's open incident, or opens one. Returns (incident, opened, duplicate).

        One transaction under the store's append lock: Twilio's retries of one MessageSid add the text once, and
        two first texts from one number arriving together open one thread, not two.
        """
        sid = _required(params, "MessageSid")
        phone = params.get("From") or None
        text = (params.get("Body") or "").replace("\x00", "")[:SMS_MAX]
        async with self.ctx.store.unit_of_work(f"twilio:{sid}") as uow:
            first = await uow.claim_idempotency("twilio-sms", sid)
            if first is not None:
                return await uow.get("incidents", first["incident_id"]), False, True
            report = {"channel": Channel.SMS.value, "caller": {"phone": phone} if phone else None,
                      "chief_complaint": text[:2000] or None}
            incident, opened = await caller_thread(self.ctx, uow, {"phone": phone} if phone else None, report,
                                                   Channel.SMS)
            await uow.append(SmsReceived(at=self.ctx.clock.now(), incident_id=incident.id, message_sid=sid,
                                         phone=phone, body=text, opened_thread=opened))
            await uow.remember("twilio-sms", sid, {"incident_id": incident.id})
        return incident, opened, False

    async def reply(self, incident_id: int, text: Any, *, actor: str) -> dict[str, Any]:
        """A dispatcher's text to the caller of `incident_id` (the number that texted, else the one that called)."""
        if not isinstance(text, str) or not text.strip():
            raise Invalid(FieldError("body", ErrorCode.MUST_BE_NON_EMPTY_TEXT))
        if len(text) > SMS_MAX or "\x00" in text:
            raise Invalid(FieldError("body", ErrorCode.SMS_TEXT, max=SMS_MAX))
        incident = await get_or_not_found(self.ctx.store, "incidents", incident_id)
        phones = [c.phone for c in incident.callers if c.phone and c.channel == "sms"] or \
                 [c.phone for c in incident.callers if c.phone]
        if not phones:
            raise Conflict(ErrorCode.NO_NUMBER_TO_TEXT, incident_id=incident_id)
        sid = await self.notifier.send_sms(phones[-1], text, incident_id=incident_id, purpose="dispatcher_reply")
        async with self.ctx.store.unit_of_work(actor) as uow:
            await uow.append(SmsSent(at=self.ctx.clock.now(), incident_id=incident_id, message_sid=sid,
                                     phone=phones[-1], body=text))
        return {"incident_id": incident_id, "message_sid": sid, "seq": uow.last_seq, "status": "queued"}

    async def thread(self, incident_id: int) -> dict[str, Any]:
        await get_or_not_found(self.ctx.store, "incidents", incident_id)
        statuses = await store.messages_for(self.ctx.pool, incident_id)
        messages = []
        for row in await store.thread_events(self.ctx.pool, incident_id):
            p, sent = row["payload"], row["type"] == "SmsSent"
            line = row["type"] == "LineMessageReceived"  # a LINE message without text shows as its kind
            messages.append({"seq": row["seq"], "direction": "out" if sent else "in", "channel": "line" if line else "sms",
                             "body": p.get("body") or f"[{p.get('kind')}]", "phone": p.get("phone"),
                             "message_sid": p["webhook_event_id"] if line else p["message_sid"],
                             "at": row["occurred_at"], "actor": row["actor"],
                             "status": statuses.get(p["message_sid"]) if sent else "received"})
        return {"incident_id": incident_id, "messages": messages}

    def _store_later(self, store_it, what: str, params: dict[str, str]) -> None:
        log.error("%s could not be stored now; retrying in the background", what, exc_info=True)

        async def until_stored() -> None:
            waited, attempt = 0.0, 0
            delays, give_up_s = self.ctx.config.twilio_store_retry_s, self.ctx.config.twilio_store_retry_for_s
            try:
                while True:
                    wait = delays[min(attempt, len(delays) - 1)]
                    await asyncio.sleep(wait)
                    waited, attempt = waited + wait, attempt + 1
                    try:
                        await store_it()
                        log.warning("%s stored after %.0f s of retries", what, waited)
                        return
                    except Exception as exc:
                        if not _storage_fault(exc) or waited >= give_up_s:
                            log.error("%s was not stored; its Twilio record: %r", what, _traceable(params),
                                      exc_info=True)
                            return
            except asyncio.CancelledError:  # shutting down: say what would otherwise vanish
                log.error("%s was not stored before shutdown; its Twilio record: %r", what, _traceable(params))
                raise

        self.after.run(until_stored(), f"storing {what}")

    # -- status callbacks --------------------------------------------------------------------------------------
    async def status_callback(self, params: dict[str, str]) -> bool:
        """Advance an outbound message's status (never backwards). A failure alerts the dispatcher once; a delivery
        is recorded once; both name the escalation ladder step the message was, if it was one.

        Returns whether the status moved.
        """
        kind = "voice" if "CallStatus" in params else "sms"
        sid = params.get("CallSid") if kind == "voice" else (params.get("MessageSid") or params.get("SmsSid"))
        status = (params.get("CallStatus") if kind == "voice" else
                  (params.get("MessageStatus") or params.get("SmsStatus")) or "").lower()
        if not sid:
            raise Invalid(FieldError("MessageSid", "is required"))
        if kind == "voice" and params.get("Direction", "").startswith("inbound"):
            await self.calls.call_status(sid, status)  # a 1669 call in or out of the queue, not a message we sent
            return False
        rank = status_rank(kind, status)
        if rank is None:
            log.info("unknown twilio status ignored", extra={"sid": sid, "status": status})
            return False
        row = await store.record_status(self.ctx.pool, sid, kind, status, rank,
                                        error_code=params.get("ErrorCode") or None)
        if row is not None and row["status"] in FAILED_STATUSES:
            await self.record_outcome(row, failed=True)
        elif row is not None and row["status"] in DELIVERED_STATUSES[kind]:
            await self.record_outcome(row, failed=False)
        return row is not None

    async def record_outcome(self, row, *, failed: bool) -> None:
        """One OutboundMessageFailed or OutboundMessageDelivered per message (callbacks repeat)."""
        scope = "twilio-failed" if failed else "twilio-delivered"
        assignment_id, step = await self.ladder_step(row["incident_id"], row["sid"])
        async with self.ctx.store.unit_of_work("system:twilio") as uow:
            if await uow.claim_idempotency(scope, row["sid"]) is not None:
                return
            common = dict(at=self.ctx.clock.now(), message_sid=row["sid"], kind=row["kind"], status=row["status"],
                          phone=row["to_phone"], purpose=row["purpose"], incident_id=row["incident_id"],
                          assignment_id=assignment_id, step=step)
            await uow.append(OutboundMessageFailed(**common, error_code=row["error_code"]) if failed
                             else OutboundMessageDelivered(**common))
            await uow.remember(scope, row["sid"], {"status": row["status"]})

    async def ladder_step(self, incident_id: int | None, sid: str) -> tuple[int | None, str | None]:
        """The assignment and ladder step (sms | voice) that sent message `sid`, found among the incident's
        assignments by the SID their step results hold; (None, None) for any other message."""
        incident = await self.ctx.store.get("incidents", incident_id) if incident_id is not None else None
        for assignment_id in (incident.assignment_ids if incident else []):
            assignment = await self.ctx.store.get("assignments", assignment_id)
            for step, result in (assignment.step_results if assignment else {}).items():
                if result.get("message_sid") == sid:
                    return assignment_id, step
        return None, None


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value or len(value) > 64:
        raise Invalid(FieldError(name, "is required (a Twilio SID)"))
    return value


# What a log line may keep of a call or text that could not be stored: enough to find it in Twilio's own records,
# never the caller's number, place or words (PDPA: the error log is read by operators, not dispatchers).
TRACEABLE_KEYS = ("CallSid", "MessageSid", "AccountSid", "CallStatus", "Direction", "NumMedia")


def _traceable(params: dict[str, str]) -> dict[str, str]:
    return {key: params[key] for key in TRACEABLE_KEYS if key in params}
