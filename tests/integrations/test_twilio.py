"""Twilio voice, SMS and status callbacks against the real SDK and a loopback fake of Twilio's REST API."""
from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from dispatch import demo
from server import Server
from tests.conftest import Api, fresh_rate_window, make_user, routing_ready, wait_until
from tests.integrations.conftest import FROM_NUMBER, PUBLIC_URL, TwilioCaller, integration_config, reset_integrations

CALLER = "+66812345678"


def call_params(sid: str, caller: str = CALLER) -> dict[str, str]:
    return {"CallSid": sid, "AccountSid": "AC" + "0" * 31 + "1", "From": caller, "To": "+661669",
            "CallStatus": "ringing", "Direction": "inbound"}


async def incidents(api: Api) -> list[dict]:
    _, body = await api.get("/api/v1/incidents?open=false")
    return body["incidents"]


async def test_call_answers_fast_and_texts_location_link_after_the_answer(ems, twilio, fake_twilio, dispatcher):
    fake_twilio.delay_s = 3.0  # a slow Twilio REST API must not slow the answer down
    started = time.monotonic()
    status, twiml = await twilio.post("/twilio/voice", call_params("CA" + "1" * 32))
    answered_s = time.monotonic() - started
    assert status == 200 and answered_s < 2.0
    assert "<Say" in twiml and 'language="th-TH"' in twiml and f'<Enqueue action="{PUBLIC_URL}/twilio/queue" method="POST">ems-dispatch</Enqueue>' in twiml
    [incident] = await incidents(dispatcher)
    assert incident["channel"] == "phone" and incident["callers"][0]["phone"] == CALLER
    assert "location_unverified" in incident["location_flags"]
    assert fake_twilio.sent("sms") == [] or answered_s < fake_twilio.delay_s  # the SMS was not awaited
    assert await wait_until(lambda: _async(len(fake_twilio.sent("sms")) == 1), 10)
    [sms] = fake_twilio.sent("sms")
    assert sms.params["To"] == CALLER and f"{PUBLIC_URL}/share.html#t=" in sms.params["Body"]
    assert sms.params["StatusCallback"] == f"{PUBLIC_URL}/twilio/status"


async def _async(value):
    return value


async def test_call_retries_are_one_incident_and_one_text(ems, twilio, fake_twilio, dispatcher):
    params = call_params("CA" + "2" * 32)
    answers = await asyncio.gather(*(twilio.post("/twilio/voice", params) for _ in range(4)))
    assert all(status == 200 for status, _ in answers)
    assert len(await incidents(dispatcher)) == 1
    await ems.integrations.after.drain()
    assert len(fake_twilio.sent("sms")) == 1


async def test_forged_signature_is_refused_with_no_incident(ems, twilio, dispatcher):
    status, _ = await twilio.post("/twilio/voice", call_params("CA" + "3" * 32), signature="Zm9yZ2Vk")
    assert status == 403
    forged = TwilioCaller(ems, token="not-the-auth-token")
    status, _ = await forged.post("/twilio/voice", call_params("CA" + "4" * 32))
    assert status == 403
    internal = TwilioCaller(ems, external_url=f"http://127.0.0.1:{ems.config.port}")  # signed for the wrong URL
    status, _ = await internal.post("/twilio/voice", call_params("CA" + "5" * 32))
    assert status == 403
    text = {"MessageSid": "SM" + "5" * 32, "From": CALLER, "Body": "help"}
    assert (await forged.post("/twilio/sms", text))[0] == 403
    signed = twilio.validator.compute_signature(PUBLIC_URL + "/twilio/sms", text)
    tampered = {**text, "From": "+66899999999"}  # a valid signature over other parameters
    assert (await twilio.post("/twilio/sms", tampered, signature=signed))[0] == 403
    assert (await forged.post("/twilio/status", {"MessageSid": "SM" + "5" * 32, "MessageStatus": "failed"}))[0] == 403
    assert await incidents(dispatcher) == []
    _, events = await dispatcher.get("/api/v1/events?since=0")
    assert not [e for e in events["events"] if e["type"] in ("SmsReceived", "OutboundMessageFailed")]


async def test_signature_over_the_external_https_url_is_accepted_behind_a_proxy(ems, twilio, dispatcher):
    assert ems.config.public_url.startswith("https://")  # the server listens on plain http on loopback
    status, _ = await twilio.post("/twilio/voice?source=proxy", call_params("CA" + "6" * 32))
    assert status == 200
    assert len(await incidents(dispatcher)) == 1


