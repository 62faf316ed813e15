"""Projections: pure functions folding events into current state.

The event store (db/ or dispatch/memory_store.py) calls `project` for every appended event, in the same
transaction, and writes back what it returns; replaying all events through `project` rebuilds every table.
Each fold function takes the row's state (None if the row does not exist yet) and one event and returns the new
state. Which function folds which event into which table is listed in one place: `dispatch/registry.py`
(the folds of channel, move-up and vitals events live beside those events, in their own modules).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from dispatch.events import (
    AssignmentAcknowledged, AssignmentCancelled, AssignmentEscalated, EscalationMessageOutcome, DestinationChosen,
    Event, HospitalCapacityUpdated, HospitalRegistered, InboundAcknowledged, IncidentReported, IncidentStatusChanged,
    IncidentTriaged, UnitAssigned, UnitRegistered, UnitStatusChanged, IncidentMerged, CallersAdded, IncidentsKeptApart,
    MciDeclared, PatientsTagged, PatientsDistributed, LocationConfirmed,
)
from dispatch.model import (
    Assignment, AssignmentStatus, Hospital, Incident, IncidentStatus, LocationFlag, Patient, Unit, UnitStatus,
)


@dataclass(frozen=True)
class Projection:
    """One kind of current-state row: its table, its key on events, and the fold function per event type.

    `name` is also the table's name (created by a migration in db/migrations); `key_attr` names the event
    field holding the row's key (the table's `id`); events whose type has no fold here leave the table alone.
    """

    name: str
    state_type: type[msgspec.Struct]
    key_attr: str
    handlers: Mapping[type[Event], Callable[[Any, Any], Any]]

    def key(self, event: Event) -> Any | None:
        """The key of the row `event` changes in this projection, or None when it changes none."""
        if type(event) not in self.handlers:
            return None
        return getattr(event, self.key_attr, None)


def project(projection: Projection, state: Any | None, event: Event, seq: int) -> Any:
    """Fold one event into `state` (None if the row does not exist yet); returns the new state."""
    new_state = projection.handlers[type(event)](state, event)
    new_state.last_seq = seq
    return new_state


def incident_reported(_: Incident | None, e: IncidentReported) -> Incident:
    return Incident(
        id=e.incident_id,
        status=IncidentStatus.RECEIVED,
        channel=e.channel,
        reported_at=e.at,
        location=e.location,
        location_flags=list(e.location_flags),
        location_note=e.location_note,
        address=e.address,
        chief_complaint=e.chief_complaint,
        callers=[e.caller] if e.caller else [],
        intake_issues=list(e.intake_issues),
        status_times={IncidentStatus.RECEIVED.value: e.at},
    )


def location_confirmed(incident: Incident, e: LocationConfirmed) -> Incident:
    """A geocoder's guess stays unverified (no auto-dispatch) until a person confirms a location."""
    incident.location = e.location
    incident.location_label, incident.location_source, incident.location_confidence = e.label, e.source, e.confidence
    flags = [LocationFlag.UNVERIFIED, LocationFlag.GEOCODED] if e.source == "geocoder" else []
    if e.source == "sms_link":
        flags.append(LocationFlag.CALLER_PROVIDED)
    if e.outside_service_area:
        flags.append(LocationFlag.OUTSIDE_SERVICE_AREA)
    incident.location_flags = flags
    incident.location_note = None
    return incident


def _reach(state, status, at) -> None:
    state.status = status
    state.status_times.setdefault(status.value, at)


def incident_triaged(incident: Incident, e: IncidentTriaged) -> Incident:
    incident.triage = e.triage
    if incident.status is IncidentStatus.RECEIVED:
        _reach(incident, IncidentStatus.TRIAGED, e.at)
    return incident


def incident_status(incident: Incident, e: IncidentStatusChanged) -> Incident:
    _reach(incident, e.status, e.at)
    if e.status in (IncidentStatus.CLOSED, IncidentStatus.CANCELLED):
        incident.unit_ids = []
        incident.disposition = e.disposition
        incident.close_note = e.reason
    return incident


def incident_assigned(incident: Incident, e: UnitAssigned) -> Incident:
    incident.assignment_ids.append(e.assignment_id)
    if e.unit_id not in incident.unit_ids:
        incident.unit_ids.append(e.unit_id)
    if incident.status in (IncidentStatus.RECEIVED, IncidentStatus.TRIAGED):
        _reach(incident, IncidentStatus.ASSIGNED, e.at)
    return incident


def incident_acknowledged(incident: Incident, e: AssignmentAcknowledged) -> Incident:
    if incident.status is IncidentStatus.ASSIGNED:
        _reach(incident, IncidentStatus.ACKNOWLEDGED, e.at)
    return incident


def incident_unassigned(incident: Incident, e: AssignmentCancelled) -> Incident:
    incident.unit_ids = [u for u in incident.unit_ids if u != e.unit_id]
    if not incident.unit_ids and incident.status in (IncidentStatus.ASSIGNED, IncidentStatus.ACKNOWLEDGED):
        incident.status = IncidentStatus.TRIAGED if incident.triage else IncidentStatus.RECEIVED
    return incident


