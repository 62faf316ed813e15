"""The OpenAPI 3.1 document served at /api/v1/openapi.json. Each API module adds its paths to PATHS."""
from __future__ import annotations

from typing import Any

from api.base import BaseHandler
from dispatch.error_codes import GENERIC, ErrorCode
from dispatch.intake import DETAIL_KEYS, MAX_TEXT
from dispatch.lifecycle import CANCEL_DISPOSITIONS, CLOSE_DISPOSITIONS
from dispatch.model import Channel, IncidentStatus, UnitStatus
from dispatch.triage import cards as triage_cards
from dispatch.vitals import RANGES as VITAL_RANGES

# What every request body obeys (api/base.json_body refuses the rest with a 422 naming the field): no text,
# key or value, holds a NUL (PostgreSQL cannot store it). Lone surrogates are refused too; JSON Schema has no
# portable way to say so, and generators do not produce them.
STORABLE_TEXT = "^[^\\u0000]*$"
MAX_QUERY_INT = 2**62  # api/base.int_argument's upper bound

ERROR = {"$ref": "#/components/schemas/Error"}
ERROR_CODE = {"type": "string", "enum": [code.value for code in ErrorCode],
              "description": "Stable machine-readable code (dispatch/error_codes.py); the generic codes "
                             f"({', '.join(sorted(c.value for c in GENERIC))}) carry free text in the English text"}
ERROR_PARAMS = {"type": "object", "additionalProperties": {"type": ["string", "number"]},
                "description": "The variable parts of the code's text (present only when it has some)"}
REPORT_PROPERTIES: dict[str, Any] = {  # dispatch/intake.py's rules (MAX_TEXT, PHONE_CHARS)
    "channel": {"type": "string", "enum": [c.value for c in Channel]},
    "location": {"oneOf": [{"$ref": "#/components/schemas/LatLon"}, {"type": "null"}]},
    "address": {"type": ["string", "null"], "maxLength": MAX_TEXT["address"]},
    "chief_complaint": {"type": ["string", "null"], "maxLength": MAX_TEXT["chief_complaint"]},
    "caller": {"type": ["object", "null"], "properties": {
        "phone": {"type": ["string", "null"], "maxLength": MAX_TEXT["caller.phone"], "pattern": "^[0-9+() .-]*$"},
        "name": {"type": ["string", "null"], "maxLength": MAX_TEXT["caller.name"]}}},
}
SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["status", "code", "message"], "properties": {
            "status": {"type": "integer"},
            "code": ERROR_CODE,
            "message": {"type": "string", "description": "English text of `code` with `params` filled in"},
            "params": ERROR_PARAMS,
            "fields": {"type": "array", "items": {"type": "object", "required": ["field", "code", "reason"], "properties": {
                "field": {"type": "string"}, "code": ERROR_CODE, "params": ERROR_PARAMS,
                "reason": {"type": "string", "description": "English text of the field's `code`"}}}},
        }}},
    },
    "LatLon": {
        "type": "object", "required": ["lat", "lon"],
        "properties": {"lat": {"type": "number", "minimum": -90, "maximum": 90},
                       "lon": {"type": "number", "minimum": -180, "maximum": 180}},
        "not": {"required": ["lat", "lon"], "properties": {"lat": {"const": 0}, "lon": {"const": 0}}},
        "description": "0,0 is refused: it is what a device without a GPS fix sends.",
    },
    "IncidentReport": {
        "type": "object",
        "required": ["channel"],
        "properties": {
            **REPORT_PROPERTIES,
            "lat": {"type": "number", "minimum": -90, "maximum": 90, "description": "with lon: the location"},
            "lon": {"type": "number", "minimum": -180, "maximum": 180, "description": "with lat: the location"},
            "answered_s_before": {"type": ["number", "null"], "minimum": 0, "maximum": 3600,
                                  "description": "A call taken on the console: seconds from answering it to this"
                                                 " report (kept for dispatchers' reports only; the call KPIs)."},
        },
        "anyOf": [{"required": ["location"], "properties": {"location": {"type": "object"}}},
                  {"required": ["lat", "lon"]},
                  {"required": ["address"], "properties": {"address": {"type": "string", "minLength": 1}}}],
        "dependentRequired": {"lat": ["lon"], "lon": ["lat"]},
        "not": {"required": ["lat", "lon"], "properties": {"lat": {"const": 0}, "lon": {"const": 0}}},
        "description": "Either location or address is required (null or empty counts as absent). Coordinates outside"
                       " the service area are stored and flagged `outside_service_area`, never rejected. A caller app"
                       " may send `lat` and `lon` beside the report instead of `location` (`location` wins).",
    },
    "IncidentDetails": {
        "type": "object",
        "properties": {key: value for key, value in REPORT_PROPERTIES.items() if key in DETAIL_KEYS},
        "additionalProperties": False,
        "description": "What a report says besides its location, as in IncidentReport; a field left out is kept.",
    },
    "Incident": {
        "type": "object",
        "required": ["id", "status", "channel", "reported_at"],
        "properties": {
            "id": {"type": "integer"},
            "status": {"type": "string"},
            "channel": {"type": "string"},
            "reported_at": {"type": "string", "format": "date-time"},
            "location": {"oneOf": [{"$ref": "#/components/schemas/LatLon"}, {"type": "null"}]},
            "location_flags": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Assignment": {
        "type": "object",
        "required": ["id", "incident_id", "unit_id", "status", "assigned_at", "ack_due_at", "escalations"],
        "properties": {
            "id": {"type": "integer"}, "incident_id": {"type": "integer"}, "unit_id": {"type": "string"},
            "status": {"type": "string", "enum": ["awaiting_ack", "acknowledged", "cancelled", "completed"]},
            "assigned_at": {"type": "string", "format": "date-time"},
            "ack_due_at": {"type": "string", "format": "date-time"},
            "acknowledged_at": {"type": ["string", "null"], "format": "date-time"},
            "eta_s": {"type": ["number", "null"]}, "distance_m": {"type": ["number", "null"]},
            "eta_source": {"type": ["string", "null"], "enum": ["road", "straight_line", None],
                           "description": "straight_line: the incident or unit is outside road coverage"},
            "escalations": {"type": "array", "items": {"type": "string"}, "description": "ladder steps taken, in order"},
            "step_results": {"type": "object", "description": "sms/voice step → {outcome: sent, not_configured,"
                             " no_phone or failed, then delivered or failed by the provider's delivery report;"
                             " message_sid; status: the provider's last status}"},
        },
    },
    "Event": {
        "type": "object",
        "required": ["seq", "stream", "type", "payload", "actor", "occurred_at"],
        "properties": {"seq": {"type": "integer"}, "stream": {"type": "string"}, "type": {"type": "string"},
                       "payload": {"type": "object"}, "actor": {"type": "string"},
                       "occurred_at": {"type": "string", "format": "date-time"}},
    },
}


