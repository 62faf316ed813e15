"""Find the caller through the API: geocode, reverse, bad input, permissions, address-only reports placed by the
geocoder, and a dispatcher's location choice recorded as a LocationConfirmed event."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.conftest import Api, make_user, wait_until
from tests.places.conftest import places_ready


@pytest.fixture
async def ready(server, dispatcher_api):
    await places_ready(server)
    return dispatcher_api


async def _incident(api: Api, incident_id: int) -> dict:
    return (await api.get(f"/api/v1/incidents/{incident_id}"))[1]


async def test_geocode_answers_ranked_places_with_every_field(ready):
    status, body = await ready.get(f"/api/v1/geocode?q={quote('รพ.สมิติเวชศรีราชา')}&limit=3")
    assert status == 200 and 1 <= len(body["results"]) <= 3
    first = body["results"][0]
    assert set(first) >= {"name", "name_en", "kind", "lat", "lon", "score", "source", "in_road_graph"}
    assert first["name"] == "โรงพยาบาลสมิติเวช" and first["kind"] == "hospital" and first["source"] == "osm_pois"
    status, body = await ready.get(f"/api/v1/geocode?q={quote('แยกพิพิธตัดวชิรปราการ')}&near=13.36,100.98")
    assert body["results"][0]["kind"] == "junction" and body["results"][0]["in_road_graph"] is True
    assert body["results"][0]["distance_m"] < 3000


async def test_reverse_describes_a_point_in_thai_and_english(ready):
    _, found = await ready.get(f"/api/v1/geocode?q={quote('โรงพยาบาลชลบุรี')}&limit=1")
    hospital = found["results"][0]
    status, body = await ready.get(f"/api/v1/reverse?lat={hospital['lat'] + 0.0009}&lon={hospital['lon']}")
    assert status == 200
    assert body["landmark"]["name"] == "โรงพยาบาลชลบุรี" and body["road"]["name"]
    assert "โรงพยาบาลชลบุรี" in body["description_th"] and " m north of " in body["description_en"]


@pytest.mark.parametrize("path, field", [
    ("/api/v1/geocode", "q"),
    ("/api/v1/geocode?q=", "q"),
    ("/api/v1/geocode?q=" + "ก" * 201, "q"),
    ("/api/v1/geocode?q=%E0%B8%A3%E0%B8%9E.&near=abc", "near"),
    ("/api/v1/geocode?q=x&near=95,100", "near"),
    ("/api/v1/geocode?q=x&near=13,nan", "near"),
    ("/api/v1/geocode?q=x&limit=0", "limit"),
    ("/api/v1/geocode?q=x&limit=abc", "limit"),
    ("/api/v1/geocode?q=...", "q"),
    ("/api/v1/reverse?lon=100.9", "lat"),
    ("/api/v1/reverse?lat=13.3&lon=east", "lon"),
    ("/api/v1/reverse?lat=13.3&lon=181", "lon"),
])
async def test_bad_input_is_400_naming_the_field(ready, path, field):
    status, body = await ready.get(path)
    assert status == 400, body
    assert field in [f["field"] for f in body["error"]["fields"]]


async def test_permissions(ready, server):
    base = ready.base_url
    crew = Api(base, await make_user(server.ctx.pool, "crew-geo", "crew", unit_id="CB-ALS-01"))
    hospital = Api(base, await make_user(server.ctx.pool, "hosp-geo", "hospital", hospital_id="h1"))
    anonymous = Api(base)
    q = f"/api/v1/geocode?q={quote('ถ.สุขุมวิท')}"
    reverse = "/api/v1/reverse?lat=13.361&lon=100.984"
    assert (await anonymous.get(q))[0] == 401 and (await anonymous.get(reverse))[0] == 401
    assert (await crew.get(q))[0] == 403
    assert (await crew.get(reverse))[0] == 200
    assert (await hospital.get(q))[0] == 403 and (await hospital.get(reverse))[0] == 403
    assert (await crew.post("/api/v1/incidents/1/location", {"lat": 13.36, "lon": 100.98, "source": "map_pin"}))[0] == 403


async def test_address_only_report_is_geocoded_and_flagged(ready, server):
    status, incident = await ready.post("/api/v1/incidents", {"channel": "app", "address": "หน้า รพ.ชลบุรี",
                                                               "chief_complaint": "หมดสติ"})
    assert status == 201 and incident["location"] is None and "location_unverified" in incident["location_flags"]

    async def placed():
        return (await _incident(ready, incident["id"]))["location"] is not None

    assert await wait_until(placed, 30)
    placed_incident = await _incident(ready, incident["id"])
    assert placed_incident["location_source"] == "geocoder"
    assert placed_incident["location_label"] == "โรงพยาบาลชลบุรี"
    assert placed_incident["location_confidence"] >= 0.6
    assert {"location_geocoded", "location_unverified"} <= set(placed_incident["location_flags"])  # not auto-dispatched
    [event] = [e for e in await server.ctx.store.stream_events(f"incident-{incident['id']}")
               if e.type == "LocationConfirmed"]
    assert event.payload["source"] == "geocoder" and event.payload["confirmed_by"] is None


async def test_unplaceable_address_stays_unverified(ready, server):
    _, incident = await ready.post("/api/v1/incidents", {"channel": "app", "address": "zzqx วววว 99999"})
    assert await server.ctx.places.locator.locate(incident["id"], "zzqx วววว 99999") is False
    still = await _incident(ready, incident["id"])
    assert still["location"] is None and still["location_flags"] == ["location_unverified"]


async def _has_location(api: Api, incident_id: int) -> bool:
    return (await _incident(api, incident_id))["location"] is not None


async def test_dispatcher_sets_the_location_with_its_source(ready, server):
    _, incident = await ready.post("/api/v1/incidents", {"channel": "phone", "address": "ซอยวัดต้นสน 2"})
    await wait_until(lambda: _has_location(ready, incident["id"]), 30)
    status, body = await ready.post(f"/api/v1/incidents/{incident['id']}/location",
                                    {"lat": 13.3611, "lon": 100.9847, "source": "map_pin"})
    assert status == 200
    assert body["location"] == {"lat": 13.3611, "lon": 100.9847} and body["location_source"] == "map_pin"
    assert body["location_flags"] == [] and body["location_confidence"] is None
    assert body["location_label"]  # the reverse-geocoded description of the pin
    assert (await _incident(ready, incident["id"]))["place"]["description_th"] == body["location_label"]
    events = [e for e in await server.ctx.store.stream_events(f"incident-{incident['id']}")
              if e.type == "LocationConfirmed"]
    assert [e.payload["source"] for e in events][-1] == "map_pin"
    assert events[-1].payload["confirmed_by"] == "disp-test"
    status, body = await ready.post(f"/api/v1/incidents/{incident['id']}/location",
                                    {"lat": 13.2, "lon": 100.9, "source": "geocoder", "label": "ซอยวัดต้นสน 2"})
    assert status == 200 and body["location_label"] == "ซอยวัดต้นสน 2"


@pytest.mark.parametrize("body, field", [
    ({"lat": 13.3, "lon": 100.9, "source": "guess"}, "source"),
    ({"lat": 95, "lon": 100.9, "source": "map_pin"}, "lat"),
    ({"lon": 100.9, "source": "map_pin"}, "lat"),
    ({"lat": 13.3, "lon": 100.9, "source": "map_pin", "label": ""}, "label"),
])
async def test_bad_location_bodies_name_the_field(ready, body, field):
    _, incident = await ready.post("/api/v1/incidents", {"channel": "phone", "location": {"lat": 13.36, "lon": 100.98}})
    status, answer = await ready.post(f"/api/v1/incidents/{incident['id']}/location", body)
    assert status == 422 and field in [f["field"] for f in answer["error"]["fields"]]


async def test_unknown_incident_is_404(ready):
    status, _ = await ready.post("/api/v1/incidents/999999/location", {"lat": 13.3, "lon": 100.9, "source": "map_pin"})
    assert status == 404


async def test_the_place_endpoints_are_in_the_openapi_document(ready):
    _, document = await ready.get("/api/v1/openapi.json")
    assert {"/api/v1/geocode", "/api/v1/reverse", "/api/v1/incidents/{incident_id}/location"} <= set(document["paths"])


async def test_a_burst_of_registrations_refreshes_the_fleet_sites_a_few_times_not_once_each(ready, server):
    """Each refresh holds a pooled connection while it waits for the gazetteer's lock; the demo seed's burst of
    registrations queued one refresh per event and emptied the pool (a crew's tablet waited 10 s for its
    snapshot in a full run). Now registrations during a refresh share one more, and the last state is kept."""
    from dispatch import demo

    gazetteer = server.ctx.places.search.gazetteer
    calls = []
    original = gazetteer.replace_fleet

    async def counted(records):
        calls.append(len(records))
        await original(records)

    gazetteer.replace_fleet = counted
    try:
        await demo.seed(server.ctx.store)  # every unit and hospital of the demo city, one event each
        units = await server.ctx.store.list("units", limit=100_000)
        assert len(units) >= 10
        assert await wait_until(lambda: _fleet_settled(server, calls), 30)
        assert 1 <= len(calls) <= 3, calls
        stations = await server.ctx.pool.fetchval("SELECT count(*) FROM places WHERE source = 'fleet'")
        assert stations == calls[-1] > 0  # the last refresh saw the whole registry
    finally:
        gazetteer.replace_fleet = original


async def _fleet_settled(server, calls) -> bool:
    return bool(calls) and not getattr(server, "_fleet_refresh_running", False)
