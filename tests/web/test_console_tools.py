"""The console's dispatcher tools in a real browser: road closures drawn on the map, the acknowledgement
countdown and escalation ladder, duplicate suggestions, keyboard shortcuts, and a destination chosen on the
console reaching the hospital board, whose acknowledgement is stored on the server and survives a reload."""
import re

from playwright.async_api import expect

from tests.conftest import Api, demo_city_server, make_user, wait_until
from tests.web.conftest import click_map_at, open_console, open_page, shot

SCENE = {"lat": 13.3611, "lon": 100.9847}


async def _closures(api: Api) -> list[dict]:
    _, body = await api.get("/api/v1/closures")
    return body["closures"]


async def test_a_closure_drawn_on_the_map_becomes_a_road_closure(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    context, console = await open_console(browser, base, tokens["dispatcher"])
    await console.keyboard.press("c")  # shortcut: draw a closure
    await console.wait_for_selector("#closure-form:not([hidden])")
    d = 0.0015
    for lat, lon in ((SCENE["lat"] - d, SCENE["lon"] - d), (SCENE["lat"] - d, SCENE["lon"] + d),
                     (SCENE["lat"] + d, SCENE["lon"] + d), (SCENE["lat"] + d, SCENE["lon"] - d)):
        await click_map_at(console, lat, lon)
    assert await console.inner_text("#closure-corners") == "4"
    await console.fill("#closure-form input[name=reason]", "น้ำท่วม flood")
    await console.keyboard.press("Enter")  # submits the form from the reason field

    entry = console.locator("#closure-list li[data-closure]", has_text="น้ำท่วม flood")
    await entry.wait_for()
    assert "Closed to traffic" in await entry.inner_text()
    [closure] = await _closures(api)
    assert closure["closed"] and closure["reason"] == "น้ำท่วม flood" and closure["edges"] > 0
    assert closure["geometry"]["type"] == "MultiLineString" and closure["geometry"]["coordinates"]
    drawn = await console.evaluate(
        "import('/js/console/closures.js').then(m => m.closureLayer.getLayers().map(l => l.options.style.color))")
    assert drawn == ["#b71c1c"]  # the closed segments drawn in red on the map
    assert await console.is_hidden("#closure-form")

    await entry.locator("button[data-reopen]").click()
    await expect(entry.locator("button[data-reopen]")).to_have_class("armed")  # a destructive move asks first
    assert len(await _closures(api)) == 1
    await entry.locator("button[data-reopen]").click()
    await console.locator("#closure-list li[data-closure]").wait_for(state="detached")
    assert await wait_until(lambda: _no_closures(api))
    assert console.errors == []
    await context.close()


async def _no_closures(api: Api) -> bool:
    return await _closures(api) == []


async def test_a_closure_needs_three_corners(browser, city):
    server, base, tokens = city
    context, console = await open_console(browser, base, tokens["dispatcher"])
    await console.click("#draw-closure-btn")
    await click_map_at(console, SCENE["lat"], SCENE["lon"])
    await console.click("#closure-form button[type=submit]")
    assert "3" in await console.inner_text("#closure-error")
    await console.keyboard.press("Escape")
    await console.wait_for_selector("#closure-form", state="hidden")
    await context.close()


async def test_console_destination_reaches_the_board_and_its_acknowledgement_persists(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    _, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE,
                                                       "chief_complaint": "เจ็บหน้าอก chest pain"})
    console_ctx, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}")
    await console.wait_for_selector("text=Connected")
    await console.locator(f"#incident-list li[data-id='{incident['id']}']").wait_for()
    await console.keyboard.press("j")  # shortcut: select the next (here the first) incident
    await console.locator("#recommendations button[data-unit]").first.wait_for()
    await console.keyboard.press("a")  # shortcut: assign the top recommendation
    countdown = console.locator("#assignments .countdown")
    await countdown.wait_for()
    assert re.search(r"\d+:\d\d", await countdown.inner_text())
    assert await console.locator("#assignments .ladder li[data-step]").count() == 4
    await console.screenshot(path=shot("console-assignment-en"))

    await console.locator("#destinations button[data-hospital]").first.wait_for()
    await console.keyboard.press("d")  # shortcut: send to the top recommended hospital
    chosen = console.locator("#destinations .rec.chosen")
    await chosen.wait_for()
    hospital_id = await chosen.get_attribute("data-destination")
    _, stored = await api.get(f"/api/v1/incidents/{incident['id']}")
    assert stored["destination_hospital_id"] == hospital_id and stored["hospital_acknowledged_at"] is None

    board_ctx, board = await open_page(browser, f"{base}/hospital.html#token={tokens[hospital_id]}")
    patient = board.locator(f"#inbound li.patient[data-id='{incident['id']}']")
    await patient.wait_for()
    assert await board.inner_text("#count") == "1" and await board.inner_text("#unseen") == "1"
    assert "chest pain" in await patient.inner_text()
    await patient.locator("button[data-ack]").click()
    await patient.locator(".acked").wait_for()
    await board.reload()
    patient = board.locator(f"#inbound li.patient[data-id='{incident['id']}']")
    await patient.locator(".acked").wait_for()
    assert await patient.locator("button[data-ack]").count() == 0
    assert await board.inner_text("#unseen") == "0"
    _, stored = await api.get(f"/api/v1/incidents/{incident['id']}")
    assert stored["hospital_acknowledged_at"] is not None
    await console.locator("#destinations .rec.chosen", has_text="ED acknowledged").wait_for()
    for page in (console, board):
        assert page.errors == []
    for ctx in (console_ctx, board_ctx):
        await ctx.close()


