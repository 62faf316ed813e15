import asyncio

from tests.conftest import Api, make_user, routing_ready

ROUTE = "/api/v1/route?from_lat=13.3400&from_lon=100.9700&to_lat=13.3800&to_lon=100.9950"


async def test_road_layer_and_route_with_instructions(server, dispatcher_api):
    await routing_ready(server)
    status, roads = await dispatcher_api.get("/api/v1/map/roads?min_class=primary")
    assert status == 200 and roads["features"] and "OpenStreetMap" in roads["attribution"]
    status, route = await dispatcher_api.get(ROUTE)
    assert status == 200
    assert route["duration_s"] > 0 and route["geometry"]["type"] == "LineString"
    assert any(step["street_en"] for step in route["instructions"])


async def test_route_with_bad_coordinates_names_the_field(server, dispatcher_api):
    await routing_ready(server)
    status, body = await dispatcher_api.get("/api/v1/route?from_lat=95&from_lon=100.97&to_lat=13.38&to_lon=100.99")
    assert status == 422 and body["error"]["fields"][0]["field"] == "from_lat"
    status, body = await dispatcher_api.get("/api/v1/route?from_lat=x&from_lon=100.97&to_lat=13.38&to_lon=100.99")
    assert status == 422 and body["error"]["fields"][0]["field"] == "from_lat"


async def test_dispatcher_draws_a_closure_that_reroutes_then_reopens_it(server, dispatcher_api):
    await routing_ready(server)
    _, before = await dispatcher_api.get(ROUTE)
    lon, lat = before["geometry"]["coordinates"][len(before["geometry"]["coordinates"]) // 2]
    d = 0.001
    polygon = {"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d],
                                                   [lon - d, lat + d], [lon - d, lat - d]]]}
    crew = Api(dispatcher_api.base_url, await make_user(server.ctx.pool, "crew-c", "crew", unit_id="U9"))
    status, _ = await crew.post("/api/v1/closures", {"polygon": polygon, "reason": "น้ำท่วม"})
    assert status == 403
    status, body = await dispatcher_api.post("/api/v1/closures", {"polygon": polygon, "reason": "น้ำท่วม"})
    assert status == 201
    closure_id = body["closure_id"]
    for _ in range(50):  # applied when the event comes back through the feed
        _, during = await dispatcher_api.get(ROUTE)
        if during["duration_s"] > before["duration_s"]:
            break
        await asyncio.sleep(0.1)
    assert during["duration_s"] > before["duration_s"]
    _, listing = await dispatcher_api.get("/api/v1/closures")
    assert [c["reason"] for c in listing["closures"]] == ["น้ำท่วม"]
    status, _ = await dispatcher_api.call("DELETE", f"/api/v1/closures/{closure_id}")
    assert status == 200
    for _ in range(50):
        _, after = await dispatcher_api.get(ROUTE)
        if after["duration_s"] == before["duration_s"]:
            break
        await asyncio.sleep(0.1)
    assert after["duration_s"] == before["duration_s"]


async def test_invalid_closure_lists_each_field(server, dispatcher_api):
    await routing_ready(server)
    status, body = await dispatcher_api.post("/api/v1/closures", {"polygon": {"type": "Point"}, "factor": 0.5,
                                                                  "expires_at": "tomorrow"})
    assert status == 422
    assert {f["field"] for f in body["error"]["fields"]} == {"polygon", "factor", "expires_at"}
