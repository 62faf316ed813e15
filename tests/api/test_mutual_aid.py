"""Issue #19 item 1, mutual aid over HTTP: a unit of another agency is asked for, that agency's dispatcher accepts
(the unit is dispatched) or declines, and a decline or no answer in time escalates to the 1669 centre."""
from datetime import UTC, datetime

from dispatch import demo
from dispatch.access import Visibility
from dispatch.ports import StoredEvent
from tests.api.conftest import agency_tokens
from tests.conftest import Api, reset_state, routing_ready, server_config, wait_until
from server import Server

LENT = "CB-FR-01"  # a rescue foundation's first responder


async def escalations(api: Api, incident_id: int) -> list[dict]:
    status, body = await api.get("/api/v1/events?limit=5000")
    assert status == 200
    return [e["payload"] for e in body["events"]
            if e["type"] == "MutualAidEscalated" and e["payload"]["incident_id"] == incident_id]


async def test_an_accepted_request_dispatches_the_other_agencys_unit(province):
    incident_id = await province.report()
    status, request = await province.centre.post("/api/v1/mutual-aid", {
        "incident_id": incident_id, "unit_id": LENT, "note": "nearest responder"})
    assert status == 201, request
    assert request["agency_id"] == demo.FOUNDATION and request["status"] == "requested"
    # the request shares the incident with the asked agency, and with nobody else
    status, seen = await province.foundation.get(f"/api/v1/incidents/{incident_id}")
    assert status == 200 and seen["shared_with"] == [demo.FOUNDATION]
    assert (await province.pao.get(f"/api/v1/incidents/{incident_id}"))[0] == 404
    status, asked = await province.foundation.get("/api/v1/mutual-aid")
    assert status == 200 and [r["id"] for r in asked["requests"]] == [request["id"]]
    status, other = await province.pao.get("/api/v1/mutual-aid")
    assert status == 200 and other["requests"] == []
    # only the asked agency may answer
    assert (await province.pao.post(f"/api/v1/mutual-aid/{request['id']}/accept"))[0] == 404
    status, answer = await province.foundation.post(f"/api/v1/mutual-aid/{request['id']}/accept")
    assert status == 200, answer
    assert answer["request"]["status"] == "accepted" and answer["assignment"]["unit_id"] == LENT
    unit = await province.server.ctx.store.get("units", LENT)
    assert unit.incident_id == incident_id and unit.status.value == "assigned"
    status, incident = await province.centre.get(f"/api/v1/incidents/{incident_id}")
    assert LENT in incident["unit_ids"] and incident["status"] == "assigned"
    assert (await province.foundation.post(f"/api/v1/mutual-aid/{request['id']}/accept"))[0] == 409
    assert await escalations(province.centre, incident_id) == []


async def test_an_agency_asks_another_and_a_decline_escalates_to_the_centre(province):
    incident_id = await province.report()
    status, _ = await province.centre.post(f"/api/v1/incidents/{incident_id}/assignments", {"unit_id": "CB-BLS-02"})
    assert status == 201
    # the PAO, whose unit is on the incident, asks the foundation for one more hand
    status, request = await province.pao.post("/api/v1/mutual-aid", {"incident_id": incident_id, "unit_id": LENT})
    assert status == 201 and request["requesting_agency_id"] == demo.PAO
    status, body = await province.foundation.post(f"/api/v1/mutual-aid/{request['id']}/decline", {})
    assert status == 422 and body["error"]["fields"][0]["field"] == "reason"
    status, declined = await province.foundation.post(f"/api/v1/mutual-aid/{request['id']}/decline",
                                                      {"reason": "all crews at a road crash"})
    assert status == 200 and declined["status"] == "declined" and declined["escalated"]
    [escalation] = await escalations(province.centre, incident_id)
    assert escalation["cause"] == "declined" and escalation["requesting_agency_id"] == demo.PAO
    assert (await province.foundation.get(f"/api/v1/incidents/{incident_id}"))[0] == 404  # share withdrawn
    assert (await province.server.ctx.store.get("units", LENT)).incident_id is None


