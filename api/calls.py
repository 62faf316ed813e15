"""The call itself (issue #18): the 1669 call queue, answering a call, the dispatcher's desk line, the guided CBD
interview and the pre-arrival instructions. Thin: parse, authorize, call one service method, serialize."""
from __future__ import annotations

from api.base import BaseHandler
from api.dispatch import _object
from api.openapi import INCIDENT_ID, OBJECT, PATHS, _op, _path_param, json_response
from dispatch.calls import CALL_SID_PATTERN
from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError, Invalid
from dispatch.interview import instructions_for

DISPATCH_ROLES = ("dispatcher", "admin")


class _CallQueueHandler(BaseHandler):
    """Base of the call handlers: the call queue of the Twilio channel (each subclass declares only its methods, so
    405 answers list exactly those in Allow)."""

    def calls(self):
        return self.ctx.twilio.calls


class CallsHandler(_CallQueueHandler):
    """GET /api/v1/calls: waiting, active and abandoned calls (caller numbers: dispatchers only)."""

    async def get(self) -> None:
        self.require(*DISPATCH_ROLES)
        listing = await self.calls().listing()
        await self.audit("read", "calls", {"count": len(listing["calls"])})
        self.send_json(listing)


class AnswerCallHandler(_CallQueueHandler):
    """POST /api/v1/calls/{call_sid}/answer: connect the call to the caller's desk line; 409 if someone was first."""

    async def post(self, call_sid: str) -> None:
        identity = self.require(*DISPATCH_ROLES)
        answered = await self.calls().answer(call_sid, user_id=identity.user_id, actor=identity.actor)
        self.send_json(answered)


class CallBackHandler(_CallQueueHandler):
    """POST /api/v1/calls/{call_sid}/callback: ring the dispatcher's desk line, then the caller who hung up."""

    async def post(self, call_sid: str) -> None:
        identity = self.require(*DISPATCH_ROLES)
        self.send_json(await self.calls().call_back(call_sid, user_id=identity.user_id, actor=identity.actor))


class RecordingLinkHandler(_CallQueueHandler):
    """POST /api/v1/calls/{call_sid}/recording: a short-lived link that plays the call's recording (replay)."""

    async def post(self, call_sid: str) -> None:
        identity = self.require(*DISPATCH_ROLES)
        link = await self.calls().recording_link(call_sid, actor=identity.actor)
        await self.audit("read", f"incident:{link['incident_id']}:recording", {"call_sid": call_sid})
        self.send_json(link, 201)


class DeskLineHandler(_CallQueueHandler):
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
        result = await self.ctx.interview.record(int(incident_id), body, actor=identity.actor,
                                                              role=identity.role)
        self.send_json(result, 200 if body.get("propose_only") is True else 201)


class AedsHandler(BaseHandler):
    """GET /api/v1/incidents/{incident_id}/aeds: the public AEDs nearest the patient (telephone-CPR coach)."""

    agency_scope = "incident"

    async def get(self, incident_id: str) -> None:
        self.require(*DISPATCH_ROLES)
        self.send_json(await self.ctx.interview.aeds_near(int(incident_id)))


class InstructionsHandler(BaseHandler):
    """GET /api/v1/triage/cards/{card}/instructions[?determinant=n]: key questions and pre-arrival instructions."""

    agency_scope = "open"

    async def get(self, card: str) -> None:
        self.require()
        raw = self.get_query_argument("determinant", None)
        if raw is not None and not raw.isdigit():
            raise Invalid(FieldError("determinant", ErrorCode.MUST_BE_WHOLE))
        self.send_json(instructions_for(int(card), int(raw) if raw is not None else None))


# ---- OpenAPI ------------------------------------------------------------------------------------------------
CALL_SID = _path_param("call_sid", {"type": "string", "pattern": f"^{CALL_SID_PATTERN}$"})
CARD = _path_param("card", {"type": "integer", "minimum": 1, "maximum": 25})
ANSWERS = {"type": "array", "maxItems": 20, "items": {
    "type": "object", "required": ["question", "answer"],
    "properties": {"question": {"type": "string"}, "answer": {"type": "string", "enum": ["yes", "no", "unknown"]}}}}
