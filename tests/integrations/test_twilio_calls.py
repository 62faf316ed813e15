"""The call itself (issue #18): the 1669 queue, answering through Twilio's REST API (the loopback fake), abandoned
calls, recordings, and the guided CBD interview with its pre-arrival instructions."""
from __future__ import annotations

import asyncio

from tests.conftest import Api, make_user, wait_until
from tests.integrations.conftest import FROM_NUMBER, PUBLIC_URL
from tests.integrations.test_twilio import call_params

SID = "CA" + "a" * 32


async def desk(api: Api, line: str = "+66380001669") -> None:
    status, body = await api.call("PUT", "/api/v1/me/desk-line", {"desk_line": line})
    assert status == 200 and body["desk_line"] == line


async def queued_call(twilio, sid: str = SID) -> dict:
    status, twiml = await twilio.post("/twilio/voice", call_params(sid))
    assert status == 200
    assert f'<Enqueue action="{PUBLIC_URL}/twilio/queue" method="POST">ems-dispatch</Enqueue>' in twiml
    return twiml


async def test_a_queued_call_is_listed_and_answered_by_the_dispatchers_desk_line(ems, twilio, fake_twilio,
                                                                                 dispatcher):
    await queued_call(twilio)
    status, listing = await dispatcher.get("/api/v1/calls")
    assert status == 200 and listing["answer_alert_s"] == 15.0
    [call] = listing["calls"]
    assert call["call_sid"] == SID and call["state"] == "waiting" and call["phone"] == "+66812345678"
    assert call["wait_s"] >= 0 and call["earlier_incidents"] == []

    status, body = await dispatcher.post(f"/api/v1/calls/{SID}/answer", {})
    assert status == 422 and body["error"]["fields"][0]["field"] == "desk_line"  # no desk line yet
    status, body = await dispatcher.call("PUT", "/api/v1/me/desk-line", {"desk_line": "call me"})
    assert status == 422 and body["error"]["fields"][0]["field"] == "desk_line"
    await desk(dispatcher)

    status, answered = await dispatcher.post(f"/api/v1/calls/{SID}/answer", {})
    assert status == 200 and answered["state"] == "active" and answered["incident_id"] == call["incident_id"]
    [update] = fake_twilio.sent("call_update")
    assert update.params["CallSid"] == SID
    twiml = update.params["Twiml"]
    assert "<Number>+66380001669</Number>" in twiml and 'record="record-from-answer-dual"' in twiml
    assert f'recordingStatusCallback="{PUBLIC_URL}/twilio/recording"' in twiml
    _, events = await dispatcher.get("/api/v1/events?since=0")
    [event] = [e for e in events["events"] if e["type"] == "CallAnswered"]
    assert event["payload"]["call_sid"] == SID and event["payload"]["dispatcher"] == "dispatcher:disp-int"


async def test_two_dispatchers_answering_at_once_one_wins_the_other_gets_409(ems, twilio, fake_twilio, dispatcher):
    other = Api(dispatcher.base_url, await make_user(ems.ctx.pool, "disp-two", "dispatcher"))
    await desk(dispatcher)
    await desk(other, "sip:desk2@pbx.example.org")
    await queued_call(twilio)
    answers = await asyncio.gather(dispatcher.post(f"/api/v1/calls/{SID}/answer", {}),
                                   other.post(f"/api/v1/calls/{SID}/answer", {}))
    assert sorted(status for status, _ in answers) == [200, 409]
    assert len(fake_twilio.sent("call_update")) == 1  # the loser never touched the live call


async def test_twilio_refusing_the_update_puts_the_call_back_in_the_queue(ems, twilio, fake_twilio, dispatcher):
    await desk(dispatcher)
    await queued_call(twilio)
    fake_twilio.fail_with = (400, 21220, "Call is not in-progress")
    status, _ = await dispatcher.post(f"/api/v1/calls/{SID}/answer", {})
    assert status == 503
    _, listing = await dispatcher.get("/api/v1/calls")
    assert listing["calls"][0]["state"] == "waiting"
    fake_twilio.fail_with = None
    assert (await dispatcher.post(f"/api/v1/calls/{SID}/answer", {}))[0] == 200


