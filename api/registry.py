"""The registry API: stations and posts, units, hospitals and users (list, create, edit, retire) and bulk import
from CSV or GeoJSON with a dry run. Dispatchers and admins read; only admins write (dispatch/policies.py).
Thin: the rules live in dispatch/resources.py."""
from __future__ import annotations

from typing import Any

from api.base import ApiError, BaseHandler
from api.openapi import PATHS, SCHEMAS, _op, _path_param, error_responses, json_response
from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError, Invalid
from dispatch.imports import ParsedFile, parse_csv, parse_geojson
from dispatch.policies import require
from dispatch.resource_fields import HOSPITAL_CAPABILITIES, KINDS, MAX_BEDS, STATION_KINDS
from dispatch.resources import IMPORT_KINDS, MAX_REASON
from http_errors import ErrorAnswer, error_json, text_fault


class RegistryHandler(BaseHandler):
    """Base of the registry handlers: `kind` (stations, units, hospitals, users) comes from the URL table."""

    kind: str = ""

    def initialize(self, kind: str = "", **rest: Any) -> None:
        super().initialize(**rest)
        self.kind = kind


async def create_record(handler: BaseHandler, kind: str) -> None:
    """POST one new record of `kind` (admins); 201 with the record, 409 if the id is taken, 422 per bad field."""
    identity = handler.require()
    created = await handler.ctx.resources.create(kind, handler.json_body(), actor=identity.actor, role=identity.role)
    handler.send_json(created, 201)


class RecordsHandler(RegistryHandler):
    async def get(self) -> None:
        """GET every record of the kind (retired ones too with retired=true)."""
        identity = self.require()
        records = await self.ctx.resources.list(self.kind, role=identity.role,
                                                include_retired=self.bool_argument("retired", False))
        if self.kind == "users":  # names, phones and roles of people
            await self.audit("list", "users", {"count": len(records)})
        self.send_json({self.kind: records})

    async def post(self) -> None:
        """POST a new record."""
        await create_record(self, self.kind)


class RecordHandler(RegistryHandler):
    async def patch(self, record_id: str) -> None:
        """PATCH some fields of a record (admins); 404 absent, 409 retired, 422 per bad field."""
        identity = self.require()
        self.send_json(await self.ctx.resources.edit(self.kind, record_id, self.json_body(), actor=identity.actor,
                                                     role=identity.role))


class RetireHandler(RegistryHandler):
    async def post(self, record_id: str) -> None:
        """POST a retirement, with an optional reason (admins); 404 absent, 409 retired already or on a call."""
        identity = self.require()
        body = self.json_body() if self.raw_body().strip() else {}
        if not isinstance(body, dict):
            raise Invalid(FieldError("body", ErrorCode.MUST_BE_OBJECT))
        self.send_json(await self.ctx.resources.retire(self.kind, record_id, body.get("reason"),
                                                       actor=identity.actor, role=identity.role))


class ImportHandler(BaseHandler):
    async def post(self) -> None:
        """POST a CSV or GeoJSON file of one kind; dry_run (the default) only plans. A real import with any bad row
        writes nothing and answers 422 with the whole plan."""
        identity = self.require()
        require(identity.role, "manage_registry")
        kind = self.get_query_argument("kind", "")
        if kind not in IMPORT_KINDS:
            raise Invalid(FieldError("kind", ErrorCode.MUST_BE_ONE_OF, allowed=", ".join(IMPORT_KINDS)))
        dry_run = self.bool_argument("dry_run", True)
        parsed = self._parse(kind)
        service = self.ctx.resources
        if dry_run:
            plan = await service.plan_import(kind, parsed.rows, role=identity.role)
        else:
            plan = await service.apply_import(kind, parsed.rows, actor=identity.actor, role=identity.role)
        answer = {**plan.to_json(dry_run=dry_run, applied=not dry_run and plan.ok), "skipped": parsed.skipped}
        if dry_run or plan.ok:
            self.send_json(answer)
            return
        errors = plan.errors()
        refusal = ErrorAnswer.of(422, ErrorCode.IMPORT_REFUSED, errors[:500], count=len(errors))
        self.send_json({**error_json(refusal), **answer}, 422)

    def _parse(self, kind: str) -> ParsedFile:
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        raw = self.raw_body()
        if content_type.endswith("json") or (not content_type.startswith("text/") and raw.lstrip()[:1] == b"{"):
            return parse_geojson(self.json_body(), kind)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, ErrorCode.CSV_NOT_UTF8) from None
        fault = text_fault(text)
        if fault:
            raise Invalid(FieldError("body", fault))
        return parse_csv(text, columns=[f.name for f in KINDS[kind].fields] + ["lat", "lon", "retire"])


