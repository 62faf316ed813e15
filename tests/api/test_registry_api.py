"""The registry API (issue #19): stations, units, hospitals and users created, edited and retired by an admin, each
change an event with who and when; dispatchers read; a retired unit is never recommended."""
from dispatch import demo
from tests.conftest import Api, make_user, routing_ready

STATION = {"station_id": "st-bangsaen", "name_th": "สถานีกู้ภัยบางแสน", "name_en": "Bang Saen rescue station",
           "location": {"lat": 13.2846, "lon": 100.9243}, "agency_id": "sawang-cb"}


async def admin_api(server) -> Api:
    return Api(f"http://127.0.0.1:{server.config.port}", await make_user(server.ctx.pool, "admin-1", "admin"))


async def foundation_registered(admin: Api) -> None:
    """The agency the records below belong to (an unregistered agency is refused, see the test of references)."""
    status, body = await admin.post("/api/v1/agencies", {"id": "sawang-cb", "name_th": "มูลนิธิสว่างบริบูรณ์",
                                                         "name_en": "Sawang Boriboon", "kind": "foundation"})
    assert status == 201, body


async def events_of(api: Api, *types: str) -> list[dict]:
    _, body = await api.get("/api/v1/events?since=0&limit=5000")
    return [e for e in body["events"] if e["type"] in types]


async def test_an_admin_registers_edits_and_retires_a_station_a_unit_and_a_hospital(server, dispatcher_api):
    admin = await admin_api(server)
    await foundation_registered(admin)
    status, station = await admin.post("/api/v1/stations", STATION)
    assert status == 201 and station["agency_id"] == "sawang-cb" and station["name_en"] == "Bang Saen rescue station"
    status, unit = await admin.post("/api/v1/units", {"unit_id": "SW-FR-07", "capability": "fr",
                                                      "agency_id": "sawang-cb", "station_id": "st-bangsaen",
                                                      "phone": "081-234-5678"})
    assert status == 201, unit
    assert unit["capability"] == "FR" and unit["phone"] == "+66812345678" and unit["agency_id"] == "sawang-cb"
    assert unit["base"] == STATION["location"] and unit["station_name"] == "สถานีกู้ภัยบางแสน"
    status, hospital = await admin.post("/api/v1/hospitals", {
        "hospital_id": "h-queen-savang", "name_th": "โรงพยาบาลสมเด็จพระบรมราชเทวี ณ ศรีราชา",
        "name_en": "Queen Savang Vadhana Memorial Hospital", "location": {"lat": 13.1737, "lon": 100.9311},
        "capabilities": ["trauma", "Stroke", "stemi", "pediatrics", "obstetric"], "ed_beds": 20, "ed_beds_free": 8,
        "fhir_endpoint": "https://fhir.example.org/r4"})
    assert status == 201, hospital
    assert hospital["capabilities"] == ["trauma", "stroke", "stemi", "paediatric", "obstetric"]

    status, edited = await admin.call("PATCH", "/api/v1/units/SW-FR-07", {"capability": "BLS", "crew": ["EMT-B"]})
    assert status == 200 and edited["capability"] == "BLS" and edited["crew"] == ["EMT-B"]
    assert edited["station_id"] == "st-bangsaen" and edited["phone"] == "+66812345678"  # the rest kept
    status, cleared = await admin.call("PATCH", "/api/v1/units/SW-FR-07", {"crew": None})  # null clears a list
    assert status == 200 and cleared["crew"] == [] and cleared["capability"] == "BLS"
    status, cleared = await admin.call("PATCH", "/api/v1/hospitals/h-queen-savang", {"capabilities": None})
    assert status == 200 and cleared["capabilities"] == [] and cleared["ed_beds"] == 20
    _, units = await dispatcher_api.get("/api/v1/units")
    assert "SW-FR-07" in [u["id"] for u in units["units"]]

    status, retired = await admin.post("/api/v1/units/SW-FR-07/retire", {"reason": "sold"})
    assert status == 200 and retired["retired_at"]
    _, units = await dispatcher_api.get("/api/v1/units")
    assert "SW-FR-07" not in [u["id"] for u in units["units"]]
    _, units = await dispatcher_api.get("/api/v1/units?retired=true")
    assert "SW-FR-07" in [u["id"] for u in units["units"]]
    assert (await admin.call("PATCH", "/api/v1/units/SW-FR-07", {"capability": "ALS"}))[0] == 409
    assert (await admin.post("/api/v1/units/SW-FR-07/retire"))[0] == 409
    assert (await admin.post("/api/v1/units", {"unit_id": "SW-FR-07", "capability": "FR",
                                               "station_id": "st-bangsaen"}))[0] == 409  # ids are not reused

    unit_events = await events_of(admin, "UnitRegistered", "UnitRetired")
    assert [e["type"] for e in unit_events] == ["UnitRegistered", "UnitRegistered", "UnitRegistered", "UnitRetired"]
    assert {e["actor"] for e in unit_events} == {"admin:admin-1"} and all(e["occurred_at"] for e in unit_events)
    assert unit_events[-1]["payload"]["reason"] == "sold"
    assert [e["type"] for e in await events_of(admin, "StationRegistered", "HospitalRegistered")] == [
        "StationRegistered", "HospitalRegistered", "HospitalRegistered"]


