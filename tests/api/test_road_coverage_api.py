"""Issue #13 items 6 and 13 through a real server on the demo city: incidents outside the road graph (Pattaya, Laem
Chabang) get labelled straight-line estimates everywhere an ETA is returned, and red auto-dispatch stands back."""
import pytest

from dispatch.model import LatLon
from tests.conftest import Api, Socket, demo_city_server, make_user

PATTAYA = {"lat": 12.93, "lon": 100.88}
LAEM_CHABANG = {"lat": 13.08, "lon": 100.88}
CITY = {"lat": 13.3611, "lon": 100.9847}
COAST = LatLon(13.3177, 100.9483)  # on the Ang Sila-Bang Saen coast road, inside coverage; the sea lies west


@pytest.fixture
async def city(database_url, redis_url):
    async with demo_city_server(database_url, redis_url) as running:
        base = f"http://127.0.0.1:{running.config.port}"
        yield running, Api(base, await make_user(running.ctx.pool, "disp-coverage", "dispatcher")), base


async def report(api: Api, location: dict) -> dict:
    status, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": location})
    assert status == 201
    return incident


def assert_labelled_straight_line(entry: dict) -> None:
    """A ranked entry (unit or hospital) whose ETA is a straight-line estimate, saying so in both languages."""
    assert entry["outside_coverage"] is True and entry["eta_source"] == "straight_line"
    assert entry["snap_distance_m"] > 20_000
    assert "straight-line estimate" in entry["why_en"] and "outside road coverage" in entry["why_en"]
    assert "ประมาณจากระยะเส้นตรง" in entry["why_th"] and "นอกพื้นที่ข้อมูลถนน" in entry["why_th"]


async def events_of(server, event_type: str) -> list:
    return [e for e in await server.ctx.store.events_since(0, limit=5000) if e.type == event_type]


@pytest.mark.parametrize("place", [PATTAYA, LAEM_CHABANG])
async def test_recommendations_outside_the_road_graph_are_flagged_and_labelled(city, place):
    _, dispatcher, _ = city
    incident = await report(dispatcher, place)
    status, body = await dispatcher.get(f"/api/v1/incidents/{incident['id']}/recommendations")
    assert status == 200 and body["recommendations"]
    for rec in body["recommendations"]:
        assert_labelled_straight_line(rec)
        assert rec["eta_s"] > 45 * 60  # the graph's edge gave "0.5 min" (Laem Chabang) and "10.3 min" (Pattaya)
    scores = [r["score_s"] for r in body["recommendations"]]
    assert scores == sorted(scores)  # still ranked, by the estimate


async def test_a_red_6r1_pattaya_incident_is_not_auto_dispatched_and_the_dispatcher_is_alerted(city):
    server, dispatcher, _ = city
    console = await Socket.connect(server.config.port, dispatcher.token)
    await console.next_of("snapshot")
    incident = await report(dispatcher, PATTAYA)
    status, triaged = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/triage", {"group": 6, "determinant": 1})
    assert status == 200 and triaged["triage"]["code"] == "6R1" and triaged["triage"]["colour"] == "red"
    assert triaged["status"] == "triaged" and triaged["unit_ids"] == []
    assert "outside_road_coverage" in triaged["location_flags"]  # shown on the console's queue and panel
    assert await events_of(server, "UnitAssigned") == []
    [withheld] = await events_of(server, "AutoDispatchWithheld")
    assert withheld.payload["incident_id"] == incident["id"]
    assert withheld.payload["reason"] == "incident_outside_road_coverage"
    assert withheld.payload["snap_distance_m"] > 40_000
    seen = []
    while not seen:  # the console hears of it live, like every event it shows
        frame = await console.next_of("event")
        seen = [frame] if frame["event"]["type"] == "AutoDispatchWithheld" else []
    assert seen[0]["event"]["payload"]["incident_id"] == incident["id"]
    console.close()


async def test_a_city_incident_is_unchanged(city):
    server, dispatcher, _ = city
    incident = await report(dispatcher, CITY)
    _, body = await dispatcher.get(f"/api/v1/incidents/{incident['id']}/recommendations")
    for rec in body["recommendations"]:
        assert rec["outside_coverage"] is False and rec["eta_source"] == "road"
        assert 0 <= rec["snap_distance_m"] < 500 and "min by road" in rec["why_en"] and "ทางถนน" in rec["why_th"]
    _, triaged = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/triage", {"group": 6, "determinant": 1})
    assert triaged["status"] == "assigned" and len(triaged["unit_ids"]) == 2  # 6R1: an ALS and a BLS unit
    assert "outside_road_coverage" not in triaged["location_flags"]
    assert await events_of(server, "AutoDispatchWithheld") == []


