"""Domain state: the projections rebuilt from events (see dispatch/projections.py).

Structs are plain data. Times are timezone-aware UTC datetimes; distances in metres; durations in seconds.
"""
from __future__ import annotations

import enum
import math
from datetime import datetime

import msgspec


class Channel(str, enum.Enum):
    PHONE = "phone"
    SMS = "sms"
    APP = "app"
    PANIC_BUTTON = "panic_button"
    DISPATCHER = "dispatcher"
    LINE = "line"  # LINE Messaging API (the 1669 LINE official account)


class IncidentStatus(str, enum.Enum):
    RECEIVED = "received"
    TRIAGED = "triaged"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    TRANSPORTING = "transporting"
    AT_HOSPITAL = "at_hospital"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class LocationFlag(str, enum.Enum):
    UNVERIFIED = "location_unverified"  # missing or malformed coordinates from emergency intake
    OUTSIDE_SERVICE_AREA = "outside_service_area"  # stored, never auto-dispatched
    CALLER_PROVIDED = "caller_provided"  # shared by the caller's phone
    OUTSIDE_ROAD_COVERAGE = "outside_road_coverage"  # no unit has a road ETA to it: straight-line estimates only
    GEOCODED = "location_geocoded"  # placed by the geocoder from a typed address: a dispatcher should confirm it


class LatLon(msgspec.Struct, frozen=True):
    lat: float
    lon: float


class MovingFix(msgspec.Struct, frozen=True):
    """A driving unit's AVL position with its direction of travel (degrees clockwise from north): routing snaps it
    to the carriageway it drives and charges a U-turn to go back (issue #20)."""
    lat: float
    lon: float
    heading_deg: float


EARTH_RADIUS_M = 6_371_008.8  # the mean radius; every distance and metre-per-degree in the project uses it