async def test_bad_fields_are_each_named_and_references_checked(server):
    admin = await admin_api(server)
    status, body = await admin.post("/api/v1/hospitals", {"hospital_id": "has space", "name_th": "",
                                                          "location": {"lat": 95, "lon": 100},
                                                          "capabilities": ["burns"], "ed_beds": 2, "ed_beds_free": 5,
                                                          "fhir_endpoint": "ftp://x"})
    assert status == 422
    fields = {f["field"] for f in body["error"]["fields"]}
    assert fields == {"hospital_id", "name_th", "location", "capabilities", "ed_beds_free", "fhir_endpoint"}
    status, body = await admin.post("/api/v1/units", {"unit_id": "X-1", "capability": "ALS", "station_id": "nowhere"})
    assert status == 422 and body["error"]["fields"][0]["field"] == "location"  # no such station: a base is needed
    status, body = await admin.post("/api/v1/users", {"user_id": "crew-9", "name": "Somchai", "role": "crew",
                                                      "unit_id": "NO-SUCH"})
    assert status == 422 and body["error"]["fields"][0]["field"] == "unit_id"
    assert (await admin.call("PATCH", "/api/v1/stations/nope", {"name_th": "x"}))[0] == 404
    status, body = await admin.post("/api/v1/stations", STATION)  # its agency is not registered
    assert status == 422 and [f["field"] for f in body["error"]["fields"]] == ["agency_id"]
    await foundation_registered(admin)
    assert (await admin.post("/api/v1/stations", STATION))[0] == 201


async def test_non_admins_may_read_but_not_write(server, dispatcher_api):
    base = f"http://127.0.0.1:{server.config.port}"
    admin = await admin_api(server)
    await foundation_registered(admin)
    assert (await admin.post("/api/v1/stations", STATION))[0] == 201
    crew = Api(base, await make_user(server.ctx.pool, "crew-1", "crew", unit_id="X"))
    hospital = Api(base, await make_user(server.ctx.pool, "ed-1", "hospital", hospital_id="h"))
    for caller in (dispatcher_api, crew, hospital):
        assert (await caller.post("/api/v1/stations", {**STATION, "station_id": "st-2"}))[0] == 403
        assert (await caller.call("PATCH", "/api/v1/stations/st-bangsaen", {"name_en": "x"}))[0] == 403
        assert (await caller.post("/api/v1/stations/st-bangsaen/retire"))[0] == 403
        assert (await caller.post("/api/v1/users", {"user_id": "u", "name": "u", "role": "admin"}))[0] == 403
        assert (await caller.post("/api/v1/hospitals", {"hospital_id": "h2", "name_th": "x",
                                                        "location": {"lat": 13, "lon": 101}}))[0] == 403
        assert (await caller.post("/api/v1/registry/import?kind=hospitals", raw=b"hospital_id\nx\n",
                                  headers={"Content-Type": "text/csv"}))[0] == 403
    assert (await Api(base).post("/api/v1/stations", STATION))[0] == 401
    status, stations = await dispatcher_api.get("/api/v1/stations")
    assert status == 200 and [s["id"] for s in stations["stations"]] == ["st-bangsaen"]
    assert (await crew.get("/api/v1/stations"))[0] == 403
    assert (await dispatcher_api.get("/api/v1/users"))[0] == 200


