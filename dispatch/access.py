"""Identity and who may see what: the one read rule and the per-role field allow-lists.

HTTP handlers, WebSocket fan-out, reconnect replay, snapshots and exports all ask this module; none of them decides
by itself. Pure domain: no tornado, asyncpg or redis.

Read rule (Thailand's PDPA: minimum necessary):
- the 1669 centre's dispatchers and admins see every incident, unit and event, every field (they run the
  emergency); so do dispatchers and admins without an agency (dispatch/agencies.py: they belong to the centre);
- another agency's dispatchers and admins see every field of what is theirs: their agency's units, the open
  incidents those units are on now, and the open incidents shared with their agency (a mutual-aid request for one
  of their units shares its incident, dispatch/mutual_aid.py); they act only on those, and dispatch only their own
  units (the rest through mutual aid);
- a crew sees its own unit and the incident its unit is on *now*: once the unit is released (back to available,
  returning, out of service, unassigned) or the incident ends, the crew stops seeing it, over HTTP and WebSocket;
- a hospital sees the incidents whose patients are bound for it now (the destination, or an MCI patient's
  allocation): a hospital the patient was rerouted away from stops seeing it;
- anyone else (e.g. a device) sees nothing.
What a crew or hospital may see of an incident, a unit or an event is an allow-list of fields per role: a field
not listed is never sent, so a field added later stays private until somebody decides otherwise.

Also here: the access facts every server process acts on at once (`AccessRevoked`, `RateLimitTripped`).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from dispatch.agencies import CENTRE_AGENCY_ID, agency_of
from dispatch.error_codes import ErrorCode
from dispatch.errors import Forbidden
from dispatch.events import Event
from dispatch.lifecycle import intervals
from dispatch.model import Incident, Unit
from dispatch.ports import StoredEvent

log = logging.getLogger("ems.dispatch")

ROLES = ("dispatcher", "crew", "hospital", "admin", "device")
STAFF_ROLES = ("dispatcher", "admin")  # see everything: the data controller's own operators


@dataclass(frozen=True)
class Identity:
    """Who is asking: a user with one role; crews belong to a unit, hospital staff to a hospital."""

    user_id: str
    name: str
    role: str
    unit_id: str | None = None
    hospital_id: str | None = None
    agency_id: str | None = None  # None: the 1669 centre

    @property
    def agency(self) -> str:
        """The agency this identity acts for (the centre when it has none)."""
        return agency_of(self.agency_id)

    @property
    def sees_all(self) -> bool:
        """True for the centre's dispatchers and admins: every incident, unit and event."""
        return self.is_staff and self.agency == CENTRE_AGENCY_ID

    @property
    def actor(self) -> str:
        """How this identity is written into the event log's `actor` column."""
        return f"{self.role}:{self.user_id}"

    @property
    def is_staff(self) -> bool:
        """True for dispatchers and admins, who see every field of what they may see (`sees_all`: everything)."""
        return self.role in STAFF_ROLES

    @property
    def as_dispatcher(self) -> Identity | None:
        """This identity as the `dispatcher` a service judges a unit's agency by (`require_dispatchable_unit`):
        itself for a dispatcher or admin, None for other roles (the role policy and a crew's own unit judge
        those)."""
        return self if self.is_staff else None


# ---- the read rule --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Audience:
    """The crews (by unit), hospitals and agencies (their dispatchers) that may see something, besides the
    centre."""

    unit_ids: frozenset[str] = frozenset()
    hospital_ids: frozenset[str] = frozenset()
    agency_ids: frozenset[str] = frozenset()


def may_see(identity: Identity, audience: Audience) -> bool:
    """The read rule, for events and stored rows alike."""
    if identity.sees_all:
        return True
    if identity.is_staff:
        return identity.agency in audience.agency_ids
    if identity.role == "crew":
        return bool(identity.unit_id) and identity.unit_id in audience.unit_ids
    if identity.role == "hospital":
        return bool(identity.hospital_id) and identity.hospital_id in audience.hospital_ids
    return False


def unit_on_incident(unit: Unit | None, incident: Incident) -> bool:
    """Whether `unit` is on `incident` now: assigned to it and not yet released (the incident's `unit_ids` keeps
    units that have left, for the record; the unit's own `incident_id` is cleared when it is released)."""
    return unit is not None and unit.incident_id == incident.id and unit.id in incident.unit_ids


