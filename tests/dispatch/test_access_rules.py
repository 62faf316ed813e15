"""dispatch/access.py without a server: the read rule, the per-role allow-lists and the live incident map."""
import ast
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from dispatch.access import (
    EVENT_FIELDS, HistoryFilter, Identity, Visibility, event_view, incident_view, may_read_incident, readable_incidents,
    unit_view,
)
from dispatch.model import Capability, Channel, Colour, Incident, IncidentStatus, LatLon, Patient, Unit
from dispatch.mutual_aid import MutualAidDeclined, incident_unshared
from dispatch.ports import StoredEvent

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
DISPATCHER = Identity("d", "D", "dispatcher")
CREW_1 = Identity("c1", "C1", "crew", unit_id="U1")
HOSPITAL_A = Identity("ha", "HA", "hospital", hospital_id="HA")
HOSPITAL_B = Identity("hb", "HB", "hospital", hospital_id="HB")


class Log:
    """Stored events with increasing seq, as the event feed hands them on."""

    def __init__(self) -> None:
        self.seq = 0

    def __call__(self, kind: str, **payload) -> StoredEvent:
        self.seq += 1
        stream = f"incident-{payload['incident_id']}" if "incident_id" in payload else "system"
        return StoredEvent(self.seq, stream, kind, {"at": NOW.isoformat(), "v": 1, **payload}, "t", NOW)


def unit(unit_id: str, incident_id: int | None) -> Unit:
    return Unit(id=unit_id, capability=Capability.ALS, station_id="S", station_name="S", base=LatLon(13.3, 100.9),
                crew=["Somchai", "Malee"], phone="+66800000001", incident_id=incident_id)


def incident(**changes) -> Incident:
    return Incident(**{"id": 7, "status": IncidentStatus.ON_SCENE, "channel": Channel.PHONE, "reported_at": NOW,
                       **changes})


def test_a_released_crew_may_not_read_the_incident_its_unit_left():
    on_it = incident(unit_ids=["U1"])
    assert may_read_incident(CREW_1, on_it, unit("U1", 7))
    assert not may_read_incident(CREW_1, on_it, unit("U1", None))  # back to available: incident_id cleared
    assert not may_read_incident(CREW_1, on_it, unit("U1", 8))  # already on another incident
    assert not may_read_incident(CREW_1, incident(unit_ids=["U1"], status=IncidentStatus.CLOSED), unit("U1", 7))


def test_rerouting_the_patient_drops_the_first_hospital_from_the_live_map():
    log, visibility = Log(), Visibility()
    visibility.observe(log("DestinationChosen", incident_id=7, hospital_id="HA"))
    vitals_before = log("VitalsRecorded", incident_id=7, vitals={"heart_rate": 120})
    assert visibility.can_see(HOSPITAL_A, vitals_before)
    visibility.observe(log("DestinationChosen", incident_id=7, hospital_id="HB"))
    vitals_after = log("VitalsRecorded", incident_id=7, vitals={"heart_rate": 130})
    assert not visibility.can_see(HOSPITAL_A, vitals_after)
    assert visibility.can_see(HOSPITAL_B, vitals_after)


def test_hospitals_see_only_their_allow_list_of_an_incident():
    seen = incident_view(HOSPITAL_A, {
        "id": 7, "status": "on_scene", "channel": "phone", "address": "12/3 Soi 5",
        "location": {"lat": 13.3, "lon": 100.9},
        "callers": [{"phone": "+66811111111", "name": "Somsri", "line_user_id": "Uabc"}], "chief_complaint": "fall",
        "intake_issues": ["caller.phone: bad"], "some_field_added_later": "secret"})
    assert seen == {"id": 7, "status": "on_scene", "channel": "phone", "chief_complaint": "fall"}


def test_crews_get_the_callers_phone_but_never_a_line_user_id():
    seen = incident_view(CREW_1, {"id": 7, "callers": [{"phone": "+66811111111", "line_user_id": "Uabc"}],
                                  "intake_issues": ["x"]})
    assert seen == {"id": 7, "callers": [{"phone": "+66811111111"}]}
    assert incident_view(DISPATCHER, {"id": 7, "intake_issues": ["x"]}) == {"id": 7, "intake_issues": ["x"]}


def test_a_hospital_sees_the_fleet_without_crew_names_phones_or_jobs():
    row = {"id": "U1", "capability": "ALS", "status": "on_scene", "crew": ["Somchai"], "phone": "+66800000001",
           "incident_id": 7, "assignment_id": 3}
    assert unit_view(HOSPITAL_A, row) == {"id": "U1", "capability": "ALS", "status": "on_scene"}
    assert unit_view(CREW_1, row) == row


