"""Vital signs recorded for an incident's patient by its crew (tablet) or a dispatcher: ranges, the event, the
projection onto the incident, and the service. The hospital's FHIR bundle and board show the latest set."""
from __future__ import annotations

import math
from typing import Any

from dispatch.access import unit_on_incident
from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError, Forbidden, Invalid
from dispatch.events import Event
from dispatch.model import Incident, VitalSigns
from dispatch.policies import require
from dispatch.ports import Clock, EventStore, get_or_not_found

# Measure → (lowest, highest accepted, whole numbers only). Wide enough for any living (or arrested) patient,
# narrow enough to catch a slip of the finger such as 1200 for 120.
RANGES: dict[str, tuple[float, float, bool]] = {
    "heart_rate": (0, 300, True),  # beats/min
    "systolic_bp": (0, 300, True),  # mmHg
    "diastolic_bp": (0, 200, True),  # mmHg
    "respiratory_rate": (0, 80, True),  # breaths/min
    "spo2": (0, 100, True),  # %
    "gcs": (3, 15, True),  # Glasgow coma scale total
    "temperature": (25, 45, False),  # °C
}
KEPT_PER_INCIDENT = 50  # older sets drop off the incident's state (they stay in the event log)


class VitalsRecorded(Event, frozen=True):
    incident_id: int
    vitals: VitalSigns


def parse_vitals(body: Any) -> dict[str, int | float]:
    """The measures in a request body, validated; Invalid names every bad or unknown field."""
    if not isinstance(body, dict):
        raise Invalid(FieldError("body", ErrorCode.MUST_BE_OBJECT))
    errors, values = [], {}
    for name, value in body.items():
        if name not in RANGES:
            errors.append(FieldError(_printable(name), ErrorCode.NOT_A_VITAL_SIGN, allowed=", ".join(RANGES)))
            continue
        low, high, whole = RANGES[name]
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        if number is None or not math.isfinite(number) or (whole and not float(number).is_integer()):
            errors.append(FieldError(name, ErrorCode.MUST_BE_WHOLE if whole else ErrorCode.MUST_BE_NUMBER))
        elif not low <= number <= high:
            errors.append(FieldError(name, ErrorCode.MUST_BE_BETWEEN, low=f"{low:g}", high=f"{high:g}"))
        else:
            values[name] = int(number) if whole else round(float(number), 1)
    if not errors and not values:
        errors.append(FieldError("body", ErrorCode.VITALS_NEEDED, allowed=", ".join(RANGES)))
    if not errors and values.get("diastolic_bp", -1) >= values.get("systolic_bp", math.inf):
        errors.append(FieldError("diastolic_bp", ErrorCode.DIASTOLIC_NOT_BELOW_SYSTOLIC))
    if errors:
        raise Invalid(errors)
    return values


def _printable(name: str) -> str:
    """An unknown field's name as it may be echoed back: short, and valid UTF-8 even if the client's was not."""
    return name[:60].encode("utf-8", "backslashreplace").decode()


def readings(vitals: VitalSigns) -> dict[str, int | float]:
    """The measured values of one set, by name (what a FHIR bundle or a board shows)."""
    return {name: getattr(vitals, name) for name in RANGES if getattr(vitals, name) is not None}


def vitals_recorded(incident: Incident, e: VitalsRecorded) -> Incident:
    """Projection: the new vitals reading, keeping the last KEPT_PER_INCIDENT."""
    incident.vitals = [*incident.vitals, e.vitals][-KEPT_PER_INCIDENT:]
    return incident


class VitalsService:
    def __init__(self, store: EventStore, clock: Clock):
        self.store = store
        self.clock = clock

    async def record(self, incident_id: int, body: Any, *, actor: str, role: str,
                     own_unit: str | None = None) -> VitalSigns:
        """Record one set for `incident_id`. A crew may record only for the incident its unit is on now."""
        require(role, "record_vitals")
        values = parse_vitals(body)
        async def work(uow):
            incident = await get_or_not_found(uow, "incidents", incident_id)
            if role == "crew" and not unit_on_incident(await uow.get("units", own_unit) if own_unit else None, incident):
                raise Forbidden(ErrorCode.CREW_OWN_INCIDENT_VITALS)
            now = self.clock.now()
            vitals = VitalSigns(**values, recorded_at=now, unit_id=own_unit if role == "crew" else None)
            await uow.append(VitalsRecorded(at=now, incident_id=incident_id, vitals=vitals))
            return vitals

        return await self.store.run(actor, work)