async def test_a_unit_parked_off_the_road_graph_is_flagged_never_auto_dispatched_and_named_to_the_dispatcher(city):
    server, dispatcher, _ = city
    offshore = COAST
    while not server.ctx.routing.snap(offshore.lat, offshore.lon).off_network:  # walk west into the sea
        offshore = LatLon(offshore.lat, offshore.lon - 0.001)
    assert await server.ctx.avl.report("CB-ALS-01", {"lat": offshore.lat, "lon": offshore.lon})
    incident = await report(dispatcher, {"lat": COAST.lat, "lon": COAST.lon})
    _, body = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/triage", {"group": 6, "determinant": 1})
    # the incident is covered: covered units go at once, the one off the road graph is never sent on a guess
    assert body["unit_ids"] and "CB-ALS-01" not in body["unit_ids"]
    assert "outside_road_coverage" not in body["location_flags"]
    [withheld] = await events_of(server, "AutoDispatchWithheld")
    assert withheld.payload["reason"] == "unit_outside_road_coverage" and withheld.payload["unit_id"] == "CB-ALS-01"
    _, ranked = await dispatcher.get(f"/api/v1/incidents/{incident['id']}/recommendations")
    by_unit = {r["unit_id"]: r for r in ranked["recommendations"]}
    assert by_unit["CB-ALS-01"]["outside_coverage"] and by_unit["CB-ALS-01"]["position_source"] == "avl"
    assert all(r["eta_source"] == "road" for u, r in by_unit.items() if u != "CB-ALS-01")


async def test_route_api_returns_coverage_and_snap_distances(city):
    _, dispatcher, _ = city
    status, route = await dispatcher.get(
        f"/api/v1/route?from_lat={CITY['lat']}&from_lon={CITY['lon']}&to_lat={PATTAYA['lat']}&to_lon={PATTAYA['lon']}")
    assert status == 200
    assert route["outside_coverage"] is True and route["eta_source"] == "straight_line"
    assert route["destination"] == {"off_network": True, "snap_distance_m": route["snap_distance_m"]}
    assert route["origin"]["off_network"] is False and route["snap_distance_m"] > 40_000
    assert "straight-line estimate" in route["instructions"][0]["text_en"]
    status, road = await dispatcher.get(
        f"/api/v1/route?from_lat=13.34&from_lon=100.97&to_lat={CITY['lat']}&to_lon={CITY['lon']}")
    assert status == 200 and road["outside_coverage"] is False and road["eta_source"] == "road"
    assert road["origin"]["off_network"] is False and road["destination"]["snap_distance_m"] < 500


async def test_hospital_destinations_and_the_inbound_eta_say_when_they_are_straight_line(city):
    server, dispatcher, base = city
    incident = await report(dispatcher, PATTAYA)
    status, body = await dispatcher.get(f"/api/v1/incidents/{incident['id']}/destinations")
    assert status == 200 and body["destinations"]
    for option in body["destinations"]:
        assert_labelled_straight_line(option)
    chosen = body["destinations"][0]["hospital_id"]
    assert (await dispatcher.post(f"/api/v1/incidents/{incident['id']}/destinations", {"hospital_id": chosen}))[0] == 200
    board = Api(base, await make_user(server.ctx.pool, "ed-coverage", "hospital", hospital_id=chosen))
    status, inbound = await board.get(f"/api/v1/hospitals/{chosen}/inbound")
    [patient] = inbound["inbound"]
    assert status == 200 and patient["eta_source"] == "straight_line" and patient["outside_coverage"] is True
    assert patient["snap_distance_m"] > 40_000 and patient["transport_estimate_s"] > 45 * 60
    assert patient["stage"] == "waiting" and patient["arrival_at"] is None  # no countdown before transport
    assert patient["destination_eta_source"] == "straight_line"  # kept with the choice, for when routing is down
    city_incident = await report(dispatcher, CITY)
    _, city_body = await dispatcher.get(f"/api/v1/incidents/{city_incident['id']}/destinations")
    assert all(o["eta_source"] == "road" and not o["outside_coverage"] for o in city_body["destinations"])