async def test_a_caller_hanging_up_while_the_answer_is_connecting_is_abandoned_not_requeued(ems, twilio, fake_twilio,
                                                                                          dispatcher):
    await desk(dispatcher)
    await queued_call(twilio)
    fake_twilio.delay_s = 1.0
    fake_twilio.fail_with = (400, 21220, "Call is not in-progress")  # Twilio's answer once the caller has gone
    answering = asyncio.ensure_future(dispatcher.post(f"/api/v1/calls/{SID}/answer", {}))
    assert await wait_until(lambda: _nonempty_now(fake_twilio.sent("call_update")), 10)  # the update is in flight
    assert (await twilio.post("/twilio/queue", {"CallSid": SID, "QueueResult": "hangup"}))[0] == 200
    assert (await answering)[0] == 503
    _, listing = await dispatcher.get("/api/v1/calls")
    assert [c["state"] for c in listing["calls"]] == ["abandoned"]  # listed for call-back, not back in the queue


async def _nonempty_now(items) -> bool:
    return bool(items)


async def test_a_caller_hanging_up_in_the_queue_is_listed_for_call_back_once(ems, twilio, dispatcher):
    await queued_call(twilio)
    left = {"CallSid": SID, "QueueResult": "hangup", "QueueTime": "20"}
    assert (await twilio.post("/twilio/queue", left, signature="Zm9yZ2Vk"))[0] == 403
    for _ in range(2):  # Twilio retries
        assert (await twilio.post("/twilio/queue", left))[0] == 200
    _, listing = await dispatcher.get("/api/v1/calls")
    [call] = listing["calls"]
    assert call["state"] == "abandoned" and call["phone"] == "+66812345678"
    _, events = await dispatcher.get("/api/v1/events?since=0")
    assert len([e for e in events["events"] if e["type"] == "CallAbandoned"]) == 1
    await desk(dispatcher)
    assert (await dispatcher.post(f"/api/v1/calls/{SID}/answer", {}))[0] == 409


async def test_the_recording_callback_links_the_recording_to_the_incident(ems, twilio, fake_twilio, dispatcher):
    await desk(dispatcher)
    await queued_call(twilio)
    _, answered = await dispatcher.post(f"/api/v1/calls/{SID}/answer", {})
    done = {"CallSid": SID, "RecordingSid": "RE" + "1" * 32, "RecordingStatus": "completed",
            "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE" + "1" * 32,
            "RecordingDuration": "74"}
    forged = {**done, "RecordingUrl": "https://evil.example.org/x"}
    signed = twilio.validator.compute_signature(PUBLIC_URL + "/twilio/recording", done)
    assert (await twilio.post("/twilio/recording", forged, signature=signed))[0] == 403
    for _ in range(2):
        assert (await twilio.post("/twilio/recording", done))[0] == 200
    _, replay = await dispatcher.get(f"/api/v1/incidents/{answered['incident_id']}/replay")
    recorded = [e for e in replay["events"] if e["type"] == "CallRecorded"]
    assert len(recorded) == 1 and recorded[0]["payload"]["duration_s"] == 74
    assert recorded[0]["payload"]["recording_url"] == done["RecordingUrl"]

    fake_twilio.recordings[done["RecordingSid"]] = b"ID3-fake-mp3"
    status, link = await dispatcher.post(f"/api/v1/calls/{SID}/recording", {})
    assert status == 201 and link["play_url"].startswith("/recordings/")
    public = Api(dispatcher.base_url, None)  # the <audio> element sends no bearer token: the link is the credential
    status, media = await public.call("GET", link["play_url"])
    assert status == 200 and media == "ID3-fake-mp3"
    assert fake_twilio.sent("recording_fetch")[0].params["RecordingSid"] == done["RecordingSid"]
    assert (await public.call("GET", "/recordings/" + "x" * 32))[0] == 404
    audited = await ems.ctx.pool.fetch("SELECT actor, action FROM audit_log WHERE subject = $1",
                                       f"incident:{answered['incident_id']}:recording")
    assert {(r["actor"], r["action"]) for r in audited} == {("dispatcher:disp-int", "read"),
                                                            ("dispatcher:disp-int", "listen")}  # link, then play

    await ems.ctx.pool.execute("UPDATE calls SET answered_at = answered_at - interval '91 days'")  # retention: 90 days
    status, body = await dispatcher.post(f"/api/v1/calls/{SID}/recording", {})
    assert status == 404 and "retention" in body["error"]["message"]


