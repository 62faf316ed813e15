"""Issue #17, a console that holds a real shift, in a real browser: the queue by danger and age with filters and
live patches that keep the dispatcher's place, alarms (tone, flash, mute, title), the overdue acknowledgement
pinned on top, close-out with a disposition, a confirmation before a second assignment, and the dark theme's
badge contrast."""

from playwright.async_api import expect

from tests.conftest import Api, demo_city_server, make_user, wait_until
from tests.web.conftest import open_console, open_page, wrong_language

SCENE = {"lat": 13.3611, "lon": 100.9847}


async def _incident(api: Api, complaint: str, channel: str = "phone", colour: str | None = None) -> dict:
    status, incident = await api.post("/api/v1/incidents", {"channel": channel, "location": SCENE,
                                                            "chief_complaint": complaint})
    assert status == 201
    if colour:
        status, _ = await api.post(f"/api/v1/incidents/{incident['id']}/triage", {"colour": colour, "reason": "test"})
        assert status == 200
    return incident


async def _queue_ids(page) -> list[int]:
    return await page.evaluate("import('/js/console/queue.js').then(m => m.queuedIds())")


async def _raised(page) -> list[dict]:
    return await page.evaluate("import('/js/console/alarm.js').then(m => m.raised.map(a => ({...a})))")


async def test_queue_puts_untriaged_first_then_by_colour_and_age_and_filters(browser, city):
    """Untriaged calls sorted after every triaged one; no filter or search; no waiting time on a row."""
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    green = await _incident(api, "แผลถลอก graze", colour="green")
    yellow = await _incident(api, "ปวดท้อง belly pain", channel="sms", colour="yellow")
    white = await _incident(api, "ขอคำปรึกษา advice", colour="white")
    untriaged = await _incident(api, "ล้ม fall")
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}")
    await console.locator(f"#incident-list li[data-id='{untriaged['id']}']").wait_for()
    assert await _queue_ids(console) == [untriaged["id"], yellow["id"], green["id"], white["id"]]
    assert "Untriaged" in await console.inner_text(f"#incident-list li[data-id='{untriaged['id']}'] .badge")
    elapsed = console.locator(f"#incident-list li[data-id='{green['id']}'] .elapsed")
    first = await elapsed.inner_text()
    await expect(elapsed).not_to_have_text(first, timeout=5000)  # the waiting time ticks

    await console.select_option("#queue-filters select[name=colour]", "yellow")
    assert await _queue_ids(console) == [yellow["id"]]
    await console.select_option("#queue-filters select[name=colour]", "")
    await console.select_option("#queue-filters select[name=channel]", "sms")
    assert await _queue_ids(console) == [yellow["id"]]
    await console.select_option("#queue-filters select[name=channel]", "")
    await console.fill("#queue-filters input[name=text]", "graze")
    assert await _queue_ids(console) == [green["id"]]
    await console.fill("#queue-filters input[name=text]", "")
    assert len(await _queue_ids(console)) == 4
    assert console.errors == []
    await context.close()


async def test_live_calls_patch_the_queue_without_moving_the_dispatchers_place(browser, city):
    """One API request per event; the whole list redrawn, so the scroll jumped and focus was lost."""
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    for n in range(40):
        await _incident(api, f"เหตุ {n} case {n}", colour="green")
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}", height=700)
    await expect(console.locator("#incident-list")).to_have_attribute("data-rows", "40")
    assert await console.locator("#incident-list li").count() < 40  # only the rows in view are drawn
    await console.evaluate("document.querySelector('#incident-list').scrollTop = 600")
    # the rows now in view are drawn in the next frame
    await console.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    anchor_id = await console.evaluate("""(() => { const l = document.querySelector('#incident-list');
        return [...l.children].find(li => li.offsetTop + li.offsetHeight > l.scrollTop).dataset.id; })()""")
    anchor = console.locator(f"#incident-list li[data-id='{anchor_id}']")
    await anchor.focus()
    top_before = (await anchor.bounding_box())["y"]
    before = await console.evaluate("import('/js/console/store.js').then(m => ({...m.fetchCounts}))")
    news = [await _incident(api, f"ใหม่ new {n}") for n in range(20)]
    await expect(console.locator("#incident-list")).to_have_attribute("data-rows", "60")
    after = await console.evaluate("import('/js/console/store.js').then(m => ({...m.fetchCounts}))")
    requests = after["single"] + after["list"] - before["single"] - before["list"]
    assert requests < len(news)  # batched, not one request per event
    assert (await _queue_ids(console))[:20] == [n["id"] for n in news]  # untriaged on top
    assert abs((await anchor.bounding_box())["y"] - top_before) < 2  # the row in view stayed put
    assert await console.evaluate(f"document.activeElement.dataset.id") == anchor_id
    assert console.errors == []
    await context.close()


