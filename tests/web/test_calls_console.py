"""The call itself in the browser (issue #18): a dispatcher answers a queued 1669 call from the console, runs the
cardiac-arrest interview to 6R1 with the telephone-CPR coach, and the incident's replay shows the interview and
the call recording. Real server, PostgreSQL, Chromium; Twilio is the loopback fake."""
from __future__ import annotations

import json

from dispatch import demo
from dispatch.aed import read_aed_file
from tests.conftest import Api, make_user, routing_ready, wait_until
from tests.integrations.conftest import (  # noqa: F401 - fixtures
    TwilioCaller, dispatcher, ems, fake_twilio, twilio,
)
from tests.integrations.test_twilio import call_params
from tests.web.conftest import open_page, shot

SID = "CA" + "c" * 32
PATIENT = {"lat": 13.3611, "lon": 100.9847}


async def test_dispatcher_answers_a_queued_call_and_runs_a_cardiac_arrest_interview(ems, fake_twilio, twilio, browser,
                                                                                     tmp_path):
    await demo.seed(ems.ctx.store)
    await routing_ready(ems)
    token = await make_user(ems.ctx.pool, "disp-calls", "dispatcher")
    api = Api(f"http://127.0.0.1:{ems.config.port}", token)
    context, page = await open_page(browser, f"{api.base_url}/console.html#token={token}")
    try:
        await page.locator("#call-list li", has_text="No calls waiting").wait_for(timeout=15_000)  # queue loaded
        await page.locator("#call-queue summary").click()
        await page.locator("#desk-line").wait_for(state="visible", timeout=10_000)
        await page.locator("#desk-line").fill("+66380001669")
        await page.locator("#desk-line-save").click()
        assert await wait_until(lambda: _desk_line(api), 10)

        # the caller has called before, and shares the phone's position from the SMS link while waiting
        assert (await api.post("/api/v1/incidents", {"channel": "phone", "caller": {"phone": "+66812345678"},
                                                     "location": PATIENT}))[0] == 201
        assert (await twilio.post("/twilio/voice", call_params(SID)))[0] == 200
        await ems.integrations.after.drain()
        token = fake_twilio.sent("sms")[0].params["Body"].split("#t=")[1]
        assert (await Api(api.base_url, None).post("/api/v1/share/location",
                                                   {"token": token, "location": PATIENT, "accuracy_m": 10}))[0] == 200
        waiting = page.locator(f'#call-list li[data-sid="{SID}"]')
        await waiting.locator("button.answer-call").wait_for(timeout=15_000)
        await waiting.filter(has_text="location shared").wait_for(timeout=15_000)
        row = await waiting.inner_text()
        assert "+66812345678" in row and "1 earlier incidents" in row
        assert await wait_until(lambda: _at_least(waiting.locator(".call-wait"), 1, suffix=" s"), 10)  # wait ticks
        ems.ctx.interview.aed_points = read_aed_file(aed_file(tmp_path))  # as EMS_AED_FILE loads them at start
        await waiting.locator("button.answer-call").click()
        await page.locator("#interview-panel h3").wait_for(timeout=10_000)
        [update] = fake_twilio.sent("call_update")
        assert update.params["CallSid"] == SID and "<Number>+66380001669</Number>" in update.params["Twiml"]
        _, listing = await api.get("/api/v1/calls")
        incident_id = listing["calls"][0]["incident_id"]
        assert f"#{incident_id}" in await page.locator("#interview-panel h3").inner_text()

        await page.locator("#interview-card").select_option("15")  # no key questions: the first code's instructions
        await page.locator('[data-instructions="seizure"]').wait_for(timeout=5_000)
        assert "Do not hold the patient down" in await page.locator('[data-instructions="seizure"]').inner_text()
        await page.locator("#interview-card").select_option("6")
        for question in ("conscious", "breathing_normally"):
            await page.locator(f'#interview-questions li[data-question="{question}"] button[data-answer="no"]').click()
        await page.locator("#proposed-code").wait_for(timeout=10_000)
        assert await page.locator("#proposed-code").inner_text() == "6R1"
        proposal = await page.locator("#proposal").inner_text()  # colour, level of response and the card's words
        assert "Red · ALS" in proposal and "breathing" in proposal.lower()
        await page.locator("#cpr-coach").wait_for()
        nearest = page.locator("#aed-points li").first
        await nearest.wait_for(timeout=10_000)
        assert await nearest.get_attribute("data-aed") == "aed-school"
        assert "m south-west" in await nearest.inner_text() and "Nurse's room" in await nearest.inner_text()
        assert await page.locator("#aed-points li").count() == 2  # the one 1 km away is past the search radius
        assert await page.locator('[data-instructions="cpr"] li').count() >= 4
        await page.locator("#cpr-toggle").click()
        assert await wait_until(lambda: _at_least(page.locator("#cpr-count"), 3), 10)  # the metronome is beating
        for typed, beats in (("200", "120"), ("90", "100"), ("115", "115")):  # kept to 100-120 a minute
            await page.locator("#cpr-rate").fill(typed)
            await page.locator("#cpr-rate").dispatch_event("change")
            assert await page.locator("#cpr-rate").get_attribute("data-rate") == beats
            assert await page.locator("#cpr-rate").input_value() == beats
        assert await page.locator("#cpr-toggle").inner_text() == "Stop"  # still beating at the new rate
        # choosing another code shows its instructions at once, stops the coach, and asks for the reason
        await page.locator("#interview-determinant").select_option("2")
        await page.locator('[data-instructions="recovery_position"]').wait_for(timeout=5_000)
        assert await page.locator("#cpr-coach").count() == 0
        assert await page.locator('[data-instructions="cpr"]').count() == 0
        await page.locator("#interview-reason").fill("caller unsure")
        await page.locator("#interview-determinant").select_option("1")  # back to the proposal, reason kept
        await page.locator("#cpr-coach").wait_for(timeout=5_000)
        assert await page.locator("#interview-reason").input_value() == "caller unsure"
        await page.locator("#interview-reason").fill("")
        await page.locator("#interview-determinant").select_option("2")
        await page.locator("#interview-confirm").click()
        await page.locator("#interview-error", has_text="reason").wait_for(timeout=5_000)  # an override needs one
        await page.locator("#interview-determinant").select_option("1")
        await page.locator("#interview-confirm").click()
        await page.locator("#interview-recorded").wait_for(timeout=10_000)
        assert "6R1" in await page.locator("#interview-recorded").inner_text()
        await page.screenshot(path=shot("console-call-cpr"))

        done = {"CallSid": SID, "RecordingSid": "RE" + "2" * 32, "RecordingStatus": "completed",
                "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE" + "2" * 32,
                "RecordingDuration": "95"}
        assert (await twilio.post("/twilio/recording", done))[0] == 200

        await page.locator("#replay-btn").click()
        scrubber = page.locator("#replay-scrubber")
        await scrubber.wait_for(timeout=10_000)
        await scrubber.evaluate("s => { s.value = s.max; s.dispatchEvent(new Event('input')); }")
        assert "6R1" in await page.locator("#replay-events .interview-replay").inner_text()
        assert await page.locator("#replay-events .recording-link").count() == 1
        fake_twilio.recordings[done["RecordingSid"]] = b"ID3-fake-mp3"
        await page.locator("#replay-events .recording-link").click()
        player = page.locator("#replay-events audio")
        await player.wait_for(state="attached", timeout=10_000)
        assert "/recordings/" in await player.get_attribute("src")
        assert await wait_until(lambda: _fetched(fake_twilio), 10)  # the browser played it through the server
        assert page.errors == []
    finally:
        await context.close()


