"""Dispatch on the real Chon Buri graph, real PostgreSQL and Redis, through the HTTP API and WebSockets."""
import asyncio

import pytest

from dispatch import demo
from dispatch.model import LatLon
from server import Server
from tests.conftest import (
    Api, Socket, demo_city_server, make_user, reset_state, routing_ready, server_config, wait_until,
)

SCENE = {"lat": 13.3611, "lon": 100.9847}  # central Chon Buri


@pytest.fixture
async def city(server):
    await demo.seed(server.ctx.store)
    await routing_ready(server)
    base = f"http://127.0.0.1:{server.config.port}"
    dispatcher = Api(base, await make_user(server.ctx.pool, "disp-1", "dispatcher"))
    return server, dispatcher, base


async def new_incident(api: Api, **extra) -> dict:
    status, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE, **extra})
    assert status == 201
    return incident


async def test_recommendations_follow_brute_force_road_eta_and_capability(city):
    server, dispatcher, _ = city
    incident = await new_incident(dispatcher)
    await dispatcher.post(f"/api/v1/incidents/{incident['id']}/triage", {"group": 11, "determinant": 3})  # green, BLS
    status, body = await dispatcher.get(f"/api/v1/incidents/{incident['id']}/recommendations")
    assert status == 200
    recs = body["recommendations"]
    units = {u.id: u for u in await server.ctx.store.list("units")}
    assert {r["capability"] for r in recs} <= {"ALS", "BLS"} and len(recs) == 7  # FR units cannot take a BLS call
    one_by_one = {}
    for r in recs:  # brute force: one search per unit
        [eta] = await server.ctx.routing.etas_to(LatLon(**SCENE), [units[r["unit_id"]].base])
        one_by_one[r["unit_id"]] = eta.eta_s + (90 if r["capability"] == "ALS" else 0)
        assert r["eta_s"] == pytest.approx(eta.eta_s, abs=0.01)
    assert [r["unit_id"] for r in recs] == sorted(one_by_one, key=lambda u: (one_by_one[u], u))
    assert recs[0]["why_en"] and recs[0]["why_th"]


async def test_red_triage_auto_dispatches_every_unit_the_card_asks_for(city):
    """Issue #13 item 7: 6R1 (cardiac arrest) asks for two units, an ALS and a BLS one; only one was sent."""
    server, dispatcher, _ = city
    incident = await new_incident(dispatcher)
    status, triaged = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/triage", {"group": 6, "determinant": 1})
    assert status == 200 and triaged["triage"]["code"] == "6R1" and triaged["triage"]["mix"] == ["ALS", "BLS"]
    assert triaged["status"] == "assigned" and len(triaged["unit_ids"]) == 2
    first, second = [await server.ctx.store.get("units", u) for u in triaged["unit_ids"]]
    assert first.capability.value == "ALS" and second.capability.value == "BLS"
    log = await server.ctx.store.events_since(0, limit=1000)
    assert all(e.payload["auto"] for e in log if e.type == "UnitAssigned")
    assert not [e for e in log if e.type == "DispatchShortfall"]


async def test_red_triage_alerts_the_dispatcher_at_once_when_the_fleet_cannot_send_the_mix(city):
    """Only one ALS unit and the first responders are free: the ALS goes, a first responder stands in for the BLS
    unit, and the console gets a DispatchShortfall alert naming what is missing."""
    server, dispatcher, _ = city
    console = await Socket.connect(server.config.port, dispatcher.token)
    await console.next_of("snapshot")
    for unit in await server.ctx.store.list("units"):
        if unit.capability.value in ("ALS", "BLS") and unit.id != "CB-ALS-01":
            status, _ = await dispatcher.post(f"/api/v1/units/{unit.id}/status", {"status": "out_of_service"})
            assert status == 200
    incident = await new_incident(dispatcher)
    status, triaged = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/triage", {"group": 6, "determinant": 1})
    assert status == 200 and triaged["unit_ids"][0] == "CB-ALS-01" and len(triaged["unit_ids"]) == 2
    assert triaged["unit_ids"][1].startswith("CB-FR-")
    while True:
        frame = await console.next_of("event")
        if frame["event"]["type"] == "DispatchShortfall":
            break
    alert = frame["event"]["payload"]
    assert alert["incident_id"] == incident["id"] and alert["needed"] == ["ALS", "BLS"]
    assert alert["missing"] == ["BLS"] and alert["assigned"] == triaged["unit_ids"]
    console.close()


