"""Coverage map and move-ups, KPI reports (JSON and CSV), and incident replay. Dispatchers and admins only."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.base import ApiError, BaseHandler
from api.openapi import PATHS, SCHEMAS, error_responses, json_response
from db import reports
from dispatch import items, kpi
from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError, Invalid, NotFound
from dispatch.model import Capability
from dispatch.policies import require

READERS = ("dispatcher", "admin")
MAX_REPORT_DAYS = 366


class CoverageHandler(BaseHandler):
    async def get(self) -> None:
        """GET the live coverage of one capability (ALS by default) over the demand grid; 503 while the graph loads."""
        self.require(*READERS)
        raw = self.get_query_argument("capability", "ALS")
        try:
            capability = Capability(raw)
        except ValueError:
            raise Invalid(FieldError("capability", ErrorCode.MUST_BE_ONE_OF, allowed="ALS, BLS, FR")) from None
        coverage = await self.ctx.coverage.snapshot(capability)
        await self.audit("read", "coverage", {"capability": capability.value})  # the fleet, unit by unit
        self.send_json(coverage)


def _move_json(move) -> dict:
    return {"unit_id": move.unit_id, "post_id": move.post.id, "post_name": move.post.name,
            "location": move.post.location, "gain": move.gain}


class MoveUpsHandler(BaseHandler):
    async def get(self) -> None:
        """GET suggested unit move-ups that would improve coverage."""
        self.require(*READERS)
        suggestions = [_move_json(m) for m in await self.ctx.coverage.suggestions()]
        await self.audit("read", "coverage:moveups", {"count": len(suggestions)})
        self.send_json({"suggestions": suggestions})

    async def post(self) -> None:
        """POST acceptance of a move-up (unit to post); logged UnitRelocated."""
        identity = self.require(*READERS)
        body = self.json_body()
        if not isinstance(body, dict):
            raise Invalid(FieldError("body", ErrorCode.MUST_BE_OBJECT))
        errors = [FieldError(name, ErrorCode.REQUIRED) for name in ("unit_id", "post_id")
                  if not isinstance(body.get(name), str) or not body.get(name)]
        gain = body.get("gain")
        if gain is not None and (isinstance(gain, bool) or not isinstance(gain, int | float) or not 0 <= gain <= 1):
            errors.append(FieldError("gain", ErrorCode.MUST_BE_BETWEEN, low=0, high=1))
        if errors:
            raise Invalid(errors)
        unit = await self.ctx.coverage.accept(body["unit_id"], body["post_id"], actor=identity.actor,
                                                       role=identity.role, gain=gain)
        self.send_json(unit, 201)


def report_days(handler: BaseHandler, default_days: int = 7):
    """The local (Thai) days `from`..`to` of a report (the last `default_days` by default), and the UTC instants
    [start, end) they span; 422 when `to` is before `from` or the range is over MAX_REPORT_DAYS."""
    today = kpi.local_date(handler.ctx.clock.now())
    first = handler.date_argument("from", today - timedelta(days=default_days - 1))
    last = handler.date_argument("to", today)
    if last < first:
        raise Invalid(FieldError("to", ErrorCode.TO_BEFORE_FROM))
    if (last - first).days >= MAX_REPORT_DAYS:
        raise Invalid(FieldError("to", ErrorCode.REPORT_DAYS, max=MAX_REPORT_DAYS))
    return first, last, *kpi.local_days_utc(first, last)


async def kpi_report(handler: BaseHandler) -> dict[str, Any]:
    """Intervals for incidents reported on local (Thai) days `from`..`to` inclusive; the last 7 days by default."""
    first, last, start, end = report_days(handler)
    rows = kpi.incident_rows(await reports.incidents_reported_between(handler.ctx.pool, start, end))
    calls = kpi.call_rows(await reports.call_events_between(handler.ctx.pool, start, end, kpi.CALL_EVENT_TYPES))
    await handler.audit("report", "kpi", {"from": first.isoformat(), "to": last.isoformat(), "count": len(rows)})
    config = handler.ctx.config
    return {"from": first.isoformat(), "to": last.isoformat(), "response": kpi.response_summary(rows),
            "intervals": kpi.interval_summary(rows),
            "calls": kpi.call_summary(calls, config.kpi_call_answer_target_s, config.kpi_call_dispatch_target_s)}


class KpiHandler(BaseHandler):
    async def get(self) -> None:
        """GET the KPI report for a date range (Thailand local days, at most MAX_REPORT_DAYS)."""
        self.require(*READERS)
        self.send_json(await kpi_report(self))


class KpiCsvHandler(BaseHandler):
    async def get(self) -> None:
        """GET the same KPI report as CSV."""
        self.require(*READERS)
        report = await kpi_report(self)
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="kpi-{report["from"]}-{report["to"]}.csv"')
        self.finish(kpi.to_csv(report["intervals"]))


async def items_records(handler: BaseHandler) -> tuple[Any, Any, list[dict[str, Any]]]:
    """The ITEMS records of the operations closed among the calls of local days `from`..`to` (today by default),
    of one agency's units when `agency` is given; the read is audited (the records name patients' hospitals). An
    agency's own dispatchers and admins get their agency's operations only (403 for another agency's)."""
    identity = handler.require()
    require(identity.role, "read_items")
    first, last, start, end = report_days(handler, default_days=1)
    agency = handler.get_query_argument("agency", None)
    if agency is not None and not (0 < len(agency) <= 40 and agency.replace("-", "").replace("_", "").replace(
            ".", "").isalnum() and agency.isascii()):
        raise Invalid(FieldError("agency", ErrorCode.IDENTIFIER, max=40, extra=""))
    if not identity.sees_all:
        if agency not in (None, identity.agency):
            raise ApiError(403, ErrorCode.CENTRE_ONLY_EXPORT)
        agency = identity.agency
    data = await reports.closed_operations(handler.ctx.pool, start, end)
    records = [items.operation_record(i, data["events"][i.id], data["unit_events"], data["units"], data["hospitals"])
               for i in data["incidents"]]
    records = [r for r in records if agency is None or r["agency_id"] == agency]
    await handler.audit("report", "items", {"from": first.isoformat(), "to": last.isoformat(), "agency": agency,
                                            "count": len(records)})
    return first, last, records


class ItemsCsvHandler(BaseHandler):
    agency_scope = "open"  # an agency exports its own units' operations (items_records)

    async def get(self) -> None:
        """GET the closed operations as NIEMS ITEMS CSV (dispatchers and admins; docs/items.md)."""
        first, last, records = await items_records(self)
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="items-{first}-{last}.csv"')
        self.finish(items.to_csv(records))


class ItemsCompletenessHandler(BaseHandler):
    agency_scope = "open"

    async def get(self) -> None:
        """GET which closed operations lack ITEMS fields, and which fields."""
        first, last, records = await items_records(self)
        incomplete = [{"operation_number": r["operation_number"], "incident_id": r["incident_id"],
                       "agency_id": r["agency_id"], "unit_id": r["unit_id"], "missing": missing}
                      for r in records if (missing := items.missing_fields(r))]
        self.send_json({"from": first.isoformat(), "to": last.isoformat(), "operations": len(records),
                        "complete": len(records) - len(incomplete), "incomplete": incomplete})


class ReplayHandler(BaseHandler):
    async def get(self, incident_id: str) -> None:
        """GET an incident's replay: its events with unit tracks; 404 if absent."""
        self.require(*READERS)
        replay = await reports.incident_replay(self.ctx.store, int(incident_id), self.ctx.clock.now())
        if replay is None:
            raise NotFound(ErrorCode.NO_SUCH_INCIDENT)
        await self.audit("replay", f"incident:{incident_id}")
        self.send_json(replay)


# ---- OpenAPI ------------------------------------------------------------------------------------------------
NUMBER_OR_NULL = {"type": ["number", "null"]}
SCHEMAS.update({
    "CoverageMap": {"type": "object", "required": ["capability", "travel_budget_s", "covered_share", "unit_ids", "cells"],
                    "properties": {
                        "capability": {"type": "string", "enum": ["ALS", "BLS", "FR"]},
                        "travel_budget_s": {"type": "number"}, "covered_share": {"type": "number"},
                        "unit_ids": {"type": "array", "items": {"type": "string"}},
                        "cells": {"type": "array", "items": {"type": "object", "required": ["lat", "lon", "weight", "eta_s"],
                                  "properties": {"lat": {"type": "number"}, "lon": {"type": "number"},
                                                 "weight": {"type": "number"}, "eta_s": NUMBER_OR_NULL}}}}},
    "MoveUp": {"type": "object", "required": ["unit_id", "post_id", "post_name", "location", "gain"],
               "properties": {"unit_id": {"type": "string"}, "post_id": {"type": "string"},
                              "post_name": {"type": "string"}, "location": {"$ref": "#/components/schemas/LatLon"},
                              "gain": {"type": "number"}}},
    "KpiInterval": {"type": "object", "required": ["day", "colour", "interval", "n", "p50_s", "p90_s", "mean_s"],
                    "properties": {"day": {"type": "string"}, "colour": {"type": "string"},
                                   "interval": {"type": "string"}, "n": {"type": "integer"},
                                   "p50_s": NUMBER_OR_NULL, "p90_s": NUMBER_OR_NULL, "mean_s": NUMBER_OR_NULL}},
})
_DAY = {"type": "string", "format": "date", "pattern": "^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"}
_DAYS = [{"name": n, "in": "query", "schema": _DAY,
          "description": "local (Thai) day, 2000-01-01 to 2099-12-31; `to` not before `from`, at most 366 days"}
         for n in ("from", "to")]
_AGENCY = {"name": "agency", "in": "query", "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,40}$"},
           "description": "only operations of this agency's units"}
