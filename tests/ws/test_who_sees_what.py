"""Issue #14 items 3-6 and RELIABILITY 22/23: one read rule for HTTP and WebSocket, field allow-lists per role, and
reconnect replay judged by the visibility each event had when it happened."""
import pytest

from dispatch.access import UNIT_FIELDS
from tests.conftest import Api, Socket, make_user, wait_until
from tests.ws.test_abuse_crew_frames import crew_tablet, frames_until, is_event

SCENE = {"lat": 13.3611, "lon": 100.9847}
CALLER = "+66811234567"


async def reported_and_assigned(server, dispatcher: Api, unit_id: str) -> tuple[int, Api, Socket]:
    """An incident with a caller's phone, the unit assigned, its crew on scene; returns (id, crew api, tablet)."""
    status, incident = await dispatcher.post("/api/v1/incidents", {
        "channel": "phone", "location": SCENE, "chief_complaint": "fall from a ladder", "address": "12/3 Soi 5",
        "caller": {"phone": CALLER, "name": "Somsri"}})
    assert status == 201, incident
    tablet, crew = await crew_tablet(server, unit_id)
    status, body = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": unit_id})
    assert status == 201, body
    for step in ("en_route", "on_scene"):
        status, body = await crew.post(f"/api/v1/units/{unit_id}/status", {"status": step})
        assert status == 200, body
    return incident["id"], crew, tablet


async def hospital_board(server, hospital_id: str, *, since: int | None = None) -> tuple[Api, Socket]:
    token = await make_user(server.ctx.pool, f"ed-{hospital_id}-{since}", "hospital", hospital_id=hospital_id)
    socket = await Socket.connect(server.config.port, token, since=since)
    if since is None:
        await socket.next_of("snapshot")
    return Api(f"http://127.0.0.1:{server.config.port}", token), socket


async def test_a_released_crew_loses_the_incident_over_http_as_it_does_over_the_socket(city):
    server, dispatcher = city
    incident_id, crew, tablet = await reported_and_assigned(server, dispatcher, "CB-BLS-01")
    status, seen = await crew.get(f"/api/v1/incidents/{incident_id}")
    assert status == 200 and seen["callers"][0]["phone"] == CALLER  # on scene: the crew may call back
    assert (await crew.get(f"/api/v1/incidents/{incident_id}/destinations"))[0] == 200
    assert (await crew.post(f"/api/v1/incidents/{incident_id}/vitals", {"heart_rate": 110}))[0] == 201
    status, released = await crew.post("/api/v1/units/CB-BLS-01/status", {"status": "available"})
    assert status == 200 and released["incident_id"] is None
    assert set(released) <= set(UNIT_FIELDS["crew"])  # its own unit, as the crew's allow-list has it
    status, body = await crew.get(f"/api/v1/incidents/{incident_id}")
    assert status == 404 and CALLER not in str(body)
    assert (await crew.get(f"/api/v1/incidents/{incident_id}/destinations"))[0] == 404
    status, body = await crew.post(f"/api/v1/incidents/{incident_id}/vitals", {"heart_rate": 120})
    assert status == 403, body
    hospital_id = (await server.ctx.store.list("hospitals"))[0].id
    assert (await crew.post(f"/api/v1/incidents/{incident_id}/destinations", {"hospital_id": hospital_id}))[0] == 404
    tablet.close()


async def test_a_hospital_the_patient_was_rerouted_away_from_gets_no_more_of_it(city):
    server, dispatcher = city
    first, second = sorted(h.id for h in await server.ctx.store.list("hospitals"))[:2]
    incident_id, _, tablet = await reported_and_assigned(server, dispatcher, "CB-ALS-01")
    status, _ = await dispatcher.post(f"/api/v1/incidents/{incident_id}/destinations", {"hospital_id": first})
    assert status == 200

    async def first_alerted() -> bool:  # its pre-arrival alert is recorded before the reroute, as on a real shift
        return any(e.type == "HospitalNotified" and e.payload["incident_id"] == incident_id
                   and e.payload["hospital_id"] == first for e in await server.ctx.store.events_since(0, limit=10_000))

    assert await wait_until(first_alerted, timeout_s=20)
    first_api, first_board = await hospital_board(server, first)
    second_api, second_board = await hospital_board(server, second)
    assert (await first_api.get(f"/api/v1/incidents/{incident_id}"))[0] == 200
    status, _ = await dispatcher.post(f"/api/v1/incidents/{incident_id}/destinations", {"hospital_id": second})
    assert status == 200
    status, _ = await dispatcher.post(f"/api/v1/incidents/{incident_id}/vitals", {"heart_rate": 140})
    assert status == 201
    # a marker the first hospital does see: its own capacity
    status, _ = await first_api.post(f"/api/v1/hospitals/{first}/capacity", {"ed_beds_free": 4, "diversion": False})
    assert status == 200
    to_first = await frames_until(first_board, is_event("HospitalCapacityUpdated", hospital_id=first))
    types = [f["event"]["type"] for f in to_first]
    assert "DestinationChosen" in types  # it is told the patient goes elsewhere ...
    after_reroute = types[types.index("DestinationChosen") + 1:]
    assert after_reroute == ["HospitalCapacityUpdated"], after_reroute  # ... and then nothing more about it
    to_second = await frames_until(second_board, is_event("VitalsRecorded", incident_id=incident_id))
    assert to_second[-1]["event"]["payload"]["vitals"]["heart_rate"] == 140
    assert (await first_api.get(f"/api/v1/incidents/{incident_id}"))[0] == 404
    status, inbound = await first_api.get(f"/api/v1/hospitals/{first}/inbound")
    assert status == 200 and incident_id not in [p["id"] for p in inbound["inbound"]]
    for socket in (tablet, first_board, second_board):
        socket.close()


