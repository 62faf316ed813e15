"""Vital signs: the incident's own crew or a dispatcher records them; each measure is range-checked (422 names the
field); other crews and hospitals may not record; the hospital board shows the latest set."""
import pytest

from dispatch import demo
from tests.conftest import Api, make_user, routing_ready

SCENE = {"lat": 13.3611, "lon": 100.9847}
VITALS = {"heart_rate": 128, "systolic_bp": 90, "diastolic_bp": 60, "respiratory_rate": 28, "spo2": 91, "gcs": 14,
          "temperature": 38.4}


async def _api(server, user_id: str, role: str, **scope) -> Api:
    return Api(f"http://127.0.0.1:{server.config.port}", await make_user(server.ctx.pool, user_id, role, **scope))


@pytest.fixture
async def assigned(server, dispatcher_api) -> tuple[int, str]:
    """An incident with CB-BLS-01 assigned and a destination hospital chosen: (incident id, hospital id)."""
    await demo.seed(server.ctx.store)
    await routing_ready(server)
    _, incident = await dispatcher_api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    status, _ = await dispatcher_api.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": "CB-BLS-01"})
    assert status == 201
    hospital_id = (await server.ctx.store.list("hospitals"))[0].id
    await dispatcher_api.post(f"/api/v1/incidents/{incident['id']}/destinations", {"hospital_id": hospital_id})
    return incident["id"], hospital_id


async def test_the_crew_records_vitals_and_the_hospital_board_shows_the_latest(server, assigned):
    incident_id, hospital_id = assigned
    crew = await _api(server, "crew-bls-01", "crew", unit_id="CB-BLS-01")
    status, first = await crew.post(f"/api/v1/incidents/{incident_id}/vitals", VITALS)
    assert status == 201
    assert first["vitals"] == {**VITALS, "recorded_at": first["vitals"]["recorded_at"], "unit_id": "CB-BLS-01"}
    status, _ = await crew.post(f"/api/v1/incidents/{incident_id}/vitals", {"heart_rate": 110, "spo2": 95})
    assert status == 201

    board = await _api(server, "ed-board", "hospital", hospital_id=hospital_id)
    _, inbound = await board.get(f"/api/v1/hospitals/{hospital_id}/inbound")
    [patient] = inbound["inbound"]
    assert [v["heart_rate"] for v in patient["vitals"]] == [128, 110]
    assert patient["vitals"][-1]["spo2"] == 95 and patient["vitals"][-1]["gcs"] is None
    _, seen_by_crew = await crew.get(f"/api/v1/incidents/{incident_id}")
    assert len(seen_by_crew["vitals"]) == 2


async def test_a_dispatcher_records_vitals_without_a_unit(server, dispatcher_api, assigned):
    incident_id, _ = assigned
    status, body = await dispatcher_api.post(f"/api/v1/incidents/{incident_id}/vitals", {"gcs": 9})
    assert status == 201 and body["vitals"]["gcs"] == 9 and body["vitals"]["unit_id"] is None


async def test_other_crews_and_hospitals_may_not_record(server, assigned):
    incident_id, hospital_id = assigned
    other_crew = await _api(server, "crew-als-01", "crew", unit_id="CB-ALS-01")
    board = await _api(server, "ed-board", "hospital", hospital_id=hospital_id)
    for api in (other_crew, board):
        status, _ = await api.post(f"/api/v1/incidents/{incident_id}/vitals", {"heart_rate": 80})
        assert status == 403
    assert (await Api(other_crew.base_url, None).post(f"/api/v1/incidents/{incident_id}/vitals",
                                                      {"heart_rate": 80}))[0] == 401
    events = await server.ctx.store.events_since(0, limit=5000)
    assert "VitalsRecorded" not in {e.type for e in events}


@pytest.mark.parametrize("body, fields", [
    ({"heart_rate": 400}, ["heart_rate"]),
    ({"spo2": 101, "gcs": 2, "temperature": 50}, ["spo2", "gcs", "temperature"]),
    ({"respiratory_rate": 12.5}, ["respiratory_rate"]),
    ({"heart_rate": "fast", "systolic_bp": None}, ["heart_rate", "systolic_bp"]),
    ({"systolic_bp": 80, "diastolic_bp": 95}, ["diastolic_bp"]),
    ({"pulse": 80}, ["pulse"]),
    ({}, ["body"]),
    ([70], ["body"]),
])
async def test_bad_vitals_are_422_naming_each_field(server, dispatcher_api, assigned, body, fields):
    incident_id, _ = assigned
    status, answer = await dispatcher_api.post(f"/api/v1/incidents/{incident_id}/vitals", body)
    assert status == 422
    assert [f["field"] for f in answer["error"]["fields"]] == fields


async def test_vitals_for_an_unknown_incident_are_404(dispatcher_api):
    status, _ = await dispatcher_api.post("/api/v1/incidents/999999/vitals", {"heart_rate": 80})
    assert status == 404


async def test_a_crew_moving_the_incident_itself_is_told_what_it_may_not_do(server, assigned):
    """A crew reports its unit's status; the incident's own status is the dispatcher's. The refusal names that
    action (it said 'role crew may not triage', which sent crews looking for a triage button)."""
    incident_id, _ = assigned
    crew = await _api(server, "crew-b1", "crew", unit_id="CB-BLS-01")
    status, body = await crew.post(f"/api/v1/incidents/{incident_id}/status", {"status": "on_scene"})
    assert status == 403
    assert body["error"]["code"] == "role_may_not" and body["error"]["params"]["action"] == "change incident status"
    assert "triage" not in body["error"]["message"]
