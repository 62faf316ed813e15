"""Issue #17 points the first console tests left open: the queue's agency filter, tones by urgency (panic, red),
a browser notification only while the tab is hidden, the close-out prompt once every unit is released, the
contrast of every badge, flag and status label in both themes, and the layout at 1280, 1920 and 3840 px."""
from datetime import datetime, timezone

from playwright.async_api import expect

from dispatch.channels import PanicPressed
from dispatch.demo import HOSPITAL_TEAM, PAO
from tests.conftest import Api, wait_until
from tests.web.conftest import open_console, open_page
from tests.web.test_console_shift import _contrast, _incident, _luminance, _queue_ids, _queue_is, _raised, _rgb


async def _assign(api: Api, incident: dict, unit_id: str) -> None:
    status, body = await api.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": unit_id})
    assert status == 201, body


async def test_the_queue_filters_by_the_agency_whose_units_work_the_incident(browser, city):
    """The queue had colour, status and channel filters but none by agency."""
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    pao_call = await _incident(api, "ล้ม fall", colour="yellow")
    hospital_call = await _incident(api, "เจ็บอก chest pain", colour="red")
    waiting = await _incident(api, "ไข้ fever", colour="green")
    await _assign(api, pao_call, "CB-BLS-02")  # dispatch/demo.py: the provincial administration's
    await _assign(api, hospital_call, "CB-ALS-01")  # the hospital's ALS team's
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}")
    await expect(console.locator("#incident-list")).to_have_attribute("data-rows", "3")
    await console.select_option("#queue-filters select[name=status]", "assigned")  # a unit sent, no answer yet
    assert await _queue_ids(console) == [hospital_call["id"], pao_call["id"]]
    await console.select_option("#queue-filters select[name=status]", "")
    agency = console.locator("#queue-filters select[name=agency]")
    await expect(agency.locator(f"option[value='{PAO}']")).to_have_text("Chonburi Provincial Administration (PAO)")
    await agency.select_option(PAO)
    assert await wait_until(lambda: _queue_is(console, [pao_call["id"]]), timeout_s=5), await _queue_ids(console)
    await agency.select_option(HOSPITAL_TEAM)
    assert await _queue_ids(console) == [hospital_call["id"]]
    await _assign(api, waiting, "CB-ALS-02")  # a unit of the filtered agency sent: the call joins the view
    assert await wait_until(lambda: _queue_is(console, [hospital_call["id"], waiting["id"]]), timeout_s=10)
    await console.select_option("#lang", "th")  # the names follow the language, the choice stays
    await expect(agency.locator(f"option[value='{PAO}']")).to_have_text("องค์การบริหารส่วนจังหวัดชลบุรี")
    assert await agency.input_value() == HOSPITAL_TEAM
    await agency.select_option("")
    assert len(await _queue_ids(console)) == 3
    assert console.errors == []
    await context.close()


async def test_tones_follow_urgency_for_a_red_call_and_a_panic_press(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    context, console = await open_console(browser, base, tokens["dispatcher"])
    await console.click("#incident-list")
    incident = await _incident(api, "หมดสติ collapsed", colour="red")
    async with server.ctx.store.unit_of_work("device:PB-0001") as uow:
        await uow.append(PanicPressed(at=datetime.now(timezone.utc), incident_id=incident["id"], device_id="PB-0001",
                                      message_id="m-1", via="webhook"))
    assert await wait_until(lambda: _kinds_raised(console, {"new_call", "red_call", "panic"}), timeout_s=10)
    urgency = {a["kind"]: a["urgency"] for a in await _raised(console)}
    assert urgency == {"new_call": "normal", "red_call": "critical", "panic": "critical"}
    await expect(console.locator("header.bar.flash-critical")).to_have_count(1)
    assert console.errors == []
    await context.close()


async def _kinds_raised(page, kinds: set[str]) -> bool:
    return kinds <= {a["kind"] for a in await _raised(page)}


# The tab's visibility, which a headless browser cannot change, set by the test; every notification the page
# shows recorded (and still shown through the browser's own Notification).
HIDDEN_TAB = """
window.tabHidden = false;
Object.defineProperty(Document.prototype, "hidden", {get: () => window.tabHidden, configurable: true});
Object.defineProperty(Document.prototype, "visibilityState", {get: () => window.tabHidden ? "hidden" : "visible",
                                                               configurable: true});
window.notified = [];
const BrowserNotification = window.Notification;
window.Notification = class extends BrowserNotification {
  constructor(title, options) { super(title, options); window.notified.push({title, body: options?.body}); }
};
"""


async def test_a_hidden_console_notifies_and_a_visible_one_does_not(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}",
                                       permissions=["notifications"])
    await console.add_init_script(HIDDEN_TAB)
    await console.reload()
    await console.wait_for_selector("text=Connected")
    assert await console.evaluate("Notification.permission") == "granted"
    seen = await _incident(api, "ปวดหัว headache")
    assert await wait_until(lambda: _kinds_raised(console, {"new_call"}), timeout_s=10)
    assert await console.evaluate("window.notified") == []  # the dispatcher is looking at the page
    await console.evaluate("window.tabHidden = true")
    hidden = await _incident(api, "ชัก seizure")
    assert await wait_until(lambda: _notified(console), timeout_s=10)
    [note] = await console.evaluate("window.notified")
    assert note["title"] == "Chonburi 1669 dispatch"
    assert f"#{hidden['id']}" in note["body"] and "seizure" in note["body"]
    assert f"#{seen['id']}" not in note["body"]
    await expect(console).to_have_title("(2) Chonburi 1669 dispatch")
    assert console.errors == []
    await context.close()