def _measure(low: float, high: float, whole: bool, nullable: bool = False) -> dict[str, Any]:
    kind = "integer" if whole else "number"
    return {"type": [kind, "null"] if nullable else kind, "minimum": low, "maximum": high}


VITALS_INPUT = {"type": "object", "minProperties": 1, "additionalProperties": False,
                "properties": {name: _measure(*limits) for name, limits in VITAL_RANGES.items()},
                "description": "Units: heart and respiratory rate /min, blood pressure mmHg, SpO2 %, GCS 3-15, °C."}
SCHEMAS["VitalSigns"] = {
    "type": "object", "required": ["recorded_at"],
    "properties": {**{name: _measure(*limits, nullable=True) for name, limits in VITAL_RANGES.items()},
                   "recorded_at": {"type": "string", "format": "date-time"},
                   "unit_id": {"type": ["string", "null"], "description": "the crew's unit; null for a dispatcher"}},
}
SCHEMAS["Incident"]["properties"]["vitals"] = {"type": "array", "items": {"$ref": "#/components/schemas/VitalSigns"},
                                               "description": "recorded sets, oldest first"}

# Road coverage (issue #13): every answer that carries an ETA says whether it was found by road.
ROAD_COVERAGE = {
    "outside_coverage": {"type": "boolean", "description": "the incident, unit, patient or hospital is farther than"
                         " EMS_MAX_SNAP_DISTANCE_M from the road graph: the ETA is a straight-line estimate, not a"
                         " road ETA, and red auto-dispatch never acts on it"},
    "eta_source": {"type": "string", "enum": ["road", "straight_line"], "description": "straight_line: great-circle"
                   " distance x EMS_STRAIGHT_LINE_DETOUR_FACTOR at EMS_STRAIGHT_LINE_SPEED_KMH"},
    "snap_distance_m": {"type": "number", "minimum": 0,
                        "description": "metres from the farther end to its nearest mapped road"},
}
NUMBER_OR_NULL = {"type": ["number", "null"]}
SCHEMAS["Recommendation"] = {
    "type": "object",
    "required": ["unit_id", "call_sign", "capability", "status", "eta_s", "distance_m", "score_s", "why_en", "why_th",
                 "position_source", *ROAD_COVERAGE],
    "properties": {
        "unit_id": {"type": "string"}, "call_sign": {"type": "string"}, "capability": {"type": "string"},
        "status": {"type": "string"}, "eta_s": NUMBER_OR_NULL, "distance_m": NUMBER_OR_NULL,
        "score_s": {**NUMBER_OR_NULL, "description": "eta_s plus penalties (returning, over-qualified): the rank"},
        "why_en": {"type": "string"}, "why_th": {"type": "string"},
        "position_source": {"type": "string", "enum": ["avl", "station"]}, **ROAD_COVERAGE},
}
SCHEMAS["DestinationOption"] = {
    "type": "object",
    "required": ["hospital_id", "name_th", "name_en", "eta_s", "distance_m", "capable", "diversion", "ed_beds_free",
                 "score_s", "why_en", "why_th", *ROAD_COVERAGE],
    "properties": {
        "hospital_id": {"type": "string"}, "name_th": {"type": "string"}, "name_en": {"type": "string"},
        "eta_s": NUMBER_OR_NULL, "distance_m": NUMBER_OR_NULL, "capable": {"type": "boolean"},
        "diversion": {"type": "boolean"}, "ed_beds_free": {"type": "integer"}, "score_s": NUMBER_OR_NULL,
        "why_en": {"type": "string"}, "why_th": {"type": "string"}, **ROAD_COVERAGE},
}
ROUTE_END = {"type": "object", "required": ["off_network", "snap_distance_m"], "properties": {
    "off_network": {"type": "boolean", "description": "this end is outside road coverage"},
    "snap_distance_m": {"type": "number", "minimum": 0, "description": "metres from this end to its nearest road"}}}
