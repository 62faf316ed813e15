"""Intake: turn a report from any channel into an `IncidentReported` event.

Two modes. API clients (`strict=True`) get every bad field back as `Invalid` (→ 422). Emergency channels
(phone, SMS, panic button: `strict=False`) never lose a call for bad data: the incident is created and the
problems are flagged for the dispatcher (e.g. "location unverified").
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dispatch.error_codes import ErrorCode
from dispatch.errors import Conflict, FieldError, Invalid, NotFound
from dispatch.events import IncidentDetailsUpdated, IncidentReported
from dispatch.model import Caller, Channel, Incident, LatLon, LocationFlag
from dispatch.ports import Clock, EventStore

MAX_TEXT = {"address": 500, "chief_complaint": 2000, "caller.name": 200, "caller.phone": 32}
PHONE_CHARS = set("+0123456789 -().")
MAX_ANSWERED_S_BEFORE = 3600.0  # a call answered over an hour before its report is not a call-taking time


@dataclass(frozen=True)
class ServiceArea:
    """A lat/lon box (degrees). Points outside are accepted but flagged and never auto-dispatched."""

    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float

    def contains(self, lat: float, lon: float) -> bool:
        """True if (lat, lon) in degrees lies inside the bounding box, edges included."""
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon


CHONBURI_PROVINCE = ServiceArea(12.50, 100.80, 13.62, 101.75)


@dataclass
class ParsedReport:
    channel: Channel
    location: LatLon | None
    location_flags: list[LocationFlag]
    location_note: str | None
    address: str | None
    chief_complaint: str | None
    caller: Caller | None
    errors: list[FieldError]
    answered_s_before: float | None = None  # a console call: seconds from its answer to this report


def _number(value: Any, field: str, low: float, high: float, errors: list[FieldError]) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.append(FieldError(field, ErrorCode.MUST_BE_NUMBER))
        return None
    if not math.isfinite(value):
        errors.append(FieldError(field, ErrorCode.MUST_BE_FINITE))
        return None
    if not low <= value <= high:
        errors.append(FieldError(field, ErrorCode.MUST_BE_BETWEEN, low=f"{low:g}", high=f"{high:g}"))
        return None
    return float(value)


def _text(body: dict[str, Any], key: str, field: str, errors: list[FieldError]) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(FieldError(field, ErrorCode.MUST_BE_STRING))
        return None
    if "\x00" in value:
        errors.append(FieldError(field, ErrorCode.NO_NUL))
        return None
    if len(value) > MAX_TEXT[field]:
        errors.append(FieldError(field, ErrorCode.TEXT_TOO_LONG, max=MAX_TEXT[field]))
        return None
    return value or None


def _channel(raw: Any, errors: list[FieldError]) -> Channel | None:
    try:
        return Channel(raw)
    except ValueError:
        allowed = ", ".join(c.value for c in Channel)
        errors.append(FieldError("channel", ErrorCode.REQUIRED) if raw is None
                      else FieldError("channel", ErrorCode.MUST_BE_ONE_OF, allowed=allowed))
        return None


def _phone(raw_caller: dict[str, Any], errors: list[FieldError]) -> str | None:
    phone = _text(raw_caller, "phone", "caller.phone", errors)
    if phone is not None and not set(phone) <= PHONE_CHARS:
        errors.append(FieldError("caller.phone", ErrorCode.PHONE_CHARACTERS))
        return None
    return phone


def _caller_fields(raw_caller: Any, errors: list[FieldError]) -> dict[str, str | None]:
    """The caller's `phone` and `name` that `raw_caller` gives (a key absent there is absent here; empty or bad text
    is None); problems go to `errors`."""
    if raw_caller is None:
        return {}
    if not isinstance(raw_caller, dict):
        errors.append(FieldError("caller", ErrorCode.CALLER_OBJECT))
        return {}
    fields = {"phone": _phone(raw_caller, errors), "name": _text(raw_caller, "name", "caller.name", errors)}
    return {key: value for key, value in fields.items() if key in raw_caller}


def parse_location(raw: Any, area: ServiceArea, errors: list[FieldError]) -> tuple[LatLon | None, list[LocationFlag]]:
    """Validate `{lat, lon}`; append problems to `errors`. Outside the service area is a flag, not an error."""
    if raw is None:
        return None, []
    if not isinstance(raw, dict):
        errors.append(FieldError("location", ErrorCode.LOCATION_OBJECT))
        return None, []
    raw_lat, raw_lon = raw.get("lat"), raw.get("lon")
    if all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (raw_lat, raw_lon)):
        if not area.contains(raw_lat, raw_lon) and area.contains(raw_lon, raw_lat):
            errors.append(FieldError("location", ErrorCode.LAT_LON_SWAPPED))
            return None, []
    found = len(errors)
    lat = _number(raw.get("lat"), "location.lat", -90, 90, errors) if "lat" in raw else None
    lon = _number(raw.get("lon"), "location.lon", -180, 180, errors) if "lon" in raw else None
    for key in ("lat", "lon"):
        if key not in raw:
            errors.append(FieldError(f"location.{key}", ErrorCode.REQUIRED))
    if len(errors) > found or lat is None or lon is None:
        return None, []
    if lat == 0 and lon == 0:
        errors.append(FieldError("location", ErrorCode.NULL_ISLAND))
        return None, []
    flags = [] if area.contains(lat, lon) else [LocationFlag.OUTSIDE_SERVICE_AREA]
    return LatLon(lat, lon), flags


def parse_report(body: Any, area: ServiceArea, *, default_channel: Channel | None = None) -> ParsedReport:
    """Read a report body; every problem becomes a FieldError (nothing raises here)."""
    errors: list[FieldError] = []
    if not isinstance(body, dict):
        errors.append(FieldError("body", ErrorCode.MUST_BE_OBJECT))
        body = {}
    channel = _channel(body.get("channel", default_channel.value if default_channel else None), errors)
    raw_location = body.get("location")
    if raw_location is None and ("lat" in body or "lon" in body):  # a caller app's {lat, lon} beside the report:
        raw_location = {key: body[key] for key in ("lat", "lon") if key in body}  # taken, never silently dropped
    location, flags = parse_location(raw_location, area, errors)
    location_errors = [e for e in errors if e.field.startswith("location")]
    address = _text(body, "address", "address", errors)
    complaint = _text(body, "chief_complaint", "chief_complaint", errors)
    caller = None
    caller_fields = _caller_fields(body.get("caller"), errors)
    if caller_fields.get("phone") or caller_fields.get("name"):
        caller = Caller(phone=caller_fields.get("phone"), name=caller_fields.get("name"),
                        channel=channel.value if channel else None)
    answered_s_before = None
    if body.get("answered_s_before") is not None:
        answered_s_before = _number(body["answered_s_before"], "answered_s_before", 0, MAX_ANSWERED_S_BEFORE, errors)
    if location is None and address is None \
            and not any(e.field == "address" or e.field.startswith("location") for e in errors):
        errors.append(FieldError("location", ErrorCode.LOCATION_OR_ADDRESS))
    note = "; ".join(f"{e.field} {e.reason}" for e in location_errors) or None
    return ParsedReport(
        channel=channel or Channel.PHONE,
        location=location,
        location_flags=flags,
        location_note=note,
        address=address,
        chief_complaint=complaint,
        caller=caller,
        errors=errors,
        answered_s_before=answered_s_before,
    )


DETAIL_KEYS = ("channel", "address", "chief_complaint", "caller")


def parse_details(body: Any) -> dict[str, Any]:
    """The report fields an edit gives, by `IncidentDetailsUpdated` field name (channel, address, chief_complaint,
    caller_name, caller_phone), checked by the same rules as a new report's; a field left out is not in the result,
    null or empty text clears it. Raises `Invalid` naming every bad field (the location is changed elsewhere)."""
    if not isinstance(body, dict):
        raise Invalid(FieldError("body", ErrorCode.MUST_BE_OBJECT))
    errors = [FieldError(key, ErrorCode.CANNOT_CHANGE_HERE if key == "location" else ErrorCode.NOT_A_DETAIL)
              for key in body if key not in DETAIL_KEYS]
    found: dict[str, Any] = {}
    if "channel" in body:
        found["channel"] = _channel(body["channel"], errors)
    for key in ("address", "chief_complaint"):
        if key in body:
            found[key] = _text(body, key, key, errors)
    found.update({f"caller_{key}": value for key, value in _caller_fields(body.get("caller"), errors).items()})
    if errors:
        raise Invalid(errors)
    return found


class IntakeService:
    """Creates incidents, exactly once per idempotency key."""

    def __init__(self, store: EventStore, clock: Clock, area: ServiceArea = CHONBURI_PROVINCE):
        self.store = store
        self.clock = clock
        self.area = area

    async def report(
        self,
        body: Any,
        *,
        actor: str,
        idempotency_key: str | None = None,
        strict: bool = True,
        default_channel: Channel | None = None,
        console_call: bool = False,
    ) -> tuple[Incident, bool]:
        """Store a new incident; returns (incident, created). A repeated key returns the first incident.

        strict: raise `Invalid` listing every field problem. Lenient: keep the incident, flag what was wrong.
        console_call: a dispatcher's console reports it, so its `answered_s_before` (seconds from answering the call)
        is kept for the call KPIs; from anyone else that field is ignored.
        """
        parsed = parse_report(body, self.area, default_channel=default_channel)
        if strict and parsed.errors:
            raise Invalid(parsed.errors)
        flags = list(parsed.location_flags)
        if parsed.location is None:
            flags.append(LocationFlag.UNVERIFIED)
        async def record(uow) -> tuple[Incident, bool]:
            if idempotency_key:
                first = await uow.claim_idempotency("intake", idempotency_key)
                if first is not None:
                    return await uow.get("incidents", first["incident_id"]), False
            incident_id = await uow.next_incident_id()
            await uow.append(
                IncidentReported(
                    at=self.clock.now(),
                    incident_id=incident_id,
                    channel=parsed.channel,
                    location=parsed.location,
                    location_flags=flags,
                    location_note=parsed.location_note,
                    address=parsed.address,
                    chief_complaint=parsed.chief_complaint,
                    caller=parsed.caller,
                    intake_issues=[f"{e.field}: {e.reason}" for e in parsed.errors],
                    answered_s_before=parsed.answered_s_before if console_call else None,
                )
            )
            if idempotency_key:
                await uow.remember("intake", idempotency_key, {"incident_id": incident_id})
            return await uow.get("incidents", incident_id), True

        return await self.store.run(actor, record)

    async def amend(self, incident_id: int, body: Any, *, actor: str) -> Incident:
        """Record what changed in the report's details (see `parse_details`) as one `IncidentDetailsUpdated` and
        return the incident. Nothing is written when nothing differs. `Invalid` (bad fields), `NotFound`, or
        `Conflict` once the incident is closed or cancelled."""
        wanted = parse_details(body)

        async def record(uow) -> Incident:
            incident = await uow.get("incidents", incident_id)
            if incident is None:
                raise NotFound(ErrorCode.NO_SUCH_INCIDENT)
            if not incident.is_open:
                raise Conflict(ErrorCode.INCIDENT_REPORT_CLOSED, incident_id=incident_id, status=incident.status.value)
            changed = {name: value for name, value in wanted.items() if _detail(incident, name) != value}
            if not changed:
                return incident
            await uow.append(IncidentDetailsUpdated(at=self.clock.now(), incident_id=incident_id, **changed))
            return await uow.get("incidents", incident_id)

        return await self.store.run(actor, record)


def _detail(incident: Incident, name: str) -> Any:
    """The incident's current value of an `IncidentDetailsUpdated` field (the caller's: the first caller's)."""
    if name.startswith("caller_"):
        return getattr(incident.callers[0], name.removeprefix("caller_")) if incident.callers else None
    return getattr(incident, name)
