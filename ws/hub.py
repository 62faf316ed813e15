"""Per-process registry of WebSocket clients; fans each committed event out to those allowed to see it.

Each client has a bounded queue drained by its own writer task, so a slow tablet never blocks anybody else; a
client whose queue overflows is sent a fresh snapshot instead of the frames it missed.
"""
from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from codec import to_json
from db.identity import token_sha256
from dispatch.access import Identity, Visibility, event_view, view_name
from dispatch.ports import StoredEvent
from telemetry.metrics import WS_CLIENTS

log = logging.getLogger("ems.ws")

SNAPSHOT = object()  # queue marker: send a snapshot, then carry on with live events
FRAME_CACHE_SIZE = 4096  # encoded event frames kept, so an event is serialised once per view, not once per socket


class EventFrame:
    """One encoded event frame: its JSON, and (built on first use) the whole uncompressed WebSocket text frame,
    so sockets without permessage-deflate get the same bytes without framing them again (RFC 6455 §5.2)."""

    __slots__ = ("json", "_wire")

    def __init__(self, json: bytes):
        self.json = json
        self._wire: bytes | None = None

    @property
    def wire(self) -> bytes:
        if self._wire is None:
            n = len(self.json)
            header = (struct.pack("!BB", 0x81, n) if n < 126 else struct.pack("!BBH", 0x81, 126, n) if n <= 0xFFFF
                      else struct.pack("!BBQ", 0x81, 127, n))  # FIN + text opcode; server frames are unmasked
            self._wire = header + self.json
        return self._wire


@dataclass(eq=False)
class Client:
    identity: Identity
    queue_size: int
    token: str | None = None
    close: Callable[[int, str], None] = lambda code, reason: None  # set by the socket handler
    queue: asyncio.Queue = field(init=False)
    last_sent_seq: int = 0
    overflowed: bool = False

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.queue_size)

    def offer(self, item: Any) -> None:
        """Queue a frame source without waiting; on overflow, replace the backlog with one snapshot."""
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(SNAPSHOT)


class Hub:
    def __init__(self, visibility: Visibility, *, on_access_revoked: Callable[[str, str | None], None] | None = None):
        self.visibility = visibility
        self.on_access_revoked = on_access_revoked  # (user_id, token SHA-256 or None): e.g. drop cached tokens
        self.clients: set[Client] = set()
        # Indexes so an event costs in proportion to its audience, not to every connected tablet.
        self.watchers: set[Client] = set()  # the centre's dispatchers and admins: every event
        self.by_agency: dict[str, set[Client]] = {}  # other agencies' dispatchers and admins: their agency's
        self.by_unit: dict[str, set[Client]] = {}
        self.by_hospital: dict[str, set[Client]] = {}
        self.per_user: dict[str, int] = {}  # open sockets per user id, for the per-user cap (ws/handler.py)
        self._frames: dict[tuple[int, str], EventFrame | None] = {}  # (seq, view name) -> the encoded frame

    def event_frame(self, event: StoredEvent, identity: Identity) -> EventFrame | None:
        """The `event` frame for `identity` (its role's allow-listed fields), None when its role is not shown this
        type of event; every socket with the same view shares one encoding."""
        key = (event.seq, view_name(identity))
        if key in self._frames:
            return self._frames[key]
        payload = event_view(identity, event.type, event.payload)
        frame = None if payload is None else EventFrame(to_json({"type": "event", "seq": event.seq, "event": {
            "type": event.type, "stream": event.stream, "payload": payload, "occurred_at": event.occurred_at}}))
        if len(self._frames) >= FRAME_CACHE_SIZE:
            del self._frames[next(iter(self._frames))]  # oldest first: dicts keep insertion order
        self._frames[key] = frame
        return frame

    def _index(self, client: Client) -> set[Client] | None:
        identity = client.identity
        if identity.sees_all:
            return self.watchers
        if identity.is_staff:
            return self.by_agency.setdefault(identity.agency, set())
        if identity.role == "crew" and identity.unit_id:
            return self.by_unit.setdefault(identity.unit_id, set())
        if identity.role == "hospital" and identity.hospital_id:
            return self.by_hospital.setdefault(identity.hospital_id, set())
        return None

    def add(self, client: Client) -> None:
        self.clients.add(client)
        index = self._index(client)
        if index is not None:
            index.add(client)
        user_id = client.identity.user_id
        self.per_user[user_id] = self.per_user.get(user_id, 0) + 1
        WS_CLIENTS.labels(client.identity.role).inc()

    def remove(self, client: Client) -> None:
        if client in self.clients:
            self.clients.discard(client)
            index = self._index(client)
            if index is not None:
                index.discard(client)
            user_id = client.identity.user_id
            if self.per_user.get(user_id, 0) > 1:
                self.per_user[user_id] -= 1
            else:
                self.per_user.pop(user_id, None)
            WS_CLIENTS.labels(client.identity.role).dec()

    def _audience(self, event: StoredEvent) -> set[Client]:
        audience = set(self.watchers)
        units = self.visibility.units_for(event)
        for unit_id in units:
            audience |= self.by_unit.get(unit_id, set())
        for hospital_id in self.visibility.hospitals_for(event):
            audience |= self.by_hospital.get(hospital_id, set())
        if self.by_agency:
            for agency in self.visibility.agencies_for(event, units):
                audience |= self.by_agency.get(agency, set())
        return audience

    def deliver(self, event: StoredEvent) -> None:
        """Called by the EventFeed once per event, in seq order."""
        if event.type == "AccessRevoked":
            self._close_revoked(event.payload)
            return
        # Who could see it before and after it is applied: an assignment opens the incident to its crew, a
        # closure still reaches the crew that was on it (the rule of Visibility.admit, which replays follow).
        recipients = self._audience(event)
        self.visibility.observe(event)
        for client in recipients | self._audience(event):
            client.offer(event)

    def broadcast_alert(
        self, alert: dict, *, roles: tuple[str, ...] = ("dispatcher", "admin"), frame_type: str = "alert"
    ) -> None:
        """A non-event frame (realtime degraded, unit positions) to every client with one of `roles`; an agency's
        dispatchers get only their agency's units of a frame that lists `units` (positions)."""
        for client in list(self.clients):
            identity = client.identity
            if identity.role not in roles:
                continue
            frame = {"type": frame_type, **alert}
            if "units" in alert and identity.is_staff and not identity.sees_all:
                frame["units"] = [u for u in alert["units"]
                                  if self.visibility.unit_agency(u.get("unit_id", "")) == identity.agency]
                if not frame["units"]:
                    continue
            client.offer(frame)

    def _close_revoked(self, payload: dict) -> None:
        if self.on_access_revoked is not None:
            self.on_access_revoked(payload["user_id"], payload.get("token_sha256"))
        for client in list(self.clients):
            if client.identity.user_id != payload["user_id"]:
                continue
            if payload.get("token_sha256") and client.token and token_sha256(client.token) != payload["token_sha256"]:
                continue
            self.remove(client)
            client.close(4401, "access revoked")

    async def recheck_tokens(self, verify: Callable[[str], Awaitable[Identity | None]]) -> None:
        """One round: close sockets whose token expired or was revoked (belt and braces for the event path); the
        server runs it every `ws_token_recheck_s` seconds (dispatch.loops.BackgroundLoop)."""
        for client in list(self.clients):
            try:
                still_valid = await verify(client.token) is not None
            except Exception:  # database briefly down: keep the socket, check again next round
                continue
            if not still_valid:
                self.remove(client)
                client.close(4401, "token expired or revoked")
