"""Small HTTP and WebSocket clients used by the tests, the benchmarks and the chaos tool."""
from __future__ import annotations

import asyncio
import json

import tornado.httpclient
import tornado.websocket


class Api:
    """A tiny HTTP client for tests: JSON in, (status, JSON) out, never raising on 4xx/5xx."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url
        self.token = token
        self.http = tornado.httpclient.AsyncHTTPClient()

    async def call(self, method: str, path: str, body=None, *, raw: bytes | None = None, headers=None, token=...):
        token = self.token if token is ... else token
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is None and method in ("POST", "PUT", "PATCH"):
            data = b""
        response = await self.http.fetch(
            self.base_url + path, method=method, body=data, headers=all_headers, raise_error=False,
            request_timeout=30,
        )
        text = response.body.decode() if response.body else ""
        try:
            payload = json.loads(text) if text else None
        except ValueError:
            payload = text
        return response.code, payload

    async def get(self, path: str, **kw):
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body=None, **kw):
        return await self.call("POST", path, body, **kw)


class Socket:
    """A WebSocket test client that collects frames."""

    def __init__(self, conn):
        self.conn = conn

    @classmethod
    async def connect(cls, port: int, token: str | None, *, since: int | None = None, origin: str | None = None):
        query = [f"token={token}"] if token else []
        if since is not None:
            query.append(f"since={since}")
        request = tornado.httpclient.HTTPRequest(
            f"ws://127.0.0.1:{port}/ws?{'&'.join(query)}",
            headers={"Origin": origin or f"http://127.0.0.1:{port}"},
        )
        return cls(await tornado.websocket.websocket_connect(request))

    async def next(self, timeout_s: float = 10.0) -> dict | None:
        message = await asyncio.wait_for(self.conn.read_message(), timeout_s)
        return None if message is None else json.loads(message)

    async def next_of(self, frame_type: str, timeout_s: float = 10.0) -> dict:
        while True:
            frame = await self.next(timeout_s)
            if frame is None:
                raise ConnectionError("socket closed")
            if frame["type"] == frame_type:
                return frame

    async def next_event(self, event_type: str, timeout_s: float = 10.0) -> dict:
        """The next event frame of `event_type`; other frames (a snapshot's catch-up, fleet news) are skipped."""
        while (frame := await self.next_of("event", timeout_s))["event"]["type"] != event_type:
            pass
        return frame

    async def events(self, count: int, timeout_s: float = 30.0) -> list[dict]:
        """The next `count` event frames (other frame types skipped)."""
        found = []
        while len(found) < count:
            found.append(await self.next_of("event", timeout_s))
        return found

    def close(self) -> None:
        self.conn.close()
