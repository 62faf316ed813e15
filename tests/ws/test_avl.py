import asyncio

from tests.conftest import Socket, make_user


async def test_crew_position_reaches_dispatcher_and_redis_and_track(server, dispatcher_api):
    console = await Socket.connect(server.config.port, dispatcher_api.token)
    await console.next_of("snapshot")
    crew_token = await make_user(server.ctx.pool, "crew-p", "crew", unit_id="CB-ALS-07")
    tablet = await Socket.connect(server.config.port, crew_token)
    await tablet.next_of("snapshot")
    await tablet.conn.write_message('{"type": "position", "lat": 13.3612, "lon": 100.9851, "speed_mps": 12.5}')
    frame = await console.next_of("positions", timeout_s=5)
    [unit] = frame["units"]
    assert unit["unit_id"] == "CB-ALS-07" and unit["lat"] == 13.3612 and unit["speed_mps"] == 12.5
    latest = await server.ctx.avl.latest(["CB-ALS-07", "CB-NONE"])
    assert latest["CB-ALS-07"].lat == 13.3612 and "CB-NONE" not in latest
    rows = await server.ctx.pool.fetch("SELECT lat, lon FROM unit_positions WHERE unit_id = 'CB-ALS-07'")
    assert [(r["lat"], r["lon"]) for r in rows] == [(13.3612, 100.9851)]
    tablet.close()
    console.close()


async def test_bad_position_gets_error_frame_naming_field_and_socket_stays(server):
    crew_token = await make_user(server.ctx.pool, "crew-q", "crew", unit_id="CB-BLS-03")
    tablet = await Socket.connect(server.config.port, crew_token)
    await tablet.next_of("snapshot")
    await tablet.conn.write_message('{"type": "position", "lat": 95, "lon": "x"}')
    error = await tablet.next_of("error")
    assert {f["field"] for f in error["fields"]} == {"location.lat", "location.lon"}
    await tablet.conn.write_message('{"type": "ping", "id": "still-here"}')
    assert (await tablet.next_of("pong"))["id"] == "still-here"
    tablet.close()


async def test_only_crews_report_positions(server, dispatcher_api):
    console = await Socket.connect(server.config.port, dispatcher_api.token)
    await console.next_of("snapshot")
    await console.conn.write_message('{"type": "position", "lat": 13.36, "lon": 100.98}')
    error = await console.next_of("error")
    assert error["status"] == 403
    console.close()


async def test_positions_are_rate_limited_per_unit(server):
    await make_user(server.ctx.pool, "crew-r", "crew", unit_id="CB-FR-01")
    for i in range(5):
        await server.ctx.avl.report("CB-FR-01", {"lat": 13.36 + i * 0.001, "lon": 100.98})
    await asyncio.sleep(0)
    latest = await server.ctx.avl.latest(["CB-FR-01"])
    assert latest["CB-FR-01"].lat == 13.36  # the four pings within the same second were dropped