async def test_no_auto_dispatch_outside_the_service_area(city):
    _, dispatcher, _ = city
    status, incident = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": {"lat": 13.75, "lon": 100.5}})
    _, triaged = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/triage", {"group": 6, "determinant": 1})
    assert triaged["status"] == "triaged" and triaged["unit_ids"] == []


async def test_two_dispatchers_assign_the_same_ambulance_at_once_one_wins(city):
    _, dispatcher, base = city
    other = Api(base, dispatcher.token)
    a, b = await new_incident(dispatcher), await new_incident(dispatcher)
    results = await asyncio.gather(
        dispatcher.post(f"/api/v1/incidents/{a['id']}/assignments", {"unit_id": "CB-BLS-01"}),
        other.post(f"/api/v1/incidents/{b['id']}/assignments", {"unit_id": "CB-BLS-01"}))
    assert sorted(status for status, _ in results) == [201, 409]


async def test_crew_cannot_assign_or_read_another_crews_incident(city):
    server, dispatcher, base = city
    incident = await new_incident(dispatcher)
    await dispatcher.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": "CB-ALS-01"})
    crew_a = Api(base, await make_user(server.ctx.pool, "crew-a1", "crew", unit_id="CB-ALS-01"))
    crew_b = Api(base, await make_user(server.ctx.pool, "crew-b1", "crew", unit_id="CB-ALS-02"))
    assert (await crew_a.get(f"/api/v1/incidents/{incident['id']}"))[0] == 200
    assert (await crew_b.get(f"/api/v1/incidents/{incident['id']}"))[0] == 404
    assert (await crew_b.get("/api/v1/incidents/999999"))[0] == 404  # same answer for guessed ids
    assert (await crew_a.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": "CB-BLS-02"}))[0] == 403
    assert (await crew_a.post(f"/api/v1/incidents/{incident['id']}/status", {"status": "closed"}))[0] == 403


async def test_crew_tablet_gets_assignment_and_respond_acknowledges_and_goes_en_route(city):
    server, dispatcher, base = city
    token = await make_user(server.ctx.pool, "crew-t", "crew", unit_id="CB-BLS-02")
    tablet = await Socket.connect(server.config.port, token)
    await tablet.next_of("snapshot")
    incident = await new_incident(dispatcher, chief_complaint="ล้มในห้องน้ำ")
    _, assignment = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": "CB-BLS-02"})
    frame = await tablet.next_event("UnitAssigned")
    assert frame["event"]["payload"]["assignment_id"] == assignment["id"]
    await tablet.conn.write_message('{"type": "status", "id": "respond-1", "status": "en_route"}')
    reply = await tablet.next_of("ok")
    assert reply["id"] == "respond-1"
    await tablet.conn.write_message('{"type": "status", "id": "respond-1", "status": "en_route"}')  # resent
    assert (await tablet.next_of("ok"))["id"] == "respond-1"
    _, after = await dispatcher.get(f"/api/v1/incidents/{incident['id']}")
    assert after["status"] == "en_route"
    stored = await server.ctx.store.get("assignments", assignment["id"])
    assert stored.status.value == "acknowledged"
    log = await server.ctx.store.events_since(0, limit=1000)
    assert sum(e.type == "AssignmentAcknowledged" for e in log) == 1
    tablet.close()


async def test_destination_ranking_skips_a_diverted_hospital_and_alerts_the_chosen_one(city):
    server, dispatcher, base = city
    incident = await new_incident(dispatcher)
    await dispatcher.post(f"/api/v1/incidents/{incident['id']}/triage", {"group": 18, "determinant": 1})  # stroke
    _, before = await dispatcher.get(f"/api/v1/incidents/{incident['id']}/destinations")
    first = before["destinations"][0]
    assert first["capable"]
    nurse = Api(base, await make_user(server.ctx.pool, "ed-1", "hospital", hospital_id=first["hospital_id"]))
    status, _ = await nurse.post(f"/api/v1/hospitals/{first['hospital_id']}/capacity", {"ed_beds_free": 0, "diversion": True})
    assert status == 200
    _, after = await dispatcher.get(f"/api/v1/incidents/{incident['id']}/destinations")
    assert after["destinations"][0]["hospital_id"] != first["hospital_id"]
    assert after["destinations"][-1]["hospital_id"] == first["hospital_id"] or after["destinations"][-1]["diversion"]
    chosen = after["destinations"][0]["hospital_id"]
    status, _ = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/destinations", {"hospital_id": chosen})
    assert status == 200
    board = Api(base, await make_user(server.ctx.pool, "ed-2", "hospital", hospital_id=chosen))
    status, inbound = await board.get(f"/api/v1/hospitals/{chosen}/inbound")
    assert status == 200 and [p["id"] for p in inbound["inbound"]] == [incident["id"]]
    patient = inbound["inbound"][0]
    assert patient["stage"] in ("waiting", "assigned") and patient["eta_s"] is None  # no countdown before transport
    assert patient["transport_estimate_s"] > 0  # the scene-to-hospital estimate instead
    other = Api(base, await make_user(server.ctx.pool, "ed-3", "hospital", hospital_id=first["hospital_id"]))
    assert (await other.get(f"/api/v1/incidents/{incident['id']}"))[0] == 404


async def test_hospital_never_sees_the_callers_phone(city):
    server, dispatcher, base = city
    incident = await new_incident(dispatcher, caller={"phone": "+66812345678", "name": "Somchai"})
    hospital_id = (await server.ctx.store.list("hospitals"))[0].id
    await dispatcher.post(f"/api/v1/incidents/{incident['id']}/destinations", {"hospital_id": hospital_id})
    board = Api(base, await make_user(server.ctx.pool, "ed-p", "hospital", hospital_id=hospital_id))
    status, seen = await board.get(f"/api/v1/incidents/{incident['id']}")
    assert status == 200 and "+66812345678" not in str(seen)


async def test_silent_crew_gets_exactly_one_sms_even_with_two_ladders_and_late_ack_stops_it(database_url, redis_url):
    await reset_state(database_url, redis_url)
    fast = dict(ack_timeout_other_s=0.3, ack_timeout_red_s=0.3, escalation_steps_s=(0.0, 0.3, 5.0, 10.0))
    servers = [Server(server_config(database_url, redis_url, **fast)) for _ in range(2)]
    for s in servers:
        await s.start()
    try:
        await demo.seed(servers[0].ctx.store)
        for s in servers:
            await routing_ready(s)
        dispatcher = Api(f"http://127.0.0.1:{servers[0].config.port}", await make_user(servers[0].ctx.pool, "d", "dispatcher"))
        incident = await new_incident(dispatcher)
        _, assignment = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": "CB-BLS-03"})
        for _ in range(40):
            stored = await servers[0].ctx.store.get("assignments", assignment["id"])
            if "sms" in stored.escalations:
                break
            await asyncio.sleep(0.1)
        assert stored.escalations == ["repush", "sms"]
        sent = [m for s in servers for m in s.ctx.notifier.sent if m[0] == "sms"]
        assert len(sent) == 1 and sent[0][1] == "+66800000006"
        crew = Api(dispatcher.base_url, await make_user(servers[0].ctx.pool, "crew-s", "crew", unit_id="CB-BLS-03"))
        status, acked = await crew.post(f"/api/v1/assignments/{assignment['id']}/ack")
        assert status == 200 and acked["status"] == "acknowledged"
        await asyncio.sleep(0.8)
        final = await servers[0].ctx.store.get("assignments", assignment["id"])
        assert final.escalations == ["repush", "sms"]  # the ladder stopped
        log = await servers[0].ctx.store.events_since(0, limit=1000)
        assert [e.payload["late"] for e in log if e.type == "AssignmentAcknowledged"] == [True]
    finally:
        for s in servers:
            await s.stop()


async def test_closing_needs_a_legal_transition(city):
    _, dispatcher, _ = city
    incident = await new_incident(dispatcher)
    status, body = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/status", {"status": "on_scene"})
    assert status == 409
    status, body = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/status", {"status": "cancelled",
                                                                                         "reason": "hoax"})
    assert status == 200 and body["status"] == "cancelled"