def distance_m(a, b) -> float:
    """Great-circle (haversine) distance in metres between two points with `lat` and `lon`."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


class Caller(msgspec.Struct, kw_only=True):
    phone: str | None = None
    name: str | None = None
    channel: str | None = None
    line_user_id: str | None = None  # LINE's source.userId: how a LINE thread is recognised (private, like phone)


class Incident(msgspec.Struct, kw_only=True):
    id: int
    status: IncidentStatus
    channel: Channel
    reported_at: datetime
    location: LatLon | None = None
    location_flags: list[LocationFlag] = []
    location_note: str | None = None  # why the location is unverified (the raw input's problem)
    location_label: str | None = None  # the place chosen or found (LocationConfirmed), e.g. a geocoder candidate
    location_source: str | None = None  # where the last location change came from (LocationConfirmed.source)
    location_confidence: float | None = None  # the geocoder's score (0..1) when the geocoder placed it
    location_accuracy_m: float | None = None  # the caller's phone's stated accuracy, while its shared position holds
    address: str | None = None
    chief_complaint: str | None = None
    callers: list[Caller] = []
    intake_issues: list[str] = []  # problems found in the intake data, for the dispatcher
    status_times: dict[str, datetime] = {}  # first time each status was reached, UTC
    triage: "Triage | None" = None
    provisional_colour: str | None = None  # e.g. red for a panic button until a dispatcher triages
    assignment_ids: list[int] = []
    unit_ids: list[str] = []  # units assigned and not unassigned; a released unit stays (see access.unit_on_incident)
    destination_hospital_id: str | None = None
    destination_eta_s: float | None = None
    destination_eta_source: str | None = None  # "road", or "straight_line" when outside road coverage
    hospital_acknowledged_at: datetime | None = None  # the destination ED saw the pre-arrival alert
    notes: list[str] = []
    merged_into: int | None = None  # this call was a duplicate of that incident
    kept_apart: list[int] = []  # incidents a dispatcher said are not duplicates of this one
    mci: bool = False  # declared a mass-casualty incident
    patients: list["Patient"] = []  # MCI triage tags and where each patient goes
    vitals: list["VitalSigns"] = []  # recorded sets, oldest first (the last one is the latest)
    disposition: str | None = None  # close-out code of a closed or cancelled incident (dispatch.lifecycle)
    shared_with: list[str] = []  # agencies the incident is shared with by a mutual-aid request (dispatch/access.py)
    shared_by_request: dict[str, str] = {}  # pending or accepted mutual-aid request id -> the agency it shares with
    mutual_aid_ids: list[str] = []  # its mutual-aid requests, oldest first (dispatch/mutual_aid.py)
    close_note: str | None = None  # the dispatcher's note with the close or cancel
    last_seq: int = 0  # seq of the last event applied

    @property
    def is_open(self) -> bool:
        """False once the incident is closed or cancelled."""
        return self.status not in (IncidentStatus.CLOSED, IncidentStatus.CANCELLED)

    @property
    def colour(self) -> str | None:
        """The triage colour, else the provisional one (e.g. red from a panic button), else None."""
        return self.triage.colour.value if self.triage else self.provisional_colour


class Colour(str, enum.Enum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"
    WHITE = "white"


class Capability(str, enum.Enum):
    ALS = "ALS"  # advanced life support (paramedic/nurse, monitor, drugs)
    BLS = "BLS"  # basic life support (EMT)
    FR = "FR"  # first responder (volunteer rescue foundation, motorbike)


CAPABILITY_RANK = {Capability.ALS: 3, Capability.BLS: 2, Capability.FR: 1}


class UnitStatus(str, enum.Enum):
    AVAILABLE = "available"
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    TRANSPORTING = "transporting"
    AT_HOSPITAL = "at_hospital"
    RETURNING = "returning"
    OUT_OF_SERVICE = "out_of_service"


class Triage(msgspec.Struct, kw_only=True):
    group: int  # CBD chief-complaint group 1..25
    group_name_th: str
    group_name_en: str
    determinant: int  # index within the group's determinants, 1-based
    colour: Colour
    capability: Capability
    units: int = 1
    code: str  # e.g. "6R1": group 6, red, ALS
    text_th: str = ""
    text_en: str = ""
    override_reason: str | None = None  # set when a dispatcher overrode the colour
    mix: list[Capability] = []  # the least capability of each unit sent, most demanding first; [] = all `capability`

    @property
    def unit_capabilities(self) -> list[Capability]:
        """What to send: one entry per unit (`units` of them), most demanding first."""
        return list(self.mix) if len(self.mix) == self.units else [self.capability] * max(1, self.units)


DEFAULT_AGENCY = "1669-cb"  # the provincial 1669 centre: the agency of records that name none


class Unit(msgspec.Struct, kw_only=True):
    id: str  # call sign, e.g. "CB-ALS-01"
    capability: Capability
    station_id: str
    station_name: str
    base: LatLon
    crew: list[str] = []
    phone: str | None = None  # the crew's mobile, for SMS/voice escalation
    agency_id: str = DEFAULT_AGENCY
    retired_at: datetime | None = None  # retired from the registry: kept for the record, never recommended
    status: UnitStatus = UnitStatus.AVAILABLE
    incident_id: int | None = None
    assignment_id: int | None = None
    status_times: dict[str, datetime] = {}
    standby_post_id: str | None = None  # moved up to this post (dispatch/moveup.py); None: at its station
    standby: LatLon | None = None
    shift: "Shift | None" = None  # the crew logged on now (dispatch/shifts.py)
    off_shift_since: datetime | None = None  # set when a shift ends and no new one has started
    out_of_service_reason: str | None = None  # why it is out of service, and when it should be back (UTC)
    back_at: datetime | None = None
    last_seq: int = 0

    @property
    def is_open(self) -> bool:
        """False once retired (its row's `is_open`): `list("units", open_only=True)` is the active fleet."""
        return self.retired_at is None

    @property
    def staffed(self) -> bool:
        """Whether a crew is on board: a shift is open, or shifts were never logged for it (the registered crew)."""
        return self.shift is not None or self.off_shift_since is None


class CrewMember(msgspec.Struct, kw_only=True):
    """One person on board: their name, qualification (e.g. Paramedic, EMT-B, nurse, driver) and user id if any."""

    name: str
    qualification: str
    user_id: str | None = None


class Shift(msgspec.Struct, kw_only=True):
    """A crew logged on to a unit: who is on board since when, until when it is planned to end (UTC)."""

    id: str
    crew: list[CrewMember]
    started_at: datetime
    ends_at: datetime | None = None


class Hospital(msgspec.Struct, kw_only=True):
    id: str
    name_th: str
    name_en: str
    location: LatLon
    capabilities: list[str] = []  # trauma, stroke, stemi, paediatric, obstetric
    ed_beds_free: int = 0
    diversion: bool = False
    phone: str | None = None
    ed_beds: int | None = None  # emergency department beds in all (ed_beds_free of them free now)
    fhir_endpoint: str | None = None  # the hospital's FHIR base URL for pre-arrival alerts, when it has one
    retired_at: datetime | None = None  # retired from the registry: kept for the record, never a destination
    last_seq: int = 0

    @property
    def is_open(self) -> bool:
        """False once retired: `list("hospitals", open_only=True)` is every hospital that takes patients."""
        return self.retired_at is None


class Station(msgspec.Struct, kw_only=True):
    """A station (where units are based) or a standby post, of one agency."""

    id: str
    name_th: str
    name_en: str
    location: LatLon
    agency_id: str = DEFAULT_AGENCY
    kind: str = "station"  # station | post
    retired_at: datetime | None = None
    last_seq: int = 0

    @property
    def is_open(self) -> bool:
        """False once retired."""
        return self.retired_at is None


class AssignmentStatus(str, enum.Enum):
    AWAITING_ACK = "awaiting_ack"
    ACKNOWLEDGED = "acknowledged"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class Assignment(msgspec.Struct, kw_only=True):
    id: int
    incident_id: int
    unit_id: str
    status: AssignmentStatus
    assigned_at: datetime
    ack_due_at: datetime
    eta_s: float | None = None
    distance_m: float | None = None
    eta_source: str | None = None  # "road", or "straight_line" when outside road coverage
    acknowledged_at: datetime | None = None
    escalations: list[str] = []  # ladder steps taken, in order
    step_results: dict[str, dict] = {}  # sms/voice step → {"outcome", "message_sid"} (EscalationMessageOutcome)
    last_seq: int = 0

    @property
    def is_open(self) -> bool:
        """Open while the escalation ladder may still act on it; acknowledged ones must not pile up in its scan."""
        return self.status is AssignmentStatus.AWAITING_ACK


class Patient(msgspec.Struct, kw_only=True):
    """One casualty at a mass-casualty incident, by triage tag."""

    number: int
    colour: Colour
    hospital_id: str | None = None


class VitalSigns(msgspec.Struct, kw_only=True):
    """One set of vital signs taken at `recorded_at` (units: /min, mmHg, %, GCS 3-15, °C); unmeasured ones None."""

    heart_rate: int | None = None
    systolic_bp: int | None = None
    diastolic_bp: int | None = None
    respiratory_rate: int | None = None
    spo2: int | None = None
    gcs: int | None = None
    temperature: float | None = None
    recorded_at: datetime | None = None
    unit_id: str | None = None  # the crew that took them; None when a dispatcher entered them