async def test_live_triage_moves_a_row_to_where_a_full_sort_puts_it(browser, city):
    """Each event re-sorted every open incident (500 of them at 5 events a second); a changed incident's row is now
    moved to its place alone, and must land where sorting the whole queue puts it."""
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    yellow = await _incident(api, "ปวดท้อง belly pain", colour="yellow")
    green = await _incident(api, "แผลถลอก graze", colour="green")
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}")
    await expect(console.locator("#incident-list")).to_have_attribute("data-rows", "2")
    later_yellow = await _incident(api, "หายใจลำบาก short of breath")
    white = await _incident(api, "ขอคำปรึกษา advice")
    await expect(console.locator("#incident-list")).to_have_attribute("data-rows", "4")
    assert await _queue_ids(console) == [later_yellow["id"], white["id"], yellow["id"], green["id"]]  # untriaged on top
    for incident, colour in ((white, "white"), (later_yellow, "yellow")):
        status, _ = await api.post(f"/api/v1/incidents/{incident['id']}/triage", {"colour": colour, "reason": "test"})
        assert status == 200
    live = [yellow["id"], later_yellow["id"], green["id"], white["id"]]  # by colour, then age
    assert await wait_until(lambda: _queue_is(console, live), timeout_s=10), await _queue_ids(console)
    await console.fill("#queue-filters input[name=text]", "#")  # a filter change sorts the whole queue afresh
    await console.fill("#queue-filters input[name=text]", "")
    assert await _queue_ids(console) == live
    assert console.errors == []
    await context.close()


async def _queue_is(page, ids: list[int]) -> bool:
    return await _queue_ids(page) == ids


async def test_new_calls_sound_flash_and_count_in_the_title_and_mute_is_visible(browser, city):
    """A new call made no sound, no flash and no title change; there was no mute."""
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    context, console = await open_console(browser, base, tokens["dispatcher"])
    await console.click("#incident-list")  # a first gesture lets the page start sound
    incident = await _incident(api, "หมดสติ unconscious")
    await console.locator(f"#incident-list li[data-id='{incident['id']}']").wait_for()
    assert await wait_until(lambda: _has_alarm(console, "new_call"), timeout_s=10)
    [alarm] = [a for a in await _raised(console) if a["kind"] == "new_call"]
    assert alarm["audible"] and alarm["urgency"] == "normal"
    await expect(console.locator("header.bar.flash-normal")).to_have_count(1)
    await expect(console).to_have_title("(1) Chonburi 1669 dispatch")

    await console.click("#mute-btn")
    await expect(console.locator("#mute-btn")).to_have_text("⊘ Muted")
    await _incident(api, "ชัก seizure")
    await expect(console).to_have_title("(2) Chonburi 1669 dispatch")
    assert await wait_until(lambda: _alarm_count(console, "new_call", 2), timeout_s=10)
    assert [a["audible"] for a in await _raised(console) if a["kind"] == "new_call"] == [True, False]
    await console.goto("about:blank")
    await console.goto(f"{base}/console.html#token={tokens['dispatcher']}")
    await expect(console.locator("#mute-btn")).to_have_text("⊘ Muted")  # remembered
    assert console.errors == []
    await context.close()


async def _has_alarm(page, kind: str) -> bool:
    return any(a["kind"] == kind for a in await _raised(page))


