"""Connection-level limits of the server (issue #14 items 13 and 15): a per-user socket cap, `since` checked before
the upgrade, a socket closed when its token expires, and connections that trickle headers or a body cut off."""
import asyncio
from datetime import timedelta

import pytest
import tornado.httpclient
import tornado.websocket

from db.identity import IdentityStore
from server import Server
from tests.conftest import Socket, make_user, reset_state, server_config, wait_until


@pytest.fixture
async def strict_server(database_url, redis_url):
    await reset_state(database_url, redis_url)
    running = Server(server_config(database_url, redis_url, ws_max_per_user=3, http_idle_timeout_s=2,
                                   http_body_timeout_s=2))
    await running.start()
    yield running
    await running.stop()


async def refused_with(port: int, token: str, query: str = "") -> int:
    with pytest.raises(tornado.httpclient.HTTPClientError) as refused:
        request = tornado.httpclient.HTTPRequest(f"ws://127.0.0.1:{port}/ws?token={token}{query}",
                                                 headers={"Origin": f"http://127.0.0.1:{port}"})
        await tornado.websocket.websocket_connect(request)
    return refused.value.code


async def test_one_user_holds_at_most_the_configured_number_of_sockets(strict_server):
    port = strict_server.config.port
    crew = await make_user(strict_server.ctx.pool, "crew-cap", "crew", unit_id="U1")
    sockets = [await Socket.connect(port, crew) for _ in range(3)]
    for socket in sockets:
        await socket.next_of("snapshot")
    assert await refused_with(port, crew) == 429
    other = await Socket.connect(port, await make_user(strict_server.ctx.pool, "crew-other", "crew", unit_id="U2"))
    await other.next_of("snapshot")  # the cap is per user: others still connect
    sockets[0].close()

    async def slot_free():
        return strict_server.ctx.hub.per_user.get("crew-cap") == 2

    assert await wait_until(slot_free, timeout_s=10)
    again = await Socket.connect(port, crew)
    await again.next_of("snapshot")
    for socket in (*sockets[1:], other, again):
        socket.close()


async def test_since_out_of_range_or_not_a_number_is_refused_before_the_upgrade(strict_server):
    port = strict_server.config.port
    token = await make_user(strict_server.ctx.pool, "disp-since", "dispatcher")
    for since in ("99999999999999999999999", str(2**63), "-5", "1e3", "%FF", "%EF%BC%91"):
        assert await refused_with(port, token, f"&since={since}") == 400, since
    socket = await Socket.connect(port, token, since=2**63 - 1)  # the largest seq is fine: nothing to replay
    await socket.conn.write_message('{"type": "ping", "id": "p"}')
    assert (await socket.next_of("pong"))["id"] == "p"
    socket.close()


async def test_a_socket_closes_when_its_token_expires(strict_server):
    pool = strict_server.ctx.pool
    await make_user(pool, "crew-short", "crew", unit_id="U1")
    token = await IdentityStore(pool).issue_token("crew-short", ttl=timedelta(seconds=2))
    socket = await Socket.connect(strict_server.config.port, token)
    await socket.next_of("snapshot")
    with pytest.raises(ConnectionError):
        await socket.next_of("never", timeout_s=20)  # closed well before the 30 s recheck would find it
    assert socket.conn.close_code == 4401
    assert socket.conn.close_reason == "token expired"  # the expiry timer, not the periodic recheck


async def trickle(port: int, first: bytes, drip: bytes, budget_s: float) -> bool:
    """Send `first`, then `drip` every 0.5 s; True if the server hung up within `budget_s`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(first)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_s
    try:
        while loop.time() < deadline:
            try:
                writer.write(drip)
                await writer.drain()
                if await asyncio.wait_for(reader.read(4096), 0.5) == b"":
                    return True
            except asyncio.TimeoutError:
                continue
            except ConnectionError:
                return True
        return False
    finally:
        writer.close()


async def test_connections_trickling_headers_or_a_body_are_cut_off(strict_server):
    port = strict_server.config.port
    headers = [trickle(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X-Slow: 1\r\n", 20) for _ in range(20)]
    bodies = [trickle(port, b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 100000\r\n\r\n{", b" ", 20) for _ in range(5)]
    closed = await asyncio.gather(*headers, *bodies)
    assert all(closed), f"{closed.count(False)} of {len(closed)} slow connections were still open after 20 s"
