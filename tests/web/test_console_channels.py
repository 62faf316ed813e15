"""The console's view of phone and text-to-1669 incidents in a real browser: the caller's earlier incidents,
the SMS thread with a reply sent from the console, and device/message failure alerts in the alert list."""
from datetime import datetime, timezone

from dispatch.channels import DeviceAlertRaised
from tests.conftest import Api, wait_until
from tests.web.conftest import open_console, open_page, shot

CALLER = "+66812345678"


async def test_dispatcher_sees_caller_history_and_replies_to_the_sms_thread(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    _, earlier = await api.post("/api/v1/incidents", {"channel": "phone", "chief_complaint": "ล้มในห้องน้ำ fall", "location": {"lat": 13.3611, "lon": 100.9847},
                                                      "caller": {"phone": CALLER}})
    await api.post(f"/api/v1/incidents/{earlier['id']}/status", {"status": "cancelled"})
    incident, opened, _ = await server.ctx.twilio.inbound_sms(
        {"MessageSid": "SM" + "4" * 32, "From": CALLER, "Body": "แม่หายใจไม่ออก can't breathe"})
    assert opened

    context, console = await open_console(browser, base, tokens["dispatcher"])
    await console.click(f"#incident-list li[data-id='{incident.id}']")
    history = console.locator(f"#caller-history li[data-history='{earlier['id']}']")
    await history.wait_for()
    assert "fall" in await history.inner_text()
    await console.locator("#sms-thread .sms-in", has_text="can't breathe").wait_for()

    reply = "รถพยาบาลกำลังไป <b>ambulance</b> on the way"
    await console.fill("#sms-reply textarea", reply)
    await console.click("#sms-reply button[type=submit]")
    await console.locator("#sms-thread .sms-out", has_text=reply).wait_for()  # markup shown as text
    assert await console.locator("#sms-thread .sms-out b").count() == 0
    assert await console.input_value("#sms-reply textarea") == ""
    notifier = server.ctx.notifier
    assert ("sms", CALLER, reply) in notifier.sent

    # a later text from the caller appears in the open thread without a reload
    await server.ctx.twilio.inbound_sms({"MessageSid": "SM" + "5" * 32, "From": CALLER,
                                                     "Body": "บ้านเลขที่ 12"})
    await console.locator("#sms-thread .sms-in", has_text="บ้านเลขที่ 12").wait_for()
    await console.screenshot(path=shot("console-sms-thread"))
    assert console.errors == []
    await context.close()


async def test_device_alerts_show_in_the_alert_list_in_thai(browser, city):
    server, base, tokens = city
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}", locale="th-TH")
    await console.select_option("#lang", "th")
    await console.wait_for_selector("#status-line:has-text('เชื่อมต่อแล้ว')")  # connected: live events reach it
    async with server.ctx.store.unit_of_work("system:test") as uow:
        await uow.append(DeviceAlertRaised(at=datetime.now(timezone.utc), device_id="PB-0042", kind="low_battery",
                                           detail="battery 8%"))
    alert = console.locator("#alert-list li", has_text="PB-0042")
    await alert.wait_for()
    assert "ปุ่มฉุกเฉินแบตเตอรี่ต่ำ" in await alert.inner_text()
    assert console.errors == []
    await context.close()


async def test_a_line_thread_shows_without_an_sms_reply_box(browser, city):
    server, base, tokens = city
    event = {"type": "message", "webhookEventId": "01J" + "L" * 23, "source": {"type": "user", "userId": "U" + "7" * 32},
             "message": {"type": "text", "id": "1", "text": "ช่วยด้วย LINE"}}
    [incident_id] = await server.ctx.line.receive([event])
    context, console = await open_console(browser, base, tokens["dispatcher"])
    await console.click(f"#incident-list li[data-id='{incident_id}']")
    await console.locator("#sms-thread .sms-in", has_text="ช่วยด้วย LINE").wait_for()
    assert await console.locator("#sms-reply").count() == 0  # no phone number to text back
    assert console.errors == []
    await context.close()
