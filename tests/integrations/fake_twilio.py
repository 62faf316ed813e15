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
    kind: str  # sms | voice | call_update (a live call given new TwiML; params carry "CallSid")
    account: str
    params: dict[str, str]


@dataclass
class FakeTwilio:
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    recordings: dict[str, bytes] = field(default_factory=dict)  # RecordingSid -> MP3 bytes it serves
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
            (r"/2010-04-01/Accounts/([A-Za-z0-9]+)/Calls/(CA[0-9a-fA-F]{32})\.json", _CallUpdate, {"fake": self}),
            (r"/2010-04-01/Accounts/([A-Za-z0-9]+)/Recordings/(RE[0-9a-fA-F]{32})\.mp3", _RecordingMedia, {"fake": self}),
        ])
        self._server = app.listen(self.port, address="127.0.0.1")
        return self

    def stop(self) -> None:
        self._server.stop()


def _account(request) -> str:
    """The account SID from the request's Basic auth ('' without one): the SDK authenticates as the account."""
    auth = request.headers.get("Authorization", "")
    return base64.b64decode(auth[6:]).decode().split(":")[0] if auth.startswith("Basic ") else ""


class _Resource(tornado.web.RequestHandler):
    def initialize(self, fake: FakeTwilio) -> None:
        self.fake = fake

    async def post(self, account: str, collection: str) -> None:
        if _account(self.request) != account:
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


class _CallUpdate(_Resource):
    """Twilio's Call update (POST .../Calls/{CallSid}.json with Twiml): how a queued call is given to a dispatcher."""

    async def post(self, account: str, call_sid: str) -> None:
        if _account(self.request) != account:
            return self._error(401, 20003, "Authenticate")
        params = dict(parse_qsl(self.request.body.decode(), keep_blank_values=True))
        self.fake.requests.append(Recorded("call_update", account, {**params, "CallSid": call_sid}))
        if self.fake.delay_s:
            await asyncio.sleep(self.fake.delay_s)
        if self.fake.fail_with:
            status, code, message = self.fake.fail_with
            return self._error(status, code, message)
        self.write({"sid": call_sid, "account_sid": account, "status": "in-progress",
                    "uri": f"/2010-04-01/Accounts/{account}/Calls/{call_sid}.json"})


class _RecordingMedia(tornado.web.RequestHandler):
    """A recording's media (GET .../Recordings/{RecordingSid}.mp3), behind the account's Basic auth like Twilio's."""

    def initialize(self, fake: FakeTwilio) -> None:
        self.fake = fake

    def get(self, account: str, recording_sid: str) -> None:
        user = _account(self.request)
        if user != account or recording_sid not in self.fake.recordings:
            self.set_status(401 if user != account else 404)
            return
        self.fake.requests.append(Recorded("recording_fetch", account, {"RecordingSid": recording_sid}))
        self.set_header("Content-Type", "audio/mpeg")
        self.write(self.fake.recordings[recording_sid])