async def test_hospitals_read_the_fleet_without_crew_names_phones_or_jobs(city):
    server, dispatcher = city
    incident_id, crew, tablet = await reported_and_assigned(server, dispatcher, "CB-BLS-02")
    hospital_api, board = await hospital_board(server, (await server.ctx.store.list("hospitals"))[0].id)
    status, body = await hospital_api.get("/api/v1/units")
    assert status == 200 and body["units"]
    leaked = [u["id"] for u in body["units"] if {"crew", "phone", "incident_id", "assignment_id"} & u.keys()]
    assert leaked == []
    assert {"id", "capability", "status"} <= body["units"][0].keys()
    status, own = await crew.get("/api/v1/units")
    assert status == 200 and [u["id"] for u in own["units"]] == ["CB-BLS-02"]
    assert own["units"][0]["incident_id"] == incident_id and "phone" in own["units"][0]
    status, everything = await dispatcher.get("/api/v1/units")
    assert status == 200 and all("crew" in u for u in everything["units"])
    tablet.close()
    board.close()


async def test_hospitals_see_an_allow_list_of_the_incident_over_http_and_the_socket(city):
    server, dispatcher = city
    incident_id, _, tablet = await reported_and_assigned(server, dispatcher, "CB-ALS-02")
    hospital_id = (await server.ctx.store.list("hospitals"))[0].id
    hospital_api, board = await hospital_board(server, hospital_id)
    status, _ = await dispatcher.post(f"/api/v1/incidents/{incident_id}/destinations", {"hospital_id": hospital_id})
    assert status == 200
    status, seen = await hospital_api.get(f"/api/v1/incidents/{incident_id}")
    assert status == 200 and seen["chief_complaint"] == "fall from a ladder"
    assert not {"address", "location", "callers", "location_note", "intake_issues"} & seen.keys(), seen.keys()
    status, inbound = await hospital_api.get(f"/api/v1/hospitals/{hospital_id}/inbound")
    [patient] = [p for p in inbound["inbound"] if p["id"] == incident_id]
    assert "address" not in patient and "callers" not in patient and "eta_s" in patient
    frames = await frames_until(board, is_event("HospitalAlerted", incident_id=incident_id))
    for frame in frames:
        assert "12/3 Soi 5" not in str(frame) and CALLER not in str(frame)
    tablet.close()
    board.close()


async def test_a_crew_reconnecting_replays_what_it_saw_while_on_the_incident_and_nothing_after(city):
    server, dispatcher = city
    start = await server.ctx.store.last_seq()
    incident_id, crew, tablet = await reported_and_assigned(server, dispatcher, "CB-BLS-03")
    assert (await crew.post(f"/api/v1/incidents/{incident_id}/vitals", {"heart_rate": 101}))[0] == 201
    assert (await crew.post("/api/v1/units/CB-BLS-03/status", {"status": "available"}))[0] == 200
    assert (await dispatcher.post(f"/api/v1/incidents/{incident_id}/vitals", {"heart_rate": 77}))[0] == 201
    assert (await crew.post("/api/v1/units/CB-BLS-03/status", {"status": "out_of_service"}))[0] == 200
    live = await frames_until(tablet, is_event("UnitStatusChanged", status="out_of_service"))
    replay = await Socket.connect(server.config.port, crew.token, since=start)
    replayed = await frames_until(replay, is_event("UnitStatusChanged", status="out_of_service"))
    assert [f["seq"] for f in replayed] == [f["seq"] for f in live if f["seq"] > start]
    heart_rates = [f["event"]["payload"]["vitals"]["heart_rate"] for f in replayed
                   if f["event"]["type"] == "VitalsRecorded"]
    assert heart_rates == [101]  # taken while on it: replayed; recorded after the release: never
    tablet.close()
    replay.close()


@pytest.mark.parametrize("reconnect_from", ["before_reroute", "after_destination"])
async def test_a_hospital_reconnecting_after_a_reroute_replays_only_what_was_bound_for_it(city, reconnect_from):
    server, dispatcher = city
    first, second = sorted(h.id for h in await server.ctx.store.list("hospitals"))[:2]
    incident_id, _, tablet = await reported_and_assigned(server, dispatcher, "CB-ALS-03")
    assert (await dispatcher.post(f"/api/v1/incidents/{incident_id}/destinations", {"hospital_id": first}))[0] == 200
    since = await server.ctx.store.last_seq()
    assert (await dispatcher.post(f"/api/v1/incidents/{incident_id}/vitals", {"heart_rate": 120}))[0] == 201
    assert (await dispatcher.post(f"/api/v1/incidents/{incident_id}/destinations", {"hospital_id": second}))[0] == 200
    assert (await dispatcher.post(f"/api/v1/incidents/{incident_id}/vitals", {"heart_rate": 150}))[0] == 201
    first_api, _ = await hospital_board(server, first)
    status, _ = await first_api.post(f"/api/v1/hospitals/{first}/capacity", {"ed_beds_free": 2, "diversion": False})
    assert status == 200
    _, replay = await hospital_board(server, first, since=since if reconnect_from == "after_destination" else 0)
    replayed = await frames_until(replay, is_event("HospitalCapacityUpdated", hospital_id=first))
    heart_rates = [f["event"]["payload"]["vitals"]["heart_rate"] for f in replayed
                   if f["event"]["type"] == "VitalsRecorded"]
    assert heart_rates == [120]  # while the patient was bound for it; not after the reroute
    assert not [f for f in replayed if f["event"]["type"] == "IncidentReported"]  # before it was chosen
    tablet.close()
    replay.close()
