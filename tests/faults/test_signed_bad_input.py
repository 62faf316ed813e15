"""Input that arrives with a valid signature but cannot be stored (issue #14 item 15): an id gets a clear 400
naming it; a call or text with a mangled caller number still opens its incident, flagged for the dispatcher."""
import json
import time

from integrations.panic.signing import sign
from tests.conftest import Api
from tests.integrations.conftest import dispatcher, ems, fake_twilio, twilio  # noqa: F401 - fixtures

CALLER = "+66812345678"


async def all_incidents(api: Api) -> list[dict]:
    return (await api.get("/api/v1/incidents?open=false"))[1]["incidents"]


async def test_twilio_ids_with_a_nul_are_a_400_naming_the_field(ems, twilio, dispatcher):
    cases = [("/twilio/voice", {"CallSid": "CA\x00" + "1" * 30, "From": CALLER}, "CallSid"),
             ("/twilio/sms", {"MessageSid": "SM\x00" + "1" * 30, "From": CALLER, "Body": "help"}, "MessageSid"),
             ("/twilio/status", {"MessageSid": "SM\x00" + "2" * 30, "MessageStatus": "failed"}, "MessageSid")]
    for path, params, field in cases:
        status, body = await twilio.post(path, params)
        assert status == 400, (path, body)
        assert body["error"]["fields"][0]["field"] == field
    assert await all_incidents(dispatcher) == []


async def test_a_call_and_a_text_from_a_mangled_number_still_open_flagged_incidents(ems, twilio, dispatcher):
    status, twiml = await twilio.post("/twilio/voice", {"CallSid": "CA" + "7" * 32, "From": "+66\x00812345678"})
    assert status == 200 and "<Response" in twiml
    status, _ = await twilio.post("/twilio/sms", {"MessageSid": "SM" + "7" * 32, "From": "+66\x00899999999",
                                                  "Body": "chest pain\x00"})
    assert status == 200
    incidents = await all_incidents(dispatcher)
    assert sorted(i["channel"] for i in incidents) == ["phone", "sms"]
    for incident in incidents:
        assert any(issue.startswith("caller.phone") for issue in incident["intake_issues"]), incident


async def test_device_bodies_too_deep_or_with_unstorable_ids_are_a_400(ems, dispatcher):
    status, device = await dispatcher.post("/api/v1/devices", {"id": "PB-EDGE", "person": "ทดสอบ",
                                                               "location": {"lat": 13.36, "lon": 100.98}})
    assert status == 201, device
    api = Api(f"http://127.0.0.1:{ems.config.port}")

    async def signed_press(body: bytes):
        ts = str(int(time.time()))
        return await api.call("POST", "/api/v1/devices/PB-EDGE/press", raw=body, token=None, headers={
            "X-EMS-Timestamp": ts, "X-EMS-Signature": sign(device["secret"], ts, body)})

    deep = b'{"nonce": "n0123456789", "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    status, body = await signed_press(deep)
    assert status == 400 and "deep" in body["error"]["message"]
    for field, payload in (("nonce", {"nonce": "n012345\x006789"}),
                           ("message_id", {"nonce": "n0123456789", "message_id": "m\x001"})):
        status, body = await signed_press(json.dumps(payload).encode())
        assert status == 400 and body["error"]["fields"][0]["field"] == field, body
    status, body = await signed_press(json.dumps({"nonce": "n0123456789ok", "message_id": "m-1"}).encode())
    assert status == 201, body  # the same device's good press still opens its incident
