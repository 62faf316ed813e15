"""RELIABILITY 20, 23, 24: what a crew tablet may receive, and who may open a socket at all."""
import asyncio
from datetime import timedelta

import pytest
import tornado.httpclient

from db.identity import IdentityStore
from tests.conftest import Api, GOOD_REPORT, Socket, make_user

SCENE = {"lat": 13.3611, "lon": 100.9847}


async def crew_tablet(server, unit_id: str) -> tuple[Socket, Api]:
    token = await make_user(server.ctx.pool, f"crew-{unit_id}", "crew", unit_id=unit_id)
    socket = await Socket.connect(server.config.port, token)
    await socket.next_of("snapshot")
    return socket, Api(f"http://127.0.0.1:{server.config.port}", token)


async def frames_until(socket: Socket, last) -> list[dict]:
    """Every event frame up to and including the first one for which `last(frame)` holds."""
    frames = []
    while True:
        frame = await socket.next_of("event")
        frames.append(frame)
        if last(frame):
            return frames


def is_event(kind: str, **payload):
    return lambda f: f["event"]["type"] == kind and all(f["event"]["payload"].get(k) == v for k, v in payload.items())


async def test_crew_released_from_an_incident_gets_no_more_of_its_frames(city):
    server, dispatcher = city
    _, incident = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    incident_id = incident["id"]
    leaving, leaving_api = await crew_tablet(server, "CB-BLS-01")
    staying, staying_api = await crew_tablet(server, "CB-BLS-02")
    for unit_id in ("CB-BLS-01", "CB-BLS-02"):
        status, _ = await dispatcher.post(f"/api/v1/incidents/{incident_id}/assignments", {"unit_id": unit_id})
        assert status == 201
    for unit_id, api in (("CB-BLS-01", leaving_api), ("CB-BLS-02", staying_api)):
        for step in ("en_route", "on_scene"):
            status, body = await api.post(f"/api/v1/units/{unit_id}/status", {"status": step})
            assert status == 200, body
    status, released = await leaving_api.post("/api/v1/units/CB-BLS-01/status", {"status": "available"})
    assert status == 200 and released["incident_id"] is None
    # the incident goes on with the other crew: a hospital is chosen, a caller's details change hands
    hospital_id = (await server.ctx.store.list("hospitals"))[0].id
    status, _ = await staying_api.post(f"/api/v1/incidents/{incident_id}/destinations", {"hospital_id": hospital_id})
    assert status == 200
    to_staying = await frames_until(staying, is_event("DestinationChosen", incident_id=incident_id))
    assert to_staying[-1]["event"]["payload"]["unit_id"] == "CB-BLS-02"  # the unit still on it
    # the released crew saw its own release, then nothing more about that incident
    marker = await leaving_api.post("/api/v1/units/CB-BLS-01/status", {"status": "out_of_service"})
    assert marker[0] == 200
    to_leaving = await frames_until(leaving, is_event("UnitStatusChanged", status="out_of_service"))
    after_release = [f["event"]["type"] for f in to_leaving if f["seq"] > released_seq(to_leaving)]
    assert after_release == ["UnitStatusChanged"], after_release  # only its own out-of-service change
    leaving.close()
    staying.close()


def released_seq(frames: list[dict]) -> int:
    [release] = [f["seq"] for f in frames if f["event"]["type"] == "UnitStatusChanged"
                 and f["event"]["payload"]["status"] == "available"]
    return release


async def test_crew_whose_incident_is_cancelled_before_ack_gets_no_frames_of_it_on_its_next_job(city):
    server, dispatcher = city
    tablet, _ = await crew_tablet(server, "CB-ALS-01")
    _, first = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    await dispatcher.post(f"/api/v1/incidents/{first['id']}/assignments", {"unit_id": "CB-ALS-01"})
    status, _ = await dispatcher.post(f"/api/v1/incidents/{first['id']}/status", {"status": "cancelled",
                                                                                  "reason": "duplicate call"})
    assert status == 200
    _, second = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    status, _ = await dispatcher.post(f"/api/v1/incidents/{second['id']}/assignments", {"unit_id": "CB-ALS-01"})
    assert status == 201
    frames = await frames_until(tablet, is_event("UnitAssigned", incident_id=second["id"]))
    by_type = [(f["event"]["type"], f["event"]["payload"].get("incident_id")) for f in frames]
    assert ("AssignmentCancelled", first["id"]) in by_type and ("UnitAssigned", second["id"]) in by_type
    # a reconnecting tablet replays only what it may see: the same frames, not the other incidents' reports
    second_tablet = await make_user(server.ctx.pool, "crew-replay", "crew", unit_id="CB-ALS-01")
    replay = await Socket.connect(server.config.port, second_tablet, since=0)
    replayed = await frames_until(replay, lambda f: f["seq"] >= frames[-1]["seq"])
    assert {f["event"]["type"] for f in replayed} >= {"UnitAssigned", "AssignmentCancelled"}
    def about_first(seen):
        return [(f["seq"], f["event"]["type"]) for f in seen if f["event"]["payload"].get("incident_id") == first["id"]]
    # judged by who could see each event when it happened: exactly what the live tablet got, no report of it
    assert about_first(replayed) == about_first(frames), (about_first(replayed), about_first(frames))
    assert "IncidentReported" not in {kind for _, kind in about_first(replayed)}
    tablet.close()
    replay.close()