async def test_close_out_takes_a_validated_disposition_stored_in_the_event(city):
    """Issue #17 item 4: a close or cancel carries a disposition code and a note; an unknown code, or a close code on
    a cancel, is refused with the field named; the code is stored on the event (replay) and the incident."""
    server, dispatcher, _ = city
    incident = await new_incident(dispatcher)
    url = f"/api/v1/incidents/{incident['id']}/status"
    status, body = await dispatcher.post(url, {"status": "cancelled", "disposition": "beamed_up"})
    assert status == 422 and body["error"]["fields"][0]["field"] == "disposition"
    status, body = await dispatcher.post(url, {"status": "cancelled", "disposition": "treated_transported"})
    assert status == 422 and "cancelled" in body["error"]["fields"][0]["reason"]
    status, body = await dispatcher.post(url, {"status": "cancelled", "disposition": "duplicate",
                                               "reason": "same crash as #1 / ซ้ำ"})
    assert status == 200 and body["disposition"] == "duplicate" and body["close_note"] == "same crash as #1 / ซ้ำ"
    log = await server.ctx.store.events_since(0, limit=1000)
    [change] = [e.payload for e in log if e.type == "IncidentStatusChanged"]
    assert change["disposition"] == "duplicate" and change["status"] == "cancelled"