def incident_audience(incident: Incident, units: Iterable[Unit]) -> Audience:
    """Who may see `incident` now. `units`: unit rows to consider (all of them, or just the caller's own); only those
    still on the incident count. A closed or cancelled incident has no crew or hospital audience left."""
    if not incident.is_open:
        return Audience()
    hospitals = patient_hospitals(incident)
    if incident.destination_hospital_id:
        hospitals.add(incident.destination_hospital_id)
    on_it = [u for u in units if unit_on_incident(u, incident)]
    return Audience(frozenset(u.id for u in on_it), frozenset(hospitals),
                    frozenset({agency_of(u.agency_id) for u in on_it} | set(incident.shared_with)))


def patient_hospitals(incident: Incident) -> set[str]:
    """Hospitals a mass-casualty incident's patients are allocated to (besides its destination)."""
    return {p.hospital_id for p in incident.patients if p.hospital_id}


def may_read_incident(identity: Identity, incident: Incident, units: Unit | Iterable[Unit] | None) -> bool:
    """The read rule for one stored incident. `units`: the crew's own unit row (None for other roles), or for an
    agency's dispatcher the rows of the units on the incident (`incident.unit_ids`)."""
    rows = [] if units is None else [units] if isinstance(units, Unit) else list(units)
    return may_see(identity, incident_audience(incident, rows))


def readable_incidents(identity: Identity, incidents: Iterable[Incident], units: Iterable[Unit]) -> list[Incident]:
    """The incidents `identity` may read, given the fleet's unit rows: each judged by the rows of its own units
    (one pass over the fleet, not one per incident)."""
    by_id = {u.id: u for u in units}
    return [i for i in incidents if may_read_incident(identity, i, [by_id[u] for u in i.unit_ids if u in by_id])]


def may_read_unit(identity: Identity, unit: Unit) -> bool:
    """The centre sees every unit, an agency's dispatchers their agency's, hospitals the fleet's public fields
    (see UNIT_FIELDS), a crew its own unit."""
    if identity.sees_all or identity.role == "hospital":
        return True
    if identity.is_staff:
        return agency_of(unit.agency_id) == identity.agency
    return identity.role == "crew" and unit.id == identity.unit_id


def may_dispatch_unit(identity: Identity, unit: Unit) -> bool:
    """Whether `identity` may assign, move or staff `unit` itself: the centre any unit, an agency's dispatchers
    their own (another agency's only through mutual aid)."""
    return identity.is_staff and (identity.sees_all or agency_of(unit.agency_id) == identity.agency)


def require_dispatchable_unit(identity: Identity, unit: Unit) -> None:
    """Nothing if `identity` may dispatch `unit` (`may_dispatch_unit`); Forbidden naming the unit otherwise. Call
    it in the unit of work that writes, on the row it read there: a unit moved to another agency since the caller
    last read it is then judged as it is now."""
    if not may_dispatch_unit(identity, unit):
        log.warning("forbidden unit of another agency", extra={"user": identity.user_id, "unit": unit.id})
        raise Forbidden(ErrorCode.UNIT_OF_OTHER_AGENCY, unit_id=unit.id)


# ---- allow-lists of fields ------------------------------------------------------------------------------------
# A spec maps a field name to None (the whole value) or to a nested spec (applied to a dict, or to each item of a
# list of dicts). Staff roles are not listed: they see every field.

CALLER_FOR_CREW = {"phone": None, "name": None, "channel": None}  # crews call back to find the patient; no LINE id

INCIDENT_FIELDS: dict[str, dict[str, Any]] = {
    "crew": dict.fromkeys((
        "id", "status", "channel", "reported_at", "location", "location_flags", "location_note", "address",
        "chief_complaint", "status_times", "triage", "provisional_colour", "assignment_ids", "unit_ids",
        "destination_hospital_id", "destination_eta_s", "destination_eta_source", "hospital_acknowledged_at", "notes",
        "merged_into", "mci", "patients", "vitals", "last_seq", "intervals")) | {"callers": CALLER_FOR_CREW},
    # the receiving emergency department: the clinical picture and the arrival, not who called or from where
    "hospital": dict.fromkeys((
        "id", "status", "channel", "reported_at", "chief_complaint", "status_times", "triage", "provisional_colour",
        "unit_ids",
        "destination_hospital_id", "destination_eta_s", "destination_eta_source", "hospital_acknowledged_at", "notes",
        "mci", "patients", "vitals", "last_seq", "intervals",
        # the inbound board's ETA, and whether it is a straight-line estimate outside road coverage
        "eta_s", "eta_source", "outside_coverage", "snap_distance_m")),
}