SCHEMAS["Route"] = {
    "type": "object",
    "required": ["duration_s", "distance_m", "geometry", "instructions", "origin", "destination", *ROAD_COVERAGE],
    "properties": {
        "duration_s": {"type": "number"}, "distance_m": {"type": "number"},
        "geometry": {"type": "object", "description": "GeoJSON LineString [lon, lat]; outside road coverage the"
                     " straight line between the two points"},
        "instructions": {"type": "array", "items": {"type": "object", "required": ["text_en", "text_th", "distance_m"],
                         "properties": {"text_en": {"type": "string"}, "text_th": {"type": "string"},
                                        "street": {"type": ["string", "null"]}, "street_en": {"type": ["string", "null"]},
                                        "distance_m": {"type": "number"}}}},
        "origin": ROUTE_END, "destination": ROUTE_END, **ROAD_COVERAGE},
}
DATE_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
SCHEMAS["InboundPatient"] = {
    "allOf": [{"$ref": "#/components/schemas/Incident"}, {
        "type": "object",
        "required": ["stage", "arrival_at", "eta_s", "eta_computed_at", "eta_from", "eta_unit_id", "position_at",
                     "position_stale", "transport_estimate_s", "arrived_at", "eta_source", "outside_coverage",
                     "snap_distance_m"],
        "properties": {
            "stage": {"type": "string", "enum": ["waiting", "assigned", "en_route", "on_scene", "transporting", "arrived"],
                      "description": "where the crew is in the job (waiting: no unit yet; arrived: at hospital, listed"
                                     " until the incident closes)"},
            "arrival_at": {**DATE_TIME_OR_NULL, "description": "transporting only: the expected arrival, absolute"
                           " (eta_computed_at + eta_s), so every board counts down to the same moment"},
            "eta_s": {**NUMBER_OR_NULL, "description": "transporting only: the road ETA from the transporting unit's"
                      " latest position (or the scene, without one) at eta_computed_at"},
            "eta_computed_at": {**DATE_TIME_OR_NULL, "description": "the time of that position, or the start of"
                                " transport if later"},
            "eta_from": {"type": ["string", "null"], "enum": ["unit_position", "scene", None]},
            "eta_unit_id": {"type": ["string", "null"]},
            "position_at": {**DATE_TIME_OR_NULL, "description": "the time of the unit's position used"},
            "position_stale": {"type": ["boolean", "null"], "description": "the position is older than the page"
                               " setting stale_position_s, or there is none"},
            "transport_estimate_s": {**NUMBER_OR_NULL, "description": "before transport: scene to hospital by road,"
                                     " an estimate, not a countdown"},
            "arrived_at": DATE_TIME_OR_NULL,
            "eta_source": {"type": ["string", "null"], "enum": ["road", "straight_line", None]},
            "outside_coverage": ROAD_COVERAGE["outside_coverage"],
            "snap_distance_m": {"type": ["number", "null"], "minimum": 0, "description": "null when the"
                                " road graph is loading and the ETA is the one given at the choice"}}}],
}


def error_responses(*statuses: int) -> dict[str, Any]:
    """OpenAPI response objects for the given error statuses, each with the one error body schema."""
    text = {400: "Malformed JSON", 401: "No valid bearer token", 403: "Role not allowed", 404: "Not found",
            409: "Conflicts with the current state", 413: "Body over 1 MB", 422: "Invalid fields (each listed)",
            429: "Too many requests from this source (Retry-After says when to retry)",
            503: "A part it depends on is not ready (e.g. the road graph loading; Retry-After)"}
    return {str(s): {"description": text[s], "content": {"application/json": {"schema": ERROR}}} for s in statuses}