async def test_socket_and_api_with_an_expired_token_are_refused(server):
    identities = IdentityStore(server.ctx.pool)
    await identities.upsert_user("crew-old", "crew-old", "crew", unit_id="CB-BLS-03")
    expired = await identities.issue_token("crew-old", ttl=timedelta(seconds=-1))
    with pytest.raises(tornado.httpclient.HTTPClientError) as refused:
        await Socket.connect(server.config.port, expired)
    assert refused.value.code == 401
    status, _ = await Api(f"http://127.0.0.1:{server.config.port}", expired).get("/api/v1/me")
    assert status == 401


async def test_unicode_and_markup_reach_the_socket_byte_exact(server, dispatcher_api):
    tricky = "ผู้ป่วย\u0e49 e\u0301 vs \u00e9 \u200b\u200d 🚑👩🏽‍⚕️ \u202eRTL\u202c <img src=x onerror=alert(1)> &amp;"
    socket = await Socket.connect(server.config.port, dispatcher_api.token)
    await socket.next_of("snapshot")
    status, created = await dispatcher_api.post("/api/v1/incidents", {**GOOD_REPORT, "chief_complaint": tricky,
                                                                      "address": tricky})
    assert status == 201
    [frame] = await socket.events(1)
    payload = frame["event"]["payload"]
    assert payload["chief_complaint"].encode() == tricky.encode()  # NFD stays NFD, markup stays literal
    assert payload["address"].encode() == tricky.encode()
    raw = await asyncio.wait_for(_raw_incident(dispatcher_api, created["id"]), 10)
    assert b"<img src=x" in raw.encode() and "\u202e" in raw  # stored literally, escaping is the page's job
    socket.close()


async def _raw_incident(api: Api, incident_id: int) -> str:
    response = await api.http.fetch(f"{api.base_url}/api/v1/incidents/{incident_id}",
                                    headers={"Authorization": f"Bearer {api.token}"})
    return response.body.decode()


async def test_probing_other_crews_and_hospitals_gets_one_uniform_404_and_is_logged(city, caplog):
    server, dispatcher = city
    _, incident = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": SCENE,
                                                              "caller": {"phone": "+66812345678"}})
    await dispatcher.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": "CB-ALS-02"})
    hospitals = [h.id for h in await server.ctx.store.list("hospitals")]
    await dispatcher.post(f"/api/v1/incidents/{incident['id']}/destinations", {"hospital_id": hospitals[0]})
    base = dispatcher.base_url
    other_crew = Api(base, await make_user(server.ctx.pool, "crew-probe", "crew", unit_id="CB-ALS-03"))
    other_hospital = Api(base, await make_user(server.ctx.pool, "ed-probe", "hospital", hospital_id=hospitals[1]))
    caplog.set_level("WARNING", logger="ems.api")
    for prober in (other_crew, other_hospital):
        real = await prober.get(f"/api/v1/incidents/{incident['id']}")
        guessed = await prober.get(f"/api/v1/incidents/{incident['id'] + 1000}")
        assert real == guessed == (404, {"error": {"status": 404, "code": "no_such_incident",
                                                      "message": "no such incident"}})
    probes = [r for r in caplog.records if r.getMessage() == "forbidden incident read"]
    assert {r.user for r in probes} == {"crew-probe", "ed-probe"}  # the real incident's probes are on record
    own_hospital = Api(base, await make_user(server.ctx.pool, "ed-own", "hospital", hospital_id=hospitals[0]))
    status, seen = await own_hospital.get(f"/api/v1/incidents/{incident['id']}")
    assert status == 200 and "+66812345678" not in str(seen)


async def test_a_process_started_after_the_release_does_not_send_the_old_incident_either(city, database_url, redis_url):
    from server import Server
    from tests.conftest import server_config

    server, dispatcher = city
    _, incident = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    for unit_id in ("CB-BLS-01", "CB-BLS-02"):
        await dispatcher.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": unit_id})
        for step in ("en_route", "on_scene"):
            assert (await dispatcher.post(f"/api/v1/units/{unit_id}/status", {"status": step}))[0] == 200
    assert (await dispatcher.post("/api/v1/units/CB-BLS-01/status", {"status": "available"}))[0] == 200
    later = Server(server_config(database_url, redis_url))  # learns who is on what from the projections
    await later.start()
    try:
        token = await make_user(server.ctx.pool, "crew-later", "crew", unit_id="CB-BLS-01")
        leaving = await Socket.connect(later.config.port, token)
        await leaving.next_of("snapshot")
        hospital_id = (await server.ctx.store.list("hospitals"))[0].id
        await dispatcher.post(f"/api/v1/incidents/{incident['id']}/destinations", {"hospital_id": hospital_id})
        assert (await dispatcher.post("/api/v1/units/CB-BLS-01/status", {"status": "out_of_service"}))[0] == 200
        frames = await frames_until(leaving, is_event("UnitStatusChanged", status="out_of_service"))
        assert [f["event"]["type"] for f in frames] == ["UnitStatusChanged"], frames
        leaving.close()
    finally:
        await later.stop()
