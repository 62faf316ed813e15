"""The WebSocket endpoint `/ws?token=…&since=SEQ` for crews, dispatchers and hospitals (see docs/protocol.md).

Lifecycle: `get` authenticates before the upgrade (401 without a live token, 403 for a foreign Origin);
`open` registers the client with the hub and starts its writer, which first replays the events after `since`
from PostgreSQL (or sends a snapshot when the gap is beyond the replay window), then streams live events.
Frames are JSON: {"type": ..., "seq": ..., ...}.

Limits: `since` is a seq (0 .. 2^63-1) or absent, else 400 before the upgrade; one user holds at most
`ws_max_per_user` sockets per process (429 beyond); a socket closes (4401) the moment its token expires; a client
frame with text PostgreSQL cannot store (NUL, a lone surrogate) gets an error frame naming the field.
"""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import msgspec
import tornado.web
import tornado.websocket

from app_context import AppContext
from codec import to_json
from http_errors import ApiError, unstorable_text, write_json_error
from tornado_adapter import preframed_writer
from db import audit
from db.audience import audience_events
from dispatch.access import HistoryFilter
from dispatch.ports import StoredEvent
from telemetry.logs import log_uncaught, printable
from telemetry.metrics import WS_FRAMES
from ws.hub import SNAPSHOT, Client

log = logging.getLogger("ems.ws")

MAX_SEQ = 2**63 - 1  # event seq is a PostgreSQL bigint
TOKEN_EXPIRED = 4401  # close code: the token expired or was revoked (also ws/hub.py)


