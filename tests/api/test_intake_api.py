import asyncio
import json

from tests.conftest import Api, make_user

GOOD = {"channel": "app", "location": {"lat": 13.3611, "lon": 100.9847}, "chief_complaint": "แน่นหน้าอก",
        "caller": {"phone": "+66 81 234 5678", "name": "สมชาย"}}


async def test_post_then_get_incident(dispatcher_api):
    status, created = await dispatcher_api.post("/api/v1/incidents", GOOD)
    assert status == 201
    status, fetched = await dispatcher_api.get(f"/api/v1/incidents/{created['id']}")
    assert status == 200
    assert fetched["chief_complaint"] == "แน่นหน้าอก"
    assert fetched["callers"][0]["phone"] == "+66 81 234 5678"


async def test_repeated_idempotency_key_returns_first_incident(dispatcher_api):
    headers = {"Idempotency-Key": "call-123"}
    results = await asyncio.gather(*(dispatcher_api.post("/api/v1/incidents", GOOD, headers=headers) for _ in range(5)))
    ids = {body["id"] for _, body in results}
    assert len(ids) == 1
    assert sorted(status for status, _ in results) == [200, 200, 200, 200, 201]
    _, listing = await dispatcher_api.get("/api/v1/incidents")
    assert len(listing["incidents"]) == 1


async def test_malformed_json_is_400(dispatcher_api):
    status, body = await dispatcher_api.post("/api/v1/incidents", raw=b'{"channel": "app",')
    assert status == 400
    assert "malformed JSON" in body["error"]["message"]


async def test_body_over_one_megabyte_is_413(dispatcher_api):
    big = json.dumps({"channel": "app", "address": "x" * (1_100_000)}).encode()
    status, body = await dispatcher_api.post("/api/v1/incidents", raw=big)
    assert status == 413
    _, listing = await dispatcher_api.get("/api/v1/incidents")
    assert listing["incidents"] == []


async def test_invalid_fields_are_422_listing_each(dispatcher_api):
    bad = {"channel": "carrier-pigeon", "location": {"lat": 95, "lon": "east"}, "caller": {"phone": "call me"}}
    status, body = await dispatcher_api.post("/api/v1/incidents", bad)
    assert status == 422
    fields = {f["field"]: f["reason"] for f in body["error"]["fields"]}
    assert set(fields) == {"channel", "location.lat", "location.lon", "caller.phone"}
    assert "between -90 and 90" in fields["location.lat"]


async def test_missing_location_and_address_is_422(dispatcher_api):
    status, body = await dispatcher_api.post("/api/v1/incidents", {"channel": "app"})
    assert status == 422
    assert [f["field"] for f in body["error"]["fields"]] == ["location"]
    status, body = await dispatcher_api.post("/api/v1/incidents", {"channel": "app", "address": ""})  # empty: none
    assert status == 422 and [f["field"] for f in body["error"]["fields"]] == ["location"]


async def test_a_too_long_address_is_refused_for_its_length_only(dispatcher_api):
    status, body = await dispatcher_api.post("/api/v1/incidents", {"channel": "phone", "address": "ซอย" * 200})
    assert status == 422
    assert [(f["field"], f["code"]) for f in body["error"]["fields"]] == [("address", "text_too_long")]


async def test_coordinates_beside_the_report_are_its_location_not_dropped(dispatcher_api):
    """A caller app that sends lat/lon at the top level gets them as the location (they were ignored and the
    address geocoded 5 km away); a bad one is refused naming the field."""
    status, body = await dispatcher_api.post("/api/v1/incidents", {"channel": "app", "lat": 13.3611, "lon": 100.9847,
                                                                   "address": "ตลาดหนองมน"})
    assert status == 201 and body["location"] == {"lat": 13.3611, "lon": 100.9847}
    status, body = await dispatcher_api.post("/api/v1/incidents", {"channel": "app", "lat": 95, "lon": 100.9})
    assert status == 422 and [f["field"] for f in body["error"]["fields"]] == ["location.lat"]


async def test_outside_service_area_is_stored_and_flagged(dispatcher_api):
    status, body = await dispatcher_api.post("/api/v1/incidents", {**GOOD, "location": {"lat": 13.75, "lon": 100.50}})
    assert status == 201
    assert body["location_flags"] == ["outside_service_area"]


async def test_unicode_round_trips_byte_exact(dispatcher_api):
    tricky = "ผู้ป่วย\u0e49\u0e49 e\u0301 \u200b🚑 \u202eRTL <script>alert(1)</script>"
    status, body = await dispatcher_api.post("/api/v1/incidents", {**GOOD, "chief_complaint": tricky})
    assert status == 201
    _, fetched = await dispatcher_api.get(f"/api/v1/incidents/{body['id']}")
    assert fetched["chief_complaint"].encode() == tricky.encode()


async def test_auth_required_and_roles_enforced(server, dispatcher_api):
    base = dispatcher_api.base_url
    status, _ = await Api(base).post("/api/v1/incidents", GOOD)
    assert status == 401
    crew_token = await make_user(server.ctx.pool, "crew-x", "crew", unit_id="U1")
    status, body = await Api(base, crew_token).get("/api/v1/events?since=0")
    assert status == 403
    assert body["error"]["status"] == 403


async def test_events_since_pages_in_seq_order(dispatcher_api):
    for _ in range(3):
        await dispatcher_api.post("/api/v1/incidents", GOOD)
    _, page = await dispatcher_api.get("/api/v1/events?since=0&limit=2")
    assert [e["seq"] for e in page["events"]] == [1, 2] and page["more"]
    _, rest = await dispatcher_api.get(f"/api/v1/events?since={page['next_since']}")
    assert [e["seq"] for e in rest["events"]] == [3]
    status, body = await dispatcher_api.get("/api/v1/events?since=abc")
    assert status == 422 and body["error"]["fields"][0]["field"] == "since"


async def test_openapi_document_lists_the_intake(dispatcher_api):
    status, doc = await dispatcher_api.get("/api/v1/openapi.json", token=None)
    assert status == 200
    assert "post" in doc["paths"]["/api/v1/incidents"]
    assert doc["openapi"].startswith("3.")


async def test_health_and_metrics(dispatcher_api):
    status, body = await dispatcher_api.get("/healthz", token=None)
    assert status == 200 and body["failing"] == []
    await dispatcher_api.post("/api/v1/incidents", GOOD)
    status, text = await dispatcher_api.get("/metrics", token=None)
    assert status == 200
    assert 'ems_events_appended_total{type="IncidentReported"}' in text


async def test_nul_characters_anywhere_in_a_body_are_422_naming_the_field(dispatcher_api):
    status, created = await dispatcher_api.post("/api/v1/incidents", GOOD)
    assert status == 201
    status, body = await dispatcher_api.post(f"/api/v1/incidents/{created['id']}/assignments", {"unit_id": "CB\u0000"})
    assert status == 422
    assert [f["field"] for f in body["error"]["fields"]] == ["unit_id"]
    status, body = await dispatcher_api.post("/api/v1/incidents", {**GOOD, "caller": {"phone": "1\u0000", "name": "x"}})
    assert status == 422
    assert [f["field"] for f in body["error"]["fields"]] == ["caller.phone"]
    _, listing = await dispatcher_api.get("/api/v1/incidents")
    assert len(listing["incidents"]) == 1