_FLEET = ("id", "capability", "station_id", "station_name", "base", "status", "standby_post_id", "standby",
          "agency_id", "last_seq")
UNIT_FIELDS: dict[str, dict[str, Any]] = {
    "crew": dict.fromkeys((*_FLEET, "crew", "phone", "incident_id", "assignment_id", "status_times", "shift",
                           "off_shift_since", "out_of_service_reason", "back_at")),  # its own
    "hospital": dict.fromkeys(_FLEET),  # no crew names, crew phones or current incident
}

_COMMON = ("at", "v")


def _fields(*names: str, **nested: dict) -> dict[str, Any]:
    return dict.fromkeys((*_COMMON, *names)) | nested


EVENT_FIELDS: dict[str, dict[str, dict[str, Any]]] = {
    "crew": {
        "IncidentReported": _fields("incident_id", "channel", "location", "location_flags", "location_note",
                                    "address", "chief_complaint", caller=CALLER_FOR_CREW),
        "IncidentTriaged": _fields("incident_id", "triage"),
        "IncidentDetailsUpdated": _fields("incident_id", "channel", "address", "chief_complaint", "caller_name",
                                          "caller_phone"),  # as CALLER_FOR_CREW: the crew may call back
        "IncidentStatusChanged": _fields("incident_id", "status", "unit_id", "reason"),
        "IncidentMerged": _fields("incident_id", "into_incident_id"),
        "CallersAdded": _fields("incident_id", "merged_from", callers=CALLER_FOR_CREW),
        "CallerLocationShared": _fields("incident_id", "location", "accuracy_m", "outside_service_area"),
        "PanicPressed": _fields("incident_id", "repeat", "press_number", "person", "medical_notes"),
        "UnitRegistered": _fields("unit_id", "capability", "station_id", "station_name", "base", "crew", "phone",
                                  "agency_id"),
        "ShiftStarted": _fields("unit_id", "shift_id", "crew", "ends_at"),  # its own crew's log-on and off
        "ShiftEnded": _fields("unit_id", "shift_id", "reason"),
        "UnitStatusChanged": _fields("unit_id", "status", "incident_id"),
        "UnitRelocated": _fields("unit_id", "post_id", "post_name", "location", "gain"),
        "UnitAssigned": _fields("assignment_id", "incident_id", "unit_id", "ack_due_at", "eta_s", "distance_m",
                                "auto", "eta_source"),
        "AssignmentAcknowledged": _fields("assignment_id", "incident_id", "unit_id", "late"),
        "AssignmentEscalated": _fields("assignment_id", "incident_id", "unit_id", "step"),
        "AssignmentCancelled": _fields("assignment_id", "incident_id", "unit_id", "reason"),
        "DestinationChosen": _fields("incident_id", "hospital_id", "unit_id", "eta_s", "eta_source"),
        "HospitalAlerted": _fields("incident_id", "hospital_id", "eta_s", "colour", "code", "eta_source"),
        "InboundAcknowledged": _fields("incident_id", "hospital_id"),
        "VitalsRecorded": _fields("incident_id", "vitals"),
        "MciDeclared": _fields("incident_id"),
        "PatientsTagged": _fields("incident_id", "colours"),
        "PatientsDistributed": _fields("incident_id", "allocations"),
    },
    "hospital": {
        "IncidentReported": _fields("incident_id", "chief_complaint"),
        "IncidentDetailsUpdated": _fields("incident_id", "chief_complaint"),  # never who called or from where
        "IncidentTriaged": _fields("incident_id", "triage"),
        "IncidentStatusChanged": _fields("incident_id", "status"),
        "IncidentMerged": _fields("incident_id", "into_incident_id"),
        "PanicPressed": _fields("incident_id", "medical_notes"),
        "UnitStatusChanged": _fields("unit_id", "status", "incident_id"),
        "UnitAssigned": _fields("incident_id", "unit_id", "eta_s", "eta_source"),
        "AssignmentAcknowledged": _fields("incident_id", "unit_id"),
        "AssignmentCancelled": _fields("incident_id", "unit_id"),
        "DestinationChosen": _fields("incident_id", "hospital_id", "unit_id", "eta_s", "eta_source"),
        "HospitalAlerted": _fields("incident_id", "hospital_id", "eta_s", "colour", "code", "summary", "eta_source"),
        "InboundAcknowledged": _fields("incident_id", "hospital_id"),
        "HospitalNotified": _fields("incident_id", "hospital_id", "via", "stage", "ok"),
        "HospitalRegistered": _fields("hospital_id", "name_th", "name_en", "location", "capabilities",
                                      "ed_beds_free", "phone"),
        "HospitalCapacityUpdated": _fields("hospital_id", "ed_beds_free", "diversion"),
        "VitalsRecorded": _fields("incident_id", "vitals"),
        "MciDeclared": _fields("incident_id"),
        "PatientsTagged": _fields("incident_id", "colours"),
        "PatientsDistributed": _fields("incident_id", "allocations"),
    },
}