async def _notified(page) -> bool:
    return bool(await page.evaluate("window.notified.length"))


async def test_an_incident_whose_units_are_all_released_asks_to_be_closed(browser, city):
    server, base, tokens = city
    api, crew = Api(base, tokens["dispatcher"]), Api(base, tokens["CB-BLS-03"])
    incident = await _incident(api, "ข้อเท้าพลิก sprained ankle", colour="green")
    await _assign(api, incident, "CB-BLS-03")
    for status in ("en_route", "on_scene"):
        answer, body = await crew.post("/api/v1/units/CB-BLS-03/status", {"status": status})
        assert answer == 200, body
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}")
    row = console.locator(f"#incident-list li[data-id='{incident['id']}']")
    await row.wait_for()
    assert await row.locator(".released-flag").count() == 0
    answer, body = await crew.post("/api/v1/units/CB-BLS-03/status", {"status": "available"})  # treated on scene
    assert answer == 200, body
    await expect(row.locator(".released-flag")).to_have_text("✔ All units released — close?")
    await row.click()
    closeout = console.locator("#closeout")
    await expect(closeout).to_have_attribute("open", "")  # opened by itself
    await expect(closeout).to_contain_text("Every unit has been released: please close this incident")
    await closeout.locator("select[name=disposition]").select_option("treated_on_scene")
    await console.click("#closeout-btn")
    await console.click("#closeout-btn")
    await row.wait_for(state="detached")
    _, closed = await api.get(f"/api/v1/incidents/{incident['id']}")
    assert closed["status"] == "closed" and closed["disposition"] == "treated_on_scene"
    assert console.errors == []
    await context.close()


# Every badge, flag and status label on the page with its text colour and the colour behind it (the first
# ancestor with a background), as [what, colour, background].
COLOURED_TEXT = """[...document.querySelectorAll(
    '.badge, .flag, .unit-marker, .unit-count, .hospital-marker, .elapsed, .dispatch-elapsed, .countdown, .ladder li')]
  .filter(e => e.checkVisibility() && e.textContent.trim())
  .map(e => {
    let back = e, bg = 'rgba(0, 0, 0, 0)';
    const clear = colour => colour.startsWith('rgba') && colour.endsWith(' 0)');
    while (back && clear(bg = getComputedStyle(back).backgroundColor)) back = back.parentElement;
    return [`${e.className} ${e.textContent.trim().slice(0, 20)}`, getComputedStyle(e).color, bg];
  })"""