async def test_caller_history_lists_earlier_incidents_from_the_number(ems, twilio, dispatcher):
    for n in range(3):
        await twilio.post("/twilio/voice", call_params(f"CA{n:032d}"))
    await twilio.post("/twilio/voice", call_params("CA" + "7" * 32, caller="+66899999999"))
    await ems.integrations.after.drain()
    ids = sorted(i["id"] for i in await incidents(dispatcher) if i["callers"][0]["phone"] == CALLER)
    status, history = await dispatcher.get(f"/api/v1/incidents/{ids[-1]}/caller-history")
    assert status == 200
    assert [i["id"] for i in history["incidents"]] == ids[-2::-1]
    _, events = await dispatcher.get("/api/v1/events?since=0")
    [received] = [e for e in events["events"] if e["type"] == "CallReceived"
                  and e["payload"]["incident_id"] == ids[-1]]
    assert received["payload"]["earlier_incidents"] == ids[-2::-1]
    crew = Api(dispatcher.base_url, None)
    assert (await crew.get(f"/api/v1/incidents/{ids[-1]}/caller-history"))[0] == 401


async def test_shared_location_lands_on_the_incident_once(ems, twilio, fake_twilio, dispatcher):
    await twilio.post("/twilio/voice", call_params("CA" + "8" * 32))
    await ems.integrations.after.drain()
    [sms] = fake_twilio.sent("sms")
    token = sms.params["Body"].split("#t=")[1]
    public = Api(dispatcher.base_url, None)
    status, body = await public.post("/api/v1/share/location", {"token": token, "location": {"lat": 95, "lon": 1}})
    assert status == 422 and body["error"]["fields"][0]["field"] == "location.lat"
    status, body = await public.post("/api/v1/share/location",
                                     {"token": token, "location": {"lat": 13.36, "lon": 100.98}, "accuracy_m": 12})
    assert status == 200
    _, incident = await dispatcher.get(f"/api/v1/incidents/{body['incident_id']}")
    assert incident["location"] == {"lat": 13.36, "lon": 100.98}
    assert incident["location_flags"] == ["caller_provided"]
    assert incident["location_accuracy_m"] == 12  # the console shows it beside the caller's location
    status, _ = await public.post("/api/v1/share/location", {"token": token, "location": {"lat": 13.0, "lon": 101.0}})
    assert status == 404  # one-time link
    status, _ = await public.post("/api/v1/share/location",
                                  {"token": "x" * 32, "location": {"lat": 13.0, "lon": 101.0}})
    assert status == 404


async def test_an_unused_location_link_expires(ems, twilio, fake_twilio, dispatcher):
    await twilio.post("/twilio/voice", call_params("CA" + "a" * 32))
    await ems.integrations.after.drain()
    token = fake_twilio.sent("sms")[0].params["Body"].split("#t=")[1]
    ems.ctx.clock.offset = timedelta(seconds=ems.config.share_link_ttl_s + 1)  # the server's one clock: tapped too late
    public = Api(dispatcher.base_url, None)
    status, _ = await public.post("/api/v1/share/location", {"token": token, "location": {"lat": 13.36, "lon": 100.98}})
    assert status == 404
    [incident] = await incidents(dispatcher)
    assert incident["location"] is None and "caller_provided" not in incident["location_flags"]


async def test_texts_open_then_continue_one_thread_and_retries_add_nothing(ems, twilio, dispatcher):
    text = {"MessageSid": "SM" + "1" * 32, "From": CALLER, "To": "+661669", "Body": "ช่วยด้วย แม่หายใจไม่ออก 🙏"}
    for _ in range(3):  # Twilio retrying one message
        status, twiml = await twilio.post("/twilio/sms", text)
        assert status == 200 and "<Response" in twiml
    await twilio.post("/twilio/sms", {**text, "MessageSid": "SM" + "2" * 32, "Body": "บ้านเลขที่ 12 ถ.สุขุมวิท"})
    [incident] = await incidents(dispatcher)
    assert incident["channel"] == "sms" and incident["chief_complaint"] == text["Body"]
    _, thread = await dispatcher.get(f"/api/v1/incidents/{incident['id']}/messages")
    assert [m["body"] for m in thread["messages"]] == [text["Body"], "บ้านเลขที่ 12 ถ.สุขุมวิท"]
    assert all(m["direction"] == "in" for m in thread["messages"])


