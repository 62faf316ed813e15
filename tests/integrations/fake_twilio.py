"""A loopback fake of Twilio's REST API (Messages and Calls), enough for the real twilio SDK to talk to.

It records every request (path, form parameters, account from Basic auth) and answers like Twilio: 201 with a
JSON resource carrying `sid` and `status`, or Twilio's JSON error body when told to fail. Nothing leaves the machine.
"""
from __future__ import annotations

import asyncio
import base64
import itertools
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import tornado.web

from runtime import local_services


@dataclass
class Recorded:
    kind: str  # sms | voice
    account: str
    params: dict[str, str]


@dataclass
class FakeTwilio:
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    delay_s: float = 0.0  # answer this late (a slow Twilio)
    fail_with: tuple[int, int, str] | None = None  # (HTTP status, Twilio error code, message) for every request
    _ids = itertools.count(1)
    _server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sent(self, kind: str = "sms") -> list[Recorded]:
        return [r for r in self.requests if r.kind == kind]

    def start(self) -> FakeTwilio:
        self.port = local_services.free_port()
        app = tornado.web.Application([
            (r"/2010-04-01/Accounts/([A-Za-z0-9]+)/(Messages|Calls)\.json", _Resource, {"fake": self}),
        ])
        self._server = app.listen(self.port, address="127.0.0.1")
        return self

    def stop(self) -> None:
        self._server.stop()


class _Resource(tornado.web.RequestHandler):
    def initialize(self, fake: FakeTwilio) -> None:
        self.fake = fake

    async def post(self, account: str, collection: str) -> None:
        auth = self.request.headers.get("Authorization", "")
        user = base64.b64decode(auth[6:]).decode().split(":")[0] if auth.startswith("Basic ") else ""
        if user != account:
            return self._error(401, 20003, "Authenticate")
        params = dict(parse_qsl(self.request.body.decode(), keep_blank_values=True))
        kind = "sms" if collection == "Messages" else "voice"
        self.fake.requests.append(Recorded(kind, account, params))
        if self.fake.delay_s:
            await asyncio.sleep(self.fake.delay_s)
        if self.fake.fail_with:
            status, code, message = self.fake.fail_with
            return self._error(status, code, message)
        sid = ("SM" if kind == "sms" else "CA") + f"{next(self.fake._ids):032x}"
        self.set_status(201)
        self.write({"sid": sid, "account_sid": account, "status": "queued", "to": params.get("To"),
                    "from": params.get("From"), "body": params.get("Body"), "direction": "outbound-api",
                    "uri": f"/2010-04-01/Accounts/{account}/{collection}/{sid}.json"})

    def _error(self, status: int, code: int, message: str) -> None:
        self.set_status(status)
        self.write({"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status})
