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

from dispatch.channels import OutboundMessageDelivered, OutboundMessageFailed
from dispatch.events import (
    AssignmentAcknowledged, AssignmentCancelled, AssignmentEscalated, EscalationMessageOutcome, DestinationChosen,
    Event, HospitalCapacityUpdated, HospitalRegistered, InboundAcknowledged, IncidentReported, IncidentStatusChanged,
    IncidentTriaged, UnitAssigned, UnitRegistered, UnitStatusChanged, IncidentMerged, CallersAdded, IncidentsKeptApart,
    MciDeclared, PatientsTagged, PatientsDistributed, LocationConfirmed, HospitalRetired, StationRegistered,
    StationRetired, UnitRetired, IncidentDetailsUpdated,
)
from dispatch.model import (
    Assignment, AssignmentStatus, Caller, Hospital, Incident, IncidentStatus, LocationFlag, Patient, Station, Unit, UnitStatus,
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
    """Projection: a new incident in status received, with the report's channel, location and callers."""
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
    incident.location_accuracy_m = None  # a new position: the caller's phone's accuracy no longer applies
    flags = [LocationFlag.UNVERIFIED, LocationFlag.GEOCODED] if e.source == "geocoder" else []
    if e.source == "sms_link":
        flags.append(LocationFlag.CALLER_PROVIDED)
    if e.outside_service_area:
        flags.append(LocationFlag.OUTSIDE_SERVICE_AREA)
    incident.location_flags = flags
    incident.location_note = None
    return incident


def incident_details_updated(incident: Incident, e: IncidentDetailsUpdated) -> Incident:
    """The changed fields replace the reported ones; the caller's name and phone are those of the first caller (the
    one who reported it), who is added when the report had none."""
    changes = e.changes()
    for name in ("channel", "address", "chief_complaint"):
        if name in changes:
            setattr(incident, name, changes[name])
    caller = {key: changes[f"caller_{key}"] for key in ("name", "phone") if f"caller_{key}" in changes}
    if caller:
        if not incident.callers:
            incident.callers = [Caller(channel=incident.channel.value)]
        for key, value in caller.items():
            setattr(incident.callers[0], key, value)
    return incident


def _reach(state, status, at) -> None:
    state.status = status
    state.status_times.setdefault(status.value, at)


def incident_triaged(incident: Incident, e: IncidentTriaged) -> Incident:
    """Projection: the triage replaces the previous one; a received incident becomes triaged."""
    incident.triage = e.triage
    if incident.status is IncidentStatus.RECEIVED:
        _reach(incident, IncidentStatus.TRIAGED, e.at)
    return incident


def incident_status(incident: Incident, e: IncidentStatusChanged) -> Incident:
    """Projection: the incident reaches the new status (timestamped); closing or cancelling frees its units."""
    _reach(incident, e.status, e.at)
    if e.status in (IncidentStatus.CLOSED, IncidentStatus.CANCELLED):
        incident.unit_ids = []
        incident.disposition = e.disposition
        incident.close_note = e.reason
    return incident


def incident_assigned(incident: Incident, e: UnitAssigned) -> Incident:
    """Projection: the assignment and unit join the incident; a received or triaged incident becomes assigned."""
    incident.assignment_ids.append(e.assignment_id)
    if e.unit_id not in incident.unit_ids:
        incident.unit_ids.append(e.unit_id)
    if incident.status in (IncidentStatus.RECEIVED, IncidentStatus.TRIAGED):
        _reach(incident, IncidentStatus.ASSIGNED, e.at)
    return incident


def incident_acknowledged(incident: Incident, e: AssignmentAcknowledged) -> Incident:
    """Projection: an assigned incident becomes acknowledged."""
    if incident.status is IncidentStatus.ASSIGNED:
        _reach(incident, IncidentStatus.ACKNOWLEDGED, e.at)
    return incident


def incident_unassigned(incident: Incident, e: AssignmentCancelled) -> Incident:
    """Projection: the unit leaves the incident; with none left, it falls back to triaged (or received)."""
    incident.unit_ids = [u for u in incident.unit_ids if u != e.unit_id]
    if not incident.unit_ids and incident.status in (IncidentStatus.ASSIGNED, IncidentStatus.ACKNOWLEDGED):
        incident.status = IncidentStatus.TRIAGED if incident.triage else IncidentStatus.RECEIVED
    return incident


def incident_destination(incident: Incident, e: DestinationChosen) -> Incident:
    """Projection: the chosen hospital and ETA (seconds); a new hospital has not acknowledged yet."""
    if incident.destination_hospital_id != e.hospital_id:
        incident.hospital_acknowledged_at = None  # a new hospital has not seen the alert yet
    incident.destination_hospital_id = e.hospital_id
    incident.destination_eta_s = e.eta_s
    incident.destination_eta_source = e.eta_source
    return incident


def inbound_acknowledged(incident: Incident, e: InboundAcknowledged) -> Incident:
    """Projection: the destination hospital acknowledged the pre-arrival alert at the event's time."""
    incident.hospital_acknowledged_at = e.at
    return incident


def unit_registered(unit: Unit | None, e: UnitRegistered) -> Unit:
    """Projection: the unit's registration; a re-registration keeps its live status and assignment."""
    registered = Unit(id=e.unit_id, capability=e.capability, station_id=e.station_id, station_name=e.station_name,
                      base=e.base, crew=list(e.crew), phone=e.phone, agency_id=e.agency_id)
    if unit is not None:  # re-registration keeps the live status, the crew on shift (and a retirement)
        registered.status, registered.incident_id, registered.assignment_id = unit.status, unit.incident_id, unit.assignment_id
        registered.status_times, registered.retired_at = unit.status_times, unit.retired_at
        registered.standby_post_id, registered.standby = unit.standby_post_id, unit.standby
        registered.shift, registered.off_shift_since = unit.shift, unit.off_shift_since
        registered.out_of_service_reason, registered.back_at = unit.out_of_service_reason, unit.back_at
    registered.status_times.setdefault(registered.status.value, e.at)
    return registered


def unit_status(unit: Unit, e: UnitStatusChanged) -> Unit:
    """Projection: the unit's new status (timestamped); available, returning or out of service frees it."""
    unit.status = e.status
    unit.status_times[e.status.value] = e.at
    out = e.status is UnitStatus.OUT_OF_SERVICE
    unit.out_of_service_reason, unit.back_at = (e.reason, e.back_at) if out else (None, None)
    if e.status in (UnitStatus.AVAILABLE, UnitStatus.OUT_OF_SERVICE, UnitStatus.RETURNING):
        unit.incident_id = unit.assignment_id = None
    elif e.incident_id is not None:
        unit.incident_id = e.incident_id
    return unit


def unit_assigned(unit: Unit, e: UnitAssigned) -> Unit:
    """Projection: the unit is assigned to the incident."""
    unit.status, unit.incident_id, unit.assignment_id = UnitStatus.ASSIGNED, e.incident_id, e.assignment_id
    unit.status_times[UnitStatus.ASSIGNED.value] = e.at
    return unit


def unit_released(unit: Unit, e: AssignmentCancelled) -> Unit:
    """Projection: the unit becomes available if the cancelled assignment was its current one."""
    if unit.assignment_id == e.assignment_id:
        unit.status, unit.incident_id, unit.assignment_id = UnitStatus.AVAILABLE, None, None
        unit.status_times[UnitStatus.AVAILABLE.value] = e.at
    return unit


def hospital_registered(hospital: Hospital | None, e: HospitalRegistered) -> Hospital:
    """Projection: the hospital's registration; a re-registration keeps its diversion flag."""
    return Hospital(id=e.hospital_id, name_th=e.name_th, name_en=e.name_en, location=e.location,
                    capabilities=list(e.capabilities), ed_beds_free=e.ed_beds_free, phone=e.phone,
                    ed_beds=e.ed_beds, fhir_endpoint=e.fhir_endpoint,
                    diversion=hospital.diversion if hospital else False,
                    retired_at=hospital.retired_at if hospital else None)


def unit_retired(unit: Unit, e: UnitRetired) -> Unit:
    """Projection: the unit is retired at the event's time (its row stays, no longer open)."""
    unit.retired_at = e.at
    return unit


def hospital_retired(hospital: Hospital, e: HospitalRetired) -> Hospital:
    """Projection: the hospital is retired at the event's time (its row stays, no longer open)."""
    hospital.retired_at = e.at
    return hospital


def station_registered(station: Station | None, e: StationRegistered) -> Station:
    """Projection: the station's or post's registration; an edit keeps a retirement."""
    return Station(id=e.station_id, name_th=e.name_th, name_en=e.name_en, location=e.location,
                   agency_id=e.agency_id, kind=e.kind, retired_at=station.retired_at if station else None)


def station_retired(station: Station, e: StationRetired) -> Station:
    """Projection: the station is retired at the event's time."""
    station.retired_at = e.at
    return station


def hospital_capacity(hospital: Hospital, e: HospitalCapacityUpdated) -> Hospital:
    """Projection: free emergency beds and diversion flag."""
    hospital.ed_beds_free, hospital.diversion = e.ed_beds_free, e.diversion
    return hospital


def assignment_created(_: None, e: UnitAssigned) -> Assignment:
    """Projection: a new assignment awaiting acknowledgement, due at `ack_due_at`, with its ETA (seconds) and distance
    (metres)."""
    return Assignment(id=e.assignment_id, incident_id=e.incident_id, unit_id=e.unit_id,
                      status=AssignmentStatus.AWAITING_ACK, assigned_at=e.at, ack_due_at=e.ack_due_at,
                      eta_s=e.eta_s, distance_m=e.distance_m, eta_source=e.eta_source)


def assignment_acknowledged(assignment: Assignment, e: AssignmentAcknowledged) -> Assignment:
    """Projection: the crew acknowledged at the event's time."""
    assignment.status, assignment.acknowledged_at = AssignmentStatus.ACKNOWLEDGED, e.at
    return assignment


def assignment_escalated(assignment: Assignment, e: AssignmentEscalated) -> Assignment:
    """Projection: one more ladder step taken."""
    assignment.escalations.append(e.step)
    return assignment


def escalation_outcome(assignment: Assignment, e: EscalationMessageOutcome) -> Assignment:
    """What became of a ladder step's text or call (sent, failed, not configured), on the assignment."""
    assignment.step_results = {**assignment.step_results, e.step: {"outcome": e.outcome, "message_sid": e.message_sid}}
    return assignment


def escalation_message_delivered(assignment: Assignment, e: OutboundMessageDelivered) -> Assignment:
    """The provider says a ladder step's text or call reached the crew: that step's result is delivered."""
    return _message_result(assignment, e.step, e.message_sid, "delivered", e.status)


def escalation_message_failed(assignment: Assignment, e: OutboundMessageFailed) -> Assignment:
    """The provider says a ladder step's text or call did not reach the crew: that step's result is failed."""
    return _message_result(assignment, e.step, e.message_sid, "failed", e.status)


def _message_result(assignment: Assignment, step: str | None, message_sid: str, outcome: str, status: str) -> Assignment:
    """The provider's own word on the step whose message it was; news of another message changes nothing."""
    result = assignment.step_results.get(step or "")
    if result is not None and result.get("message_sid") == message_sid:
        assignment.step_results = {**assignment.step_results, step: {**result, "outcome": outcome, "status": status}}
    return assignment


def assignment_cancelled(assignment: Assignment, e: AssignmentCancelled) -> Assignment:
    """Projection: the assignment is cancelled."""
    assignment.status = AssignmentStatus.CANCELLED
    return assignment



def incident_merged(incident: Incident, e: IncidentMerged) -> Incident:
    """Projection: the duplicate is cancelled, pointing at the incident it was merged into."""
    incident.merged_into = e.into_incident_id
    _reach(incident, IncidentStatus.CANCELLED, e.at)
    incident.unit_ids = []
    return incident


def callers_added(incident: Incident, e: CallersAdded) -> Incident:
    """Projection: callers from a merged duplicate join the incident, with a note of where from."""
    incident.callers.extend(e.callers)
    if e.merged_from is not None:
        incident.notes.append(f"merged incident #{e.merged_from}")
    return incident


def kept_apart(incident: Incident, e: IncidentsKeptApart) -> Incident:
    """Projection: the other incident is marked as a different emergency."""
    if e.other_incident_id not in incident.kept_apart:
        incident.kept_apart.append(e.other_incident_id)
    return incident


def mci_declared(incident: Incident, e: MciDeclared) -> Incident:
    """Projection: the incident is a mass-casualty incident."""
    incident.mci = True
    return incident


def patients_tagged(incident: Incident, e: PatientsTagged) -> Incident:
    """Projection: one numbered patient per tag colour, numbered on from the patients already tagged."""
    start = len(incident.patients)
    incident.patients.extend(Patient(number=start + n + 1, colour=c) for n, c in enumerate(e.colours))
    return incident


def patients_distributed(incident: Incident, e: PatientsDistributed) -> Incident:
    """Projection: each allocated patient (by number) gets its hospital; the others keep theirs."""
    for patient in incident.patients:
        patient.hospital_id = e.allocations.get(str(patient.number), patient.hospital_id)
    return incident