_KPI = {"type": "object", "required": ["from", "to", "response", "intervals"], "properties": {
    "from": {"type": "string"}, "to": {"type": "string"}, "response": {"type": "object"},
    "intervals": {"type": "array", "items": {"$ref": "#/components/schemas/KpiInterval"}}}}
_POINT = {"type": "object", "required": ["at", "lat", "lon"], "properties": {
    "at": {"type": "string", "format": "date-time"}, "lat": {"type": "number"}, "lon": {"type": "number"},
    "speed_mps": NUMBER_OR_NULL, "heading_deg": NUMBER_OR_NULL}}
PATHS.update({
    "/api/v1/coverage": {"get": {
        "summary": "Per grid cell, the road ETA of the nearest available unit able to take a call of this capability",
        "parameters": [{"name": "capability", "in": "query", "schema": {"type": "string", "enum": ["ALS", "BLS", "FR"]}}],
        "responses": {"200": json_response("The coverage map", {"$ref": "#/components/schemas/CoverageMap"}),
                      **error_responses(401, 403, 422, 503)}}},
    "/api/v1/coverage/moveups": {
        "get": {"summary": "Idle units worth moving to another post (DMEXCLP expected-coverage gain), best first",
                "responses": {"200": json_response("Suggestions", {"type": "object", "required": ["suggestions"],
                              "properties": {"suggestions": {"type": "array", "items": {"$ref": "#/components/schemas/MoveUp"}}}}),
                              **error_responses(401, 403, 503)}},
        "post": {"summary": "Accept a move-up: the unit stands by at the post (a UnitRelocated event)",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["unit_id", "post_id"], "properties": {
                         "unit_id": {"type": "string", "minLength": 1}, "post_id": {"type": "string", "minLength": 1},
                         "gain": {"type": "number", "minimum": 0, "maximum": 1}}}}}},
                 "responses": {"201": json_response("The unit", {"type": "object"}),
                               **error_responses(400, 401, 403, 404, 409, 413, 422, 503)}}},
    "/api/v1/reports/kpi": {"get": {
        "summary": "NFPA-style intervals (p50/p90/mean) per day and per colour, and red within 8 minutes",
        "parameters": _DAYS, "responses": {"200": json_response("The report", _KPI), **error_responses(401, 403, 422)}}},
    "/api/v1/reports/kpi.csv": {"get": {
        "summary": "The same intervals as CSV (day, colour, interval, n, p50_s, p90_s, mean_s)", "parameters": _DAYS,
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                      **error_responses(401, 403, 422)}}},
    "/api/v1/reports/items.csv": {"get": {
        "summary": "NIEMS ITEMS export: each closed operation of the calls of local days from..to (today by default)"
                   " with operation number, agency and unit level, CBD code and colour, the seven times, outcome"
                   " category and hospital (columns: docs/items.md); one agency's units with `agency`",
        "parameters": [*_DAYS, _AGENCY],
        "responses": {"200": {"description": "CSV (UTF-8 with a byte-order mark)",
                              "content": {"text/csv": {"schema": {"type": "string"}}}},
                      **error_responses(401, 403, 422)}}},
    "/api/v1/reports/items-completeness": {"get": {
        "summary": "Closed operations missing ITEMS fields (hospital and arrival only for a transport), by field",
        "parameters": [*_DAYS, _AGENCY],
        "responses": {"200": json_response("The completeness report", {
            "type": "object", "required": ["from", "to", "operations", "complete", "incomplete"], "properties": {
                "from": {"type": "string"}, "to": {"type": "string"}, "operations": {"type": "integer"},
                "complete": {"type": "integer"},
                "incomplete": {"type": "array", "items": {"type": "object", "required": ["operation_number", "missing"],
                               "properties": {"operation_number": {"type": "string"},
                                              "incident_id": {"type": "integer"},
                                              "agency_id": {"type": ["string", "null"]},
                                              "unit_id": {"type": ["string", "null"]},
                                              "missing": {"type": "array", "items": {"type": "string"}}}}}}}),
            **error_responses(401, 403, 422)}}},
    "/api/v1/incidents/{incident_id}/replay": {"get": {
        "summary": "The incident's events in seq order and its units' AVL tracks, for playback",
        "parameters": [{"name": "incident_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}],
        "responses": {"200": json_response("Events and tracks", {
            "type": "object", "required": ["incident_id", "events", "tracks"], "properties": {
                "incident_id": {"type": "integer"},
                "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                "tracks": {"type": "array", "items": {"type": "object", "required": ["unit_id", "points"], "properties": {
                    "unit_id": {"type": "string"}, "points": {"type": "array", "items": _POINT}}}}}}),
            **error_responses(401, 403, 404)}}},
})
