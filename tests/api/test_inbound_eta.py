"""The hospital board's inbound ETAs: where the crew is in the job, no countdown before transport, and while
transporting an absolute arrival time computed from the unit's latest AVL position (the same for every request),
recomputed when the unit moves; at hospital the patient has arrived and stays listed; a stale position says so."""
import asyncio
import json
from datetime import UTC, datetime, timedelta

from dispatch import demo
from dispatch.model import LatLon
from tests.conftest import Api, make_user, routing_ready

SCENE = {"lat": 13.3611, "lon": 100.9847}
UNIT = "CB-BLS-01"


async def _setup(server, dispatcher_api):
    """An incident at SCENE, UNIT assigned, the first demo hospital chosen: (incident, hospital, board, crew)."""
    await demo.seed(server.ctx.store)
    await routing_ready(server)
    base = f"http://127.0.0.1:{server.config.port}"
    _, incident = await dispatcher_api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    status, _ = await dispatcher_api.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": UNIT})
    assert status == 201
    hospital = (await server.ctx.store.list("hospitals"))[0]
    status, _ = await dispatcher_api.post(f"/api/v1/incidents/{incident['id']}/destinations", {"hospital_id": hospital.id})
    assert status == 200
    board = Api(base, await make_user(server.ctx.pool, f"ed-{hospital.id}", "hospital", hospital_id=hospital.id))
    crew = Api(base, await make_user(server.ctx.pool, f"crew-{UNIT}", "crew", unit_id=UNIT))
    return incident, hospital, board, crew


async def _patient(board: Api, hospital_id: str, incident_id: int) -> dict:
    status, body = await board.get(f"/api/v1/hospitals/{hospital_id}/inbound")
    assert status == 200, body
    assert body["server_time"]
    [patient] = [p for p in body["inbound"] if p["id"] == incident_id]
    return patient


async def _move(crew: Api, *statuses: str) -> None:
    for status in statuses:
        code, body = await crew.post(f"/api/v1/units/{UNIT}/status", {"status": status})
        assert code == 200, body


def _between(a: LatLon, b: LatLon, f: float) -> dict:
    return {"lat": a.lat + (b.lat - a.lat) * f, "lon": a.lon + (b.lon - a.lon) * f}


async def test_before_transport_the_stage_and_no_arrival_time(server, dispatcher_api):
    incident, hospital, board, crew = await _setup(server, dispatcher_api)
    for statuses, stage in (((), "assigned"), (("en_route",), "en_route"), (("on_scene",), "on_scene")):
        await _move(crew, *statuses)
        patient = await _patient(board, hospital.id, incident["id"])
        assert patient["stage"] == stage
        assert patient["arrival_at"] is None and patient["eta_s"] is None  # nothing to count down to yet
        assert patient["transport_estimate_s"] > 0  # scene to hospital, labelled as such on the board
        assert patient["eta_source"] == "road" and patient["outside_coverage"] is False


async def test_transporting_counts_down_to_one_arrival_time_from_the_units_position(server, dispatcher_api):
    incident, hospital, board, crew = await _setup(server, dispatcher_api)
    scene = LatLon(SCENE["lat"], SCENE["lon"])
    await _move(crew, "en_route", "on_scene")
    before = await _patient(board, hospital.id, incident["id"])
    halfway = _between(scene, hospital.location, 0.5)
    assert await server.ctx.avl.report(UNIT, halfway)
    await _move(crew, "transporting")
    first = await _patient(board, hospital.id, incident["id"])
    assert first["stage"] == "transporting" and first["eta_from"] == "unit_position" and first["eta_unit_id"] == UNIT
    assert first["position_stale"] is False
    [expected] = await server.ctx.destinations.etas.etas_to(hospital.location, [LatLon(**halfway)])  # the routing service's ETA
    assert abs(first["eta_s"] - expected.eta_s) < 0.01
    assert first["eta_s"] < before["transport_estimate_s"]  # from halfway, not from the scene
    computed = datetime.fromisoformat(first["eta_computed_at"])
    assert datetime.fromisoformat(first["arrival_at"]) == computed + timedelta(seconds=first["eta_s"])
    await asyncio.sleep(2.0)
    again = await _patient(board, hospital.id, incident["id"])
    assert again["arrival_at"] == first["arrival_at"]  # a later request (a fresh board) gets the same arrival time

    near = _between(scene, hospital.location, 0.9)
    assert await server.ctx.avl.report(UNIT, near)
    moved = await _patient(board, hospital.id, incident["id"])
    assert moved["eta_s"] < first["eta_s"] and moved["eta_computed_at"] > first["eta_computed_at"]  # recomputed


async def test_transport_without_a_position_counts_from_the_scene_at_the_start_of_transport(server, dispatcher_api):
    incident, hospital, board, crew = await _setup(server, dispatcher_api)
    await _move(crew, "en_route", "on_scene", "transporting")
    patient = await _patient(board, hospital.id, incident["id"])
    _, full = await board.get(f"/api/v1/incidents/{incident['id']}")
    assert patient["eta_from"] == "scene" and patient["position_stale"] is True
    assert patient["eta_computed_at"] == datetime.fromisoformat(full["status_times"]["transporting"]).isoformat()


async def test_a_stale_position_is_flagged(server, dispatcher_api):
    incident, hospital, board, crew = await _setup(server, dispatcher_api)
    avl = server.ctx.avl
    stale_s = server.config.page_stale_position_s
    server.ctx.clock.offset = timedelta(seconds=-(stale_s + 120))  # on scene long ago
    try:
        await _move(crew, "en_route", "on_scene")
    finally:
        server.ctx.clock.offset = timedelta(0)
    old = datetime.now(UTC) - timedelta(seconds=stale_s + 60)  # a fix on scene, none since
    await avl.redis.hset(avl.hash_prefix + UNIT, mapping={"json": json.dumps(
        {"unit_id": UNIT, "at": old.isoformat(), **_between(LatLon(**SCENE), hospital.location, 0.5)})})
    await _move(crew, "transporting")
    patient = await _patient(board, hospital.id, incident["id"])
    assert patient["eta_from"] == "unit_position" and patient["position_stale"] is True
    assert datetime.fromisoformat(patient["position_at"]) == old


async def test_at_hospital_the_patient_has_arrived_and_stays_listed(server, dispatcher_api):
    incident, hospital, board, crew = await _setup(server, dispatcher_api)
    await _move(crew, "en_route", "on_scene", "transporting", "at_hospital")
    patient = await _patient(board, hospital.id, incident["id"])
    assert patient["stage"] == "arrived" and patient["arrived_at"]
    assert patient["arrival_at"] is None and patient["eta_s"] is None


async def test_a_position_from_before_the_scene_is_not_used(server, dispatcher_api):
    """The unit's last fix was at its station, before it reached the scene (its tablet silent since): the ETA counts
    from the scene, not from the station, and the board says there is no usable position."""
    incident, hospital, board, crew = await _setup(server, dispatcher_api)
    assert await server.ctx.avl.report(UNIT, {"lat": 13.40, "lon": 101.02})  # away from both
    await asyncio.sleep(0.05)
    await _move(crew, "en_route", "on_scene", "transporting")
    patient = await _patient(board, hospital.id, incident["id"])
    assert patient["eta_from"] == "scene" and patient["position_stale"] is True
    [from_scene] = await server.ctx.destinations.etas.etas_to(hospital.location, [LatLon(**SCENE)])
    assert abs(patient["eta_s"] - from_scene.eta_s) < 0.01