def incident_destination(incident: Incident, e: DestinationChosen) -> Incident:
    if incident.destination_hospital_id != e.hospital_id:
        incident.hospital_acknowledged_at = None  # a new hospital has not seen the alert yet
    incident.destination_hospital_id = e.hospital_id
    incident.destination_eta_s = e.eta_s
    incident.destination_eta_source = e.eta_source
    return incident


def inbound_acknowledged(incident: Incident, e: InboundAcknowledged) -> Incident:
    incident.hospital_acknowledged_at = e.at
    return incident


def unit_registered(unit: Unit | None, e: UnitRegistered) -> Unit:
    registered = Unit(id=e.unit_id, capability=e.capability, station_id=e.station_id, station_name=e.station_name,
                      base=e.base, crew=list(e.crew), phone=e.phone)
    if unit is not None:  # re-registration keeps the live status
        registered.status, registered.incident_id, registered.assignment_id = unit.status, unit.incident_id, unit.assignment_id
    registered.status_times.setdefault(registered.status.value, e.at)
    return registered


def unit_status(unit: Unit, e: UnitStatusChanged) -> Unit:
    unit.status = e.status
    unit.status_times[e.status.value] = e.at
    if e.status in (UnitStatus.AVAILABLE, UnitStatus.OUT_OF_SERVICE, UnitStatus.RETURNING):
        unit.incident_id = unit.assignment_id = None
    elif e.incident_id is not None:
        unit.incident_id = e.incident_id
    return unit


def unit_assigned(unit: Unit, e: UnitAssigned) -> Unit:
    unit.status, unit.incident_id, unit.assignment_id = UnitStatus.ASSIGNED, e.incident_id, e.assignment_id
    unit.status_times[UnitStatus.ASSIGNED.value] = e.at
    return unit


def unit_released(unit: Unit, e: AssignmentCancelled) -> Unit:
    if unit.assignment_id == e.assignment_id:
        unit.status, unit.incident_id, unit.assignment_id = UnitStatus.AVAILABLE, None, None
        unit.status_times[UnitStatus.AVAILABLE.value] = e.at
    return unit


def hospital_registered(hospital: Hospital | None, e: HospitalRegistered) -> Hospital:
    return Hospital(id=e.hospital_id, name_th=e.name_th, name_en=e.name_en, location=e.location,
                    capabilities=list(e.capabilities), ed_beds_free=e.ed_beds_free, phone=e.phone,
                    diversion=hospital.diversion if hospital else False)


def hospital_capacity(hospital: Hospital, e: HospitalCapacityUpdated) -> Hospital:
    hospital.ed_beds_free, hospital.diversion = e.ed_beds_free, e.diversion
    return hospital


def assignment_created(_: None, e: UnitAssigned) -> Assignment:
    return Assignment(id=e.assignment_id, incident_id=e.incident_id, unit_id=e.unit_id,
                      status=AssignmentStatus.AWAITING_ACK, assigned_at=e.at, ack_due_at=e.ack_due_at,
                      eta_s=e.eta_s, distance_m=e.distance_m, eta_source=e.eta_source)


def assignment_acknowledged(assignment: Assignment, e: AssignmentAcknowledged) -> Assignment:
    assignment.status, assignment.acknowledged_at = AssignmentStatus.ACKNOWLEDGED, e.at
    return assignment


def assignment_escalated(assignment: Assignment, e: AssignmentEscalated) -> Assignment:
    assignment.escalations.append(e.step)
    return assignment


def escalation_outcome(assignment: Assignment, e: EscalationMessageOutcome) -> Assignment:
    assignment.step_results = {**assignment.step_results, e.step: {"outcome": e.outcome, "message_sid": e.message_sid}}
    return assignment


def assignment_cancelled(assignment: Assignment, e: AssignmentCancelled) -> Assignment:
    assignment.status = AssignmentStatus.CANCELLED
    return assignment



def incident_merged(incident: Incident, e: IncidentMerged) -> Incident:
    incident.merged_into = e.into_incident_id
    _reach(incident, IncidentStatus.CANCELLED, e.at)
    incident.unit_ids = []
    return incident


def callers_added(incident: Incident, e: CallersAdded) -> Incident:
    incident.callers.extend(e.callers)
    if e.merged_from is not None:
        incident.notes.append(f"merged incident #{e.merged_from}")
    return incident


def kept_apart(incident: Incident, e: IncidentsKeptApart) -> Incident:
    if e.other_incident_id not in incident.kept_apart:
        incident.kept_apart.append(e.other_incident_id)
    return incident


def mci_declared(incident: Incident, e: MciDeclared) -> Incident:
    incident.mci = True
    return incident


def patients_tagged(incident: Incident, e: PatientsTagged) -> Incident:
    start = len(incident.patients)
    incident.patients.extend(Patient(number=start + n + 1, colour=c) for n, c in enumerate(e.colours))
    return incident


def patients_distributed(incident: Incident, e: PatientsDistributed) -> Incident:
    for patient in incident.patients:
        patient.hospital_id = e.allocations.get(str(patient.number), patient.hospital_id)
    return incident
