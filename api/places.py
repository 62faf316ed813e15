"""Find the caller (issue #16): place search, reverse geocoding, and a dispatcher's choice of an incident's location.

    GET  /api/v1/geocode?q=…&near=lat,lon&limit=5   → {"results": [{name, name_en, kind, lat, lon, score, source,
                                                        in_road_graph, distance_m?}]}
    GET  /api/v1/reverse?lat=&lon=                   → {road, landmark, subdistrict, description_th, description_en}
    POST /api/v1/incidents/{id}/location {lat, lon, source, label?}  → the incident (a LocationConfirmed event)

Bad query parameters answer 400 naming the field and the reason.
"""
from __future__ import annotations

import math

from api.base import ApiError, BaseHandler
from api.incidents import view_for
from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError, Invalid
from dispatch.places import MAX_QUERY_CHARS

GEOCODE_ROLES = ("dispatcher", "admin")
REVERSE_ROLES = ("dispatcher", "admin", "crew")
MAX_LIMIT = 20


def _bad_request(errors: list[FieldError]) -> ApiError:
    return ApiError(400, "; ".join(f"{e.field} {e.reason}" for e in errors), errors)


class PlacesHandler(BaseHandler):
    def places(self):
        return self.ctx.places.search  # 503 with Retry-After until the gazetteer has loaded

    def coordinate(self, name: str, raw: str | None, low: float, high: float, errors: list[FieldError]) -> float | None:
        if raw is None or raw.strip() == "":
            errors.append(FieldError(name, ErrorCode.REQUIRED))
            return None
        try:
            value = float(raw)
        except ValueError:
            errors.append(FieldError(name, ErrorCode.MUST_BE_NUMBER))
            return None
        if not math.isfinite(value) or not low <= value <= high:
            errors.append(FieldError(name, ErrorCode.MUST_BE_BETWEEN, low=f"{low:g}", high=f"{high:g}"))
            return None
        return value


class GeocodeHandler(PlacesHandler):
    agency_scope = "open"

    async def get(self) -> None:
        self.require(*GEOCODE_ROLES)
        errors: list[FieldError] = []
        q = self.get_query_argument("q", None)
        if q is None or not q.strip():
            errors.append(FieldError("q", ErrorCode.REQUIRED))
        elif len(q) > MAX_QUERY_CHARS or "\x00" in q:
            errors.append(FieldError("q", ErrorCode.TEXT_AT_MOST, max=MAX_QUERY_CHARS))
        near = None
        raw_near = self.get_query_argument("near", None)
        if raw_near is not None:
            parts = raw_near.split(",")
            if len(parts) != 2:
                errors.append(FieldError("near", ErrorCode.MUST_BE_LAT_LON))
            else:
                found = len(errors)
                lat = self.coordinate("near", parts[0], -90, 90, errors)
                lon = self.coordinate("near", parts[1], -180, 180, errors)
                if len(errors) == found:
                    near = (lat, lon)
        limit = 5
        raw_limit = self.get_query_argument("limit", None)
        if raw_limit is not None:
            if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
                errors.append(FieldError("limit", ErrorCode.MUST_BE_WHOLE_BETWEEN, low=1, high=MAX_LIMIT))
            else:
                limit = int(raw_limit)
        if errors:
            raise _bad_request(errors)
        try:
            results = await self.places().geocode(q, near=near, limit=limit)
        except Invalid as exc:
            raise _bad_request(exc.errors) from None
        self.send_json({"results": [c.to_json() for c in results]})


class ReverseHandler(PlacesHandler):
    agency_scope = "open"

    async def get(self) -> None:
        self.require(*REVERSE_ROLES)
        errors: list[FieldError] = []
        lat = self.coordinate("lat", self.get_query_argument("lat", None), -90, 90, errors)
        lon = self.coordinate("lon", self.get_query_argument("lon", None), -180, 180, errors)
        if errors:
            raise _bad_request(errors)
        self.send_json(await self.places().reverse(lat, lon))


class IncidentLocationHandler(BaseHandler):
    agency_scope = "incident"

    async def post(self, incident_id: str) -> None:
        identity = self.require("dispatcher", "admin")
        incident = await self.ctx.locations.confirm(int(incident_id), self.json_body(),
                                                                actor=identity.actor, user_id=identity.user_id)
        self.send_json(view_for(identity, incident))
