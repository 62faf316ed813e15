"""Agencies, mutual aid between them, and crew shifts (issue #19). Thin: parse, authorize, one service call.

Who may reach what by agency is declared per handler (`agency_scope`, api/base.py); the rule itself is
dispatch/access.py.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from api.base import BaseHandler
from api.openapi import PATHS, _op, _path_param
from dispatch.access import STAFF_ROLES, may_read_unit, unit_view
from dispatch.agencies import AGENCY_ID_PATTERN, AGENCY_KINDS
from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError, Invalid
from dispatch.mutual_aid import REQUEST_ID_PATTERN
from dispatch.shifts import MAX_CREW

SHIFT_ROLES = (*STAFF_ROLES, "crew")


def _object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise Invalid(FieldError("body", ErrorCode.MUST_BE_OBJECT))
    return body


def _text_field(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not 1 <= len(value) <= 200:
        raise Invalid(FieldError(name, ErrorCode.TEXT_LENGTH, min=1, max=200))
    return value


class AgenciesHandler(BaseHandler):
    agency_scope = {"GET": "open"}  # names are public; registering is the centre's

    async def get(self) -> None:
        """GET the agencies (`retired=true` includes retired ones), any signed-in user."""
        self.require()
        agencies = await self.ctx.agencies.list(include_retired=self.bool_argument("retired", False))
        self.send_json({"agencies": agencies})

    async def post(self) -> None:
        """POST a new agency (the centre's admins): id (slug), name_th, name_en, kind, phone; 201, 409 if it
        exists, 422 naming bad fields."""
        identity = self.require("admin")
        agency = await self.ctx.agencies.register(_object(self.json_body()), actor=identity.actor,
                                                  role=identity.role)
        self.set_header("Location", f"/api/v1/agencies/{agency.id}")
        self.send_json(agency, 201)


class AgencyHandler(BaseHandler):
    async def patch(self, agency_id: str) -> None:
        """PATCH an agency's names, kind or phone (the centre's admins); 404 unknown, 409 retired."""
        identity = self.require("admin")
        self.send_json(await self.ctx.agencies.update(agency_id, _object(self.json_body()), actor=identity.actor,
                                                      role=identity.role))


class AgencyRetireHandler(BaseHandler):
    async def post(self, agency_id: str) -> None:
        """POST: retire an agency (the centre's admins); its history stays. 404 unknown, 409 already retired."""
        identity = self.require("admin")
        body = _object(self.json_body()) if self.raw_body().strip() else {}
        self.send_json(await self.ctx.agencies.retire(agency_id, body.get("reason"), actor=identity.actor,
                                                      role=identity.role))


class MutualAidHandler(BaseHandler):
    agency_scope = "open"  # each request is checked against the caller's agency below and in the service

    async def get(self) -> None:
        """GET mutual-aid requests asked of or made by the caller's agency (the centre: all); `open=false` for
        answered ones too."""
        identity = self.require(*STAFF_ROLES)
        requests = await self.ctx.mutual_aid.visible_to(identity.agency, open_only=self.bool_argument("open", True))
        await self.audit("list", "mutual-aid", {"count": len(requests)})  # incidents, units and the askers' notes
        self.send_json({"requests": requests})

    async def post(self) -> None:
        """POST a request for another agency's unit: {incident_id, unit_id, note?}; 201. 404 for an incident the
        caller may not see, 409 for a busy unit or a pending request, 422 for one's own unit."""
        identity = self.require(*STAFF_ROLES)
        body = _object(self.json_body())
        incident_id = body.get("incident_id")
        if isinstance(incident_id, bool) or not isinstance(incident_id, int) or not 1 <= incident_id < 2**63:
            raise Invalid(FieldError("incident_id", ErrorCode.MUST_BE_INCIDENT_ID))
        await self.incident_if_readable(identity, incident_id)
        request = await self.ctx.mutual_aid.request(
            incident_id, _text_field(body, "unit_id"), requesting_agency=identity.agency, actor=identity.actor,
            role=identity.role, note=body.get("note"))
        self.send_json(request, 201)


class MutualAidAnswerHandler(BaseHandler):
    agency_scope = "open"  # only the asked agency (or the centre) may answer: checked by the service (404)

    async def post(self, request_id: str, answer: str) -> None:
        """POST accept (the unit is assigned: {request, assignment}) or decline ({reason}; the centre is
        alerted). 404 for a request not asked of the caller's agency, 409 when answered or expired."""
        identity = self.require(*STAFF_ROLES)
        service = self.ctx.mutual_aid
        if answer == "accept":
            self.send_json(await service.accept(request_id, agency=identity.agency, actor=identity.actor,
                                                role=identity.role))
            return
        body = _object(self.json_body())
        self.send_json(await service.decline(request_id, body.get("reason"), agency=identity.agency,
                                             actor=identity.actor, role=identity.role))


def _ends_at(value) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:
        when = None
    if when is None:
        raise Invalid(FieldError("ends_at", ErrorCode.MUST_BE_TIME))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def staffing(identity, unit) -> dict:
    """One unit's staffing line for the console: status, who is on board, out-of-service reason and return."""
    view = unit_view(identity, msgspec.to_builtins(unit))
    keys = ("id", "agency_id", "capability", "status", "shift", "off_shift_since", "out_of_service_reason",
            "back_at", "crew")
    return {**{k: view[k] for k in keys if k in view}, "staffed": unit.staffed}


class ShiftsHandler(BaseHandler):
    agency_scope = {"GET": "open", "POST": "unit"}  # the list is filtered; a log-on is judged on the unit's agency

    async def get(self) -> None:
        """GET the staffing of the units the caller may see (the centre all, an agency its own, a crew its
        unit)."""
        identity = self.require(*SHIFT_ROLES)
        units = [u for u in await self.ctx.store.list("units", limit=100_000) if may_read_unit(identity, u)]
        await self.audit("list", "shifts", {"count": len(units)})  # crew names and qualifications
        self.send_json({"units": [staffing(identity, u) for u in units]})

    async def post(self) -> None:
        """POST a log-on: {unit_id, crew: [{name, qualification, user_id?}], ends_at?}; 201 with the unit. 409
        when a crew is already on shift, 403 for another agency's unit (or another unit's crew)."""
        identity = self.require(*SHIFT_ROLES)
        body = _object(self.json_body())
        unit = await self.ctx.shifts.log_on(_text_field(body, "unit_id"), body.get("crew"),
                                            _ends_at(body.get("ends_at")), actor=identity.actor, role=identity.role,
                                            own_unit=identity.unit_id, dispatcher=identity.as_dispatcher)
        self.send_json(staffing(identity, unit), 201)


class ShiftHandler(BaseHandler):
    agency_scope = "unit"

    async def delete(self, unit_id: str) -> None:
        """DELETE: the unit's crew logs off (`reason` query argument optional); 409 when none is on shift or the
        unit is on an incident."""
        identity = self.require(*SHIFT_ROLES)
        reason = self.get_query_argument("reason", None)
        unit = await self.ctx.shifts.log_off(unit_id, reason, actor=identity.actor, role=identity.role,
                                             own_unit=identity.unit_id, dispatcher=identity.as_dispatcher)
        self.send_json(staffing(identity, unit))


AGENCY_ID = _path_param("agency_id", {"type": "string", "pattern": AGENCY_ID_PATTERN})
UNIT_ID = _path_param("unit_id", {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,40}$"})
REQUEST_ID = _path_param("request_id", {"type": "string", "pattern": REQUEST_ID_PATTERN})
TEXT = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"}
AGENCY_FIELDS = {"name_th": TEXT, "name_en": TEXT, "kind": {"type": "string", "enum": list(AGENCY_KINDS)},
                 "phone": {"type": ["string", "null"], "maxLength": 32}}
CREW_MEMBER = {"type": "object", "required": ["name", "qualification"], "properties": {
    "name": {**TEXT, "maxLength": 100}, "qualification": {**TEXT, "maxLength": 100},
    "user_id": {"type": ["string", "null"], "maxLength": 100}}}
OPEN_ONLY = {"name": "open", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]}}
PATHS.update({
    "/api/v1/agencies": {
        "get": _op("Agencies (ambulance services under the 1669 centre); `retired=true` includes retired ones",
                   params=[{"name": "retired", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]}}],
                   errors=(401, 422, 429)),
        "post": _op("Register an agency (the 1669 centre's admins); the id is a short slug, e.g. cb-pao", ok="201",
                    body={"type": "object", "required": ["id", "name_th", "name_en", "kind"], "properties": {
                        "id": {"type": "string", "pattern": AGENCY_ID_PATTERN}, **AGENCY_FIELDS}},
                    errors=(400, 401, 403, 409, 413, 422, 429))},
    "/api/v1/agencies/{agency_id}": {"patch": _op(
        "Change an agency's names, kind or phone (the centre's admins); 409 for a retired agency", params=[AGENCY_ID],
        body={"type": "object", "properties": AGENCY_FIELDS}, errors=(400, 401, 403, 404, 409, 413, 422, 429))},
    "/api/v1/agencies/{agency_id}/retire": {"post": _op(
        "Retire an agency (the centre's admins); its history stays. The 1669 centre cannot be retired",
        params=[AGENCY_ID], body={"type": "object", "properties": {"reason": {"type": ["string", "null"],
                                                                             "maxLength": 500}}},
        errors=(400, 401, 403, 404, 409, 413, 422, 429), body_required=False)},
    "/api/v1/mutual-aid": {
        "get": _op("Mutual-aid requests asked of or made by the caller's agency (the centre: all); open ones unless "
                   "open=false", params=[OPEN_ONLY], errors=(401, 403, 422, 429)),
        "post": _op("Ask another agency for a free, staffed unit for an incident the caller sees; shares the incident "
                    "with that agency until it answers (answer timeout: mutual_aid_answer_timeout_s, then the 1669 "
                    "centre is alerted)", ok="201",
                    body={"type": "object", "required": ["incident_id", "unit_id"], "properties": {
                        "incident_id": {"type": "integer", "minimum": 1}, "unit_id": TEXT,
                        "note": {"type": ["string", "null"], "maxLength": 500}}},
                    errors=(400, 401, 403, 404, 409, 413, 422, 429, 503))},
    "/api/v1/mutual-aid/{request_id}/accept": {"post": _op(
        "The asked agency lends the unit: it is assigned to the incident at once ({request, assignment})",
        params=[REQUEST_ID], errors=(401, 403, 404, 409, 422, 429, 503))},
    "/api/v1/mutual-aid/{request_id}/decline": {"post": _op(
        "The asked agency refuses, with a reason; the 1669 centre is alerted (MutualAidEscalated)",
        params=[REQUEST_ID], body={"type": "object", "required": ["reason"], "properties": {
            "reason": {**TEXT, "maxLength": 500}}}, errors=(400, 401, 403, 404, 409, 413, 422, 429))},
    "/api/v1/shifts": {
        "get": _op("Staffing of the units the caller sees: crew on shift with qualifications, out-of-service reason "
                   "and expected return", errors=(401, 403, 429)),
        "post": _op("A crew logs on to a unit; a unit with no crew on shift is not recommended", ok="201",
                    body={"type": "object", "required": ["unit_id", "crew"], "properties": {
                        "unit_id": TEXT, "crew": {"type": "array", "minItems": 1, "maxItems": MAX_CREW,
                                                  "items": CREW_MEMBER},
                        "ends_at": {"type": ["string", "null"], "format": "date-time"}}},
                    errors=(400, 401, 403, 404, 409, 413, 422, 429))},
    "/api/v1/shifts/{unit_id}": {"delete": _op(
        "The unit's crew logs off (not while the unit is on an incident)", params=[
            UNIT_ID, {"name": "reason", "in": "query", "schema": {"type": "string", "maxLength": 500}}],
        errors=(401, 403, 404, 409, 422, 429))},
})