def pick(value: Any, spec: dict[str, Any] | None) -> Any:
    """`value` cut down to the fields in `spec` (None: all of it); lists are cut item by item."""
    if spec is None:
        return value
    if isinstance(value, list):
        return [pick(item, spec) for item in value]
    if isinstance(value, dict):
        return {name: pick(item, spec[name]) for name, item in value.items() if name in spec}
    return None  # a scalar where the spec expects a record: never pass on what was not understood


def view_name(identity: Identity) -> str:
    """Identities with the same view name see the same fields (so encoded frames can be shared between them)."""
    return "all" if identity.is_staff else identity.role


def incident_view(identity: Identity, incident: dict) -> dict:
    """An incident (as builtins) with the fields this identity's role may see; nothing for unknown roles."""
    return incident if identity.is_staff else pick(incident, INCIDENT_FIELDS.get(identity.role, {}))


def unit_view(identity: Identity, unit: dict) -> dict:
    """A unit (as builtins) with the fields this identity's role may see; nothing for unknown roles."""
    return unit if identity.is_staff else pick(unit, UNIT_FIELDS.get(identity.role, {}))


def event_view(identity: Identity, event_type: str, payload: dict) -> dict | None:
    """The payload as this identity may see it; None when its role is not shown this type of event at all."""
    if identity.is_staff:
        return payload
    spec = EVENT_FIELDS.get(identity.role, {}).get(event_type)
    return None if spec is None else pick(payload, spec)


# ---- who is on which incident, kept from the event stream ------------------------------------------------------

RELEASED_UNIT_STATUSES = ("available", "out_of_service", "returning")  # the unit has left its incident
ENDED_INCIDENT_STATUSES = ("closed", "cancelled")
# The event types that change an incident's audience (all of them are stored on the incident's stream).
AUDIENCE_EVENT_TYPES = ("UnitAssigned", "AssignmentCancelled", "UnitStatusChanged", "DestinationChosen",
                        "PatientsDistributed", "IncidentStatusChanged", "IncidentMerged",
                        "MutualAidRequested", "MutualAidDeclined", "MutualAidEscalated")
# Events that say which agency a unit belongs to (UnitRegistered; the registry's later ones by the same rule).
UNIT_AGENCY_EVENT_TYPES = ("UnitRegistered", "UnitUpdated")
# Events that name the agencies they concern besides their unit's (mutual aid, the agency's own events).
AGENCY_FIELDS = ("agency_id", "requesting_agency_id")


def shares_by_request(incident: Incident) -> dict[str, str]:
    """The incident's mutual-aid shares, request id -> agency. A row folded before shares were keyed by request
    has only `shared_with`: each of its agencies stands under a key of its own, dropped by the agency's next
    decline or expiry (the rule that row was folded by)."""
    shares = dict(incident.shared_by_request)
    keyed = set(shares.values())
    shares.update({_unkeyed_share(a): a for a in incident.shared_with if a not in keyed})
    return shares


def _unkeyed_share(agency_id: str | None) -> str:
    return f"agency:{agency_id}"  # never a request id ("<incident>-<n>")