async def _desk_line(api: Api) -> bool:
    _, body = await api.get("/api/v1/me/desk-line")
    return body["desk_line"] == "+66380001669"


async def _at_least(locator, n: int, suffix: str = "") -> bool:
    return int((await locator.inner_text()).removesuffix(suffix)) >= n


def aed_file(tmp_path):
    def point(id_, lat, lon, access_en):
        return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"id": id_, "name_th": f"AED {id_}", "name_en": f"AED {id_}", "access_th": "ห้องพยาบาล",
                               "access_en": access_en, "hours": "07:00-17:00"}}
    path = tmp_path / "aeds.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        point("aed-school", 13.3600, 100.9836, "Nurse's room, ground floor"),
        point("aed-mall", 13.3631, 100.9847, "Information desk"),
        point("aed-far", 13.3611, 100.9947, "Lobby")]}), encoding="utf-8")
    return path


async def _fetched(fake) -> bool:
    return bool(fake.sent("recording_fetch"))


async def test_a_call_waiting_past_the_setting_alerts_the_dispatcher_and_the_report_shows_call_times(
        database_url, redis_url, fake_twilio, mqtt_url, browser):
    from server import Server
    from tests.integrations.conftest import integration_config, reset_integrations

    await reset_integrations(database_url, redis_url)
    running = Server(integration_config(database_url, redis_url, fake_twilio, mqtt_url, call_answer_alert_s=1.0))
    await running.start()
    try:
        token = await make_user(running.ctx.pool, "disp-alert", "dispatcher")
        api = Api(f"http://127.0.0.1:{running.config.port}", token)
        context, page = await open_page(browser, f"{api.base_url}/console.html#token={token}")
        try:
            await page.locator("#call-queue h3").wait_for(timeout=10_000)
            assert (await TwilioCaller(running).post("/twilio/voice", call_params(SID)))[0] == 200
            await page.locator(f'#call-list li.overdue[data-sid="{SID}"]').wait_for(timeout=15_000)
            # the server's queue check raises the alert within a check interval of the call going overdue
            await page.locator("#alert-list li", has_text="waiting over 1").first.wait_for(timeout=15_000)
            await api.call("PUT", "/api/v1/me/desk-line", {"desk_line": "sip:desk@pbx.example.org"})
            assert (await api.post(f"/api/v1/calls/{SID}/answer", {}))[0] == 200
            [update] = fake_twilio.sent("call_update")  # a SIP desk line is dialled as <Sip>
            assert "<Sip>sip:desk@pbx.example.org</Sip>" in update.params["Twiml"]
            assert page.errors == []
        finally:
            await context.close()
        context, page = await open_page(browser, f"{api.base_url}/report.html#token={token}")
        try:
            await page.locator("#calls-headline").wait_for(timeout=10_000)
            headline = await page.locator("#calls-headline").inner_text()
            assert "Answered within 15 s:" in headline and "(target 90 % each)" in headline
            assert await page.locator('#calls-table tr[data-interval="answer"] td').nth(1).inner_text() == "1"
            assert await page.locator('#calls-table tr[data-interval="to_dispatch"]').count() == 1
            assert page.errors == []
        finally:
            await context.close()
    finally:
        await running.stop()


