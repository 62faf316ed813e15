"""The call itself (issue #18): the 1669 call queue, answering a call, the dispatcher's desk line, the guided CBD
interview and the pre-arrival instructions. Thin: parse, authorize, call one service method, serialize."""
from __future__ import annotations

from api.base import BaseHandler
from api.dispatch import _object
from dispatch.errors import FieldError, Invalid, Unavailable
from dispatch.interview import instructions_for

DISPATCH_ROLES = ("dispatcher", "admin")


class CallsHandler(BaseHandler):
    """GET /api/v1/calls: waiting, active and abandoned calls (caller numbers: dispatchers only)."""

    async def get(self) -> None:
        self.require(*DISPATCH_ROLES)
        listing = await self.calls().listing()
        await self.audit("read", "calls", {"count": len(listing["calls"])})
        self.send_json(listing)

    def calls(self):
        channel = self.ctx.services.get("twilio")
        if channel is None:
            raise Unavailable("Twilio is not configured on this server")
        return channel.calls


class AnswerCallHandler(CallsHandler):
    """POST /api/v1/calls/{call_sid}/answer: connect the call to the caller's desk line; 409 if someone was first."""

    async def post(self, call_sid: str) -> None:
        identity = self.require(*DISPATCH_ROLES)
        answered = await self.calls().answer(call_sid, user_id=identity.user_id, actor=identity.actor)
        self.send_json(answered)


class DeskLineHandler(CallsHandler):
    """GET/PUT /api/v1/me/desk-line: where answered calls ring for this dispatcher (E.164 number or sip: address)."""

    async def get(self) -> None:
        identity = self.require(*DISPATCH_ROLES)
        self.send_json(await self.calls().desk_line(identity.user_id))

    async def put(self) -> None:
        identity = self.require(*DISPATCH_ROLES)
        body = _object(self.json_body())
        self.send_json(await self.calls().set_desk_line(identity.user_id, body.get("desk_line")))


class InterviewHandler(BaseHandler):
    """POST /api/v1/incidents/{incident_id}/interview: record the CBD key questions' answers and triage."""

    async def post(self, incident_id: str) -> None:
        identity = self.require(*DISPATCH_ROLES)
        body = _object(self.json_body())
        result = await self.ctx.services["interview"].record(int(incident_id), body, actor=identity.actor,
                                                              role=identity.role)
        self.send_json(result, 200 if body.get("propose_only") is True else 201)


class InstructionsHandler(BaseHandler):
    """GET /api/v1/triage/cards/{card}/instructions[?determinant=n]: key questions and pre-arrival instructions."""

    async def get(self, card: str) -> None:
        self.require()
        raw = self.get_query_argument("determinant", None)
        if raw is not None and not raw.isdigit():
            raise Invalid(FieldError("determinant", "must be a whole number"))
        self.send_json(instructions_for(int(card), int(raw) if raw is not None else None))