async def _alarm_count(page, kind: str, n: int) -> bool:
    return len([a for a in await _raised(page) if a["kind"] == kind]) >= n


async def test_an_overdue_acknowledgement_is_pinned_on_top_in_red_and_sounds(browser, database_url, redis_url):
    """The silent crew's incident stayed "assigned" in the queue, the overdue mark only inside the open panel; the
    SMS and voice steps showed ✓ with no provider configured, and no alert said they were not sent."""
    ladder = dict(ack_timeout_other_s=2.0, escalation_steps_s=(0.0, 0.5, 1.0, 600.0))
    async with demo_city_server(database_url, redis_url, **ladder) as running:
        base = f"http://127.0.0.1:{running.config.port}"
        api = Api(base, await make_user(running.ctx.pool, "disp-overdue", "dispatcher"))
        _ = await _incident(api, "ปวดหัว headache")
        silent_incident = await _incident(api, "เจ็บอก chest pain", colour="yellow")
        context, console = await open_page(browser, f"{base}/console.html#token={api.token}")
        await console.wait_for_selector("text=Connected")
        await console.click("#incident-list")
        status, _ = await api.post(f"/api/v1/incidents/{silent_incident['id']}/assignments", {"unit_id": "CB-BLS-01"})
        assert status in (200, 201)
        row = console.locator(f"#incident-list li.overdue[data-id='{silent_incident['id']}']")
        await row.wait_for(timeout=20000)
        assert (await _queue_ids(console))[0] == silent_incident["id"]  # pinned above the untriaged call
        assert "Acknowledgement overdue" in await row.inner_text()
        assert await wait_until(lambda: _has_alarm(console, "overdue"), timeout_s=10)
        assert [a["urgency"] for a in await _raised(console) if a["kind"] == "overdue"] == ["critical"]
        await row.click()
        sms = console.locator("#assignments .ladder li[data-step='sms']")
        await expect(sms).to_have_attribute("data-result", "not_configured", timeout=20000)
        assert "✓" not in await sms.inner_text() and "not configured" in await sms.inner_text()
        await console.locator("#alert-list li", has_text="not sent: SMS/voice not configured").first.wait_for()
        assert await wait_until(lambda: _has_alarm(console, "message_failed"), timeout_s=10)
        assert {a["urgency"] for a in await _raised(console) if a["kind"] == "message_failed"} == {"high"}  # two beeps
        assert console.errors == []
        await context.close()


async def test_close_out_asks_first_and_stores_the_disposition(browser, city):
    """The console could not close or cancel an incident."""
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    incident = await _incident(api, "แจ้งซ้ำ repeat call")
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}")
    await console.locator(f"#incident-list li[data-id='{incident['id']}']").click()
    await console.click("#closeout summary")
    await console.click("#closeout-btn")
    assert "Choose a disposition" in await console.inner_text("#closeout-error")
    await console.select_option("#closeout select[name=disposition]", "duplicate")
    await console.fill("#closeout textarea[name=note]", "same as the crash / ซ้ำ")
    await console.click("#closeout-btn")  # first press only asks
    await expect(console.locator("#closeout-btn")).to_have_text("Press again to confirm: Duplicate")
    _, still = await api.get(f"/api/v1/incidents/{incident['id']}")
    assert still["status"] == "received"
    await console.click("#closeout-btn")
    await console.locator(f"#incident-list li[data-id='{incident['id']}']").wait_for(state="detached")
    _, closed = await api.get(f"/api/v1/incidents/{incident['id']}")
    assert closed["status"] == "cancelled" and closed["disposition"] == "duplicate"
    assert closed["close_note"] == "same as the crash / ซ้ำ"
    await console.click("#replay-btn")  # the replay shows how it ended
    await console.locator("#replay-scrubber").fill(await console.get_attribute("#replay-scrubber", "max"))
    ended = console.locator("#replay-events li[data-event='IncidentStatusChanged']")
    await expect(ended).to_contain_text("Duplicate")
    await expect(ended).to_contain_text("same as the crash")
    assert console.errors == []
    await context.close()