async def test_every_badge_flag_and_status_label_keeps_contrast_in_both_themes(browser, city):
    """The first contrast test measured the queue's colour badges only; the unit board's status labels (white
    on orange for an assigned unit: 2.9:1) and the released flag (dark green on the dark panel) fell short."""
    server, base, tokens = city
    api, crew = Api(base, tokens["dispatcher"]), Api(base, tokens["CB-BLS-03"])
    assigned = await _incident(api, "assigned call", colour="yellow")
    await _assign(api, assigned, "CB-ALS-03")
    released = await _incident(api, "released call", colour="green")
    await _assign(api, released, "CB-BLS-03")
    for status in ("en_route", "on_scene", "available"):
        assert (await crew.post("/api/v1/units/CB-BLS-03/status", {"status": status}))[0] == 200
    for colour in ("red", "yellow", "green", "white"):  # after the assignments: a red call may take a unit itself
        await _incident(api, f"{colour} call", colour=colour)
    await _incident(api, "untriaged call")
    await api.post("/api/v1/units/CB-FR-01/status", {"status": "out_of_service", "reason": "tyre"})
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}",
                                       color_scheme="dark")
    await expect(console.locator("#incident-list li")).to_have_count(7)
    await console.locator(f"#incident-list li[data-id='{assigned['id']}']").click()
    await console.locator("#recommendations button[data-unit]").first.wait_for()
    await console.click("#units-btn")
    await console.locator("#unit-board tr[data-unit]").first.wait_for()
    await expect(console.locator("#incident-list .released-flag")).to_have_count(1)
    await console.select_option("#unit-filters select[name=status]", "out_of_service")  # the board's status filter
    await expect(console.locator("#unit-board tr[data-unit]")).to_have_count(1)
    await expect(console.locator("#unit-board tr[data-unit='CB-FR-01']")).to_contain_text("tyre")
    await console.select_option("#unit-filters select[name=status]", "")
    for theme in ("dark", "light"):
        assert await console.evaluate("document.documentElement.dataset.theme") == theme
        measured = await console.evaluate(COLOURED_TEXT)
        kinds = " ".join(what for what, _, _ in measured)
        for kind in ("colour-red", "colour-yellow", "colour-green", "colour-white", "colour-none", "released-flag",
                     "dispatch-elapsed",
                     "unit-assigned", "unit-available", "unit-out_of_service", "flag"):
            assert kind in kinds, (theme, kind)
        low = [(what, fg, bg, round(_contrast(_rgb(fg), _rgb(bg)), 2)) for what, fg, bg in measured
               if _contrast(_rgb(fg), _rgb(bg)) < 4.5]
        assert low == [], f"{theme}: " + "; ".join(map(str, low))
        await console.click("#theme-btn")
    assert console.errors == []
    await context.close()


async def test_the_console_lays_out_from_1280_to_3840_px(browser, city):
    """Alerts and closures were pushed 3,935 px down by a long queue; the wide layouts were never looked at."""
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    for n in range(40):
        await _incident(api, f"เหตุ {n} case {n}", colour="green")
    for width, height, min_rows in ((1280, 900, 5), (1920, 1080, 8), (3840, 2160, 20)):
        context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}",
                                           width=width, height=height)
        await expect(console.locator("#incident-list")).to_have_attribute("data-rows", "40")
        first = await console.evaluate("document.querySelector('#incident-list li').dataset.id")
        await console.locator(f"#incident-list li[data-id='{first}']").click()
        await console.locator("#recommendations button[data-unit]").first.wait_for()
        assert await console.evaluate("document.documentElement.scrollWidth") <= width, width
        assert await console.evaluate("document.documentElement.scrollHeight") <= height, width  # no page scroll
        boxes = {name: await console.locator(name).bounding_box()
                 for name in ("#queue", "#map", "#detail", "#alert-list", "#closure-list", "#queue-filters")}
        queue, map_box, detail = boxes["#queue"], boxes["#map"], boxes["#detail"]
        assert queue["x"] + queue["width"] <= map_box["x"] + 1 and map_box["x"] + map_box["width"] <= detail["x"] + 1
        assert detail["x"] + detail["width"] <= width + 1
        assert map_box["width"] >= width * 0.4 and map_box["height"] >= height * 0.8, (width, map_box)
        for part in ("#alert-list", "#closure-list", "#queue-filters"):  # in the window, not pushed down
            assert boxes[part]["y"] + 20 <= height, (width, part, boxes[part])
        shown_rows = await console.evaluate("""(() => { const l = document.querySelector('#incident-list');
            return [...l.children].filter(li => li.offsetTop < l.scrollTop + l.clientHeight).length; })()""")
        assert shown_rows >= min_rows, (width, shown_rows)
        assert console.errors == []
        await context.close()


async def test_merging_a_repeat_call_asks_first(browser, city):
    """A merge closes the incident open on screen: the first press only says what the second will do."""
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    first = await _incident(api, "รถชน crash")
    repeat = await _incident(api, "รถชนอีกสาย crash again")
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}")
    await console.locator(f"#incident-list li[data-id='{repeat['id']}']").click()
    merge = console.locator(f"#duplicates button[data-merge='{first['id']}']")
    await merge.click()
    await expect(merge).to_have_class("primary armed")
    await expect(merge).to_contain_text(f"#{first['id']}")
    _, still = await api.get(f"/api/v1/incidents/{repeat['id']}")
    assert still["status"] == "received"  # not merged by one press
    await merge.click()
    await console.locator(f"#incident-list li[data-id='{repeat['id']}']").wait_for(state="detached")
    await expect(console.locator(f"#incident-list li.selected[data-id='{first['id']}']")).to_have_count(1)
    _, merged = await api.get(f"/api/v1/incidents/{repeat['id']}")
    assert merged["status"] != "received"
    assert console.errors == []
    await context.close()