async def test_a_decline_withdraws_only_its_own_requests_share_while_another_to_the_agency_is_pending(province):
    ctx = province.server.ctx
    incident_id = await province.report()
    requests = []
    for unit_id in ("CB-FR-01", "CB-FR-02"):  # two of the foundation's units asked for the same incident
        status, request = await province.centre.post("/api/v1/mutual-aid", {"incident_id": incident_id,
                                                                            "unit_id": unit_id})
        assert status == 201, request
        requests.append(request["id"])
    status, _ = await province.foundation.post(f"/api/v1/mutual-aid/{requests[0]}/decline",
                                               {"reason": "crew at a training"})
    assert status == 200

    status, seen = await province.foundation.get(f"/api/v1/incidents/{incident_id}")  # the projection
    assert status == 200 and seen["shared_with"] == [demo.FOUNDATION]
    about_it = StoredEvent(seq=0, stream=f"incident-{incident_id}", type="IncidentNoteAdded",
                           payload={"incident_id": incident_id}, actor="test", occurred_at=datetime.now(UTC))
    last_seq = await ctx.store.last_seq()
    assert await wait_until(lambda: _delivered(ctx.feed, last_seq), timeout_s=10)
    assert demo.FOUNDATION in ctx.hub.visibility.agencies_for(about_it)  # the live fan-out
    restarted = Visibility()  # a process started now, from the stored rows
    restarted.load([await ctx.store.get("incidents", incident_id)], await ctx.store.list("units", limit=1000))
    assert demo.FOUNDATION in restarted.agencies_for(about_it)

    status, _ = await province.foundation.post(f"/api/v1/mutual-aid/{requests[1]}/decline", {"reason": "none free"})
    assert status == 200
    assert (await province.foundation.get(f"/api/v1/incidents/{incident_id}"))[0] == 404  # no request left
    last_seq = await ctx.store.last_seq()
    assert await wait_until(lambda: _delivered(ctx.feed, last_seq), timeout_s=10)
    assert demo.FOUNDATION not in ctx.hub.visibility.agencies_for(about_it)


async def _delivered(feed, seq: int) -> bool:
    """Whether the event feed has handed the hub (and its live visibility) every event up to `seq`."""
    return feed.last_seq >= seq


async def test_asking_for_ones_own_a_busy_or_an_unseen_incidents_unit_is_refused(province):
    incident_id = await province.report()
    status, body = await province.centre.post("/api/v1/mutual-aid", {"incident_id": incident_id,
                                                                     "unit_id": "NO-SUCH"})
    assert status == 422 and body["error"]["fields"][0]["field"] == "unit_id"
    # an agency cannot ask for help with an incident it does not see
    status, _ = await province.pao.post("/api/v1/mutual-aid", {"incident_id": incident_id, "unit_id": LENT})
    assert status == 404
    status, _ = await province.centre.post(f"/api/v1/incidents/{incident_id}/assignments", {"unit_id": "CB-BLS-02"})
    assert status == 201
    status, body = await province.pao.post("/api/v1/mutual-aid", {"incident_id": incident_id,
                                                                  "unit_id": "CB-BLS-03"})
    assert status == 422 and "own agency" in body["error"]["fields"][0]["reason"]
    status, _ = await province.centre.post("/api/v1/mutual-aid", {"incident_id": incident_id,
                                                                  "unit_id": "CB-BLS-02"})
    assert status == 409  # busy on this very incident
    status, first = await province.centre.post("/api/v1/mutual-aid", {"incident_id": incident_id, "unit_id": LENT})
    assert status == 201
    assert (await province.centre.post("/api/v1/mutual-aid", {"incident_id": incident_id, "unit_id": LENT}))[0] == 409


async def test_an_unanswered_request_escalates_to_the_centre_when_its_time_is_up(database_url, redis_url):
    await reset_state(database_url, redis_url)
    server = Server(server_config(database_url, redis_url, mutual_aid_answer_timeout_s=1.0,
                                  mutual_aid_poll_s=0.2))
    await server.start()
    try:
        await demo.seed(server.ctx.store)
        await routing_ready(server)
        tokens = await agency_tokens(server)
        base = f"http://127.0.0.1:{server.config.port}"
        centre, foundation = Api(base, tokens["centre"]), Api(base, tokens[demo.FOUNDATION])
        _, incident = await centre.post("/api/v1/incidents", {"channel": "phone",
                                                              "location": {"lat": 13.3611, "lon": 100.9847}})
        status, request = await centre.post("/api/v1/mutual-aid", {"incident_id": incident["id"], "unit_id": LENT})
        assert status == 201

        async def expired():
            row = await server.ctx.store.get("mutual_aid", request["id"])
            return row.status == "expired"

        assert await wait_until(expired, timeout_s=20)
        [escalation] = await escalations(centre, incident["id"])
        assert escalation["cause"] == "timeout" and escalation["agency_id"] == demo.FOUNDATION
        status, _ = await foundation.post(f"/api/v1/mutual-aid/{request['id']}/accept")
        assert status == 409  # too late: the centre has taken it back
        assert (await foundation.get(f"/api/v1/incidents/{incident['id']}"))[0] == 404
    finally:
        await server.stop()
