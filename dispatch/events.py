"""Domain events: past-tense facts, one row each in the `events` table.

Every event is a frozen msgspec Struct tagged with its class name (the `type` column) and carries a schema
version `v` and its time `at` (UTC, from the service's clock; ordering never depends on it, only on `seq`).
Serialisation lives in one place: `encode_event` here, and its inverse `decode_event` in dispatch/registry.py,
which lists every event type (this module cannot: the types defined beside their services import it).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from dispatch.model import (
    DEFAULT_AGENCY, Capability, Caller, Channel, Colour, IncidentStatus, LatLon, LocationFlag, Triage, UnitStatus,
)


class Event(msgspec.Struct, kw_only=True, frozen=True, tag_field="type", tag=True):
    at: datetime
    v: int = 1

    @property
    def stream(self) -> str:
        """The aggregate this event belongs to, e.g. 'incident-42', 'unit-CB01' or 'user-crew-1': the first of these
        ids the event carries (a panic press is its incident's, a unit's registration the unit's)."""
        for attr, prefix in (("user_id", "user"), ("incident_id", "incident"), ("unit_id", "unit"),
                             ("hospital_id", "hospital"), ("station_id", "station"), ("device_id", "device"),
                             ("agency_id", "agency")):
            value = getattr(self, attr, None)
            if value is not None:
                return f"{prefix}-{value}"
        return "system"


class IncidentReported(Event, frozen=True):
    incident_id: int
    channel: Channel
    location: LatLon | None = None
    location_flags: list[LocationFlag] = []
    location_note: str | None = None
    address: str | None = None
    chief_complaint: str | None = None
    caller: Caller | None = None
    intake_issues: list[str] = []
    # A call taken on the console (New call): seconds from the dispatcher answering it to this report, measured by
    # the console (a duration, never a browser clock), so the call's answer-to-dispatch time reaches the KPIs.
    answered_s_before: float | None = None


def encode_event(event: Event) -> tuple[str, dict[str, Any]]:
    """Return (type name, JSON-safe payload) for storage and fan-out."""
    payload = msgspec.to_builtins(event)
    return payload.pop("type"), payload


class IncidentTriaged(Event, frozen=True):
    """A CBD card and determinant were chosen, or a dispatcher overrode the colour (override_reason set)."""

    incident_id: int
    triage: Triage


class IncidentStatusChanged(Event, frozen=True):
    incident_id: int
    status: IncidentStatus
    unit_id: str | None = None
    reason: str | None = None
    disposition: str | None = None  # close-out code (dispatch.lifecycle.DISPOSITIONS) on a close or cancel


class UnitRegistered(Event, frozen=True):
    """A unit joined the registry, or its details were edited (the whole record again; live status is kept)."""

    unit_id: str
    capability: Capability
    station_id: str
    station_name: str
    base: LatLon
    crew: list[str] = []
    phone: str | None = None
    agency_id: str = DEFAULT_AGENCY


class UnitStatusChanged(Event, frozen=True):
    unit_id: str
    status: UnitStatus
    incident_id: int | None = None
    reason: str | None = None  # out of service: why
    back_at: datetime | None = None  # out of service: when it is expected back (UTC)


class HospitalRegistered(Event, frozen=True):
    """A hospital joined the registry, or its details were edited (the whole record again; diversion is kept)."""

    hospital_id: str
    name_th: str
    name_en: str
    location: LatLon
    capabilities: list[str] = []
    ed_beds_free: int = 0
    phone: str | None = None
    ed_beds: int | None = None
    fhir_endpoint: str | None = None


class UnitRetired(Event, frozen=True):
    """The unit left the registry: its history stays, it is never recommended again."""

    unit_id: str
    reason: str | None = None


class HospitalRetired(Event, frozen=True):
    """The hospital left the registry: its history stays, it is never offered as a destination again."""

    hospital_id: str
    reason: str | None = None


class StationRegistered(Event, frozen=True):
    """A station or standby post joined the registry, or its details were edited (the whole record again)."""

    station_id: str
    name_th: str
    name_en: str
    location: LatLon
    agency_id: str = DEFAULT_AGENCY
    kind: str = "station"


class StationRetired(Event, frozen=True):
    station_id: str
    reason: str | None = None


class UserRegistered(Event, frozen=True):
    """A person's account was created or edited (never the password: only whether it was set)."""

    user_id: str
    name: str
    role: str
    agency_id: str = DEFAULT_AGENCY
    unit_id: str | None = None
    hospital_id: str | None = None
    phone: str | None = None
    password_set: bool = False


class UserRetired(Event, frozen=True):
    """The account was disabled: it can no longer log in, its tokens are revoked, its history stays."""

    user_id: str
    reason: str | None = None


class HospitalCapacityUpdated(Event, frozen=True):
    hospital_id: str
    ed_beds_free: int
    diversion: bool


class UnitAssigned(Event, frozen=True):
    assignment_id: int
    incident_id: int
    unit_id: str
    ack_due_at: datetime
    eta_s: float | None = None
    distance_m: float | None = None
    auto: bool = False  # made by the auto-dispatch policy, not a dispatcher
    eta_source: str | None = None  # "road", or "straight_line" outside road coverage; None in older events


class AssignmentAcknowledged(Event, frozen=True):
    assignment_id: int
    incident_id: int
    unit_id: str
    late: bool = False  # after the ladder had started


class AssignmentEscalated(Event, frozen=True):
    """One step of the ladder for an unacknowledged assignment: repush, sms, voice, next_unit."""

    assignment_id: int
    incident_id: int
    unit_id: str
    step: str
    detail: str | None = None


class EscalationMessageOutcome(Event, frozen=True):
    """What became of a ladder step's text or call to the crew, right after it was attempted: sent (the provider
    took it; a later OutboundMessageFailed with the same message_sid means it failed after all), not_configured
    (no SMS/voice provider: it was only recorded locally), no_phone (the unit has no number) or failed (the
    provider refused it; error says why)."""

    assignment_id: int
    incident_id: int
    unit_id: str
    step: str  # sms | voice
    outcome: str  # sent | not_configured | no_phone | failed
    message_sid: str | None = None
    error: str | None = None


class AssignmentCancelled(Event, frozen=True):
    assignment_id: int
    incident_id: int
    unit_id: str
    reason: str


class DestinationChosen(Event, frozen=True):
    incident_id: int
    hospital_id: str
    unit_id: str | None = None
    eta_s: float | None = None
    eta_source: str | None = None  # "road", or "straight_line" outside road coverage; None in older events


class HospitalAlerted(Event, frozen=True):
    """Pre-arrival notice to the receiving emergency department (board, and FHIR/SMS where configured)."""

    incident_id: int
    hospital_id: str
    eta_s: float | None = None
    colour: str | None = None
    code: str | None = None
    summary: str | None = None
    eta_source: str | None = None  # "road", or "straight_line" outside road coverage; None in older events


class InboundAcknowledged(Event, frozen=True):
    """The receiving emergency department has seen the pre-arrival alert for this patient."""

    incident_id: int
    hospital_id: str


class IncidentMerged(Event, frozen=True):
    """This incident was a duplicate call about `into_incident_id`; it closes, its callers move over."""

    incident_id: int
    into_incident_id: int


class CallersAdded(Event, frozen=True):
    incident_id: int
    callers: list[Caller]
    merged_from: int | None = None


class IncidentsKeptApart(Event, frozen=True):
    incident_id: int
    other_incident_id: int


class MciDeclared(Event, frozen=True):
    incident_id: int


class PatientsTagged(Event, frozen=True):
    incident_id: int
    colours: list[Colour]  # one entry per new casualty, numbered after the existing ones


class PatientsDistributed(Event, frozen=True):
    incident_id: int
    allocations: dict[str, str]  # patient number → hospital id


class LocationConfirmed(Event, frozen=True):
    """The incident's location was set or changed: where it came from (`source`: typed_address, map_pin,
    sms_link, line, device, geocoder), the place's label, the geocoder's confidence (0..1, geocoder only) and the
    dispatcher who chose it (None when the system set it, e.g. the automatic geocoding of an address)."""

    incident_id: int
    location: LatLon
    source: str
    label: str | None = None
    confidence: float | None = None
    confirmed_by: str | None = None
    outside_service_area: bool = False


class IncidentDetailsUpdated(Event, frozen=True):
    """A dispatcher changed what was reported after the incident was created (the call-taker keeps typing once the
    location is known). Only the fields that changed are present (an absent field is `msgspec.UNSET`, left out of
    the payload); None clears one. The values before the change stay in the earlier events; `actor` says who."""

    incident_id: int
    channel: Channel | msgspec.UnsetType = msgspec.UNSET
    address: str | None | msgspec.UnsetType = msgspec.UNSET
    chief_complaint: str | None | msgspec.UnsetType = msgspec.UNSET
    caller_name: str | None | msgspec.UnsetType = msgspec.UNSET
    caller_phone: str | None | msgspec.UnsetType = msgspec.UNSET

    def changes(self) -> dict[str, Any]:
        """The changed fields by name (those not UNSET), e.g. {"caller_phone": "081 234 5678", "address": None}."""
        return {name: value for name in DETAIL_FIELDS if (value := getattr(self, name)) is not msgspec.UNSET}


DETAIL_FIELDS = ("channel", "address", "chief_complaint", "caller_name", "caller_phone")