async def test_a_caller_who_hung_up_is_called_back_from_the_call_queue(ems, fake_twilio, twilio, browser):
    token = await make_user(ems.ctx.pool, "disp-back", "dispatcher")
    api = Api(f"http://127.0.0.1:{ems.config.port}", token)
    await api.call("PUT", "/api/v1/me/desk-line", {"desk_line": "+66380001669"})
    context, page = await open_page(browser, f"{api.base_url}/console.html#token={token}")
    try:
        assert (await twilio.post("/twilio/voice", call_params(SID)))[0] == 200
        assert (await twilio.post("/twilio/queue", {"CallSid": SID, "QueueResult": "hangup"}))[0] == 200
        row = page.locator(f'#call-list li.call-abandoned[data-sid="{SID}"]')
        await row.locator("button.call-back").wait_for(timeout=15_000)
        assert "hung up — call back" in await row.inner_text()
        await row.locator("button.call-back").click()
        await page.locator("#call-note", has_text="Calling +66812345678 back").wait_for(timeout=10_000)
        [placed] = fake_twilio.sent("voice")
        assert placed.params["To"] == "+66380001669" and "<Number>+66812345678</Number>" in placed.params["Twiml"]
        await row.wait_for(state="detached", timeout=10_000)  # off the call-back list
        assert page.errors == []
    finally:
        await context.close()