async def test_cardiac_arrest_interview_proposes_6R1_and_shows_cpr(ems, twilio, dispatcher):
    await queued_call(twilio)
    _, listing = await dispatcher.get("/api/v1/calls")
    incident_id = listing["calls"][0]["incident_id"]
    status, card = await dispatcher.get("/api/v1/triage/cards/6/instructions")
    assert status == 200 and card["guided"] and [q["id"] for q in card["questions"]] == [
        "conscious", "breathing_normally"]
    assert card["determinants"][0] == {"determinant": 1, "code": "6R1", "instructions": ["cpr", "general"]}
    assert card["instructions"]["cpr"]["cpr"] is True and card["instructions"]["cpr"]["steps"][0]["th"]
    assert (await dispatcher.get("/api/v1/triage/cards/99/instructions"))[0] == 422

    answers = [{"question": "conscious", "answer": "no"}, {"question": "breathing_normally", "answer": "no"}]
    status, body = await dispatcher.post(f"/api/v1/incidents/{incident_id}/interview",
                                         {"group": 6, "answers": [{"question": "pulse", "answer": "no"}]})
    assert status == 422 and body["error"]["fields"][0]["field"] == "answers[0].question"
    status, body = await dispatcher.post(f"/api/v1/incidents/{incident_id}/interview",
                                         {"group": 6, "answers": answers, "determinant": 2})
    assert status == 422 and body["error"]["fields"][0]["field"] == "reason"  # an override needs its reason
    status, body = await dispatcher.post(f"/api/v1/incidents/{incident_id}/interview", {"group": 6, "answers": answers})
    assert status == 201 and body["cpr"] is True
    assert body["interview"]["proposed_code"] == "6R1" and body["interview"]["code"] == "6R1"
    assert body["incident"]["triage"]["code"] == "6R1"
    _, replay = await dispatcher.get(f"/api/v1/incidents/{incident_id}/replay")
    types = [e["type"] for e in replay["events"]]
    assert types.index("InterviewRecorded") < types.index("IncidentTriaged")
    [interview] = [e for e in replay["events"] if e["type"] == "InterviewRecorded"]
    assert [a["answer"] for a in interview["payload"]["answers"]] == ["no", "no"]
    assert interview["payload"]["answers"][0]["th"] and interview["payload"]["answers"][0]["en"].startswith("Is the")


async def test_a_dispatcher_override_is_kept_with_its_reason(ems, twilio, dispatcher):
    await queued_call(twilio)
    _, listing = await dispatcher.get("/api/v1/calls")
    incident_id = listing["calls"][0]["incident_id"]
    answers = [{"question": "can_cough_speak", "answer": "yes"}, {"question": "blue_unconscious", "answer": "no"},
               {"question": "breathing_normally", "answer": "yes"}]
    status, body = await dispatcher.post(f"/api/v1/incidents/{incident_id}/interview", {
        "group": 8, "answers": answers, "determinant": 2, "reason": "child, noisy breathing on the line"})
    assert status == 201
    assert body["interview"]["proposed_code"] == "8G2" and body["interview"]["code"] == "8Y2"
    assert body["interview"]["override_reason"] == "child, noisy breathing on the line" and body["cpr"] is False


async def test_the_kpi_report_shows_answer_and_processing_times(ems, twilio, dispatcher):
    await desk(dispatcher)
    await queued_call(twilio)
    await queued_call(twilio, "CA" + "b" * 32)
    await twilio.post("/twilio/queue", {"CallSid": "CA" + "b" * 32, "QueueResult": "hangup"})
    _, answered = await dispatcher.post(f"/api/v1/calls/{SID}/answer", {})
    answers = [{"question": "conscious", "answer": "no"}, {"question": "breathing_normally", "answer": "no"}]
    await dispatcher.post(f"/api/v1/incidents/{answered['incident_id']}/interview", {"group": 6, "answers": answers})
    _, listing = await dispatcher.get("/api/v1/calls")
    [active] = [c for c in listing["calls"] if c["state"] == "active"]
    assert active["times"]["answer"] >= 0 and active["times"]["to_code"] >= 0  # live on the console
    status, report = await dispatcher.get("/api/v1/reports/kpi")
    assert status == 200
    calls = report["calls"]
    assert calls["calls"] == 2 and calls["abandoned"] == 1
    assert calls["answer_target_s"] == 15.0 and calls["dispatch_target_s"] == 60.0
    assert calls["answered_within_target_pct"] == 50.0  # the abandoned call is a miss
    assert calls["intervals"]["answer"]["n"] == 1 and calls["intervals"]["to_code"]["n"] == 1
    assert calls["intervals"]["to_location"]["n"] == 0