class EventSocket(tornado.websocket.WebSocketHandler):
    client: Client | None = None
    _writer: asyncio.Task | None = None
    _expiry: asyncio.TimerHandle | None = None

    @property
    def ctx(self) -> AppContext:
        return self.application.settings["ctx"]

    def check_origin(self, origin: str) -> bool:
        allowed = self.ctx.config.allowed_origins
        if allowed:
            return origin in allowed
        return urlsplit(origin).netloc == self.request.headers.get("Host")  # same host only

    async def get(self, *args: Any, **kwargs: Any) -> None:
        token = self.get_query_argument("token", None)
        since = self._since_argument()
        identity = await self.ctx.identities.verify(token)
        if identity is None:
            log.warning("ws refused: no valid token", extra={"peer": self.request.remote_ip})
            raise ApiError(401, "a valid token is required")
        expires_at = await self.ctx.identities.expires_at(token)
        if expires_at is None:  # expired (or revoked) between the two reads
            raise ApiError(401, "a valid token is required")
        # Nothing below awaits before open() registers the socket, so concurrent upgrades cannot all pass the cap.
        limit = self.ctx.config.ws_max_per_user
        if self.ctx.hub.per_user.get(identity.user_id, 0) >= limit:
            log.warning("ws refused: per-user cap", extra={"user": identity.user_id, "limit": limit})
            raise ApiError(429, f"this user already has {limit} open sockets on this server")
        self._since = since
        self._expires_at = expires_at
        self.client = Client(identity, self.ctx.config.ws_queue_size, token=token, close=self.close)
        await super().get(*args, **kwargs)

    def _since_argument(self) -> int:
        """`since`: the last seq the client has (0 .. 2^63-1), or -1 when absent (start with a snapshot)."""
        raw = self.get_query_argument("since", None)
        if raw is None:
            return -1
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > MAX_SEQ:
            raise ApiError(400, f"since must be an integer from 0 to {MAX_SEQ}")
        return int(raw)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Refusals before the upgrade in the API's JSON error shape."""
        write_json_error(self, status_code, kwargs.get("exc_info", (None, None, None))[1])

    def log_exception(self, typ: type[BaseException] | None, value: BaseException | None, tb: Any) -> None:
        """Tornado calls this for an exception escaping a callback; the URL carries the token, so it is redacted."""
        log_uncaught(self.request, value, (typ, value, tb))

    def get_compression_options(self) -> dict | None:
        """permessage-deflate for tablets and boards on mobile or hospital links; not for control-room consoles,
        which take every event: compressing is per socket, framing once serves them all."""
        return {} if self.client and self.client.identity.role in ("crew", "hospital") else None

    def open(self, *args: Any, **kwargs: Any) -> None:
        self.ctx.hub.add(self.client)
        self._writer = asyncio.create_task(self._write_loop())
        lifetime_s = (self._expires_at - datetime.now(UTC)).total_seconds()
        self._expiry = asyncio.get_running_loop().call_later(max(0.0, lifetime_s), self._token_expired)

    def _token_expired(self) -> None:
        self.ctx.hub.remove(self.client)
        self.close(TOKEN_EXPIRED, "token expired")

    def on_close(self) -> None:
        if self.client:
            self.ctx.hub.remove(self.client)
        if self._writer:
            self._writer.cancel()
        if self._expiry:
            self._expiry.cancel()

    async def on_message(self, message: str | bytes) -> None:
        try:
            frame = json.loads(message)
        except (ValueError, RecursionError):
            return self._send({"type": "error", "reason": "malformed JSON frame"})
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            return self._send({"type": "error", "reason": "a frame is a JSON object with a string 'type'"})
        bad_text = unstorable_text(frame, "frame")
        if bad_text:  # a command id or value PostgreSQL cannot store: name it instead of failing in the store
            return self._send({"type": "error", "id": _echo(frame.get("id")), "status": 422,
                               "reason": "the frame has text that cannot be stored",
                               "fields": [{"field": printable(f), "code": r.value, "reason": r.text()} for f, r in bad_text[:20]]})
        handler = self.ctx.ws_commands
        if frame["type"] == "ping":
            return self._send({"type": "pong", "id": frame.get("id")})
        if handler is None:
            return self._send({"type": "error", "id": frame.get("id"), "reason": f"unknown frame type {frame['type']!r}"})
        try:
            reply = await handler.handle(self.client.identity, frame)
        except Exception:  # a fault in one command: answer it, keep the socket (the tablet's other work goes on)
            log.exception("ws command failed", extra={"user": self.client.identity.user_id,
                                                     "frame_type": printable(frame["type"][:40])})
            reply = {"type": "error", "id": frame.get("id"), "status": 500, "reason": "server error"}
        if reply:
            self._send(reply)

    def _send(self, frame: dict) -> asyncio.Future | None:
        """Queue a frame on the connection; await the result to wait until the client has taken it (backpressure)."""
        if self.ws_connection is None or self.ws_connection.is_closing():
            return None
        WS_FRAMES.labels(frame.get("type", "?")).inc()
        return self.write_message(to_json(frame).decode())

    async def _send_and_wait(self, frame: dict) -> None:
        future = self._send(frame)
        if future is not None:
            await future

    async def _send_events(self, events: list[StoredEvent]) -> None:
        """Event frames in order, skipping any already sent (replay and live overlap, or a re-published event).

        Without permessage-deflate the frames, framed once per view by the hub, go out in one write."""
        frames = []
        for event in events:
            if event.seq > self.client.last_sent_seq:
                self.client.last_sent_seq = event.seq
                frame = self.ctx.hub.event_frame(event, self.client.identity)
                if frame is not None:  # None: this role is not shown this type of event
                    frames.append(frame)
        connection = self.ws_connection
        if not frames or connection is None or connection.is_closing():
            return
        WS_FRAMES.labels("event").inc(len(frames))
        write_framed = preframed_writer(self)
        if write_framed is not None:
            await write_framed(b"".join(frame.wire for frame in frames))
            return
        for frame in frames:
            await self.write_message(frame.json.decode())

    async def _send_items(self, items: list) -> None:
        events: list[StoredEvent] = []
        for item in items:
            if isinstance(item, StoredEvent):
                events.append(item)
                continue
            await self._send_events(events)
            events = []
            if item is SNAPSHOT:
                await self._send_snapshot()
            else:
                await self._send_and_wait(item)
        await self._send_events(events)

    async def _send_snapshot(self) -> None:
        builder = self.ctx.snapshots
        seq = self.ctx.feed.last_seq if self.ctx.feed else await self.ctx.store.last_seq()
        state = await builder.snapshot(self.client.identity, until_seq=seq) if builder else {
            "incidents": await self.ctx.store.list("incidents", open_only=True)
            if self.client.identity.role in ("dispatcher", "admin") else []
        }
        await self._send_and_wait({"type": "snapshot", "seq": seq, "state": msgspec.to_builtins(state, enc_hook=str)})
        self.client.last_sent_seq = max(self.client.last_sent_seq, seq)

    async def _replay(self, since: int) -> None:
        head = await self.ctx.store.last_seq()
        if head - since > self.ctx.config.replay_window:
            return await self._send_snapshot()
        cursor = since
        self.client.last_sent_seq = since
        identity = self.client.identity
        unit_agencies = ({u.id: u.agency_id for u in await self.ctx.store.list("units", limit=100_000)}
                         if identity.is_staff and not identity.sees_all else None)
        history = HistoryFilter(identity, unit_agencies)  # each event judged by who could see it then
        while events := await self.ctx.store.events_since(cursor, limit=500):
            if unknown := history.unknown_incidents(events):
                history.learn(await audience_events(self.ctx.pool, unknown, until_seq=since))
            await self._send_events(history.admit(events))
            cursor = events[-1].seq
            self.client.last_sent_seq = max(self.client.last_sent_seq, cursor)

    async def _write_loop(self) -> None:
        try:
            await audit.record(self.ctx.pool, self.client.identity.actor, "subscribe", "ws",
                               detail={"since": self._since}, remote_addr=self.request.remote_ip)
            if self._since >= 0:
                await self._replay(self._since)
            else:
                await self._send_snapshot()
            if self.ctx.realtime_degraded:
                await self._send_and_wait({"type": "alert", "kind": "realtime_degraded", "active": True})
            while True:
                items = [await self.client.queue.get()]
                while not self.client.queue.empty():  # a burst goes out together
                    items.append(self.client.queue.get_nowait())
                await self._send_items(items)
        except asyncio.CancelledError:
            pass
        except tornado.websocket.WebSocketClosedError:
            pass
        except Exception:
            log.exception("ws writer failed; closing")
            self.close(1011, "server error")


def _echo(client_id: Any) -> Any:
    """A client's id as it can be sent back: text made encodable, other JSON values as they are."""
    return printable(client_id) if isinstance(client_id, str) else client_id