async def test_the_openapi_document_describes_these_answers(city):
    """The coverage fields are documented (item 13), and the real answers match the documented schemas."""
    import jsonschema_rs  # schemathesis's own validator, installed with the test extra

    server, dispatcher, base = city
    _, document = await dispatcher.get("/api/v1/openapi.json")

    def check(schema_name: str, value) -> None:
        schema = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
        assert jsonschema_rs.Draft202012Validator(schema).is_valid(value), (schema_name, value)

    for name in ("Recommendation", "DestinationOption", "Route"):
        assert {"outside_coverage", "eta_source", "snap_distance_m"} <= set(document["components"]["schemas"][name]["required"])
    incident = await report(dispatcher, PATTAYA)
    _, recs = await dispatcher.get(f"/api/v1/incidents/{incident['id']}/recommendations")
    _, options = await dispatcher.get(f"/api/v1/incidents/{incident['id']}/destinations")
    for rec in recs["recommendations"]:
        check("Recommendation", rec)
    for option in options["destinations"]:
        check("DestinationOption", option)
    for query in (f"from_lat=13.34&from_lon=100.97&to_lat={PATTAYA['lat']}&to_lon={PATTAYA['lon']}",
                  f"from_lat=13.34&from_lon=100.97&to_lat={CITY['lat']}&to_lon={CITY['lon']}"):
        check("Route", (await dispatcher.get(f"/api/v1/route?{query}"))[1])
    chosen = options["destinations"][0]["hospital_id"]
    await dispatcher.post(f"/api/v1/incidents/{incident['id']}/destinations", {"hospital_id": chosen})
    _, inbound = await dispatcher.get(f"/api/v1/hospitals/{chosen}/inbound")
    check("InboundPatient", inbound["inbound"][0])


async def test_a_dispatchers_assignment_outside_coverage_keeps_the_estimate_labelled(city):
    _, dispatcher, _ = city
    incident = await report(dispatcher, PATTAYA)
    status, assignment = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/assignments",
                                               {"unit_id": "CB-ALS-01"})
    assert status == 201 and assignment["eta_source"] == "straight_line" and assignment["eta_s"] > 45 * 60
    _, listed = await dispatcher.get(f"/api/v1/incidents/{incident['id']}/assignments")
    assert listed["assignments"][0]["eta_source"] == "straight_line"
    city_incident = await report(dispatcher, CITY)
    _, road = await dispatcher.post(f"/api/v1/incidents/{city_incident['id']}/assignments", {"unit_id": "CB-ALS-02"})
    assert road["eta_source"] == "road"


async def test_the_crew_and_the_hospital_see_that_their_etas_are_straight_line_estimates(city):
    """What the tablet and the hospital board read, as a crew and an emergency department (each role's allow-list
    must keep the flags): the assignment pushed to the crew, its route and destinations, the chosen destination on
    its incident; the alert pushed to the hospital."""
    server, dispatcher, base = city
    incident = await report(dispatcher, PATTAYA)
    crew = Api(base, await make_user(server.ctx.pool, "crew-coverage", "crew", unit_id="CB-ALS-01"))
    tablet = await Socket.connect(server.config.port, crew.token)
    await tablet.next_of("snapshot")
    status, _ = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": "CB-ALS-01"})
    assert status == 201
    pushed = await tablet.next_event("UnitAssigned")
    assert pushed["event"]["payload"]["eta_source"] == "straight_line"
    tablet.close()

    _, units = await crew.get("/api/v1/units")
    [unit] = [u for u in units["units"] if u["id"] == "CB-ALS-01"]
    start = unit["base"]  # the tablet routes from its GPS fix, else from the base
    status, route = await crew.get(f"/api/v1/route?from_lat={start['lat']}&from_lon={start['lon']}"
                                   f"&to_lat={PATTAYA['lat']}&to_lon={PATTAYA['lon']}")
    assert status == 200 and route["outside_coverage"] is True and route["eta_source"] == "straight_line"
    status, body = await crew.get(f"/api/v1/incidents/{incident['id']}/destinations")
    assert status == 200 and body["destinations"]
    for option in body["destinations"]:
        assert_labelled_straight_line(option)
    chosen = body["destinations"][0]["hospital_id"]
    board = await Socket.connect(server.config.port,
                                 await make_user(server.ctx.pool, "ed-coverage-2", "hospital", hospital_id=chosen))
    await board.next_of("snapshot")
    status, chose = await crew.post(f"/api/v1/incidents/{incident['id']}/destinations", {"hospital_id": chosen})
    assert status == 200 and chose["destination_eta_source"] == "straight_line"
    alert = await board.next_event("HospitalAlerted")
    assert alert["event"]["payload"]["eta_source"] == "straight_line"
    board.close()
    _, seen_by_crew = await crew.get(f"/api/v1/incidents/{incident['id']}")
    assert seen_by_crew["destination_eta_source"] == "straight_line"
