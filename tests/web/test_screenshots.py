"""Screenshots of the three pages in Thai at realistic sizes (dispatcher desk, crew tablet and phone, ED screen),
with a busy but plausible scene, saved into test-artifacts/ (the current ones are copied to docs/screenshots/)."""
from tests.conftest import Api, wait_until
from tests.web.conftest import open_page, shot

ARREST = {"lat": 13.3611, "lon": 100.9847}
CRASH = {"lat": 13.3520, "lon": 100.9790}
FALL = {"lat": 13.3700, "lon": 100.9920}
FLOOD = [[100.9740, 13.3655], [100.9775, 13.3655], [100.9775, 13.3680], [100.9740, 13.3680], [100.9740, 13.3655]]


async def _incident(api: Api, **fields) -> dict:
    _, incident = await api.post("/api/v1/incidents", {"channel": "phone", **fields})
    return incident


async def _unit_of(api: Api, incident_id: int) -> str | None:
    _, incident = await api.get(f"/api/v1/incidents/{incident_id}")
    return incident["unit_ids"][0] if incident["unit_ids"] else None


async def test_screenshots_of_console_tablet_and_board_in_thai(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    arrest = await _incident(api, location=ARREST, address="ตลาดหนองมน ถ.พระยาสัจจา", chief_complaint="ชายหมดสติ ไม่หายใจ",
                             caller={"phone": "0812345678", "name": "สมชาย"})
    await api.post(f"/api/v1/incidents/{arrest['id']}/triage", {"group": 6, "determinant": 1})  # red: auto-dispatched
    await _incident(api, channel="sms", location={"lat": ARREST["lat"] + 0.0004, "lon": ARREST["lon"]},
                    chief_complaint="มีคนล้มที่ตลาด")  # a repeat call about the same patient
    crash = await _incident(api, location=CRASH, address="แยกเฉลิมไทย", chief_complaint="รถจักรยานยนต์ชน 1 คน")
    await api.post(f"/api/v1/incidents/{crash['id']}/triage", {"group": 24, "determinant": 2})
    fall = await _incident(api, location=FALL, chief_complaint="หญิงสูงอายุหกล้ม เจ็บสะโพก")
    await api.post(f"/api/v1/incidents/{fall['id']}/triage", {"group": 22, "determinant": 3})
    await api.post("/api/v1/closures", {"polygon": {"type": "Polygon", "coordinates": [FLOOD]}, "reason": "น้ำท่วมขัง"})
    assert await wait_until(lambda: _unit_of(api, arrest["id"]))
    arrest_unit = await _unit_of(api, arrest["id"])
    _, recommendations = await api.get(f"/api/v1/incidents/{crash['id']}/recommendations")
    crash_unit = recommendations["recommendations"][0]["unit_id"]
    await api.post(f"/api/v1/incidents/{crash['id']}/assignments", {"unit_id": crash_unit})

    # the crew of the arrest responds from its tablet and chooses the recommended hospital
    tablet_ctx, tablet = await open_page(browser, f"{base}/tablet.html#token={tokens[arrest_unit]}",
                                         width=768, height=1024, locale="th-TH")
    await tablet.wait_for_selector("#job:not([hidden])")
    await tablet.click("#respond")
    await tablet.wait_for_selector("#instructions li")
    destination = tablet.locator("#destinations button[data-hospital]").first
    await destination.wait_for()
    hospital_id = await destination.get_attribute("data-hospital")
    await destination.click()
    await tablet.locator("#destinations li.chosen").wait_for()
    await tablet.evaluate("window.scrollTo(0, 0)")
    await tablet.screenshot(path=shot("tablet"))
    phone_ctx, phone = await open_page(browser, f"{base}/tablet.html#token={tokens[arrest_unit]}",
                                       width=390, height=844, locale="th-TH")
    await phone.wait_for_selector("#instructions li")
    await phone.screenshot(path=shot("tablet-phone"))

    # the crash goes to the same hospital; the ED acknowledges the arrest
    await api.post(f"/api/v1/incidents/{crash['id']}/destinations", {"hospital_id": hospital_id})
    board_ctx, board = await open_page(browser, f"{base}/hospital.html#token={tokens[hospital_id]}",
                                       width=1280, height=800, locale="th-TH")
    await board.locator("#inbound li.patient").nth(1).wait_for()
    await board.locator(f"#inbound li[data-id='{arrest['id']}'] button[data-ack]").click()
    await board.locator(f"#inbound li[data-id='{arrest['id']}'] .acked").wait_for()
    await board.screenshot(path=shot("hospital"))

    console_ctx, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}",
                                           width=1440, height=900, locale="th-TH")
    await console.locator(f"#incident-list li[data-id='{arrest['id']}']").click()
    await console.locator("#destinations .rec.chosen").wait_for()
    await console.locator("#closure-list li[data-closure]").wait_for()
    await console.locator("#duplicates button[data-merge]").wait_for()
    await console.screenshot(path=shot("console"))

    pages = (tablet, phone, board, console)
    assert "ศูนย์สั่งการ" in await console.inner_text("header")  # Thai labels, not keys
    assert "กำลังมา" in await board.inner_text("header")
    for page in pages:
        assert page.errors == []
    for ctx in (tablet_ctx, phone_ctx, board_ctx, console_ctx):
        await ctx.close()


async def test_screenshots_of_a_busy_queue_the_unit_board_and_the_dark_theme(browser, city):
    """Issue #17: the queue with 120 open incidents (filters, waiting times, danger order), the unit status board
    and the console at night (dark theme), in Thai at a dispatcher desk's size."""
    import asyncio
    import random
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    rng = random.Random(17)
    complaints = ["ปวดท้อง", "หกล้ม", "ไข้สูง", "หายใจเหนื่อย", "เจ็บหน้าอก", "รถล้ม", "ชัก", "แผลถูกมีดบาด"]
    colours = ["yellow", "green", "white", "yellow", None]

    async def one(n: int):
        incident = await _incident(api, location={"lat": 13.30 + rng.random() * 0.1, "lon": 100.93 + rng.random() * 0.1},
                                   chief_complaint=f"{rng.choice(complaints)} ({n})")
        if colours[n % len(colours)]:
            await api.post(f"/api/v1/incidents/{incident['id']}/triage", {"colour": colours[n % len(colours)],
                                                                          "reason": "คัดแยกทางโทรศัพท์"})
    for start in range(0, 120, 8):
        await asyncio.gather(*(one(n) for n in range(start, start + 8)))
    console_ctx, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}",
                                           width=1440, height=900, locale="th-TH")
    # only the rows in view are in the page (a virtual queue): wait until the whole queue is known
    async def whole_queue() -> bool:
        return int(await console.locator("#incident-list").get_attribute("data-rows") or 0) >= 120

    assert await wait_until(whole_queue, timeout_s=30)
    await console.locator("#incident-list li").first.click()
    await console.locator("#recommendations button[data-unit]").first.wait_for()
    await console.screenshot(path=shot("console-queue-busy"))
    await console.click("#units-btn")
    await console.locator("#unit-board tr[data-unit]").first.wait_for()
    await console.screenshot(path=shot("console-unit-board"))
    await console.click("#theme-btn")
    await console.click("#units-btn")
    await console.screenshot(path=shot("console-dark"))
    assert console.errors == []
    await console_ctx.close()