async def test_first_texts_from_one_number_arriving_together_open_one_thread(ems, twilio, dispatcher):
    texts = [{"MessageSid": f"SM{n:032d}", "From": "+66855555555", "Body": f"part {n}"} for n in range(5)]
    answers = await asyncio.gather(*(twilio.post("/twilio/sms", t) for t in texts + texts))  # each one twice
    assert {status for status, _ in answers} == {200}
    [incident] = await incidents(dispatcher)
    _, thread = await dispatcher.get(f"/api/v1/incidents/{incident['id']}/messages")
    assert sorted(m["body"] for m in thread["messages"]) == [f"part {n}" for n in range(5)]


async def test_dispatcher_replies_through_twilio_and_status_only_moves_forward(ems, twilio, fake_twilio, dispatcher):
    await twilio.post("/twilio/sms", {"MessageSid": "SM" + "3" * 32, "From": CALLER, "Body": "help"})
    [incident] = await incidents(dispatcher)
    # NFD combining marks, a zero-width joiner, an RTL override, emoji and markup must arrive byte-exact
    reply = "รถพยาบาลกำลังไป / Ambulance on the way — Cafe\u0301 \u200d\u202e<b>x</b>\u202c 🚑"
    status, sent = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/messages", {"body": reply})
    assert status == 201
    [out] = fake_twilio.sent("sms")
    assert out.params == {**out.params, "To": CALLER, "Body": reply, "From": "+6638000000"}
    sid = sent["message_sid"]
    for update in ("sent", "delivered", "sent", "queued", "delivered", "failed"):  # duplicated and out of order
        status, _ = await twilio.post("/twilio/status", {"MessageSid": sid, "MessageStatus": update})
        assert status == 200
    _, thread = await dispatcher.get(f"/api/v1/incidents/{incident['id']}/messages")
    assert thread["messages"][-1]["status"] == "delivered" and thread["messages"][-1]["body"] == reply
    _, events = await dispatcher.get("/api/v1/events?since=0")
    assert not [e for e in events["events"] if e["type"] == "OutboundMessageFailed"]


async def test_failed_delivery_alerts_the_dispatcher_once(ems, twilio, fake_twilio, dispatcher):
    sid = await ems.ctx.notifier.send_sms("+66811111111", "ack incident 5")  # the ladder's path
    for update in ("sent", "undelivered", "undelivered", "delivered", "sent"):
        await twilio.post("/twilio/status", {"MessageSid": sid, "MessageStatus": update, "ErrorCode": "30003"})
    _, events = await dispatcher.get("/api/v1/events?since=0")
    [failed] = [e for e in events["events"] if e["type"] == "OutboundMessageFailed"]
    assert failed["payload"]["message_sid"] == sid and failed["payload"]["status"] == "undelivered"
    assert failed["payload"]["purpose"] == "crew_escalation" and failed["payload"]["error_code"] == "30003"


async def test_outbound_call_and_twilio_errors_through_the_real_sdk(ems, fake_twilio):
    notifier = ems.ctx.notifier
    sid = await notifier.call("+66822222222", "มีเหตุ #7 กรุณากดรับทราบ")
    assert sid.startswith("CA")
    [call] = fake_twilio.sent("voice")
    assert call.params["To"] == "+66822222222" and "มีเหตุ #7" in call.params["Twiml"]
    fake_twilio.fail_with = (400, 21211, "The 'To' number is not a valid phone number.")
    from dispatch.errors import Unavailable
    try:
        await notifier.send_sms("+0", "x")
        raise AssertionError("Twilio's error must surface")
    except Unavailable as exc:
        assert "not a valid phone number" in str(exc)


async def test_sms_flood_from_one_number_is_throttled_and_others_flow(ems, twilio, dispatcher):
    limit = ems.config.rate_intake_per_min
    await fresh_rate_window()
    codes = [(await twilio.post("/twilio/sms", {"MessageSid": f"SM{n:032d}", "From": "+66800000001", "Body": "x"}))[0]
             for n in range(limit + 3)]
    assert codes.count(200) == limit and codes[-1] == 429
    status, _ = await twilio.post("/twilio/sms", {"MessageSid": "SM" + "9" * 32, "From": CALLER, "Body": "help"})
    assert status == 200
    _, events = await dispatcher.get("/api/v1/events?since=0")
    assert [e for e in events["events"] if e["type"] == "RateLimitTripped" and e["payload"]["bucket"] == "sms"]


