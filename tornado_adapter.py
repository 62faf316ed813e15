"""The one place that reaches past Tornado's public API. tests/api/test_tornado_adapter.py pins what it relies on,
so a Tornado upgrade that changes it fails that test instead of silently slowing or breaking the fan-out.

Why it exists: the hub frames each event once (ws.hub.EventFrame.wire) and every socket without
permessage-deflate gets those same bytes in one write. Tornado's public `write_message` would frame (and copy)
every message again for every socket; with a few hundred consoles that is most of the fan-out's CPU.
"""
from __future__ import annotations

from collections.abc import Awaitable

import tornado.iostream
import tornado.websocket


def preframed_writer(handler: tornado.websocket.WebSocketHandler):
    """A function that writes already-framed, uncompressed WebSocket frames (RFC 6455 §5.2, server side: not
    masked) straight to `handler`'s stream, or None when the caller must use `write_message` instead: the
    connection negotiated permessage-deflate (frames must be compressed per socket), is closing, or is not the
    protocol version whose internals this relies on (`WebSocketProtocol13`: its `_compressor` and `stream`).

    The returned function raises `WebSocketClosedError` (like `write_message`) if the client has gone; its
    awaitable resolves once the bytes are handed to the kernel (backpressure).
    """
    connection = handler.ws_connection
    if not isinstance(connection, tornado.websocket.WebSocketProtocol13) or connection.is_closing():
        return None
    if not hasattr(connection, "_compressor") or connection._compressor is not None:
        return None  # compressed, or Tornado changed: the public path is slower but always right
    stream = getattr(connection, "stream", None)
    if not isinstance(stream, tornado.iostream.BaseIOStream):
        return None

    def write(data: bytes) -> Awaitable[None]:
        try:
            written = stream.write(data)
        except tornado.iostream.StreamClosedError:
            raise tornado.websocket.WebSocketClosedError() from None
        return _closed_as_websocket_error(written)

    return write


async def _closed_as_websocket_error(written: Awaitable[None]) -> None:
    try:
        await written
    except tornado.iostream.StreamClosedError:
        raise tornado.websocket.WebSocketClosedError() from None

