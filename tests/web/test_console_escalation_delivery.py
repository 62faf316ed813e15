"""Escalation steps show what really happened to the crew's text and call (issue #17): Twilio's own delivery
reports (status callbacks) become events naming the ladder step, the assignment keeps the result, and the
console shows delivered / failed, live and after a reload."""
from playwright.async_api import expect

from dispatch import demo
from server import Server
from tests.conftest import Api, make_user, routing_ready, wait_until
from tests.integrations.conftest import (  # noqa: F401 (fixtures)
    TwilioCaller, fake_twilio, integration_config, reset_integrations,
)
from tests.web.conftest import open_page

SCENE = {"lat": 13.3611, "lon": 100.9847}
CREW_PHONE = "+66800000006"  # CB-BLS-03 in the demo fleet


async def _step_results(server: Server, assignment_id: int) -> dict:
    return (await server.ctx.store.get("assignments", assignment_id)).step_results


async def test_delivery_reports_show_on_the_ladder_steps(browser, database_url, redis_url, fake_twilio, mqtt_url):
    await reset_integrations(database_url, redis_url)
    fast = dict(ack_timeout_other_s=0.3, ack_timeout_red_s=0.3, escalation_steps_s=(0.0, 0.2, 0.4, 1200.0))
    server = Server(integration_config(database_url, redis_url, fake_twilio, mqtt_url, **fast))
    await server.start()
    try:
        await demo.seed(server.ctx.store)
        await routing_ready(server)
        base = f"http://127.0.0.1:{server.config.port}"
        token = await make_user(server.ctx.pool, "disp-delivery", "dispatcher")
        api = Api(base, token)
        _, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
        _, assignment = await api.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": "CB-BLS-03"})
        # the silent crew's ladder: a text, then a call, each taken by (the fake) Twilio
        assert await wait_until(lambda: _has_steps(server, assignment["id"], {"sms", "voice"}), 15)
        results = await _step_results(server, assignment["id"])
        assert {r["outcome"] for r in results.values()} == {"sent"}
        [sms] = fake_twilio.sent("sms")
        [call] = fake_twilio.sent("voice")
        assert sms.params["To"] == call.params["To"] == CREW_PHONE

        context, console = await open_page(browser, f"{base}/console.html#token={token}")
        await console.locator(f"#incident-list li[data-id='{incident['id']}']").click()
        ladder = console.locator(f"#assignments [data-assignment='{assignment['id']}'] .ladder")
        await expect(ladder.locator("li[data-step='sms']")).to_have_attribute("data-result", "sent")

        twilio = TwilioCaller(server)
        for status in ("sent", "delivered", "sent"):  # the text reached the phone (a late "sent" changes nothing)
            await twilio.post("/twilio/status", {"MessageSid": results["sms"]["message_sid"], "MessageStatus": status})
        await twilio.post("/twilio/status", {"CallSid": results["voice"]["message_sid"], "CallStatus": "no-answer",
                                             "Direction": "outbound-api"})
        await expect(ladder.locator("li[data-step='sms']")).to_have_attribute("data-result", "delivered")
        await expect(ladder.locator("li[data-step='voice']")).to_have_attribute("data-result", "failed")
        assert "delivered" in await ladder.locator("li[data-step='sms']").inner_text()

        _, events = await api.get("/api/v1/events?since=0")
        [delivered] = [e["payload"] for e in events["events"] if e["type"] == "OutboundMessageDelivered"]
        [failed] = [e["payload"] for e in events["events"] if e["type"] == "OutboundMessageFailed"]
        assert (delivered["assignment_id"], delivered["step"], delivered["status"]) == (assignment["id"], "sms", "delivered")
        assert (failed["assignment_id"], failed["step"], failed["status"]) == (assignment["id"], "voice", "no-answer")
        results = await _step_results(server, assignment["id"])
        assert (results["sms"]["outcome"], results["voice"]["outcome"]) == ("delivered", "failed")

        await console.reload()  # kept on the assignment by the server, not only seen live
        await console.locator(f"#incident-list li[data-id='{incident['id']}']").click()
        await expect(ladder.locator("li[data-step='sms']")).to_have_attribute("data-result", "delivered")
        await expect(ladder.locator("li[data-step='voice']")).to_have_attribute("data-result", "failed")
        assert console.errors == []
        await context.close()
    finally:
        await server.stop()


async def _has_steps(server: Server, assignment_id: int, steps: set[str]) -> bool:
    return steps <= (await _step_results(server, assignment_id)).keys()