async def test_a_call_waiting_past_the_setting_alerts_every_dispatcher_once(database_url, redis_url, fake_twilio,
                                                                           mqtt_url):
    from server import Server
    from tests.integrations.conftest import TwilioCaller, integration_config, reset_integrations

    await reset_integrations(database_url, redis_url)
    running = Server(integration_config(database_url, redis_url, fake_twilio, mqtt_url, call_answer_alert_s=0.5,
                                        call_queue_check_s=0.1))
    await running.start()
    try:
        api = Api(f"http://127.0.0.1:{running.config.port}", await make_user(running.ctx.pool, "disp-o", "dispatcher"))
        await TwilioCaller(running).post("/twilio/voice", call_params(SID))

        async def overdue():
            _, events = await api.get("/api/v1/events?since=0")
            return [e for e in events["events"] if e["type"] == "CallAnswerOverdue"]

        assert await wait_until(lambda: _nonempty(overdue()), 10)
        await asyncio.sleep(0.5)  # five more checks of the queue run meanwhile: still one alert (absence has no event)
        [alert] = await overdue()
        assert alert["payload"]["call_sid"] == SID and alert["payload"]["waited_s"] >= 0.5
    finally:
        await running.stop()


async def _nonempty(awaitable) -> bool:
    return bool(await awaitable)


async def test_interview_fields_of_the_wrong_type_are_refused_even_for_a_proposal(ems, twilio, dispatcher):
    await queued_call(twilio)
    _, listing = await dispatcher.get("/api/v1/calls")
    path = f"/api/v1/incidents/{listing['calls'][0]['incident_id']}/interview"
    for body, field in (({"group": 1, "answers": [], "propose_only": {}}, "propose_only"),
                        ({"group": 6, "propose_only": True, "determinant": 9}, "determinant"),
                        ({"group": 6, "propose_only": True, "reason": 7}, "reason")):
        status, answer = await dispatcher.post(path, body)
        assert status == 422 and answer["error"]["fields"][0]["field"] == field


async def test_an_abandoned_call_is_called_back_from_the_dispatchers_desk_line_once(ems, twilio, fake_twilio,
                                                                                  dispatcher):
    other = Api(dispatcher.base_url, await make_user(ems.ctx.pool, "disp-back", "dispatcher"))
    await queued_call(twilio)
    assert (await twilio.post("/twilio/queue", {"CallSid": SID, "QueueResult": "hangup"}))[0] == 200
    status, body = await dispatcher.post(f"/api/v1/calls/{SID}/callback", {})
    assert status == 422 and body["error"]["fields"][0]["field"] == "desk_line"
    await desk(dispatcher)
    await desk(other, "sip:desk2@pbx.example.org")

    fake_twilio.fail_with = (400, 13223, "Invalid phone number")
    assert (await dispatcher.post(f"/api/v1/calls/{SID}/callback", {}))[0] == 503
    _, listing = await dispatcher.get("/api/v1/calls")
    assert [c["state"] for c in listing["calls"]] == ["abandoned"]  # still on the call-back list
    fake_twilio.fail_with = None
    before = len(fake_twilio.sent("voice"))

    answers = await asyncio.gather(dispatcher.post(f"/api/v1/calls/{SID}/callback", {}),
                                   other.post(f"/api/v1/calls/{SID}/callback", {}))
    assert sorted(status for status, _ in answers) == [200, 409]
    [placed] = fake_twilio.sent("voice")[before:]  # the loser never rang anyone
    [(_, won)] = [a for a in answers if a[0] == 200]
    desk_line = "+66380001669" if won["called_back_by"] == "dispatcher:disp-int" else "sip:desk2@pbx.example.org"
    assert placed.params["To"] == desk_line and placed.params["From"] == FROM_NUMBER
    twiml = placed.params["Twiml"]
    assert "<Number>+66812345678</Number>" in twiml and f'callerId="{FROM_NUMBER}"' in twiml
    assert f'recordingStatusCallback="{PUBLIC_URL}/twilio/recording?call={SID}"' in twiml
    assert f'action="{PUBLIC_URL}/twilio/call-back?call={SID}"' in twiml
    _, listing = await dispatcher.get("/api/v1/calls")
    assert listing["calls"] == []  # off the call-back list
    _, events = await dispatcher.get("/api/v1/events?since=0")
    [event] = [e for e in events["events"] if e["type"] == "CallBackPlaced"]
    assert event["payload"]["call_sid"] == SID and event["payload"]["callback_sid"] == won["callback_sid"]

    # the call-back's recording (Twilio names the call that rang the desk) joins the abandoned call's incident
    done = {"CallSid": won["callback_sid"], "RecordingSid": "RE" + "3" * 32, "RecordingStatus": "completed",
            "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE" + "3" * 32}
    assert (await twilio.post(f"/twilio/recording?call={SID}", done))[0] == 200
    assert (await twilio.post("/twilio/recording?call=nope", done))[0] == 400
    _, replay = await dispatcher.get(f"/api/v1/incidents/{won['incident_id']}/replay")
    [recorded] = [e for e in replay["events"] if e["type"] == "CallRecorded"]
    assert recorded["payload"]["call_sid"] == SID
    assert (await dispatcher.post(f"/api/v1/calls/{SID}/recording", {}))[0] == 201

    # the caller picked up: the call stays off the list; had they not, it would be listed again (next test)
    status, twiml = await twilio.post(f"/twilio/call-back?call={SID}", {"CallSid": won["callback_sid"],
                                                                         "DialCallStatus": "completed"})
    assert status == 200 and "<Say" not in twiml
    assert (await dispatcher.get("/api/v1/calls"))[1]["calls"] == []