class Visibility:
    """Which units and hospitals are on which open incident, kept current from the event stream itself, so every
    process (and every replay) agrees without extra queries. It holds the same rule as `incident_audience`."""

    def __init__(self, unit_agencies: dict[str, str | None] | None = None) -> None:
        self.units_by_incident: dict[int, set[str]] = {}
        self.destination_by_incident: dict[int, str] = {}
        self.patient_hospitals_by_incident: dict[int, set[str]] = {}
        # incident -> {mutual-aid request id: the agency it shares the incident with}, while pending or accepted
        self.shared_by_incident: dict[int, dict[str, str]] = {}
        # unit id -> its agency; a unit not listed is the centre's
        self.agency_by_unit: dict[str, str] = {u: agency_of(a) for u, a in (unit_agencies or {}).items()}

    def load(self, incidents: Iterable[Incident], units: Iterable[Unit]) -> None:
        """Start from the open incidents and the units' rows (at process start)."""
        by_incident: dict[int, list[Unit]] = {}
        for unit in units:
            self.agency_by_unit[unit.id] = agency_of(unit.agency_id)
            if unit.incident_id is not None:
                by_incident.setdefault(unit.incident_id, []).append(unit)
        for incident in incidents:
            if not incident.is_open:
                continue
            audience = incident_audience(incident, by_incident.get(incident.id, ()))
            if audience.unit_ids:
                self.units_by_incident[incident.id] = set(audience.unit_ids)
            if incident.destination_hospital_id:
                self.destination_by_incident[incident.id] = incident.destination_hospital_id
            if allocated := patient_hospitals(incident):
                self.patient_hospitals_by_incident[incident.id] = allocated
            if shares := shares_by_request(incident):
                self.shared_by_incident[incident.id] = shares

    def observe(self, event: StoredEvent) -> None:
        """Keep the map current. Call once per event, in seq order."""
        p = event.payload
        kind = event.type
        if kind in UNIT_AGENCY_EVENT_TYPES and p.get("unit_id") and "agency_id" in p:
            self.agency_by_unit[p["unit_id"]] = agency_of(p["agency_id"])
        incident_id = p.get("incident_id")
        if incident_id is None:
            return
        if kind == "UnitAssigned":
            self.units_by_incident.setdefault(incident_id, set()).add(p["unit_id"])
        elif kind == "AssignmentCancelled" or (kind == "UnitStatusChanged"
                                               and p.get("status") in RELEASED_UNIT_STATUSES):
            self.units_by_incident.get(incident_id, set()).discard(p.get("unit_id"))  # the crew is done with it
        elif kind == "DestinationChosen":
            self.destination_by_incident[incident_id] = p["hospital_id"]  # rerouted: the old hospital drops out
        elif kind == "PatientsDistributed":
            self.patient_hospitals_by_incident[incident_id] = {h for h in p.get("allocations", {}).values() if h}
        elif kind == "MutualAidRequested":
            self.shared_by_incident.setdefault(incident_id, {})[p["request_id"]] = p["agency_id"]
        elif kind in ("MutualAidDeclined", "MutualAidEscalated"):  # that request's share only (as the projection)
            shares = self.shared_by_incident.get(incident_id, {})
            shares.pop(p.get("request_id"), None)
            shares.pop(_unkeyed_share(p.get("agency_id")), None)
        elif kind == "IncidentMerged" or (kind == "IncidentStatusChanged"
                                          and p.get("status") in ENDED_INCIDENT_STATUSES):
            self.units_by_incident.pop(incident_id, None)
            self.destination_by_incident.pop(incident_id, None)
            self.patient_hospitals_by_incident.pop(incident_id, None)
            self.shared_by_incident.pop(incident_id, None)

    def units_for(self, event: StoredEvent) -> set[str]:
        """Units whose crews may see this event: those on its incident, and the unit it names."""
        p = event.payload
        units = set(self.units_by_incident.get(p.get("incident_id"), ()))
        if p.get("unit_id"):
            units.add(p["unit_id"])
        return units

    def hospitals_for(self, event: StoredEvent) -> set[str]:
        """Hospitals that may see this event: those receiving its incident's patients, and the hospital it names."""
        p = event.payload
        incident_id = p.get("incident_id")
        hospitals = set(self.patient_hospitals_by_incident.get(incident_id, ()))
        if incident_id in self.destination_by_incident:
            hospitals.add(self.destination_by_incident[incident_id])
        if p.get("hospital_id"):
            hospitals.add(p["hospital_id"])
        return hospitals

    def unit_agency(self, unit_id: str) -> str:
        """The agency of a unit (the centre for one never registered with an agency)."""
        return self.agency_by_unit.get(unit_id, CENTRE_AGENCY_ID)

    def agencies_for(self, event: StoredEvent, units: set[str] | None = None) -> set[str]:
        """Agencies whose dispatchers may see this event: those of the units on its incident and of the unit it
        names (`units`, when already found), those its incident is shared with, and the agencies it names."""
        p = event.payload
        agencies = {self.unit_agency(u) for u in (self.units_for(event) if units is None else units)}
        agencies |= set(self.shared_by_incident.get(p.get("incident_id"), {}).values())
        agencies |= {p[name] for name in AGENCY_FIELDS if isinstance(p.get(name), str)}
        return agencies

    def audience(self, event: StoredEvent) -> Audience:
        """Which units' crews, hospitals and agencies may see `event`, from what this process knows now."""
        units = self.units_for(event)
        return Audience(frozenset(units), frozenset(self.hospitals_for(event)),
                        frozenset(self.agencies_for(event, units)))

    def can_see(self, identity: Identity, event: StoredEvent) -> bool:
        """True if `identity` is in the event's audience and its role is shown this event type at all."""
        return may_see(identity, self.audience(event)) and event_view(identity, event.type, event.payload) is not None

    def admit(self, identity: Identity, event: StoredEvent) -> bool:
        """Apply `event` and say whether `identity` sees it: its audience before or after the event (an
        assignment opens the incident to its crew, a release or closure still reaches the crew that was on it).
        The live fan-out follows the same rule (ws/hub.py)."""
        before = self.can_see(identity, event)
        self.observe(event)
        return before or self.can_see(identity, event)