async def test_a_second_assignment_within_seconds_asks_first(browser, city):
    """Pressing A twice sent two ambulances with no confirmation."""
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    incident = await _incident(api, "ล้มในบ้าน fall at home")
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}")
    await console.locator(f"#incident-list li[data-id='{incident['id']}']").click()
    await console.locator("#recommendations button[data-unit]").first.wait_for()
    dialogs = []

    async def dismiss(dialog):
        dialogs.append(dialog.message)
        await dialog.dismiss()
    console.on("dialog", dismiss)
    await console.keyboard.press("a")
    await console.keyboard.press("a")  # the double press itself: no wait, so a loaded machine cannot outlast the window
    assert await wait_until(lambda: _true(bool(dialogs)), timeout_s=5)
    assert "was just sent" in dialogs[0]
    await console.locator("#assignments [data-assignment]").first.wait_for()
    _, body = await api.get(f"/api/v1/incidents/{incident['id']}/assignments")
    assert len(body["assignments"]) == 1
    assert console.errors == []
    await context.close()


async def _true(value: bool) -> bool:
    return value


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a, b) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


async def test_dark_theme_is_remembered_and_badges_keep_contrast(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    for colour in ("red", "yellow", "green", "white"):
        await _incident(api, f"{colour} call", colour=colour)
    await _incident(api, "untriaged call")
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}",
                                       color_scheme="dark")
    await expect(console.locator("#incident-list li")).to_have_count(5)
    assert await console.evaluate("document.documentElement.dataset.theme") == "dark"  # follows the system
    for theme in ("dark", "light"):
        colours = await console.evaluate("""[...document.querySelectorAll('#incident-list .badge')].map(b => {
            const s = getComputedStyle(b); return [s.color, s.backgroundColor]; })""")
        for fg, bg in colours:
            ratio = _contrast(_rgb(fg), _rgb(bg))
            assert ratio >= 4.5, (theme, fg, bg, ratio)
        await console.click("#theme-btn")
    await console.click("#theme-btn")  # light again: remembered over the system's dark
    await console.goto("about:blank")
    await console.goto(f"{base}/console.html#token={tokens['dispatcher']}")
    await expect(console.locator("#incident-list li")).to_have_count(5)  # a reloaded console has its queue
    assert await console.evaluate("document.documentElement.dataset.theme") == "light"
    assert console.errors == []
    await context.close()


def _rgb(css: str) -> tuple[int, int, int]:
    parts = css[css.index("(") + 1:css.index(")")].split(",")
    return tuple(int(float(p)) for p in parts[:3])


async def test_narrow_console_does_not_scroll_sideways_and_keeps_the_map(browser, city):
    """At 768 px the map shrank to 68 px; at 390 px the console scrolled sideways."""
    server, base, tokens = city
    for width in (390, 768):
        context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}", width=width)
        await console.wait_for_selector("text=Connected")
        assert await console.evaluate("document.documentElement.scrollWidth") <= width
        assert (await console.locator("#map").bounding_box())["width"] >= width - 20
        assert (await console.locator("#map").bounding_box())["height"] >= 300
        await context.close()


async def test_unit_board_lists_sorts_filters_and_selects_on_the_map_and_labels_do_not_overlap(browser, city):
    """No unit status board; at default zoom unit labels at shared bases hid under one another."""
    server, base, tokens = city
    units = await server.ctx.store.list("units")
    context, console = await open_console(browser, base, tokens["dispatcher"])
    await expect(console.locator(".unit-marker[data-unit]")).to_have_count(len(units))
    boxes = await console.evaluate("""[...document.querySelectorAll('.unit-marker[data-unit]')].map(e => {
        const r = e.getBoundingClientRect(); return [e.dataset.unit, r.left, r.top, r.right, r.bottom]; })""")
    overlapping = [(a[0], b[0]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                   if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]]
    assert overlapping == []

    await console.click("#units-btn")
    board = console.locator("#unit-board")
    await expect(board.locator("tr[data-unit]")).to_have_count(len(units))
    assert "unknown" in await board.locator("tr[data-unit]").first.inner_text()  # no GPS fix yet: marked
    assert await board.locator("tr[data-unit] .stale").count() == len(units)
    await board.locator("button[data-sort='id']").click()  # already by id: now descending
    ids = [await r.get_attribute("data-unit") for r in await board.locator("tr[data-unit]").all()]
    assert ids == sorted((u.id for u in units), reverse=True)
    await board.locator("input[name=text]").fill("ALS")
    shown = [await r.get_attribute("data-unit") for r in await board.locator("tr[data-unit]").all()]
    assert shown and all("ALS" in s for s in shown) and len(shown) < len(units)
    await board.locator(f"tr[data-unit='{shown[0]}']").click()
    await console.locator(f".unit-marker.unit-chosen[data-unit='{shown[0]}']").wait_for()
    assert console.errors == []
    await context.close()