PATHS.update({
    "/api/v1/calls": {"get": _op(
        "1669 calls waiting in the Twilio queue, on the line, and abandoned (hung up while waiting; listed for "
        "call-back while their incident is open, until a dispatcher calls back), with caller number, wait (s), "
        "earlier incidents from the number, "
        "any shared location and, for calls on the line, the call times so far", errors=(401, 403, 429, 503))},
    "/api/v1/calls/{call_sid}/answer": {"post": _op(
        "Answer a waiting call: Twilio connects it to the dispatcher's desk line (recorded if configured). 409 when "
        "another dispatcher answered first or the caller hung up; 422 (desk_line) when the dispatcher has none; 503 "
        "when Twilio refused (the call stays in the queue)", params=[CALL_SID],
        errors=(401, 403, 404, 409, 422, 429, 503))},
    "/api/v1/calls/{call_sid}/callback": {"post": _op(
        "Call back an abandoned call: Twilio rings the dispatcher's desk line, then the caller from the 1669 number "
        "(recorded if configured; the recording joins this call). The call leaves the call-back list (it returns if the "
        "caller does not pick up). 409 when it is "
        "not on the list (another dispatcher called back first); 422 (desk_line) without a desk line; 503 when "
        "Twilio refused (the call stays on the list)", params=[CALL_SID], errors=(401, 403, 404, 409, 422, 429, 503))},
    "/api/v1/calls/{call_sid}/recording": {"post": _op(
        "A short-lived link (recording_link_ttl_s) that plays the call's recording; 404 when there is none or it is "
        "past its retention (call_recording_retention_days)", ok="201", params=[CALL_SID],
        errors=(401, 403, 404, 429, 503))},
    "/api/v1/me/desk-line": {
        "get": _op("Where this dispatcher's answered calls ring", errors=(401, 403, 429, 503)),
        "put": _op("Set the desk line: an E.164 number or a sip: address (empty or null clears it)",
                   body={"type": "object", "properties": {"desk_line": {
                       "type": ["string", "null"], "maxLength": 260,
                       "pattern": "^(\\+[1-9][0-9]{7,14}|sips?:[A-Za-z0-9._~+-]{1,64}@[A-Za-z0-9.-]{1,190}(:[0-9]{1,5})?)?$"}}},
                   errors=(400, 401, 403, 413, 422, 429, 503))},
    "/api/v1/incidents/{incident_id}/interview": {"post": _op(
        "Record the CBD card's key questions and answers, propose the determinant from them and triage the incident "
        "with it (or with the dispatcher's `determinant`, which needs `reason` when it differs); red auto-dispatches. "
        "`propose_only: true` only returns the proposal (200), recording nothing", ok="201", params=[INCIDENT_ID],
        body={"type": "object", "required": ["group"], "properties": {
            "group": {"type": "integer", "minimum": 1, "maximum": 25}, "answers": ANSWERS,
            "determinant": {"type": ["integer", "null"], "minimum": 1},
            "reason": {"type": ["string", "null"], "maxLength": 500},
            "propose_only": {"type": "boolean"}}},
        errors=(400, 401, 403, 404, 409, 413, 422, 429, 503))},
    "/api/v1/incidents/{incident_id}/aeds": {"get": _op(
        "The public AED points (EMS_AED_FILE) nearest the incident's location, within EMS_AED_SEARCH_M, nearest "
        "first, each with distance_m; `known: false` when no AED points are loaded, `located: false` while the "
        "incident has no location", params=[INCIDENT_ID], errors=(401, 403, 404, 429, 503))},
    "/api/v1/triage/cards/{card}/instructions": {"get": _op(
        "The card's key questions, each determinant's code and pre-arrival instruction keys, and the instruction "
        "texts in Thai and English (`cpr: true` for telephone-CPR coaching)",
        params=[CARD, {"name": "determinant", "in": "query", "required": False,
                       "schema": {"type": "integer", "minimum": 1}}], errors=(401, 404, 422, 429))},
})
PATHS["/api/v1/incidents/{incident_id}/interview"]["post"]["responses"]["200"] = json_response(
    "The proposal only (propose_only: true): proposed determinant and code, instruction keys, cpr", OBJECT)
