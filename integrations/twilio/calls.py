"""The 1669 call queue (issue #18): calls waiting in Twilio's <Enqueue>, answered by one dispatcher, abandoned, and
recorded.

Answering is a conditional UPDATE of the call's row (one winner; the other dispatcher gets 409), then Twilio's REST
API redirects the live call to new TwiML that <Dial>s the dispatcher's desk line (recorded when configured). If
Twilio refuses, the call goes back to the queue and the dispatcher gets 503. The facts are events on the incident's
stream (CallAnswered, CallAbandoned, CallRecorded) so they appear in replay and the KPI report.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from dispatch.calls import (
    CallAbandoned, CallAnswered, CallAnswerOverdue, CallBackPlaced, CallBackUnanswered, CallRecorded, parse_desk_line,
    seconds_between,
)
from dispatch.error_codes import ErrorCode
from dispatch.kpi import CALL_EVENT_TYPES, CALL_INTERVALS, call_rows
from dispatch.errors import Conflict, FieldError, Invalid, NotFound, Unavailable
from integrations.caller_store import incidents_with_caller
from integrations.twilio import store
from integrations.twilio.spoken import CALL_BACK_UNANSWERED, say

log = logging.getLogger("ems.twilio.calls")

QUEUE_PATH = "/twilio/queue"  # <Enqueue action>: Twilio posts here when the caller leaves the queue
RECORDINGS_PATH = "/recordings"  # where the browser plays a recording (a short-lived link, see recording_link)
RECORDING_PATH = "/twilio/recording"  # <Dial recordingStatusCallback>
CALL_BACK_PATH = "/twilio/call-back"  # a call-back's <Dial action>: whether the caller picked up
UNANSWERED_DIALS = frozenset({"busy", "no-answer", "failed", "canceled"})  # DialCallStatus: the caller never spoke
ABANDONED_RESULTS = frozenset({"hangup", "error", "system-error", "queue-full"})  # caller gone without an answer
ENDED_STATUSES = frozenset({"completed", "canceled", "busy", "failed", "no-answer"})


class CallQueue:
    """Queue, answer, abandon and record 1669 calls for one server process."""

    def __init__(self, ctx: Any, notifier: Any):
        self.ctx = ctx
        self.notifier = notifier

    def url(self, path: str) -> str:
        return self.ctx.config.base_url.rstrip("/") + path

    async def queued(self, call_sid: str, incident_id: int, phone: str | None) -> None:
        """The call was told to wait: it now shows in every dispatcher's call queue (idempotent per CallSid)."""
        await store.add_call(self.ctx.pool, call_sid, incident_id, phone, self.ctx.clock.now())

    async def listing(self) -> dict[str, Any]:
        """Waiting, active and abandoned calls with caller number, wait, history and any shared location."""
        now = self.ctx.clock.now()
        calls = []
        for row in await store.calls_listed(self.ctx.pool):
            incident = await self.ctx.store.get("incidents", row["incident_id"])
            earlier = await incidents_with_caller(self.ctx.pool, {"phone": row["phone"]},
                                                  before_id=row["incident_id"]) if row["phone"] else []
            calls.append({**_call_json(row, now), "earlier_incidents": [i.id for i in earlier][:20],
                          "location": incident.location if incident else None,
                          "location_flags": list(incident.location_flags) if incident else [],
                          "times": await self.call_times(row) if row["state"] == "active" else None})
        return {"calls": calls, "answer_alert_s": self.ctx.config.call_answer_alert_s, "now": now}

    async def call_times(self, row: Any) -> dict[str, Any] | None:
        """The answered call's times so far (answer, and from the answer to location, code and dispatch, in s)."""
        events = [{"type": e.type, "payload": e.payload, "occurred_at": e.occurred_at}
                  for e in await self.ctx.store.incident_events(row["incident_id"]) if e.type in CALL_EVENT_TYPES]
        mine = [r for r in call_rows(events) if r["call_sid"] == row["call_sid"]]
        return {name: mine[0][name] for name in CALL_INTERVALS} if mine else None

    async def answer(self, call_sid: str, *, user_id: str, actor: str) -> dict[str, Any]:
        """Connect waiting call `call_sid` to the dispatcher's desk line. Returns the call and its incident id.

        Raises Invalid (desk_line) when the dispatcher has none, NotFound for an unknown call, Conflict (409) when
        someone else answered it first or the caller hung up, Unavailable (503) when Twilio refused the update.
        """
        line = await self._desk_line_to_ring(user_id)
        now = self.ctx.clock.now()
        row = await store.claim_call(self.ctx.pool, call_sid, "answer", actor, now)
        if row is None:
            existing = await store.call(self.ctx.pool, call_sid)
            if existing is None:
                raise NotFound(ErrorCode.NO_CALL)
            if existing["answered_by"]:
                raise Conflict(ErrorCode.CALL_TAKEN, state=existing["state"], answered_by=existing["answered_by"])
            raise Conflict(ErrorCode.CALL_IS, state=existing["state"])
        try:
            await self.notifier.redirect_call(call_sid, self.dial_twiml(line))
        except Exception:
            await store.release_call(self.ctx.pool, call_sid, "answer", actor)
            raise
        wait_s = seconds_between(row["queued_at"], now) or 0.0
        async with self.ctx.store.unit_of_work(actor) as uow:
            settled = await store.settle_call_backs(uow.conn, row["phone"], now) if row["phone"] else []
            await uow.append(CallAnswered(at=now, incident_id=row["incident_id"], call_sid=call_sid,
                                          dispatcher=actor, wait_s=wait_s, settled_call_sids=settled))
        return {**_call_json(row, now), "incident_id": row["incident_id"]}

    async def _desk_line_to_ring(self, user_id: str) -> str:
        """The dispatcher's desk line; Invalid (desk_line) when they have none, Unavailable without Twilio."""
        line = await self.ctx.identities.desk_line(user_id)
        if not line:
            raise Invalid(FieldError("desk_line", ErrorCode.DESK_LINE_UNSET))
        if not hasattr(self.notifier, "redirect_call"):
            raise Unavailable(ErrorCode.TWILIO_NOT_CONFIGURED)
        return line

    async def call_back(self, call_sid: str, *, user_id: str, actor: str) -> dict[str, Any]:
        """Call back the caller of abandoned call `call_sid`: Twilio rings the dispatcher's desk line, then dials the
        caller from the 1669 number (recorded like an answered call, the recording linked to this call).

        Raises Invalid (desk_line) without a desk line, NotFound for an unknown call, Conflict (409) when the call is
        not on the call-back list (another dispatcher called back first), Unavailable (503) when Twilio refused (the
        call stays on the list).
        """
        line = await self._desk_line_to_ring(user_id)
        existing = await store.call(self.ctx.pool, call_sid)
        if existing is None:
            raise NotFound(ErrorCode.NO_CALL)
        if not existing["phone"]:
            raise Conflict(ErrorCode.CALL_NO_NUMBER)
        now = self.ctx.clock.now()
        row = await store.claim_call(self.ctx.pool, call_sid, "call_back", actor, now)
        if row is None:
            raise Conflict(ErrorCode.CALL_NOT_WAITING, state=existing["state"])
        twiml = self.dial_twiml(row["phone"], recording_for=call_sid, caller_id=self.ctx.config.twilio_from_number,
                                action=self.url(f"{CALL_BACK_PATH}?call={call_sid}"))
        try:
            callback_sid = await self.notifier.connect_call(line, twiml)
        except Exception:
            await store.release_call(self.ctx.pool, call_sid, "call_back", actor)
            raise
        async with self.ctx.store.unit_of_work(actor) as uow:
            await store.set_callback_sid(uow.conn, call_sid, callback_sid)
            await uow.append(CallBackPlaced(at=now, incident_id=row["incident_id"], call_sid=call_sid,
                                            dispatcher=actor, phone=row["phone"], callback_sid=callback_sid))
        return {**_call_json(row, now), "callback_sid": callback_sid}

    def dial_twiml(self, line: str, *, recording_for: str | None = None, caller_id: str | None = None,
                   action: str | None = None) -> str:
        """TwiML that connects the call to `line` (number or SIP), recorded when the setting says so.

        `recording_for`: the queued call the recording belongs to when it is not the call running this TwiML (a
        call-back), named in the recording callback's URL. `caller_id`: the number the far end sees. `action`: where
        Twilio reports how the dial ended.
        """
        response = VoiceResponse()
        options: dict[str, Any] = {"caller_id": caller_id} if caller_id else {}
        if action:
            options.update({"action": action, "method": "POST"})
        if self.ctx.config.call_recording:
            callback = self.url(RECORDING_PATH) + (f"?call={recording_for}" if recording_for else "")
            options.update({"record": "record-from-answer-dual", "recording_status_callback": callback,
                            "recording_status_callback_event": "completed"})
        dial = response.dial(**options)
        if line.startswith("sip"):
            dial.sip(line)
        else:
            dial.number(line)
        return str(response)

    async def call_back_ended(self, call_sid: str, dial_status: str) -> str:
        """A call-back's <Dial action>: a caller who did not pick up (busy, no answer) is listed for call-back again
        (one CallBackUnanswered per call-back). Returns TwiML telling the dispatcher on the desk line."""
        response = VoiceResponse()
        if dial_status not in UNANSWERED_DIALS:
            return str(response)
        async with self.ctx.store.unit_of_work(f"twilio:{call_sid}") as uow:
            row = await store.reopen_call_back(uow.conn, call_sid)
            if row is not None:
                await uow.append(CallBackUnanswered(at=self.ctx.clock.now(), incident_id=row["incident_id"],
                                                    call_sid=call_sid, dial_status=dial_status))
        say(response, CALL_BACK_UNANSWERED)
        return str(response)

    async def left_queue(self, params: dict[str, str]) -> bool:
        """Twilio's <Enqueue action> callback: a caller who hung up while waiting is abandoned (listed for call-back).

        Returns whether the call became abandoned (False for a duplicate, or when it left by being answered).
        """
        if (params.get("QueueResult") or "").lower() not in ABANDONED_RESULTS:
            return False
        # "active" too: the caller hung up while a dispatcher's answer was still being connected (Twilio reports a
        # connected call as bridged or redirected, never as hangup), so the answer failed and the call is gone
        return await self._abandon(params.get("CallSid") or "", ("waiting", "active"))

    async def call_status(self, call_sid: str, status: str) -> None:
        """A voice status callback about an inbound call: waiting and gone → abandoned; active and done → ended."""
        if status not in ENDED_STATUSES:
            return
        if not await self._abandon(call_sid, ("waiting",)):
            await store.end_call(self.ctx.pool, call_sid, "ended", self.ctx.clock.now(), ("active",))

    async def alert_overdue(self) -> int:
        """One CallAnswerOverdue per call waiting longer than `call_answer_alert_s` (every console shows it as an
        alert; it stays in the incident's replay). Run periodically; returns how many calls were newly alerted."""
        now, limit_s = self.ctx.clock.now(), self.ctx.config.call_answer_alert_s
        alerted = 0
        for row in await store.overdue_calls(self.ctx.pool, now - timedelta(seconds=limit_s)):
            async with self.ctx.store.unit_of_work("system:call-queue") as uow:
                if not await store.mark_overdue_alerted(uow.conn, row["call_sid"], now):
                    continue  # several server processes run this check: one alert per call
                await uow.append(CallAnswerOverdue(at=now, incident_id=row["incident_id"], call_sid=row["call_sid"],
                                                   phone=row["phone"], limit_s=limit_s,
                                                   waited_s=seconds_between(row["queued_at"], now) or 0.0))
                alerted += 1
        return alerted

    async def _abandon(self, call_sid: str, from_states: tuple[str, ...]) -> bool:
        now = self.ctx.clock.now()
        async with self.ctx.store.unit_of_work(f"twilio:{call_sid}") as uow:
            row = await store.end_call(uow.conn, call_sid, "abandoned", now, from_states)
            if row is None:
                return False
            await uow.append(CallAbandoned(at=now, incident_id=row["incident_id"], call_sid=call_sid,
                                           phone=row["phone"], wait_s=seconds_between(row["queued_at"], now) or 0.0))
        return True

    async def recording_done(self, params: dict[str, str], for_call: str | None = None) -> bool:
        """Twilio's recording status callback: link a completed recording to the call's incident (once).

        `for_call`: the queued call named in the callback URL (a call-back's recording belongs to the abandoned call,
        not to the Twilio call that rang the dispatcher)."""
        if (params.get("RecordingStatus") or "").lower() != "completed":
            return False
        call_sid, recording_sid = for_call or params.get("CallSid") or "", params.get("RecordingSid") or ""
        url = params.get("RecordingUrl") or ""
        if not recording_sid or not url.startswith("https://"):
            raise Invalid(FieldError("RecordingSid",
                                     "a completed recording needs RecordingSid and an https RecordingUrl"))
        duration = params.get("RecordingDuration")
        duration_s = int(duration) if duration and duration.isdigit() else None
        async with self.ctx.store.unit_of_work(f"twilio:{recording_sid}") as uow:
            row = await store.set_recording(uow.conn, call_sid, recording_sid, url, duration_s)
            if row is None:
                if await store.call(self.ctx.pool, call_sid) is None:
                    raise NotFound(ErrorCode.NO_CALL)
                return False
            await uow.append(CallRecorded(at=self.ctx.clock.now(), incident_id=row["incident_id"], call_sid=call_sid,
                                          recording_sid=recording_sid, recording_url=url, duration_s=duration_s))
        return True

    async def recording_link(self, call_sid: str, *, actor: str) -> dict[str, Any]:
        """A short-lived URL that plays the call's recording (for replay). NotFound when the call has no recording
        or the recording is past its retention (`call_recording_retention_days` from the answer)."""
        row = await store.call(self.ctx.pool, call_sid)
        if row is None or row["recording_sid"] is None:
            raise NotFound(ErrorCode.NO_RECORDING)
        now = self.ctx.clock.now()
        retention_days = self.ctx.config.call_recording_retention_days
        if (row["answered_at"] or row["queued_at"]) + timedelta(days=retention_days) < now:
            raise NotFound(ErrorCode.RECORDING_EXPIRED, days=retention_days)
        token = secrets.token_urlsafe(24)
        expires = now + timedelta(seconds=self.ctx.config.recording_link_ttl_s)
        await store.add_recording_link(self.ctx.pool, _sha256(token), call_sid, actor, expires)
        return {"call_sid": call_sid, "incident_id": row["incident_id"], "play_url": f"{RECORDINGS_PATH}/{token}",
                "expires_at": expires, "duration_s": row["recording_duration_s"]}

    async def recording_media(self, token: str) -> tuple[bytes, Any]:
        """The MP3 behind a recording link and the link's row; NotFound for an unknown or expired link."""
        row = await store.recording_for_link(self.ctx.pool, _sha256(token), self.ctx.clock.now())
        if row is None:
            raise NotFound(ErrorCode.RECORDING_LINK_EXPIRED)
        if not hasattr(self.notifier, "fetch_recording"):
            raise Unavailable(ErrorCode.TWILIO_NOT_CONFIGURED)
        return await self.notifier.fetch_recording(row["recording_sid"]), row

    async def set_desk_line(self, user_id: str, value: Any) -> dict[str, Any]:
        line = parse_desk_line(value)
        await self.ctx.identities.set_desk_line(user_id, line)
        return {"user_id": user_id, "desk_line": line}

    async def desk_line(self, user_id: str) -> dict[str, Any]:
        return {"user_id": user_id, "desk_line": await self.ctx.identities.desk_line(user_id)}


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _call_json(row: Any, now: Any) -> dict[str, Any]:
    call = dict(row)
    end = row["answered_at"] or row["ended_at"] or now
    call["wait_s"] = seconds_between(row["queued_at"], end)
    return call