async def test_a_call_back_the_caller_does_not_pick_up_is_listed_for_call_back_again(ems, twilio, fake_twilio,
                                                                                    dispatcher):
    await desk(dispatcher)
    await queued_call(twilio)
    await twilio.post("/twilio/queue", {"CallSid": SID, "QueueResult": "hangup"})
    _, placed = await dispatcher.post(f"/api/v1/calls/{SID}/callback", {})
    unanswered = {"CallSid": placed["callback_sid"], "DialCallStatus": "no-answer"}
    assert (await twilio.post(f"/twilio/call-back?call={SID}", unanswered, signature="Zm9yZ2Vk"))[0] == 403
    for _ in range(2):  # Twilio retries
        status, twiml = await twilio.post(f"/twilio/call-back?call={SID}", unanswered)
        assert status == 200 and 'language="th-TH"' in twiml  # the dispatcher on the desk line is told
    _, listing = await dispatcher.get("/api/v1/calls")
    assert [(c["call_sid"], c["state"]) for c in listing["calls"]] == [(SID, "abandoned")]
    _, events = await dispatcher.get("/api/v1/events?since=0")
    [event] = [e for e in events["events"] if e["type"] == "CallBackUnanswered"]
    assert event["payload"]["dial_status"] == "no-answer"
    assert (await dispatcher.post(f"/api/v1/calls/{SID}/callback", {}))[0] == 200  # and can be called back again


async def test_a_caller_who_hung_up_and_calls_again_needs_no_call_back_once_answered(ems, twilio, dispatcher):
    first, again = "CA" + "1" * 32, "CA" + "2" * 32
    await queued_call(twilio, first)
    await twilio.post("/twilio/queue", {"CallSid": first, "QueueResult": "hangup"})
    await queued_call(twilio, again)
    _, listing = await dispatcher.get("/api/v1/calls")
    assert [(c["call_sid"], c["state"]) for c in listing["calls"]] == [(first, "abandoned"), (again, "waiting")]
    await desk(dispatcher)
    assert (await dispatcher.post(f"/api/v1/calls/{again}/answer", {}))[0] == 200
    _, listing = await dispatcher.get("/api/v1/calls")
    assert [(c["call_sid"], c["state"]) for c in listing["calls"]] == [(again, "active")]  # no call-back left
    _, events = await dispatcher.get("/api/v1/events?since=0")
    [answered] = [e for e in events["events"] if e["type"] == "CallAnswered"]
    assert answered["payload"]["settled_call_sids"] == [first]
    assert (await dispatcher.post(f"/api/v1/calls/{first}/callback", {}))[0] == 409
