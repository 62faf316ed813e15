"""Every event type and every projection, listed once.

This module is the only place that knows them all: the decoder (`decode_event`) and the event stores
(db/event_store.py, dispatch/memory_store.py) read these lists, so what an event means never depends on which
modules happen to have been imported. Adding an event type: define it (dispatch/events.py, or beside its service),
add it to `EVENT_TYPES`, and add its fold function to each projection it changes. A test fails when an `Event`
subclass defined in dispatch/ is missing here (tests/dispatch/test_registry.py).
"""
from __future__ import annotations

from typing import Any

import msgspec

from dispatch import agencies, channels, moveup, mutual_aid, projections as fold, road_coverage, shifts, vitals
from dispatch.access import AccessRevoked, RateLimitTripped
from dispatch.agencies import Agency, AgencyRegistered, AgencyRetired, AgencyUpdated
from dispatch.assignment import DispatchShortfall
from dispatch.calls import (
    CallAbandoned, CallAnswered, CallAnswerOverdue, CallBackPlaced, CallBackUnanswered, CallRecorded,
)
from dispatch.channels import (
    CallerLocationShared, CallReceived, DeviceAlertRaised, HospitalNotified, LineMessageReceived,
    OutboundMessageDelivered, OutboundMessageFailed, PanicPressed, ShareLinkSent, SmsReceived, SmsSent,
)
from dispatch.events import (
    AssignmentAcknowledged, AssignmentCancelled, AssignmentEscalated, CallersAdded, DestinationChosen, Event,
    EscalationMessageOutcome,
    HospitalAlerted, HospitalCapacityUpdated, HospitalRegistered, InboundAcknowledged, IncidentMerged,
    IncidentDetailsUpdated, IncidentReported, IncidentsKeptApart, IncidentStatusChanged, IncidentTriaged, MciDeclared, PatientsDistributed,
    PatientsTagged, UnitAssigned, UnitRegistered, UnitStatusChanged, LocationConfirmed, HospitalRetired,
    StationRegistered, StationRetired, UnitRetired, UserRegistered, UserRetired,
)
from dispatch.interview import InterviewRecorded
from dispatch.model import Assignment, Hospital, Incident, Station, Unit
from dispatch.moveup import UnitRelocated
from dispatch.mutual_aid import (
    MutualAidAccepted, MutualAidDeclined, MutualAidEscalated, MutualAidRequest, MutualAidRequested,
)
from dispatch.projections import Projection
from dispatch.road_coverage import AutoDispatchWithheld
from dispatch.roads import RoadClosed, RoadReopened
from dispatch.shifts import ShiftEnded, ShiftStarted
from dispatch.vitals import VitalsRecorded

EVENT_TYPES: tuple[type[Event], ...] = (
    # incidents and their lifecycle (dispatch/events.py)
    IncidentReported, IncidentTriaged, IncidentStatusChanged, IncidentMerged, CallersAdded, IncidentsKeptApart,
    MciDeclared, PatientsTagged, PatientsDistributed, LocationConfirmed, IncidentDetailsUpdated,
    # units, assignments and the escalation ladder
    UnitRegistered, UnitStatusChanged, UnitAssigned, AssignmentAcknowledged, AssignmentEscalated,
    AssignmentCancelled, UnitRelocated, EscalationMessageOutcome,
    # hospitals
    HospitalRegistered, HospitalCapacityUpdated, DestinationChosen, HospitalAlerted, InboundAcknowledged,
    HospitalNotified,
    # intake channels and devices (dispatch/channels.py)
    CallReceived, ShareLinkSent, CallerLocationShared, SmsReceived, SmsSent, LineMessageReceived,
    OutboundMessageFailed, OutboundMessageDelivered, PanicPressed, DeviceAlertRaised,
    # patient care, roads, access
    VitalsRecorded, RoadClosed, RoadReopened, AccessRevoked, RateLimitTripped,
    # dispatch held back for the dispatcher (dispatch/road_coverage.py)
    AutoDispatchWithheld, DispatchShortfall,
    # the call itself: queue, answer, recording, and the guided CBD interview (dispatch/calls.py, interview.py)
    CallAnswered, CallAbandoned, CallAnswerOverdue, CallBackPlaced, CallBackUnanswered, CallRecorded,
    InterviewRecorded,
    # the registry: stations and posts, units, hospitals and user accounts edited and retired (dispatch/resources.py)
    StationRegistered, StationRetired, UnitRetired, HospitalRetired, UserRegistered, UserRetired,
    # agencies, shifts and mutual aid (dispatch/agencies.py, shifts.py, mutual_aid.py)
    AgencyRegistered, AgencyUpdated, AgencyRetired, ShiftStarted, ShiftEnded,
    MutualAidRequested, MutualAidAccepted, MutualAidDeclined, MutualAidEscalated,
)

