"""Projections: pure functions folding events into current state.

The event store (db/ or dispatch/memory_store.py) calls `project` for every appended event, in the same
transaction, and writes back what it returns; replaying all events through `project` rebuilds every table.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from dispatch.events import (
    AssignmentAcknowledged, AssignmentCancelled, AssignmentEscalated, DestinationChosen, Event,
    HospitalCapacityUpdated, HospitalRegistered, InboundAcknowledged, IncidentReported, IncidentStatusChanged,
    IncidentTriaged, UnitAssigned, UnitRegistered, UnitStatusChanged, IncidentMerged, CallersAdded, IncidentsKeptApart,
    MciDeclared, PatientsTagged, PatientsDistributed,
)
from dispatch.model import (
    Assignment, AssignmentStatus, Hospital, Incident, IncidentStatus, Patient, Unit, UnitStatus,
)


@dataclass
class Projection:
    """One kind of current-state row: its table, its key on events, and one fold function per event type."""

    name: str
    state_type: type[msgspec.Struct]
    key_attr: str
    handlers: dict[type[Event], Callable[[Any, Any], Any]] = field(default_factory=dict)

    def on(self, event_type: type[Event]):
        def register(fn):
            self.handlers[event_type] = fn
            return fn

        return register

    def key(self, event: Event) -> Any | None:
        if type(event) not in self.handlers:
            return None
        return getattr(event, self.key_attr, None)


INCIDENTS = Projection("incidents", Incident, "incident_id")
UNITS = Projection("units", Unit, "unit_id")
HOSPITALS = Projection("hospitals", Hospital, "hospital_id")
ASSIGNMENTS = Projection("assignments", Assignment, "assignment_id")
PROJECTIONS: list[Projection] = [INCIDENTS, UNITS, HOSPITALS, ASSIGNMENTS]


def project(projection: Projection, state: Any | None, event: Event, seq: int) -> Any:
    """Fold one event into `state` (None if the row does not exist yet); returns the new state."""
    new_state = projection.handlers[type(event)](state, event)
    new_state.last_seq = seq
    return new_state


@INCIDENTS.on(IncidentReported)
def _incident_reported(_: Incident | None, e: IncidentReported) -> Incident:
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



def _reach(state, status, at) -> None:
    state.status = status
    state.status_times.setdefault(status.value, at)


@INCIDENTS.on(IncidentTriaged)
def _incident_triaged(incident: Incident, e: IncidentTriaged) -> Incident:
    incident.triage = e.triage
    if incident.status is IncidentStatus.RECEIVED:
        _reach(incident, IncidentStatus.TRIAGED, e.at)
    return incident


@INCIDENTS.on(IncidentStatusChanged)
def _incident_status(incident: Incident, e: IncidentStatusChanged) -> Incident:
    _reach(incident, e.status, e.at)
    if e.status in (IncidentStatus.CLOSED, IncidentStatus.CANCELLED):
        incident.unit_ids = []
    return incident


@INCIDENTS.on(UnitAssigned)
def _incident_assigned(incident: Incident, e: UnitAssigned) -> Incident:
    incident.assignment_ids.append(e.assignment_id)
    if e.unit_id not in incident.unit_ids:
        incident.unit_ids.append(e.unit_id)
    if incident.status in (IncidentStatus.RECEIVED, IncidentStatus.TRIAGED):
        _reach(incident, IncidentStatus.ASSIGNED, e.at)
    return incident


@INCIDENTS.on(AssignmentAcknowledged)
def _incident_acknowledged(incident: Incident, e: AssignmentAcknowledged) -> Incident:
    if incident.status is IncidentStatus.ASSIGNED:
        _reach(incident, IncidentStatus.ACKNOWLEDGED, e.at)
    return incident


@INCIDENTS.on(AssignmentCancelled)
def _incident_unassigned(incident: Incident, e: AssignmentCancelled) -> Incident:
    incident.unit_ids = [u for u in incident.unit_ids if u != e.unit_id]
    if not incident.unit_ids and incident.status in (IncidentStatus.ASSIGNED, IncidentStatus.ACKNOWLEDGED):
        incident.status = IncidentStatus.TRIAGED if incident.triage else IncidentStatus.RECEIVED
    return incident


@INCIDENTS.on(DestinationChosen)
def _incident_destination(incident: Incident, e: DestinationChosen) -> Incident:
    if incident.destination_hospital_id != e.hospital_id:
        incident.hospital_acknowledged_at = None  # a new hospital has not seen the alert yet
    incident.destination_hospital_id = e.hospital_id
    incident.destination_eta_s = e.eta_s
    return incident


@INCIDENTS.on(InboundAcknowledged)
def _inbound_acknowledged(incident: Incident, e: InboundAcknowledged) -> Incident:
    incident.hospital_acknowledged_at = e.at
    return incident


@UNITS.on(UnitRegistered)
def _unit_registered(unit: Unit | None, e: UnitRegistered) -> Unit:
    registered = Unit(id=e.unit_id, capability=e.capability, station_id=e.station_id, station_name=e.station_name,
                      base=e.base, crew=list(e.crew), phone=e.phone)
    if unit is not None:  # re-registration keeps the live status
        registered.status, registered.incident_id, registered.assignment_id = unit.status, unit.incident_id, unit.assignment_id
    registered.status_times.setdefault(registered.status.value, e.at)
    return registered


@UNITS.on(UnitStatusChanged)
def _unit_status(unit: Unit, e: UnitStatusChanged) -> Unit:
    unit.status = e.status
    unit.status_times[e.status.value] = e.at
    if e.status in (UnitStatus.AVAILABLE, UnitStatus.OUT_OF_SERVICE, UnitStatus.RETURNING):
        unit.incident_id = unit.assignment_id = None
    elif e.incident_id is not None:
        unit.incident_id = e.incident_id
    return unit


@UNITS.on(UnitAssigned)
def _unit_assigned(unit: Unit, e: UnitAssigned) -> Unit:
    unit.status, unit.incident_id, unit.assignment_id = UnitStatus.ASSIGNED, e.incident_id, e.assignment_id
    unit.status_times[UnitStatus.ASSIGNED.value] = e.at
    return unit


@UNITS.on(AssignmentCancelled)
def _unit_released(unit: Unit, e: AssignmentCancelled) -> Unit:
    if unit.assignment_id == e.assignment_id:
        unit.status, unit.incident_id, unit.assignment_id = UnitStatus.AVAILABLE, None, None
        unit.status_times[UnitStatus.AVAILABLE.value] = e.at
    return unit


@HOSPITALS.on(HospitalRegistered)
def _hospital_registered(hospital: Hospital | None, e: HospitalRegistered) -> Hospital:
    return Hospital(id=e.hospital_id, name_th=e.name_th, name_en=e.name_en, location=e.location,
                    capabilities=list(e.capabilities), ed_beds_free=e.ed_beds_free, phone=e.phone,
                    diversion=hospital.diversion if hospital else False)


@HOSPITALS.on(HospitalCapacityUpdated)
def _hospital_capacity(hospital: Hospital, e: HospitalCapacityUpdated) -> Hospital:
    hospital.ed_beds_free, hospital.diversion = e.ed_beds_free, e.diversion
    return hospital


@ASSIGNMENTS.on(UnitAssigned)
def _assignment_created(_: None, e: UnitAssigned) -> Assignment:
    return Assignment(id=e.assignment_id, incident_id=e.incident_id, unit_id=e.unit_id,
                      status=AssignmentStatus.AWAITING_ACK, assigned_at=e.at, ack_due_at=e.ack_due_at,
                      eta_s=e.eta_s, distance_m=e.distance_m)


@ASSIGNMENTS.on(AssignmentAcknowledged)
def _assignment_acknowledged(assignment: Assignment, e: AssignmentAcknowledged) -> Assignment:
    assignment.status, assignment.acknowledged_at = AssignmentStatus.ACKNOWLEDGED, e.at
    return assignment


@ASSIGNMENTS.on(AssignmentEscalated)
def _assignment_escalated(assignment: Assignment, e: AssignmentEscalated) -> Assignment:
    assignment.escalations.append(e.step)
    return assignment


@ASSIGNMENTS.on(AssignmentCancelled)
def _assignment_cancelled(assignment: Assignment, e: AssignmentCancelled) -> Assignment:
    assignment.status = AssignmentStatus.CANCELLED
    return assignment



@INCIDENTS.on(IncidentMerged)
def _incident_merged(incident: Incident, e: IncidentMerged) -> Incident:
    incident.merged_into = e.into_incident_id
    _reach(incident, IncidentStatus.CANCELLED, e.at)
    incident.unit_ids = []
    return incident


@INCIDENTS.on(CallersAdded)
def _callers_added(incident: Incident, e: CallersAdded) -> Incident:
    incident.callers.extend(e.callers)
    if e.merged_from is not None:
        incident.notes.append(f"merged incident #{e.merged_from}")
    return incident


@INCIDENTS.on(IncidentsKeptApart)
def _kept_apart(incident: Incident, e: IncidentsKeptApart) -> Incident:
    if e.other_incident_id not in incident.kept_apart:
        incident.kept_apart.append(e.other_incident_id)
    return incident


@INCIDENTS.on(MciDeclared)
def _mci_declared(incident: Incident, e: MciDeclared) -> Incident:
    incident.mci = True
    return incident


@INCIDENTS.on(PatientsTagged)
def _patients_tagged(incident: Incident, e: PatientsTagged) -> Incident:
    start = len(incident.patients)
    incident.patients.extend(Patient(number=start + n + 1, colour=c) for n, c in enumerate(e.colours))
    return incident


@INCIDENTS.on(PatientsDistributed)
def _patients_distributed(incident: Incident, e: PatientsDistributed) -> Incident:
    for patient in incident.patients:
        patient.hospital_id = e.allocations.get(str(patient.number), patient.hospital_id)
    return incident


# Modules that define more events and projection handlers register them on import.
from dispatch import channels as _channels  # noqa: E402,F401
from dispatch import access as _access  # noqa: E402,F401
from dispatch import roads as _roads  # noqa: E402,F401
from dispatch import moveup as _moveup  # noqa: E402,F401
from dispatch import vitals as _vitals  # noqa: E402,F401
from dispatch import assignment as _assignment  # noqa: E402,F401 - DispatchShortfall