async def _sms_result(server, assignment_id: int) -> bool:
    return "sms" in (await server.ctx.store.get("assignments", assignment_id)).step_results


async def test_a_silent_crew_gets_exactly_one_escalation_sms_through_twilio(database_url, redis_url, fake_twilio,
                                                                          mqtt_url):
    await reset_integrations(database_url, redis_url)
    fast = dict(ack_timeout_other_s=0.3, ack_timeout_red_s=0.3, escalation_steps_s=(0.0, 0.3, 600.0, 1200.0))
    servers = [Server(integration_config(database_url, redis_url, fake_twilio, mqtt_url, **fast)) for _ in range(2)]
    for server in servers:  # two processes, each running the escalation ladder
        await server.start()
    try:
        await demo.seed(servers[0].ctx.store)
        for server in servers:
            await routing_ready(server)
        api = Api(f"http://127.0.0.1:{servers[0].config.port}", await make_user(servers[0].ctx.pool, "d", "dispatcher"))
        _, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": {"lat": 13.3611,
                                                                                           "lon": 100.9847}})
        status, assignment = await api.post(f"/api/v1/incidents/{incident['id']}/assignments",
                                            {"unit_id": "CB-BLS-03"})
        assert status == 201
        assert await wait_until(lambda: _async(len(fake_twilio.sent("sms")) >= 1), 15)
        for server in servers:  # further ladder passes in both processes send nothing more until the voice step
            assert await server.ladder.tick() == 0
        [sms] = fake_twilio.sent("sms")
        assert sms.params["To"] == "+66800000006" and sms.params["From"] == FROM_NUMBER
        assert f"#{incident['id']}" in sms.params["Body"]
        assert sms.params["StatusCallback"] == f"{PUBLIC_URL}/twilio/status"
        stored = await servers[0].ctx.store.get("assignments", assignment["id"])
        assert stored.escalations == ["repush", "sms"]
        # the step's real result is recorded (issue #17): Twilio took it, under the SID its callbacks will carry
        assert await wait_until(lambda: _sms_result(servers[0], assignment["id"]), 10)
        stored = await servers[0].ctx.store.get("assignments", assignment["id"])
        assert stored.step_results["sms"]["outcome"] == "sent" and stored.step_results["sms"]["message_sid"].startswith("SM")
    finally:
        for server in servers:
            await server.stop()


async def test_a_call_and_a_text_while_the_database_refuses_writes_are_answered_then_stored(
        database_url, redis_url, fake_twilio, mqtt_url, stuck_append_lock):
    """A 5xx makes Twilio play an error and hang up on a caller (and drop a text): the caller is greeted and queued
    for a dispatcher at once, and the incident is stored once the database takes writes again."""
    await reset_integrations(database_url, redis_url)
    server = Server(integration_config(database_url, redis_url, fake_twilio, mqtt_url, append_lock_timeout_s=0.2))
    await server.start()
    try:
        caller, dispatcher = TwilioCaller(server), Api(f"http://127.0.0.1:{server.config.port}",
                                                       await make_user(server.ctx.pool, "disp-db", "dispatcher"))
        await stuck_append_lock.hold()
        status, twiml = await caller.post("/twilio/voice", call_params("CA" + "7" * 32))
        assert status == 200 and "<Enqueue" in twiml and 'language="th-TH"' in twiml
        status, _ = await caller.post("/twilio/sms", {"MessageSid": "SM" + "7" * 32, "From": "+66899990000",
                                                      "Body": "หมดสติ ตลาดหนองมน"})
        assert status == 200
        assert await incidents(dispatcher) == []  # nothing could be written yet
        await stuck_append_lock.release()

        async def both_stored():
            return sorted(i["channel"] for i in await incidents(dispatcher)) == ["phone", "sms"]

        assert await wait_until(both_stored, 20)
        status, _ = await caller.post("/twilio/voice", call_params("CA" + "7" * 32))  # Twilio's retry: no second
        assert status == 200 and len(await incidents(dispatcher)) == 2
    finally:
        await server.stop()