INCIDENTS = Projection("incidents", Incident, "incident_id", {
    IncidentReported: fold.incident_reported,
    IncidentTriaged: fold.incident_triaged,
    IncidentStatusChanged: fold.incident_status,
    UnitAssigned: fold.incident_assigned,
    AssignmentAcknowledged: fold.incident_acknowledged,
    AssignmentCancelled: fold.incident_unassigned,
    DestinationChosen: fold.incident_destination,
    InboundAcknowledged: fold.inbound_acknowledged,
    IncidentMerged: fold.incident_merged,
    CallersAdded: fold.callers_added,
    IncidentsKeptApart: fold.kept_apart,
    MciDeclared: fold.mci_declared,
    PatientsTagged: fold.patients_tagged,
    PatientsDistributed: fold.patients_distributed,
    CallerLocationShared: channels.caller_location,
    PanicPressed: channels.panic_pressed,
    SmsReceived: channels.sms_received,
    LineMessageReceived: channels.line_message_received,
    VitalsRecorded: vitals.vitals_recorded,
    AutoDispatchWithheld: road_coverage.auto_dispatch_withheld,
    LocationConfirmed: fold.location_confirmed,
    MutualAidRequested: mutual_aid.incident_shared,
    MutualAidDeclined: mutual_aid.incident_unshared,
    MutualAidEscalated: mutual_aid.incident_unshared,
    IncidentDetailsUpdated: fold.incident_details_updated,
})
UNITS = Projection("units", Unit, "unit_id", {
    UnitRegistered: fold.unit_registered,
    UnitStatusChanged: fold.unit_status,
    UnitAssigned: fold.unit_assigned,
    AssignmentCancelled: fold.unit_released,
    UnitRelocated: moveup.unit_relocated,
    UnitRetired: fold.unit_retired,
    ShiftStarted: shifts.shift_started,
    ShiftEnded: shifts.shift_ended,
})
HOSPITALS = Projection("hospitals", Hospital, "hospital_id", {
    HospitalRegistered: fold.hospital_registered,
    HospitalCapacityUpdated: fold.hospital_capacity,
    HospitalRetired: fold.hospital_retired,
})
STATIONS = Projection("stations", Station, "station_id", {
    StationRegistered: fold.station_registered,
    StationRetired: fold.station_retired,
})
ASSIGNMENTS = Projection("assignments", Assignment, "assignment_id", {
    UnitAssigned: fold.assignment_created,
    AssignmentAcknowledged: fold.assignment_acknowledged,
    AssignmentEscalated: fold.assignment_escalated,
    EscalationMessageOutcome: fold.escalation_outcome,
    OutboundMessageDelivered: fold.escalation_message_delivered,
    OutboundMessageFailed: fold.escalation_message_failed,
    AssignmentCancelled: fold.assignment_cancelled,
})
AGENCIES = Projection("agencies", Agency, "agency_id", {
    AgencyRegistered: agencies.agency_registered,
    AgencyUpdated: agencies.agency_updated,
    AgencyRetired: agencies.agency_retired,
})
MUTUAL_AID = Projection("mutual_aid", MutualAidRequest, "request_id", {
    MutualAidRequested: mutual_aid.request_made,
    MutualAidAccepted: mutual_aid.request_accepted,
    MutualAidDeclined: mutual_aid.request_declined,
    MutualAidEscalated: mutual_aid.request_escalated,
})
# Folded in this order for every event; each is a table of the same name (db/migrations/0013_unit_document.sql,
# stations: 0050_registry.sql, agencies and mutual_aid: 0040_agencies.sql).
PROJECTIONS: tuple[Projection, ...] = (INCIDENTS, UNITS, HOSPITALS, ASSIGNMENTS, STATIONS, AGENCIES, MUTUAL_AID)
PROJECTIONS_BY_NAME: dict[str, Projection] = {p.name: p for p in PROJECTIONS}

_BY_TYPE_NAME: dict[str, type[Event]] = {cls.__name__: cls for cls in EVENT_TYPES}


def decode_event(type_name: str, payload: dict[str, Any]) -> Event:
    """Inverse of `dispatch.events.encode_event`: the event of type `type_name` (a class name in `EVENT_TYPES`).

    Raises msgspec.ValidationError for an unknown type or a payload that does not fit the type.
    """
    cls = _BY_TYPE_NAME.get(type_name)
    if cls is None:
        raise msgspec.ValidationError(f"unknown event type {type_name!r}")
    return msgspec.convert({**payload, "type": type_name}, cls)


def _check() -> None:
    """Fail at import, not at the first write, if the lists above disagree."""
    if len(_BY_TYPE_NAME) != len(EVENT_TYPES):
        raise RuntimeError("two event types share a name in EVENT_TYPES")
    for p in PROJECTIONS:
        unlisted = [cls.__name__ for cls in p.handlers if cls not in _BY_TYPE_NAME.values()]
        if unlisted:
            raise RuntimeError(f"projection {p.name} folds events missing from EVENT_TYPES: {unlisted}")


_check()