def test_event_payloads_are_cut_to_the_roles_allow_list_and_unlisted_types_are_not_shown():
    report = {"incident_id": 7, "address": "12/3 Soi 5", "chief_complaint": "fall", "at": "t", "v": 1,
              "caller": {"phone": "+66811111111", "name": "Somsri", "line_user_id": "Uabc"}, "new_field": 1}
    assert event_view(HOSPITAL_A, "IncidentReported", report) == {"incident_id": 7, "chief_complaint": "fall",
                                                                   "at": "t", "v": 1}
    assert event_view(CREW_1, "IncidentReported", report)["caller"] == {"phone": "+66811111111", "name": "Somsri"}
    sms = {"incident_id": 7, "phone": "+66811111111", "body": "door code 1234"}
    assert event_view(HOSPITAL_A, "SmsReceived", sms) is None and event_view(CREW_1, "SmsReceived", sms) is None
    assert event_view(DISPATCHER, "SmsReceived", sms) == sms
    hospital_specs = EVENT_FIELDS["hospital"].values()  # no event brings a hospital its caller or their phone
    assert not any({"caller", "callers", "line_user_id"} & spec.keys() for spec in hospital_specs)


def test_replay_judges_each_event_by_the_visibility_of_its_time():
    log = Log()
    earlier = [log("UnitAssigned", incident_id=7, unit_id="U1", assignment_id=1)]
    since = log.seq
    window = [
        log("VitalsRecorded", incident_id=7, vitals={"heart_rate": 120}),  # U1 on it: seen
        log("UnitStatusChanged", incident_id=7, unit_id="U1", status="available"),  # its own release: seen
        log("VitalsRecorded", incident_id=7, vitals={"heart_rate": 90}),  # after the release: not seen
        log("UnitAssigned", incident_id=8, unit_id="U1", assignment_id=2),  # its next job: seen
    ]
    history = HistoryFilter(CREW_1)
    assert history.unknown_incidents(window) == {7, 8}
    history.learn(e for e in earlier if e.seq <= since)
    assert [e.seq for e in history.admit(window)] == [window[0].seq, window[1].seq, window[3].seq]
    today = Visibility()  # today's map would hide what the crew saw while it was on incident 7
    for event in earlier + window:
        today.observe(event)
    assert not today.can_see(CREW_1, window[0])


def test_the_access_module_is_pure_domain():
    """HTTP, WebSocket, replay and the simulator share it: it must load without the server's adapters."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, dispatch.access; print(sorted({m.split('.')[0] for m in sys.modules}))"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2]).stdout
    assert not {"tornado", "asyncpg", "redis"} & set(ast.literal_eval(loaded))


def test_a_process_starting_up_knows_who_is_on_each_open_incident_by_the_same_rule():
    mci = incident(unit_ids=["U1", "U2"], destination_hospital_id="HB", mci=True,
                   patients=[Patient(number=1, colour=Colour.RED, hospital_id="HC")])
    visibility = Visibility()
    visibility.load([mci], [unit("U1", 7), unit("U2", None)])  # U2 has left
    event = Log()("VitalsRecorded", incident_id=7, vitals={})
    assert visibility.units_for(event) == {"U1"}
    assert visibility.hospitals_for(event) == {"HB", "HC"}  # the destination and an MCI patient's hospital
    assert not visibility.can_see(HOSPITAL_A, event)


def test_readable_incidents_judges_each_incident_by_its_own_units_like_the_one_incident_rule():
    """The list rule (one pass over the fleet) agrees with may_read_incident given every unit row."""
    pao = Identity("d-pao", "d", "dispatcher", agency_id="cb-pao")
    units = [msgspec.structs.replace(unit("P1", 1), agency_id="cb-pao"), unit("C1", 2),
             msgspec.structs.replace(unit("P2", None), agency_id="cb-pao")]
    incidents = [incident(id=1, unit_ids=["P1"]), incident(id=2, unit_ids=["C1"]), incident(id=3, unit_ids=["P2"]),
                 incident(id=4, shared_with=["cb-pao"]), incident(id=5)]
    expected = [i for i in incidents if may_read_incident(pao, i, units)]
    assert readable_incidents(pao, incidents, units) == expected
    assert [i.id for i in expected] == [1, 4]


def test_a_share_folded_before_shares_were_keyed_by_request_is_withdrawn_by_the_agencys_next_decline():
    """Rows stored before `shared_by_request` existed keep the rule they were folded by, live and in the table."""
    log, restarted = Log(), Visibility()
    old_row = incident(shared_with=["cb-pao"], mutual_aid_ids=["7-1"])  # no shared_by_request
    restarted.load([old_row], [])
    note = log("IncidentNoteAdded", incident_id=7)
    assert "cb-pao" in restarted.agencies_for(note)
    restarted.observe(log("MutualAidDeclined", incident_id=7, request_id="7-1", unit_id="U9", agency_id="cb-pao"))
    assert "cb-pao" not in restarted.agencies_for(note)
    declined = MutualAidDeclined(at=NOW, request_id="7-1", incident_id=7, unit_id="U9", agency_id="cb-pao", reason="x")
    assert incident_unshared(old_row, declined).shared_with == []