# ---- OpenAPI --------------------------------------------------------------------------------------------------
_ID = {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,60}$"}
_PRINTABLE = "[^\\u0000-\\u001f\\u007f]*"
_TEXT = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": f"^{_PRINTABLE}\\S{_PRINTABLE}$"}
_AGENCY = {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,40}$", "description": "the agency (default 1669-cb)"}
_PHONE = {"type": "string", "pattern": "^\\+[1-9][0-9]{7,14}$", "description": "E.164, e.g. +66812345678 (Thai"
          " 0xx numbers are accepted too and stored as +66)"}
_POINT = {"$ref": "#/components/schemas/LatLon"}
_RECORD_INPUT = {
    "stations": {"station_id": _ID, "name_th": _TEXT, "name_en": _TEXT, "location": _POINT, "agency_id": _AGENCY,
                 "kind": {"type": "string", "enum": list(STATION_KINDS)}},
    "units": {"unit_id": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,40}$", "description": "the call sign"},
              "capability": {"type": "string", "enum": ["ALS", "BLS", "FR"],
                             "description": "NIEMS level: ALS advanced, BLS basic, FR first responder"},
              "agency_id": _AGENCY, "station_id": {**_ID, "description": "home station (its location is the base"
                                                   " unless `location` is given)"},
              "location": _POINT, "phone": _PHONE,
              "crew": {"type": "array", "maxItems": 20, "items": {**_TEXT, "maxLength": 100}}},
    "hospitals": {"hospital_id": _ID, "name_th": _TEXT, "name_en": _TEXT, "location": _POINT,
                  "capabilities": {"type": "array", "maxItems": 20,
                                   "items": {"type": "string", "enum": list(HOSPITAL_CAPABILITIES)}},
                  "ed_beds": {"type": "integer", "minimum": 0, "maximum": MAX_BEDS},
                  "ed_beds_free": {"type": "integer", "minimum": 0, "maximum": MAX_BEDS,
                                   "description": "not more than ed_beds"},
                  "phone": _PHONE, "fhir_endpoint": {"type": "string", "format": "uri", "maxLength": 500,
                                                     "pattern": "^https?://[^\\s/]+"}},
    "users": {"user_id": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,100}$"}, "name": _TEXT,
              "role": {"type": "string", "enum": ["dispatcher", "crew", "hospital", "admin"]}, "agency_id": _AGENCY,
              "unit_id": {**_ID, "description": "the crew's unit (required for crew)"},
              "hospital_id": {**_ID, "description": "the staff's hospital (required for hospital)"}, "phone": _PHONE,
              "password": {"type": "string", "minLength": 10, "maxLength": 200,
                           "description": "optional: without one the account waits for single sign-on"}},
}
_REQUIRED = {name: [f.name for f in KINDS[name].fields if f.required] for name in KINDS}
_REFERENCES = {"units": "station_id must be a registered station, or location given",
               "users": "crew need a unit_id, hospital staff a hospital_id, of an active record"}


# A blank value (an empty CSV cell, or "" / "  " in JSON) is read as absent (dispatch/resource_fields.read_fields):
# an optional field keeps its default or, on an edit, stays as it was; null clears an optional field on an edit.
_BLANK = {"type": "string", "pattern": "^[ \\t\\r\\n]*$"}
_NULL = {"type": "null"}


def _input(kind: str, *, creating: bool) -> dict:
    required = _REQUIRED[kind]
    if creating:
        properties = {name: schema if name in required else {"anyOf": [schema, _BLANK, _NULL]}
                      for name, schema in _RECORD_INPUT[kind].items()}
        return {"type": "object", "required": required, "properties": properties}
    editable = {name: {"anyOf": [schema, _BLANK] if name in required else [schema, _BLANK, _NULL]}
                for name, schema in _RECORD_INPUT[kind].items() if name != KINDS[kind].id_field}
    return {"type": "object", "properties": editable, "description": "only the fields to change (a blank one"
            " stays as it was); null clears an optional one"}