async def test_live_events_leave_the_open_panel_and_a_half_typed_note_alone(browser, city):
    """Every live event about the incident redrew the whole open panel under the dispatcher."""
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    incident = await _incident(api, "หายใจลำบาก short of breath")
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}")
    await console.locator(f"#incident-list li[data-id='{incident['id']}']").click()
    await console.click("#closeout summary")
    await console.fill("#closeout textarea[name=note]", "caller says / ผู้แจ้งบอกว่า")
    heading = await console.evaluate_handle("document.querySelector('#incident-panel h3')")
    await _incident(api, "another call elsewhere")  # events that change nothing the panel shows
    await expect(console.locator("#incident-list li")).to_have_count(2)
    assert await console.evaluate("h => h.isConnected", heading)  # not redrawn
    await api.post(f"/api/v1/incidents/{incident['id']}/triage", {"colour": "yellow", "reason": "test"})
    await expect(console.locator("#incident-panel h3 .badge")).to_have_class("badge colour-yellow")  # redrawn …
    assert await console.input_value("#closeout textarea[name=note]") == "caller says / ผู้แจ้งบอกว่า"  # … note kept
    assert await console.evaluate("document.querySelector('#closeout').open")
    assert console.errors == []
    await context.close()


async def test_a_second_window_follows_the_selection_and_can_be_all_map(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    first_incident = await _incident(api, "first call")
    second_incident = await _incident(api, "second call")
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}", width=1280)
    second = await context.new_page()
    await second.set_viewport_size({"width": 3840, "height": 2160})
    await second.goto(f"{base}/console.html?view=map")  # the token is already kept by the first window
    await console.locator(f"#incident-list li[data-id='{second_incident['id']}']").click()
    await expect(second.locator(f"#incident-list li.selected[data-id='{second_incident['id']}']")).to_have_count(1)
    assert await second.locator("#queue").is_hidden()
    assert (await second.locator("#map").bounding_box())["width"] >= 3800
    await console.locator(f"#incident-list li[data-id='{first_incident['id']}']").click()
    await expect(second.locator(f"#incident-list li.selected[data-id='{first_incident['id']}']")).to_have_count(1)
    assert console.errors == []
    await context.close()


# Visible text nodes of the page, and the label table's values in both languages (labels.js through i18n.js).



CONSOLE_FURNITURE = ("header.bar, h3, h4, summary, label, button, th, #queue-filters option, .closeout option, "
                     "#duplicates .rec")


async def test_every_console_string_is_in_the_page_language(browser, city):
    """Untranslated strings: a Thai console showed English labels (and the other way round)."""
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    incident = await _incident(api, "ผู้ป่วย", colour="yellow")
    await _incident(api, "ผู้ป่วย 2")
    for lang, other in (("th", "en"), ("en", "th")):
        context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}")
        await console.select_option("#lang", lang)
        await console.locator(f"#incident-list li[data-id='{incident['id']}']").click()
        await console.locator("#recommendations button[data-unit]").first.wait_for()
        await console.locator("#duplicates button[data-merge]").wait_for()  # the repeat call's line: channel, distance
        await console.click("#closeout summary")
        await console.click("#units-btn")
        await console.locator("#unit-board tr[data-unit]").first.wait_for()
        assert await wrong_language(console, lang, CONSOLE_FURNITURE) == [], lang
        assert console.errors == []
        await context.close()
