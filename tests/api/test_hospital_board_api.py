"""The hospital board's API: acknowledging an inbound patient (an event; only that hospital, only its patients)
and the console's view of an assignment's acknowledgement deadline and escalation ladder."""
from dispatch import demo
from tests.conftest import Api, make_user, routing_ready

SCENE = {"lat": 13.3611, "lon": 100.9847}


async def _inbound_patient(server, dispatcher_api) -> tuple[dict, str, str]:
    await demo.seed(server.ctx.store)
    await routing_ready(server)
    _, incident = await dispatcher_api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    hospitals = await server.ctx.store.list("hospitals")
    mine, other = hospitals[0].id, hospitals[1].id
    status, _ = await dispatcher_api.post(f"/api/v1/incidents/{incident['id']}/destinations", {"hospital_id": mine})
    assert status == 200
    return incident, mine, other


async def _hospital_api(server, hospital_id: str) -> Api:
    token = await make_user(server.ctx.pool, f"ed-{hospital_id}", "hospital", hospital_id=hospital_id)
    return Api(f"http://127.0.0.1:{server.config.port}", token)


async def test_hospital_acknowledges_its_inbound_patient_once(server, dispatcher_api):
    incident, mine, _ = await _inbound_patient(server, dispatcher_api)
    board = await _hospital_api(server, mine)
    path = f"/api/v1/hospitals/{mine}/inbound/{incident['id']}/ack"
    status, first = await board.post(path, {})
    assert status == 200 and first["acknowledged_at"]
    status, again = await board.post(path, {})
    assert status == 200 and again["acknowledged_at"] == first["acknowledged_at"]  # repeating is harmless
    events = await server.ctx.store.events_since(0, limit=5000)
    assert [e.type for e in events].count("InboundAcknowledged") == 1
    _, inbound = await board.get(f"/api/v1/hospitals/{mine}/inbound")
    assert inbound["inbound"][0]["hospital_acknowledged_at"] == first["acknowledged_at"]


async def test_other_hospitals_and_dispatchers_cannot_acknowledge(server, dispatcher_api):
    incident, mine, other = await _inbound_patient(server, dispatcher_api)
    other_board = await _hospital_api(server, other)
    status, _ = await other_board.post(f"/api/v1/hospitals/{mine}/inbound/{incident['id']}/ack", {})
    assert status == 403  # not its hospital
    status, _ = await other_board.post(f"/api/v1/hospitals/{other}/inbound/{incident['id']}/ack", {})
    assert status == 404  # not a patient inbound to it
    status, _ = await dispatcher_api.post(f"/api/v1/hospitals/{mine}/inbound/{incident['id']}/ack", {})
    assert status == 403


async def test_assignment_view_has_the_deadline_and_the_ladder(server, dispatcher_api):
    await demo.seed(server.ctx.store)
    await routing_ready(server)
    _, incident = await dispatcher_api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    await dispatcher_api.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": "CB-BLS-01"})
    status, body = await dispatcher_api.get(f"/api/v1/incidents/{incident['id']}/assignments")
    assert status == 200
    [assignment] = body["assignments"]
    assert assignment["unit_id"] == "CB-BLS-01" and assignment["status"] == "awaiting_ack"
    assert assignment["ack_due_at"] > assignment["assigned_at"]
    assert [step["step"] for step in body["ladder"]] == ["repush", "sms", "voice", "next_unit"]
    status, _ = await dispatcher_api.get("/api/v1/incidents/999999/assignments")
    assert status == 404