SCHEMAS["ImportPlan"] = {
    "type": "object", "required": ["kind", "dry_run", "applied", "summary", "rows", "errors", "skipped"],
    "properties": {
        "kind": {"type": "string", "enum": list(IMPORT_KINDS)}, "dry_run": {"type": "boolean"},
        "applied": {"type": "boolean", "description": "true only when the rows were written"},
        "summary": {"type": "object", "properties": {n: {"type": "integer"} for n in (
            "create", "change", "retire", "unchanged", "errors")}},
        "rows": {"type": "array", "items": {"type": "object", "required": ["row", "action", "errors"], "properties": {
            "row": {"type": ["integer", "null"], "description": "CSV line (header = 1) or GeoJSON feature number"},
            "id": {"type": ["string", "null"]},
            "action": {"type": ["string", "null"], "enum": ["create", "change", "retire", "unchanged", None]},
            "changes": {"type": "object", "description": "field → {from, to}"},
            "warnings": {"type": "array", "items": {"type": "string"}},
            "errors": {"type": "array", "items": {"type": "object"}}}}},
        "errors": {"type": "array", "items": {"type": "object", "required": ["row", "field", "reason"], "properties": {
            "row": {"type": ["integer", "null"]}, "field": {"type": "string"}, "reason": {"type": "string"}}}},
        "skipped": {"type": "integer", "description": "GeoJSON features of another kind (e.g. fire stations)"}},
}
_RETIRE_BODY = {"type": "object", "properties": {"reason": {"type": ["string", "null"], "maxLength": MAX_REASON}}}
_RETIRED_QUERY = {"name": "retired", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]},
                  "description": "include retired records"}
_ID_PATTERNS = {"stations": "^[A-Za-z0-9_.-]{1,60}$", "units": "^[A-Za-z0-9_.-]{1,40}$",
                "hospitals": "^[A-Za-z0-9_.-]{1,60}$", "users": "^[A-Za-z0-9_.:-]{1,100}$"}
_WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 422, 429)
for _kind, _noun in (("stations", "station or standby post"), ("units", "unit"), ("hospitals", "hospital"),
                     ("users", "user account")):
    _param = [_path_param(f"{_kind[:-1]}_id", {"type": "string", "pattern": _ID_PATTERNS[_kind]})]
    _create = _op(f"Register a {_noun} (admins; one event with who and when)"
                  + (f"; {_REFERENCES[_kind]}" if _kind in _REFERENCES else ""), ok="201", errors=_WRITE_ERRORS,
                  body=_input(_kind, creating=True))
    PATHS.setdefault(f"/api/v1/{_kind}", {})["post"] = _create
    if _kind in ("stations", "users"):
        PATHS[f"/api/v1/{_kind}"]["get"] = _op(f"Every {_noun} (dispatchers and admins)", params=[_RETIRED_QUERY],
                                               errors=(401, 403, 422, 429))
    else:  # the console's lists (api/openapi.py), now with retired records on request
        PATHS[f"/api/v1/{_kind}"]["get"]["parameters"] = [_RETIRED_QUERY]
        PATHS[f"/api/v1/{_kind}"]["get"]["responses"].update(error_responses(422))
    PATHS[f"/api/v1/{_kind}/{{{_kind[:-1]}_id}}"] = {"patch": _op(
        f"Edit a {_noun} (admins); a retired one cannot be edited", params=_param, errors=_WRITE_ERRORS,
        body=_input(_kind, creating=False))}
    PATHS[f"/api/v1/{_kind}/{{{_kind[:-1]}_id}}/retire"] = {"post": {**_op(
        f"Retire a {_noun} (admins): it keeps its history"
        + ("; a unit on a call cannot be retired, a retired unit is never recommended" if _kind == "units" else "")
        + ("; it can no longer log in and its tokens are revoked" if _kind == "users" else ""),
        params=_param, errors=_WRITE_ERRORS), "requestBody": {"required": False, "content": {
            "application/json": {"schema": _RETIRE_BODY}}}}}
PATHS["/api/v1/registry/import"] = {"post": {
    "summary": "Bulk import of stations, units or hospitals from CSV (header row of field names, a `retire` column)"
               " or GeoJSON (Point features; OSM tags understood). A dry run (the default) lists what would be"
               " created, changed or retired and every bad row (row, field, reason) and writes nothing; a real"
               " import writes all rows in one unit of work, or nothing when any row is bad (422 with the plan).",
    "parameters": [{"name": "dry_run", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]}},
                   {"name": "kind", "in": "query", "required": True,
                    "schema": {"type": "string", "enum": list(IMPORT_KINDS)}}],
    "requestBody": {"required": True, "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/geo+json": {"schema": {"type": "object"}}}},
    "responses": {"200": json_response("The plan (and whether it was applied)",
                                       {"$ref": "#/components/schemas/ImportPlan"}),
                  **error_responses(400, 401, 403, 413, 422, 429)}}}