class HistoryFilter:
    """Replays a stretch of the log for one identity (a reconnecting socket): each event is judged by the
    visibility that held when it happened, not by today's, so a resuming client gets exactly the frames it would
    have had live. Feed it the log in seq order, page by page:

        unknown = history.unknown_incidents(page)
        history.learn(<AUDIENCE_EVENT_TYPES events of those incidents at or before the start, in seq order>)
        visible = history.admit(page)
    """

    def __init__(self, identity: Identity, unit_agencies: dict[str, str | None] | None = None):
        """`unit_agencies`: unit id -> agency id, for an agency's dispatcher (units change agency rarely, so
        today's map stands in for the one of the replayed stretch)."""
        self.identity = identity
        self.visibility = Visibility(unit_agencies)
        self._known: set[int] = set()

    def unknown_incidents(self, events: Iterable[StoredEvent]) -> set[int]:
        """Incidents named in `events` whose earlier history has not been learnt yet (none for the centre)."""
        if self.identity.sees_all:
            return set()
        named = {e.payload["incident_id"] for e in events if isinstance(e.payload.get("incident_id"), int)}
        unknown = named - self._known
        self._known |= unknown
        return unknown

    def learn(self, earlier: Iterable[StoredEvent]) -> None:
        """Who was on those incidents when the stretch starts: their audience-changing events before it."""
        for event in earlier:
            self.visibility.observe(event)

    def admit(self, events: Iterable[StoredEvent]) -> list[StoredEvent]:
        """The events of a replayed stretch that this identity may see, in order (the centre sees all)."""
        if self.identity.sees_all:
            return list(events)
        return [event for event in events if self.visibility.admit(self.identity, event)]


# ---- access facts ---------------------------------------------------------------------------------------------

class AccessRevoked(Event, frozen=True):
    """One token (token_sha256 given) or every token of a user was revoked."""

    user_id: str
    token_sha256: str | None = None
    reason: str | None = None


class RateLimitTripped(Event, frozen=True):
    """A source exceeded its request budget; dispatchers are alerted (one event per source and window)."""

    bucket: str
    source_id: str
    limit_per_minute: int

    @property
    def stream(self) -> str:
        """One stream for every rate-limit alert."""
        return "system-ratelimit"


def view_for(identity: Identity, incident: Incident) -> dict:
    """The incident as plain data with the fields this identity's role may see (INCIDENT_FIELDS), plus its
    lifecycle intervals in seconds (``intervals``). Pure; never raises for a well-formed incident."""
    data = msgspec.to_builtins(incident)
    data["intervals"] = intervals(incident)
    return incident_view(identity, data)
