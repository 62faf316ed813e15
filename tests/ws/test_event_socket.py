import asyncio

import pytest
import tornado.httpclient
import tornado.websocket

from tests.conftest import GOOD_REPORT, Socket, make_user


async def test_client_receives_new_incident_event(server, dispatcher_api):
    socket = await Socket.connect(server.config.port, dispatcher_api.token)
    snapshot = await socket.next_of("snapshot")
    assert snapshot["state"]["incidents"] == []
    _, incident = await dispatcher_api.post("/api/v1/incidents", GOOD_REPORT)
    [frame] = await socket.events(1)
    assert frame["event"]["type"] == "IncidentReported"
    assert frame["event"]["payload"]["incident_id"] == incident["id"]
    assert frame["seq"] == incident["last_seq"]
    socket.close()


async def test_resume_since_replays_only_missed_events_in_order(server, dispatcher_api):
    for _ in range(5):
        await dispatcher_api.post("/api/v1/incidents", GOOD_REPORT)
    socket = await Socket.connect(server.config.port, dispatcher_api.token, since=2)
    frames = await socket.events(3)
    assert [f["seq"] for f in frames] == [3, 4, 5]
    await dispatcher_api.post("/api/v1/incidents", GOOD_REPORT)
    [live] = await socket.events(1)
    assert live["seq"] == 6
    socket.close()


async def test_gap_beyond_replay_window_gets_snapshot(database_url, redis_url):
    from server import Server
    from tests.conftest import Api, reset_state, server_config

    await reset_state(database_url, redis_url)
    running = Server(server_config(database_url, redis_url, replay_window=3))
    await running.start()
    try:
        token = await make_user(running.ctx.pool, "d", "dispatcher")
        api = Api(f"http://127.0.0.1:{running.config.port}", token)
        for _ in range(6):
            await api.post("/api/v1/incidents", GOOD_REPORT)
        socket = await Socket.connect(running.config.port, token, since=1)
        frame = await socket.next()
        assert frame["type"] == "snapshot"
        assert len(frame["state"]["incidents"]) == 6
        assert frame["seq"] == 6
        socket.close()
    finally:
        await running.stop()


async def test_socket_without_valid_token_is_refused(server):
    for token in (None, "not-a-token"):
        with pytest.raises(tornado.httpclient.HTTPClientError) as err:
            await Socket.connect(server.config.port, token)
        assert err.value.code == 401


async def test_foreign_origin_is_refused(server, dispatcher_api):
    with pytest.raises(tornado.httpclient.HTTPClientError) as err:
        await Socket.connect(server.config.port, dispatcher_api.token, origin="https://evil.example")
    assert err.value.code == 403


async def test_malformed_frame_gets_error_and_connection_stays(server, dispatcher_api):
    socket = await Socket.connect(server.config.port, dispatcher_api.token)
    await socket.next_of("snapshot")
    await socket.conn.write_message("{not json")
    error = await socket.next_of("error")
    assert "malformed" in error["reason"]
    await socket.conn.write_message('{"type": "ping", "id": "p1"}')
    pong = await socket.next_of("pong")
    assert pong["id"] == "p1"
    socket.close()


async def test_oversized_frame_closes_with_1009(server, dispatcher_api):
    socket = await Socket.connect(server.config.port, dispatcher_api.token)
    await socket.next_of("snapshot")
    await socket.conn.write_message("x" * (server.config.ws_max_message_bytes + 10))
    while (await socket.next()) is not None:
        pass
    assert socket.conn.close_code == 1009


async def test_crew_does_not_see_other_incidents(server, dispatcher_api):
    crew_token = await make_user(server.ctx.pool, "crew-a", "crew", unit_id="CB-ALS-01")
    crew = await Socket.connect(server.config.port, crew_token)
    await crew.next_of("snapshot")
    await dispatcher_api.post("/api/v1/incidents", GOOD_REPORT)
    with pytest.raises(asyncio.TimeoutError):
        await crew.next_of("event", timeout_s=1.0)
    crew.close()


async def deflate_socket(port: int, token: str) -> Socket:
    """A client that offers permessage-deflate, as browsers do."""
    request = tornado.httpclient.HTTPRequest(f"ws://127.0.0.1:{port}/ws?token={token}",
                                             headers={"Origin": f"http://127.0.0.1:{port}"})
    return Socket(await tornado.websocket.websocket_connect(request, compression_options={}))


async def test_consoles_get_plain_frames_tablets_deflate_and_a_burst_arrives_frame_by_frame(server, dispatcher_api):
    console = await deflate_socket(server.config.port, dispatcher_api.token)
    tablet = await deflate_socket(server.config.port, await make_user(server.ctx.pool, "crew-z", "crew", unit_id="Z1"))
    await console.next_of("snapshot")
    await tablet.next_of("snapshot")
    assert console.conn.protocol._compressor is None  # control room: framed once, sent as is
    assert tablet.conn.protocol._compressor is not None  # mobile data: compressed
    created = await asyncio.gather(*(dispatcher_api.post("/api/v1/incidents", GOOD_REPORT) for _ in range(20)))
    frames = await console.events(20)
    assert [f["seq"] for f in frames] == sorted(incident["last_seq"] for _, incident in created)
    assert {f["event"]["payload"]["incident_id"] for f in frames} == {incident["id"] for _, incident in created}
    console.close()
    tablet.close()