async def test_a_user_is_created_logs_in_and_once_retired_cannot(server):
    base = f"http://127.0.0.1:{server.config.port}"
    admin = await admin_api(server)
    await demo.seed(server.ctx.store)
    status, user = await admin.post("/api/v1/users", {"user_id": "crew-als1", "name": "สมศรี", "role": "crew",
                                                      "unit_id": "CB-ALS-01", "agency_id": "cbh-als",
                                                      "password": "correct horse battery"})
    assert status == 201 and user["agency_id"] == "cbh-als" and user["has_password"] and "password" not in user
    status, login = await Api(base).post("/api/v1/login", {"user_id": "crew-als1", "password": "correct horse battery"})
    assert status == 200 and login["unit_id"] == "CB-ALS-01"
    [registered] = await events_of(admin, "UserRegistered")
    assert registered["payload"]["password_set"] is True and "password" not in registered["payload"]
    status, retired = await admin.post("/api/v1/users/crew-als1/retire", {"reason": "left the service"})
    assert status == 200 and retired["retired_at"]
    assert (await Api(base, login["token"]).get("/api/v1/me"))[0] == 401
    assert (await Api(base).post("/api/v1/login", {"user_id": "crew-als1",
                                                   "password": "correct horse battery"}))[0] == 401
    assert [e["type"] for e in await events_of(admin, "UserRetired", "AccessRevoked")] == ["UserRetired",
                                                                                          "AccessRevoked"]


async def test_editing_a_user_without_a_change_answers_the_user_and_writes_nothing(server):
    admin = await admin_api(server)
    status, _ = await admin.post("/api/v1/users", {"user_id": "disp-2", "name": "Malee", "role": "dispatcher"})
    assert status == 201
    before = await server.ctx.store.last_seq()
    status, user = await admin.call("PATCH", "/api/v1/users/disp-2", {"name": "Malee", "unit_id": "CB-ALS-01"})
    assert status == 200 and user["name"] == "Malee" and user["unit_id"] is None  # only crews belong to a unit
    assert await server.ctx.store.last_seq() == before


async def test_a_retired_unit_is_never_recommended_nor_assigned(server, dispatcher_api):
    await demo.seed(server.ctx.store)
    await routing_ready(server)
    admin = await admin_api(server)
    assert (await admin.post("/api/v1/units/CB-ALS-01/retire", {"reason": "workshop"}))[0] == 200
    _, incident = await dispatcher_api.post("/api/v1/incidents", {"channel": "phone",
                                                                  "location": {"lat": 13.3611, "lon": 100.9847}})
    status, ranked = await dispatcher_api.get(f"/api/v1/incidents/{incident['id']}/recommendations")
    assert status == 200 and ranked["recommendations"]
    assert "CB-ALS-01" not in [r["unit_id"] for r in ranked["recommendations"]]
    status, body = await dispatcher_api.post(f"/api/v1/incidents/{incident['id']}/assignments",
                                             {"unit_id": "CB-ALS-01"})
    assert status == 409 and "retired" in body["error"]["message"]
    _, triaged = await dispatcher_api.post(f"/api/v1/incidents/{incident['id']}/triage",
                                           {"group": 1, "determinant": 1})  # red: auto-dispatched
    assert triaged["unit_ids"] and "CB-ALS-01" not in triaged["unit_ids"]
    _, coverage = await dispatcher_api.get("/api/v1/coverage?capability=ALS")
    assert "CB-ALS-01" not in coverage["unit_ids"]