async def test_escalation_steps_record_what_became_of_the_text_and_the_call(database_url, redis_url):
    """Issue #17 item 1: the SMS and voice steps showed ✓ with no provider configured. Each now records its outcome:
    here not_configured (the recording notifier stands in for a missing SMS/voice provider)."""
    ladder = dict(ack_timeout_other_s=0.2, escalation_steps_s=(0.0, 0.1, 0.2, 600.0), escalation_poll_s=0.05)
    async with demo_city_server(database_url, redis_url, **ladder) as server:
        dispatcher = Api(f"http://127.0.0.1:{server.config.port}", await make_user(server.ctx.pool, "disp-o", "dispatcher"))
        incident = await new_incident(dispatcher)
        _, assignment = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": "CB-BLS-03"})

        async def both_recorded() -> bool:
            stored = await server.ctx.store.get("assignments", assignment["id"])
            return {"sms", "voice"} <= stored.step_results.keys()
        assert await wait_until(both_recorded, 15)
        stored = await server.ctx.store.get("assignments", assignment["id"])
        assert {step: r["outcome"] for step, r in stored.step_results.items()} == {"sms": "not_configured",
                                                                                  "voice": "not_configured"}
        log = await server.ctx.store.events_since(0, limit=1000)
        outcomes = [e.payload for e in log if e.type == "EscalationMessageOutcome"]
        assert [(o["step"], o["outcome"]) for o in outcomes] == [("sms", "not_configured"), ("voice", "not_configured")]


async def test_the_ladders_last_step_reassigns_a_silent_crews_incident_to_the_next_unit(database_url, redis_url):
    """Issue #13 item 8: the last step only named the next unit; the first assignment stayed awaiting_ack and no
    one else was sent. Now it is withdrawn, the next unit assigned and pushed to its tablet, and the dispatcher
    sees the step, all as events."""
    short_ladder = dict(ack_timeout_other_s=0.3, ack_timeout_red_s=0.3, escalation_steps_s=(0.0, 0.1, 0.2, 0.4),
                        escalation_poll_s=0.05)
    async with demo_city_server(database_url, redis_url, **short_ladder) as server:
        base = f"http://127.0.0.1:{server.config.port}"
        dispatcher = Api(base, await make_user(server.ctx.pool, "disp-l", "dispatcher"))
        incident = await new_incident(dispatcher)
        _, ranked = await dispatcher.get(f"/api/v1/incidents/{incident['id']}/recommendations")
        expected = next(r["unit_id"] for r in ranked["recommendations"] if r["unit_id"] != "CB-BLS-03")
        tablet = await Socket.connect(server.config.port,
                                      await make_user(server.ctx.pool, "crew-next", "crew", unit_id=expected))
        await tablet.next_of("snapshot")
        console = await Socket.connect(server.config.port, dispatcher.token)
        await console.next_of("snapshot")
        _, silent = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": "CB-BLS-03"})

        async def withdrawn():
            return (await server.ctx.store.get("assignments", silent["id"])).status.value == "cancelled"

        assert await wait_until(withdrawn, timeout_s=20)
        pushed = await tablet.next_event("UnitAssigned")  # its first assignment: the silent crew's was not sent here
        assert pushed["event"]["payload"]["unit_id"] == expected
        while (frame := await console.next_of("event"))["event"]["payload"].get("step") != "next_unit":
            pass
        assert frame["event"]["type"] == "AssignmentEscalated" and frame["event"]["payload"]["detail"] == expected
        log = [e for e in await server.ctx.store.events_since(0, limit=1000) if e.stream == f"incident-{incident['id']}"]
        steps = [(e.type, e.payload.get("step"), e.payload.get("unit_id")) for e in log
                 if e.type in ("UnitAssigned", "AssignmentEscalated", "AssignmentCancelled")][:7]
        assert steps == [("UnitAssigned", None, "CB-BLS-03"), ("AssignmentEscalated", "repush", "CB-BLS-03"),
                         ("AssignmentEscalated", "sms", "CB-BLS-03"), ("AssignmentEscalated", "voice", "CB-BLS-03"),
                         ("AssignmentEscalated", "next_unit", "CB-BLS-03"), ("AssignmentCancelled", None, "CB-BLS-03"),
                         ("UnitAssigned", None, expected)]
        silent_unit = await server.ctx.store.get("units", "CB-BLS-03")  # not offered the next call either
        assert silent_unit.status.value == "out_of_service" and silent_unit.incident_id is None
        tablet.close()
        console.close()
