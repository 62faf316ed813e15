"""Issue #19 item 1 over the WebSocket: an agency's dispatcher console gets a snapshot of its agency's units and
incidents only, live frames only about them (or incidents shared with it), the same on a reconnect's replay, and
unit positions of its own units only."""
import pytest

from dispatch import demo
from tests.api.conftest import agency_tokens
from tests.conftest import Api, Socket, routing_ready
from tests.ws.test_abuse_crew_frames import crew_tablet, frames_until, is_event

SCENE = {"lat": 13.3611, "lon": 100.9847}


@pytest.fixture
async def province(server):
    await demo.seed(server.ctx.store)
    await routing_ready(server)
    return server, await agency_tokens(server)


async def console(server, token: str, *, since: int | None = None) -> Socket:
    socket = await Socket.connect(server.config.port, token, since=since)
    return socket


def mentions(frame: dict, incident_id: int, unit_id: str) -> bool:
    payload = frame["event"]["payload"]
    return payload.get("incident_id") == incident_id or payload.get("unit_id") == unit_id


async def two_incidents(server, centre: Api) -> tuple[int, int]:
    """Incident A with the foundation's CB-FR-01 on it, then incident B with the PAO's CB-BLS-02."""
    ids = []
    for unit_id in ("CB-FR-01", "CB-BLS-02"):
        status, incident = await centre.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
        assert status == 201
        status, body = await centre.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": unit_id})
        assert status == 201, body
        ids.append(incident["id"])
    return ids[0], ids[1]


async def test_an_agency_console_snapshot_holds_only_its_agencys_units_and_incidents(province):
    server, tokens = province
    base = f"http://127.0.0.1:{server.config.port}"
    first, second = await two_incidents(server, Api(base, tokens["centre"]))
    pao = await console(server, tokens[demo.PAO])
    state = (await pao.next_of("snapshot"))["state"]
    assert {u["id"] for u in state["units"]} == {"CB-BLS-02", "CB-BLS-03", "CB-BLS-04"}
    assert [i["id"] for i in state["incidents"]] == [second]
    centre = await console(server, tokens["centre"])
    state = (await centre.next_of("snapshot"))["state"]
    assert len(state["units"]) == len(demo.FLEET) and {i["id"] for i in state["incidents"]} == {first, second}
    for socket in (pao, centre):
        socket.close()


async def test_live_frames_and_the_replay_reach_only_the_agency_concerned(province):
    server, tokens = province
    base = f"http://127.0.0.1:{server.config.port}"
    centre, pao_api = Api(base, tokens["centre"]), Api(base, tokens[demo.PAO])
    pao = await console(server, tokens[demo.PAO])
    await pao.next_of("snapshot")
    foundation = await console(server, tokens[demo.FOUNDATION])
    await foundation.next_of("snapshot")
    first, second = await two_incidents(server, centre)
    to_pao = await frames_until(pao, is_event("UnitAssigned", unit_id="CB-BLS-02"))
    assert not [f for f in to_pao if mentions(f, first, "CB-FR-01")], to_pao
    to_foundation = await frames_until(foundation, is_event("UnitAssigned", unit_id="CB-FR-01"))
    assert to_foundation[-1]["event"]["payload"]["incident_id"] == first
    # the centre asks the PAO for a unit on the foundation's incident: the PAO is told, and sees it from now on
    status, request = await centre.post("/api/v1/mutual-aid", {"incident_id": first, "unit_id": "CB-BLS-03"})
    assert status == 201
    frame = (await frames_until(pao, is_event("MutualAidRequested", incident_id=first)))[-1]
    assert frame["event"]["payload"]["unit_id"] == "CB-BLS-03"
    status, _ = await pao_api.post(f"/api/v1/mutual-aid/{request['id']}/accept")
    assert status == 200
    assert (await frames_until(pao, is_event("UnitAssigned", unit_id="CB-BLS-03")))[-1]["event"]["payload"][
        "incident_id"] == first
    # a marker only the PAO's own console should see
    status, _ = await pao_api.post("/api/v1/units/CB-BLS-04/status", {"status": "out_of_service"})
    assert status == 200
    to_foundation = await frames_until(foundation, is_event("UnitAssigned", unit_id="CB-BLS-03"))
    assert not [f for f in to_foundation if mentions(f, second, "CB-BLS-02")]
    # reconnecting from the start, the PAO's console gets what it had live and nothing of incident A before the
    # request shared it
    replayed = await frames_until(await console(server, tokens[demo.PAO], since=0),
                                  is_event("UnitStatusChanged", unit_id="CB-BLS-04"))
    seqs = [f["seq"] for f in replayed]
    assert seqs == sorted(seqs)
    shared_at = next(f["seq"] for f in replayed if f["event"]["type"] == "MutualAidRequested")
    early = [f for f in replayed if f["seq"] < shared_at and mentions(f, first, "CB-FR-01")]
    assert early == [], early
    assert any(is_event("UnitAssigned", unit_id="CB-BLS-02")(f) for f in replayed)
    for socket in (pao, foundation):
        socket.close()


async def test_unit_positions_reach_only_the_units_agency_console(province):
    server, tokens = province
    pao = await console(server, tokens[demo.PAO])
    await pao.next_of("snapshot")
    foundation_tablet, _ = await crew_tablet(server, "CB-FR-01")
    pao_tablet, _ = await crew_tablet(server, "CB-BLS-02")
    await foundation_tablet.conn.write_message('{"type": "position", "lat": 13.36, "lon": 100.98}')
    await pao_tablet.conn.write_message('{"type": "position", "lat": 13.37, "lon": 100.99}')
    seen: set[str] = set()
    while "CB-BLS-02" not in seen:
        frame = await pao.next_of("positions", timeout_s=15)
        seen |= {u["unit_id"] for u in frame["units"]}
    assert seen == {"CB-BLS-02"}
    for socket in (pao, foundation_tablet, pao_tablet):
        socket.close()