def json_response(description: str, schema: dict) -> dict[str, Any]:
    """An OpenAPI response object with a JSON body of `schema`."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PATHS: dict[str, Any] = {
    "/api/v1/incidents": {
        "post": {
            "summary": "Report an incident (intake)",
            "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                            "description": "A repeat with the same key returns the first incident (200)."}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/IncidentReport"}}}},
            "responses": {
                "201": json_response("Created", {"$ref": "#/components/schemas/Incident"}),
                "200": json_response("Repeat of an earlier request", {"$ref": "#/components/schemas/Incident"}),
                **error_responses(400, 401, 403, 413, 422),
            },
        },
        "get": {
            "summary": "List incidents (open ones by default)",
            "parameters": [{"name": "open", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]}},
                           {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 5000}}],
            "responses": {"200": json_response("Incidents", {"type": "object", "properties": {
                "incidents": {"type": "array", "items": {"$ref": "#/components/schemas/Incident"}}}}),
                **error_responses(401, 403, 422)},
        },
    },
    "/api/v1/incidents/{incident_id}": {
        "get": {
            "summary": "One incident",
            "parameters": [{"name": "incident_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": json_response("The incident", {"$ref": "#/components/schemas/Incident"}),
                          **error_responses(401, 403, 404)},
        },
        "patch": {
            "summary": "Change what was reported (dispatchers and admins): the caller's name and phone, the chief"
                       " complaint, the address, the channel. Only the fields given change (null or empty text clears"
                       " one); one IncidentDetailsUpdated event with just the changed fields, none when nothing"
                       " differs. 409 once the incident is closed or cancelled. The location: POST …/location.",
            "parameters": [{"name": "incident_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/IncidentDetails"}}}},
            "responses": {"200": json_response("The incident", {"$ref": "#/components/schemas/Incident"}),
                          **error_responses(400, 401, 403, 404, 409, 413, 422)},
        },
    },
    "/api/v1/events": {
        "get": {
            "summary": "The event log after `since`, in seq order",
            "parameters": [{"name": "since", "in": "query", "schema": {"type": "integer", "minimum": 0,
                                                                        "maximum": MAX_QUERY_INT}},
                           {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 5000}}],
            "responses": {"200": json_response("Events", {"type": "object", "properties": {
                "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                "next_since": {"type": "integer"}, "more": {"type": "boolean"}}}),
                **error_responses(401, 403, 422)},
        },
    },
    "/api/v1/login": {
        "post": {
            "summary": "Exchange a user id and password for an expiring bearer token",
            "security": [],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["user_id", "password"],
                "properties": {"user_id": {"type": "string"}, "password": {"type": "string"}}}}}},
            "responses": {"200": json_response("Token and identity", {"type": "object", "required": ["token", "role"],
                          "properties": {"token": {"type": "string"}, "role": {"type": "string"},
                                         "user_id": {"type": "string"}}}),
                          **error_responses(400, 401, 413, 422, 429)},
        },
    },
    "/api/v1/logout": {
        "post": {"summary": "Revoke the calling token (its sockets close at once)",
                 "responses": {"200": {"description": "Revoked"}, **error_responses(401, 429)}},
    },
    "/api/v1/me": {
        "get": {"summary": "Who the token belongs to",
                "responses": {"200": {"description": "The identity"}, **error_responses(401, 429)}},
    },
    "/api/v1/users/{user_id}/revoke": {
        "post": {"summary": "Revoke every token of a user (admin)",
                 "parameters": [{"name": "user_id", "in": "path", "required": True,
                                 "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,100}$"}}],
                 "responses": {"200": {"description": "Revoked"}, **error_responses(401, 403, 404, 429)}},
    },
    "/api/v1/audit": {
        "get": {"summary": "The append-only audit log of patient-data access (admin, dispatcher)",
                "parameters": [{"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0,
                                                                          "maximum": MAX_QUERY_INT}},
                               {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 5000}},
                               {"name": "subject", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "Entries, oldest first"}, **error_responses(401, 403, 422, 429)}},
    },
    "/healthz": {
        "get": {"summary": "PostgreSQL and Redis checked; 503 names the failing part",
                "security": [],
                "responses": {"200": {"description": "All parts reachable"},
                              "503": {"description": "A part is failing (named in `failing`)"}}},
    },
}


def storable(schema: Any) -> Any:
    """`schema` with what json_body enforces on every body spelled out: each object's keys and each free string
    without NUL (`propertyNames`, `pattern`), and values not otherwise described limited to storable JSON."""
    if isinstance(schema, list):
        return [storable(item) for item in schema]
    if not isinstance(schema, dict) or "$ref" in schema:
        return schema
    hardened = {key: storable(value) if key not in ("enum", "const", "required", "example") else value
                for key, value in schema.items()}
    if "properties" in hardened:
        hardened["properties"] = {name: storable(sub) for name, sub in schema["properties"].items()}
    kinds = hardened.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "string" in kinds and not ({"pattern", "enum", "const", "format"} & hardened.keys()):
        hardened["pattern"] = STORABLE_TEXT
    if "object" in kinds:
        hardened.setdefault("propertyNames", {"pattern": STORABLE_TEXT})
        hardened.setdefault("additionalProperties", {"$ref": "#/components/schemas/StorableValue"})
    return hardened


SCHEMAS["StorableValue"] = {
    "description": "An extra field the server ignores: any JSON without NUL in its text (keys or values).",
    "anyOf": [{"type": ["number", "boolean", "null"]}, {"type": "string", "pattern": STORABLE_TEXT},
              {"type": "array", "items": {"$ref": "#/components/schemas/StorableValue"}},
              {"type": "object", "propertyNames": {"pattern": STORABLE_TEXT},
               "additionalProperties": {"$ref": "#/components/schemas/StorableValue"}}],
}


def build_document() -> dict[str, Any]:
    """The OpenAPI 3 document of the API (every operation may answer 429)."""
    for methods in PATHS.values():  # every API call may be throttled
        for operation in methods.values():
            operation["responses"].setdefault("429", error_responses(429)["429"])
    return {
        "openapi": "3.1.0",
        "info": {"title": "Chonburi EMS dispatch API", "version": "1"},
        "paths": {path: {method: _storable_body(op) for method, op in methods.items()} for path, methods in PATHS.items()},
        "components": {"schemas": {name: schema if name == "StorableValue" else _storable_input(name, schema)
                                   for name, schema in SCHEMAS.items()}, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "appKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key",
                       "description": "Citizen-app key (integrations/apps), rate-limited per key"}}},
        "security": [{"bearer": []}],
    }


INPUT_SCHEMAS = ("LatLon", "IncidentReport", "IncidentDetails")  # components used in request bodies


def _storable_input(name: str, schema: dict) -> dict:
    return storable(schema) if name in INPUT_SCHEMAS else schema


def _storable_body(operation: dict) -> dict:
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is None:
        return operation
    return {**operation, "requestBody": {**operation["requestBody"], "content": {
        "application/json": {**body, "schema": storable(body["schema"])}}}}


class OpenApiHandler(BaseHandler):
    agency_scope = "open"

    async def get(self) -> None:
        """GET the OpenAPI document."""
        self.send_json(build_document())


def _path_param(name: str, schema: dict) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema}


INCIDENT_ID = _path_param("incident_id", {"type": "integer", "minimum": 1})
OBJECT = {"type": "object"}


def _op(summary: str, *, params=(), body: dict | None = None, ok: str = "200", errors=(401, 403, 404, 422, 429),
        schema: dict = OBJECT, body_required: bool = True) -> dict:
    op = {"summary": summary, "parameters": list(params),
          "responses": {ok: json_response(summary, schema), **error_responses(*errors)}}
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": {"application/json": {"schema": body}}}
    return op


PATHS.update({
    "/api/v1/incidents/{incident_id}/triage": {"post": _op(
        "Triage by CBD card and determinant, or override the colour with a reason (red auto-dispatches every unit "
        "the card asks for, or alerts the dispatcher with a DispatchShortfall event when the fleet cannot)",
        params=[INCIDENT_ID], errors=(400, 401, 403, 404, 409, 413, 422, 429, 503),
        body={"oneOf": [  # one branch per CBD card: each has its own number of determinants
            *({"type": "object", "required": ["group", "determinant"],
               "properties": {"group": {"const": number},
                              "determinant": {"type": "integer", "minimum": 1, "maximum": len(card["determinants"])}}}
              for number, card in sorted(triage_cards().items())),
            {"type": "object", "required": ["colour", "reason"],
             "properties": {"colour": {"type": "string", "enum": ["red", "yellow", "green", "white"]},
                            "reason": {"type": "string", "minLength": 1, "maxLength": 500}}}]})},
    "/api/v1/incidents/{incident_id}/recommendations": {"get": _op(
        "Available units ranked by road ETA for the capability the triage asks for (a straight-line estimate,"
        " flagged outside_coverage, where the incident or unit is off the road graph)", params=[INCIDENT_ID],
        errors=(401, 403, 404, 409, 429, 503), schema={
            "type": "object", "required": ["recommendations"], "properties": {"recommendations": {
                "type": "array", "items": {"$ref": "#/components/schemas/Recommendation"}}}})},
    "/api/v1/incidents/{incident_id}/assignments": {"get": {
        "summary": "The incident's assignments (newest first) with acknowledgement deadlines, ladder steps taken, and"
                   " the escalation ladder (dispatchers)",
        "parameters": [INCIDENT_ID],
        "responses": {"200": json_response("Assignments and the ladder", {
            "type": "object", "required": ["assignments", "ladder"], "properties": {
                "assignments": {"type": "array", "items": {"$ref": "#/components/schemas/Assignment"}},
                "ladder": {"type": "array", "items": {"type": "object", "required": ["after_due_s", "step"],
                           "properties": {"after_due_s": {"type": "number"}, "step": {"type": "string"}}}}}}),
            **error_responses(401, 403, 404, 429)}}, "post": _op(
        "Assign a unit (dispatchers only); 409 if the unit is busy", params=[INCIDENT_ID], ok="201",
        errors=(400, 401, 403, 404, 409, 413, 422, 429, 503),
        body={"type": "object", "required": ["unit_id"], "properties": {"unit_id": {"type": "string", "minLength": 1}}})},
    "/api/v1/incidents/{incident_id}/status": {"post": _op(
        "Move the incident (close and cancel are dispatcher-only); illegal moves are 409", params=[INCIDENT_ID],
        errors=(400, 401, 403, 404, 409, 413, 422, 429),
        body={"type": "object", "required": ["status"], "properties": {
            "status": {"type": "string", "enum": [s.value for s in IncidentStatus]},
            "reason": {"type": "string", "maxLength": 500},
            "disposition": {"type": "string", "enum": [*CLOSE_DISPOSITIONS, *CANCEL_DISPOSITIONS],
                            "description": "close-out code, only with status closed (CLOSE codes) or cancelled (CANCEL codes)"}}})},
    "/api/v1/incidents/{incident_id}/destinations": {
        "get": _op("Hospitals ranked by road ETA, capability, diversion and free beds (straight-line estimates"
                   " flagged outside_coverage off the road graph)", params=[INCIDENT_ID],
                   errors=(401, 403, 404, 409, 429, 503), schema={
                       "type": "object", "required": ["destinations"], "properties": {"destinations": {
                           "type": "array", "items": {"$ref": "#/components/schemas/DestinationOption"}}}}),
        "post": _op("Choose the destination; the hospital gets a pre-arrival alert", params=[INCIDENT_ID],
                    errors=(400, 401, 403, 404, 409, 413, 422, 429, 503),
                    body={"type": "object", "required": ["hospital_id"],
                          "properties": {"hospital_id": {"type": "string", "minLength": 1}}})},
    "/api/v1/incidents/{incident_id}/duplicates": {"get": _op(
        "Open incidents near in place and time (any channel): likely repeat calls", params=[INCIDENT_ID])},
    "/api/v1/incidents/{incident_id}/merge": {"post": _op(
        "This incident is a repeat call: merge it into another (callers move over)", params=[INCIDENT_ID],
        errors=(400, 401, 403, 404, 409, 413, 422, 429),
        body={"type": "object", "required": ["into_incident_id"],
              "properties": {"into_incident_id": {"type": "integer", "minimum": 1}}})},
    "/api/v1/incidents/{incident_id}/keep-apart": {"post": _op(
        "Not duplicates: stop suggesting this pair", params=[INCIDENT_ID], errors=(400, 401, 403, 404, 413, 422, 429),
        body={"type": "object", "required": ["other_incident_id"],
              "properties": {"other_incident_id": {"type": "integer", "minimum": 1}}})},
    "/api/v1/incidents/{incident_id}/mci": {"post": _op(
        "Declare a mass-casualty incident", params=[INCIDENT_ID], errors=(401, 403, 404, 409, 429))},
    "/api/v1/incidents/{incident_id}/patients": {"post": _op(
        "Tag casualties by colour", params=[INCIDENT_ID], errors=(400, 401, 403, 404, 409, 413, 422, 429),
        body={"type": "object", "required": ["colours"], "properties": {"colours": {
            "type": "array", "minItems": 1, "maxItems": 500,
            "items": {"type": "string", "enum": ["red", "yellow", "green", "white"]}}}})},
    "/api/v1/incidents/{incident_id}/mci/distribute": {"post": _op(
        "Spread the tagged casualties over hospitals by ETA and free beds", params=[INCIDENT_ID],
        errors=(401, 403, 404, 409, 429, 503))},
    "/api/v1/incidents/{incident_id}/vitals": {"post": {
        "summary": "Record a set of vital signs (the incident's own crew, or a dispatcher); the latest set goes to"
                   " the receiving hospital (board and FHIR). 422 names each field out of range, unknown, or a"
                   " diastolic pressure not below the systolic",
        "parameters": [INCIDENT_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": VITALS_INPUT}}},
        "responses": {"201": json_response("Recorded", {
            "type": "object", "required": ["incident_id", "vitals"],
            "properties": {"incident_id": {"type": "integer"}, "vitals": {"$ref": "#/components/schemas/VitalSigns"}}}),
            **error_responses(400, 401, 403, 404, 413, 422, 429)},
    }},
    "/api/v1/assignments/{assignment_id}/ack": {"post": _op(
        "The crew acknowledges an assignment (HTTP fallback of the WebSocket ack)",
        params=[_path_param("assignment_id", {"type": "integer", "minimum": 1})], errors=(401, 403, 404, 409, 429))},
    "/api/v1/triage/cards": {"get": _op("The 25 CBD cards with questions and determinants", errors=(401, 429))},
    "/api/v1/units": {"get": _op("Units with status and latest positions", errors=(401, 429))},
    "/api/v1/units/{unit_id}/status": {"post": _op(
        "A unit's status (a crew only for its own unit, an agency's dispatcher only its agency's)", params=[_path_param("unit_id", {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,40}$"})],
        errors=(400, 401, 403, 404, 409, 413, 422, 429),
        body={"type": "object", "required": ["status"], "properties": {
            "status": {"type": "string", "enum": [s.value for s in UnitStatus]},
            "reason": {"type": ["string", "null"], "minLength": 1, "maxLength": 200, "pattern": "\\S",
                       "description": "out_of_service only: why"},
            "back_at": {"type": ["string", "null"], "format": "date-time",
                        "description": "out_of_service only: when it is expected back (in the future)"}}})},
    "/api/v1/hospitals": {"get": _op("Hospitals with capabilities, free ED beds and diversion", errors=(401, 429))},
    "/api/v1/hospitals/{hospital_id}/capacity": {"post": _op(
        "Update free ED beds and diversion (that hospital's staff, dispatchers)",
        params=[_path_param("hospital_id", {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,60}$"})],
        errors=(400, 401, 403, 404, 413, 422, 429),
        body={"type": "object", "required": ["ed_beds_free", "diversion"], "properties": {
            "ed_beds_free": {"type": "integer", "minimum": 0, "maximum": 1000}, "diversion": {"type": "boolean"}}})},
    "/api/v1/hospitals/{hospital_id}/inbound": {"get": _op(
        "Patients inbound to a hospital: each crew's stage and, while transporting, the expected arrival time from"
        " the unit's latest position, with the ETA's source (no caller phone numbers)",
        params=[_path_param("hospital_id", {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,60}$"})], schema={
            "type": "object", "required": ["hospital_id", "server_time", "inbound"], "properties": {
                "hospital_id": {"type": "string"},
                "server_time": {"type": "string", "format": "date-time", "description": "the server's time of the"
                                " answer: a board counts down to arrival_at on the server's clock, not its own"},
                "inbound": {"type": "array", "items": {"$ref": "#/components/schemas/InboundPatient"}}}})},
    "/api/v1/hospitals/{hospital_id}/inbound/{incident_id}/ack": {"post": {
        "summary": "The receiving ED acknowledges an inbound patient (recorded as an event; repeating is harmless)",
        "parameters": [_path_param("hospital_id", {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,60}$"}),
                       INCIDENT_ID],
        "responses": {"200": json_response("Acknowledged", {
            "type": "object", "required": ["incident_id", "hospital_id", "acknowledged_at"], "properties": {
                "incident_id": {"type": "integer"}, "hospital_id": {"type": "string"},
                "acknowledged_at": {"type": "string", "format": "date-time"}}}),
            **error_responses(401, 403, 404, 429)}}},
    "/api/v1/page-settings": {"get": _op("The browser pages' tunable numbers in seconds (stale GPS age, tablet GPS "
                                         "period, hospital board refresh, confirm windows), from the server's settings",
                                         errors=(401, 429))},
    "/api/v1/map/roads": {"get": _op("The road network as GeoJSON for the offline base map",
                                     params=[{"name": "min_class", "in": "query", "schema": {"type": "string"}}],
                                     errors=(401, 429, 503))},
    "/api/v1/route": {"get": _op("Fastest road route with Thai/English turn instructions; where an end is outside"
                                 " road coverage, a straight line with a labelled straight-line estimate", params=[
        {"name": n, "in": "query", "required": True,
         "schema": {"type": "number", "minimum": -limit, "maximum": limit}}
        for n, limit in (("from_lat", 90), ("from_lon", 180), ("to_lat", 90), ("to_lon", 180))],
        errors=(401, 403, 404, 422, 429, 503), schema={"$ref": "#/components/schemas/Route"})},
    "/api/v1/closures": {
        "get": {"summary": "Active road closures and slow-downs, each with the affected road segments",
                "responses": {"200": json_response("Closures", {
                    "type": "object", "required": ["closures"], "properties": {"closures": {"type": "array", "items": {
                        "type": "object", "required": ["id", "edges", "closed", "geometry"], "properties": {
                            "id": {"type": "string"}, "edges": {"type": "integer", "description": "road segments affected"},
                            "factor": {"type": ["number", "null"]}, "closed": {"type": "boolean"},
                            "expires_at": {"type": ["string", "null"], "format": "date-time"},
                            "reason": {"type": ["string", "null"]},
                            "geometry": {"type": "object", "description": "GeoJSON MultiLineString of those segments"}}}}}}),
                    **error_responses(401, 429, 503)}},
        "post": _op("Close or slow the roads inside a polygon (dispatchers)", ok="201",
                    errors=(400, 401, 403, 413, 422, 429, 503),
                    body={"type": "object", "required": ["polygon"], "properties": {
                        "polygon": {"type": "object"}, "factor": {"type": ["number", "null"], "minimum": 1, "maximum": 100},
                        "expires_at": {"type": "string", "format": "date-time"}, "reason": {"type": "string", "maxLength": 200}}})},
    "/api/v1/closures/{closure_id}": {"delete": _op(
        "Reopen a closure", params=[_path_param("closure_id", {"type": "string", "pattern": "^[a-z0-9-]{1,40}$"})],
        errors=(401, 403, 404, 429, 503))},
})

# Places (issue #16): api/places.py
PLACE = {"type": "object", "required": ["name", "kind", "lat", "lon", "score", "source", "in_road_graph"], "properties": {
    "name": {"type": "string"}, "name_en": {"type": ["string", "null"]},
    "kind": {"type": "string", "description": "road, soi, junction, hospital, clinic, school, temple, police, market,"
                                              " fire, station, …"},
    "lat": {"type": "number"}, "lon": {"type": "number"},
    "score": {"type": "number", "description": "match quality (about 0..1.25; 1 is an exact name), plus nearness"},
    "source": {"type": "string", "enum": ["osm_roads", "osm_pois", "junction", "fleet"]},
    "in_road_graph": {"type": "boolean"}, "distance_m": {"type": "number", "description": "from `near`, when given"}}}
PATHS.update({
    "/api/v1/geocode": {"get": {
        "summary": "Find places by what the caller said: Thai or English names, abbreviations (รพ. ร.ร. ถ. ซ. …), soi"
                   " numbers, junctions (A ตัด B, แยก A B, A x B); ranked by match and nearness to `near`",
        "parameters": [
            {"name": "q", "in": "query", "required": True,
             "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"}},
            {"name": "near", "in": "query", "schema": {"type": "string", "pattern": "^-?[0-9.]+,-?[0-9.]+$"},
             "description": "lat,lon: nearer places rank higher"},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5}}],
        "responses": {"200": json_response("Places, best first", {
            "type": "object", "required": ["results"], "properties": {"results": {"type": "array", "items": PLACE}}}),
            **error_responses(400, 401, 403, 429, 503)}}},
    "/api/v1/reverse": {"get": {
        "summary": "Describe a point: nearest named road, nearest landmark with distance and direction, sub-district"
                   " when known, in Thai and English",
        "parameters": [{"name": n, "in": "query", "required": True,
                        "schema": {"type": "number", "minimum": -limit, "maximum": limit}}
                       for n, limit in (("lat", 90), ("lon", 180))],
        "responses": {"200": json_response("The point described", {
            "type": "object", "required": ["lat", "lon", "description_th", "description_en"], "properties": {
                "lat": {"type": "number"}, "lon": {"type": "number"},
                "road": {"type": ["object", "null"]}, "landmark": {"type": ["object", "null"]},
                "subdistrict": {"type": ["string", "null"]},
                "description_th": {"type": "string"}, "description_en": {"type": "string"}}}),
            **error_responses(400, 401, 403, 429, 503)}}},
    "/api/v1/incidents/{incident_id}/location": {"post": _op(
        "Set or change the incident's location (dispatchers): one LocationConfirmed event with its source and"
        " the dispatcher; without a label the reverse-geocoded description is used",
        params=[INCIDENT_ID], errors=(400, 401, 403, 404, 413, 422, 429, 503),
        body={"type": "object", "required": ["lat", "lon", "source"], "properties": {
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number", "minimum": -180, "maximum": 180},
            "source": {"type": "string", "enum": ["typed_address", "map_pin", "sms_link", "line", "device", "geocoder"]},
            "label": {"type": ["string", "null"], "minLength": 1, "maxLength": 300,
                      "description": "null or left out: the reverse-geocoded description"}}})},
})