async def test_console_shows_duplicate_suggestions_and_shortcut_help(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    _, first = await api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE, "chief_complaint": "รถชน"})
    nearby = {"lat": SCENE["lat"] + 0.0003, "lon": SCENE["lon"]}
    _, second = await api.post("/api/v1/incidents", {"channel": "sms", "location": nearby, "chief_complaint": "crash"})
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}")
    row = console.locator(f"#incident-list li[data-id='{second['id']}']")
    await row.wait_for()
    await row.click()
    await console.locator(f"#duplicates button[data-merge='{first['id']}']").wait_for()
    await console.click(f"#duplicates button[data-apart='{first['id']}']")
    await console.locator(f"#duplicates button[data-merge='{first['id']}']").wait_for(state="detached")
    # a new call nearby while the panel is open joins its duplicates live
    _, third = await api.post("/api/v1/incidents", {"channel": "app", "location": nearby, "chief_complaint": "crash again"})
    await console.locator(f"#duplicates button[data-merge='{third['id']}']").wait_for(timeout=10_000)
    await console.keyboard.press("?")
    await console.wait_for_selector("#shortcuts:not([hidden])")
    assert "Assign the top recommended unit" in await console.inner_text("#shortcuts")
    await console.keyboard.press("Escape")
    await console.wait_for_selector("#shortcuts", state="hidden")
    assert console.errors == []
    await context.close()


async def test_hospital_board_quick_capacity_editor(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    hospital = (await server.ctx.store.list("hospitals"))[0]
    context, board = await open_page(browser, f"{base}/hospital.html#token={tokens[hospital.id]}")
    beds = board.locator("#capacity input[name=beds]")
    await expect(beds).not_to_have_value("")  # loaded (a wait_for_function string would need 'unsafe-eval')
    before = int(await beds.input_value())
    await board.click("#beds-plus")
    await board.click("#beds-plus")
    await board.click("#beds-minus")
    await board.check("#capacity input[name=diversion]")
    await board.click("#capacity button[type=submit]")
    await board.wait_for_selector("#capacity-saved:has-text('Saved')")
    _, body = await api.get("/api/v1/hospitals")
    saved = next(h for h in body["hospitals"] if h["id"] == hospital.id)
    assert saved["ed_beds_free"] == before + 1 and saved["diversion"] is True
    assert board.errors == []
    await context.close()


async def test_console_shows_the_escalation_steps_taken_for_a_silent_crew(browser, database_url, redis_url):
    ladder = dict(ack_timeout_other_s=1.0, escalation_steps_s=(0.0, 0.5, 1.0, 1.5))
    async with demo_city_server(database_url, redis_url, **ladder) as running:
        base = f"http://127.0.0.1:{running.config.port}"
        api = Api(base, await make_user(running.ctx.pool, "disp-ladder", "dispatcher"))
        _, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE, "chief_complaint": "ไข้"})
        _, silent = await api.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": "CB-BLS-01"})
        context, console = await open_page(browser, f"{base}/console.html#token={api.token}")
        await console.locator(f"#incident-list li[data-id='{incident['id']}']").click()
        silent_box = console.locator(f"#assignments [data-assignment='{silent['id']}']")
        await console.locator("#assignments .countdown.overdue").first.wait_for(timeout=20000)  # the ladder runs
        await silent_box.locator(".ladder li.taken[data-step='next_unit']").wait_for(timeout=20000)
        await expect(silent_box.locator(".ladder li.taken")).to_have_count(4)  # the box re-renders on every event
        # the last step re-assigned the call: the silent crew's assignment is withdrawn, another unit has it
        await console.locator("#assignments [data-assignment]:not([data-assignment='%s'])" % silent["id"]).first.wait_for()
        # alerts come live (a page that loads late misses the first crew's), and the next crews are silent too
        await console.locator("#alert-list li", has_text="Voice call").first.wait_for()
        await console.locator("#alert-list li", has_text="Re-assign to the next unit").first.wait_for()
        assert console.errors == []
        await context.close()