async def test_a_row_times_the_call_and_once_a_unit_is_sent_the_dispatch(browser, city):
    """A row had one timer, since the call; the issue asks for since the call and since dispatch."""
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    waiting = await _incident(api, "ไข้ fever", colour="green")
    sent = await _incident(api, "ล้ม fall", colour="yellow")
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}")
    sent_row = console.locator(f"#incident-list li[data-id='{sent['id']}']")
    await sent_row.wait_for()
    assert await sent_row.locator(".dispatch-elapsed").count() == 0  # no unit yet
    await console.wait_for_timeout(3000)  # the call's timer runs ahead of the dispatch's
    await _assign(api, sent, "CB-BLS-04")
    timer = sent_row.locator(".dispatch-elapsed [data-since]")
    await expect(sent_row.locator(".dispatch-elapsed")).to_contain_text("sent 0:0")
    first = await timer.inner_text()
    await expect(timer).not_to_have_text(first, timeout=5000)  # it ticks
    assert await timer.inner_text() < await sent_row.locator(".elapsed").inner_text()
    waiting_row = console.locator(f"#incident-list li[data-id='{waiting['id']}']")
    assert await waiting_row.locator(".dispatch-elapsed").count() == 0
    await console.select_option("#lang", "th")
    await expect(sent_row.locator(".dispatch-elapsed")).to_contain_text("สั่งการ")
    assert console.errors == []
    await context.close()


async def _theme(page) -> str:
    return await page.evaluate("document.documentElement.dataset.theme")


async def test_the_theme_follows_the_system_live_and_a_switch_reaches_the_other_window(browser, city):
    """The theme followed the system only when the page loaded (a desk turning dark at night left the open
    console light), and a switch in one window left the map window as it was."""
    server, base, tokens = city
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}",
                                       color_scheme="light")
    await console.wait_for_selector("text=Connected")
    map_window = await context.new_page()
    await map_window.goto(f"{base}/console.html?view=map")
    assert await _theme(console) == "light" and await _theme(map_window) == "light"
    light_map = _rgb(await console.evaluate("getComputedStyle(document.querySelector('#map')).backgroundColor"))
    await console.emulate_media(color_scheme="dark")  # the desk turns dark for the night
    assert await wait_until(lambda: _is_theme(console, "dark"), timeout_s=5)
    dark_map = _rgb(await console.evaluate("getComputedStyle(document.querySelector('#map')).backgroundColor"))
    assert _luminance(light_map) > 0.5 and _luminance(dark_map) < 0.05  # the map's ground goes dark too
    await console.click("#theme-btn")  # the dispatcher wants it light: both windows follow
    assert await _theme(console) == "light"
    assert await wait_until(lambda: _is_theme(map_window, "light"), timeout_s=5)
    await console.click("#theme-btn")
    assert await wait_until(lambda: _is_theme(map_window, "dark"), timeout_s=5)
    await console.emulate_media(color_scheme="light")  # a choice made stays over the system's
    await console.wait_for_timeout(300)
    assert await _theme(console) == "dark"
    assert console.errors == []
    await context.close()


async def _is_theme(page, theme: str) -> bool:
    return await _theme(page) == theme


async def test_a_mute_holds_in_every_window_of_the_console(browser, city):
    """Muting the queue's window left the map window sounding every call."""
    server, base, tokens = city
    context, console = await open_console(browser, base, tokens["dispatcher"])
    map_window = await context.new_page()
    await map_window.goto(f"{base}/console.html?view=map")
    await map_window.wait_for_selector("text=Connected")
    await console.click("#mute-btn")
    await expect(map_window.locator("#mute-btn")).to_have_text("⊘ Muted")
    await map_window.click("header.bar h1")  # a gesture in the map window: it could sound
    await _incident(Api(base, tokens["dispatcher"]), "ชัก seizure")
    assert await wait_until(lambda: _kinds_raised(map_window, {"new_call"}), timeout_s=10)
    assert [a["audible"] for a in await _raised(map_window)] == [False]
    await console.click("#mute-btn")
    await expect(map_window.locator("#mute-btn")).to_have_text("♪ Sound on")
    assert console.errors == []
    await context.close()
