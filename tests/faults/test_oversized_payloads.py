"""RELIABILITY 19: 10 MB bodies, deep nesting and oversized WebSocket frames against a real server process:
413 / 400 / close 1009, never a 500, and the process's memory (RSS) stays where it was."""
import asyncio
import json
from pathlib import Path

import pytest
import tornado.httpclient
import tornado.websocket

from tests.conftest import GOOD_REPORT, Api, Socket, make_user, reset_state, server_process

TEN_MB = 10 * 1024 * 1024


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


@pytest.fixture
async def lone_server(database_url, redis_url, pool):
    await reset_state(database_url, redis_url)
    server = server_process(database_url, redis_url)
    try:
        await server.ready(timeout_s=180)
        server.board_token = await make_user(pool, "ed-big", "hospital", hospital_id="H1")  # boards get deflate
        yield server, await make_user(pool, "disp-big", "dispatcher")
    finally:
        server.stop()


async def post_big(url: str, token: str, *, may_hang_up: bool = True, **body_options) -> int:
    """POST an oversized body; a server that answers 413 and hangs up mid-upload counts as 413 when allowed."""
    request = tornado.httpclient.HTTPRequest(url, method="POST", request_timeout=60, **body_options,
                                             headers={"Authorization": f"Bearer {token}",
                                                      "Content-Type": "application/json"})
    try:
        response = await tornado.httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
        return response.code
    except (tornado.httpclient.HTTPClientError, OSError):
        assert may_hang_up, "a client that waited for 100-continue must get the 413"
        return 413


async def post_chunked(url: str, token: str, total: int) -> int:
    """A body with no Content-Length (chunked), so the server only learns its size while reading it."""
    async def produce(write):
        chunk = b"x" * 65536
        for _ in range(total // len(chunk)):
            await write(chunk)

    return await post_big(url, token, body_producer=produce)


async def post_declared(url: str, token: str, body: bytes, *, polite: bool) -> int:
    """A body with its Content-Length: a polite client waits for 100-continue, an abusive one just sends."""
    return await post_big(url, token, may_hang_up=not polite, body=body, expect_100_continue=polite)


async def send_huge_frame(port: int, token: str, *, compressed: bool) -> int | None:
    """10 MB in one text frame; compressed it is a 10 kB "zip bomb" the server must not inflate past its limit."""
    request = tornado.httpclient.HTTPRequest(f"ws://127.0.0.1:{port}/ws?token={token}",
                                             headers={"Origin": f"http://127.0.0.1:{port}"})
    conn = await tornado.websocket.websocket_connect(request, compression_options={} if compressed else None)
    socket = Socket(conn)
    await socket.next_of("snapshot")
    try:
        await conn.write_message("x" * TEN_MB)
    except tornado.websocket.WebSocketClosedError:
        pass
    while True:
        try:
            if await socket.next(timeout_s=30) is None:
                break
        except (tornado.websocket.WebSocketClosedError, asyncio.TimeoutError):
            break
    # uncompressed, the server may hang up while the client is still writing, before it reads the close frame
    return conn.close_code if compressed or conn.close_code is not None else "dropped"


async def test_huge_and_deep_payloads_are_refused_and_memory_stays_flat(lone_server):
    server, token = lone_server
    api = Api(server.base_url, token)
    huge = json.dumps({**GOOD_REPORT, "address": "x" * TEN_MB}).encode()
    deep_array = ("[" * 200_000 + "]" * 200_000).encode()  # 400 kB: under the limit, far past any recursion limit
    deep_object = ('{"channel": "app", "location": ' + '{"a": ' * 50_000 + "1" + "}" * 50_000 + "}").encode()

    async def one_round() -> list:
        seen = [await post_declared(server.base_url + "/api/v1/incidents", token, huge, polite=True),
                await post_declared(server.base_url + "/api/v1/incidents", token, huge, polite=False),
                await post_chunked(server.base_url + "/api/v1/incidents", token, TEN_MB),
                (await api.post("/api/v1/incidents", raw=deep_array))[0],
                (await api.post("/api/v1/incidents", raw=deep_object))[0],
                await send_huge_frame(server.port, token, compressed=False),
                await send_huge_frame(server.port, server.board_token, compressed=True)]
        return seen

    first = await one_round()  # warms up every code path before the baseline
    assert first[:3] == [413, 413, 413] and first[3] in (400, 422) and first[4] in (400, 422) and first[5] in (1009, "dropped") and first[6] == 1009, first
    baseline = rss_bytes(server.proc.pid)
    for _ in range(5):  # 100 MB of bodies and 50 MB of frames thrown at it
        again = await one_round()
        assert again[:5] == first[:5] and again[5] in (1009, "dropped") and again[6] == 1009, again
    grown = rss_bytes(server.proc.pid) - baseline
    assert grown < 32 * 1024 * 1024, f"RSS grew by {grown / 1e6:.0f} MB"

    socket = await Socket.connect(server.port, token)  # still serving, and a deep frame is only an error
    await socket.next_of("snapshot")
    await socket.conn.write_message("[" * 30_000 + "]" * 30_000)
    assert "malformed" in (await socket.next_of("error"))["reason"]
    status, created = await api.post("/api/v1/incidents", GOOD_REPORT)
    assert status == 201 and created["id"] == 1  # nothing from the abuse was stored
    socket.close()
