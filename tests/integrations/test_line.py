"""LINE Messaging API intake: signed webhooks (X-Line-Signature) open or continue the sender's incident thread,
redeliveries count once, a location message moves the incident (flagged caller-provided), forgeries are 403."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

from tests.conftest import Api
from tests.integrations.conftest import LINE_SECRET

USER = "U4af4980629" + "0" * 22
SCENE = {"latitude": 13.3611, "longitude": 100.9847}


def _event(event_id: str, message: dict, user: str = USER) -> dict:
    return {"type": "message", "mode": "active", "timestamp": 1764057600000, "webhookEventId": event_id,
            "deliveryContext": {"isRedelivery": False}, "replyToken": "r" * 32,
            "source": {"type": "user", "userId": user}, "message": {"id": event_id[-12:], **message}}


class LinePlatform:
    """Posts webhooks to the server as LINE does: raw JSON body, base64 HMAC-SHA256 signature of it."""

    def __init__(self, server, secret: str = LINE_SECRET):
        self.api = Api(f"http://127.0.0.1:{server.config.port}")
        self.secret = secret

    async def post(self, *events: dict, signature: str | None = None, raw: bytes | None = None):
        body = raw if raw is not None else json.dumps({"destination": "U" + "1" * 32, "events": list(events)},
                                                      ensure_ascii=False).encode()
        signature = signature or base64.b64encode(hmac.new(self.secret.encode(), body, hashlib.sha256).digest()).decode()
        return await self.api.call("POST", "/line/webhook", raw=body, token=None, headers={
            "Content-Type": "application/json", "X-Line-Signature": signature})


async def _open_incidents(dispatcher) -> list[dict]:
    _, body = await dispatcher.get("/api/v1/incidents")
    return body["incidents"]


async def test_texts_open_then_continue_one_thread_and_redeliveries_count_once(ems, dispatcher):
    line = LinePlatform(ems)
    first = _event("01HZX" + "A" * 21, {"type": "text", "text": "พ่อล้มหมดสติ ช่วยด้วย"})
    for _ in range(2):  # LINE redelivering the same event
        status, answer = await line.post(first)
        assert status == 200
    status, _ = await line.post(_event("01HZX" + "B" * 21, {"type": "text", "text": "ซอย 5"}))
    assert status == 200
    [incident] = await _open_incidents(dispatcher)
    assert incident["id"] == answer["incident_ids"][0]
    assert incident["channel"] == "line" and incident["chief_complaint"] == "พ่อล้มหมดสติ ช่วยด้วย"
    assert incident["callers"] == [{"phone": None, "name": None, "channel": "line", "line_user_id": USER}]
    _, events = await dispatcher.get("/api/v1/events?since=0")
    received = [e["payload"] for e in events["events"] if e["type"] == "LineMessageReceived"]
    assert [(r["body"], r["opened_thread"]) for r in received] == [("พ่อล้มหมดสติ ช่วยด้วย", True), ("ซอย 5", False)]
    _, thread = await dispatcher.get(f"/api/v1/incidents/{incident['id']}/messages")  # the console's thread
    assert [(m["channel"], m["direction"], m["body"]) for m in thread["messages"]] == \
        [("line", "in", "พ่อล้มหมดสติ ช่วยด้วย"), ("line", "in", "ซอย 5")]


async def test_a_location_message_moves_the_incident_flagged_caller_provided(ems, dispatcher):
    line = LinePlatform(ems)
    await line.post(_event("01HZY" + "A" * 21, {"type": "text", "text": "chest pain"}))
    await line.post(_event("01HZY" + "B" * 21, {"type": "location", "title": "บ้าน", "address": "ชลบุรี", **SCENE}))
    [incident] = await _open_incidents(dispatcher)
    assert incident["location"] == {"lat": SCENE["latitude"], "lon": SCENE["longitude"]}
    assert incident["location_flags"] == ["caller_provided"]


async def test_different_users_get_different_threads_and_other_events_are_ignored(ems, dispatcher):
    line = LinePlatform(ems)
    status, answer = await line.post(
        _event("01HZZ" + "A" * 21, {"type": "text", "text": "help"}),
        _event("01HZZ" + "B" * 21, {"type": "sticker", "packageId": "1", "stickerId": "2"}, user="U" + "9" * 32),
        {"type": "follow", "webhookEventId": "01HZZ" + "C" * 21, "source": {"type": "user", "userId": USER}},
        {"type": "message", "webhookEventId": "bad id with spaces", "source": {}, "message": {}})
    assert status == 200 and len(set(answer["incident_ids"])) == 2
    assert len(await _open_incidents(dispatcher)) == 2
    status, answer = await line.post()  # LINE's "verify" button sends no events
    assert status == 200 and answer["incident_ids"] == []


async def test_forged_or_missing_signatures_are_403_and_open_nothing(ems, dispatcher):
    line = LinePlatform(ems)
    event = _event("01HZW" + "A" * 21, {"type": "text", "text": "help"})
    assert (await line.post(event, signature="bm90IGEgc2lnbmF0dXJl"))[0] == 403
    assert (await LinePlatform(ems, secret="another-channel").post(event))[0] == 403
    status, _ = await line.api.call("POST", "/line/webhook", raw=b'{"events": []}', token=None,
                                    headers={"Content-Type": "application/json"})
    assert status == 403
    assert await _open_incidents(dispatcher) == []
    assert (await line.post(raw=b"not json"))[0] == 400
    assert (await line.post(raw=b'{"events": "x"}'))[0] == 422
