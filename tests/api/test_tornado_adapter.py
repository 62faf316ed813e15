"""Pins the Tornado internals api/tornado_adapter.py relies on (the only module that reaches past Tornado's public
API): a Tornado upgrade that renames or changes them fails here, not silently in the fan-out."""
import asyncio

import pytest
import tornado.httpserver
import tornado.web
import tornado.websocket

from tornado_adapter import preframed_writer
from runtime.local_services import free_port
from ws.hub import EventFrame

SIZES = (5, 125, 126, 300, 65_535, 65_536, 70_000)  # every length encoding of RFC 6455 §5.2, and its edges


class Preframing(tornado.websocket.WebSocketHandler):
    def get_compression_options(self):
        return {}  # offered; the client decides

    async def on_message(self, message):
        write = preframed_writer(self)
        if write is None:
            self.write_message("fallback")
            return
        frames = [EventFrame(('"' + "x" * (size - 2) + '"').encode()) for size in SIZES]
        await write(b"".join(frame.wire for frame in frames))


@pytest.fixture
async def app_port():
    port = free_port()
    server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/ws", Preframing)]))
    server.listen(port, "127.0.0.1")
    yield port
    server.stop()


async def test_preframed_bytes_arrive_as_the_messages_they_frame(app_port):
    """Fails (gets "fallback") if WebSocketProtocol13 loses `_compressor` or `stream`, or they change meaning."""
    conn = await tornado.websocket.websocket_connect(f"ws://127.0.0.1:{app_port}/ws")
    await conn.write_message("go")
    received = [await asyncio.wait_for(conn.read_message(), 10) for _ in SIZES]
    assert [len(message) for message in received] == list(SIZES)
    assert received[0] == '"xxx"'
    conn.close()


async def test_a_compressed_connection_falls_back_to_write_message(app_port):
    conn = await tornado.websocket.websocket_connect(f"ws://127.0.0.1:{app_port}/ws", compression_options={})
    await conn.write_message("go")
    assert await asyncio.wait_for(conn.read_message(), 10) == "fallback"
    conn.close()

