"""An ETA outside the road graph's coverage (a straight-line estimate) is flagged wherever an ETA is shown: the
console's recommendations, assignments and destinations, the crew tablet's route and destinations, the hospital
board; and the console's one-tap Assign / Send and the A / D shortcuts act on such an entry only on a second,
deliberate press. The API's flags (`outside_coverage`, `eta_source`, `snap_distance_m`) are put into the real
responses by routing them in the browser, so these tests do not depend on the server computing them."""
import json

from playwright.async_api import Error as PlaywrightError

from tests.conftest import Api, wait_until
from tests.web.conftest import inbound_patient, open_page, shot

SCENE = {"lat": 13.3611, "lon": 100.9847}
ESTIMATE = {"outside_coverage": True, "eta_source": "straight_line", "snap_distance_m": 1240.0}
WARNING = {"en": ("Outside road coverage", "straight-line estimate", "1.2 km from a road"),
           "th": ("นอกพื้นที่ถนน", "ประมาณเส้นตรง", "ห่างถนน 1.2 กม.")}


def flag_first(key: str):
    """A route handler that passes the real API response on with its first `key` entry flagged as an estimate
    (the others marked as road ETAs); `key` None flags the whole body (a route)."""
    async def handle(route):
        if route.request.method != "GET":
            await route.continue_()
            return
        try:
            response = await route.fetch()
            body = await response.json()
        except PlaywrightError:
            return  # the page went away while a poll was in flight (e.g. the board closing): nothing to show
        if not response.ok:
            await route.fulfill(response=response)
            return
        entries = body[key] if key else [body]
        for n, entry in enumerate(entries):
            entry.update(ESTIMATE if n == 0 else {"outside_coverage": False, "eta_source": "road", "snap_distance_m": 8.0})
        await route.fulfill(response=response, body=json.dumps(body))
    return handle


def _shows_all(text: str, parts: tuple[str, ...]) -> bool:
    return all(part in text for part in parts)


async def _status(api: Api, incident_id: int) -> str:
    _, incident = await api.get(f"/api/v1/incidents/{incident_id}")
    return incident["status"]


async def test_console_flags_an_estimated_eta_and_needs_a_second_press_to_assign(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    _, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE, "chief_complaint": "ล้ม"})
    context, console = await open_page(browser, "about:blank")
    await console.route("**/api/v1/incidents/*/recommendations", flag_first("recommendations"))
    await console.route("**/api/v1/incidents/*/destinations", flag_first("destinations"))
    posts: list[str] = []
    console.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    await console.goto(f"{base}/console.html#token={tokens['dispatcher']}")
    await console.wait_for_selector("text=Connected")
    await console.locator(f"#incident-list li[data-id='{incident['id']}']").click()

    top = console.locator("#recommendations .rec").first
    badge = top.locator("[data-coverage-warning]")
    await badge.wait_for()
    assert _shows_all(await badge.inner_text(), WARNING["en"])
    assert await console.locator("#recommendations .rec").nth(1).locator("[data-coverage-warning]").count() == 0
    unit_id = await top.locator("button[data-unit]").get_attribute("data-unit")

    await console.keyboard.press("a")  # the shortcut presses the top Assign: it only arms it and shows why
    armed = top.locator("button[data-unit].armed")
    await armed.wait_for()
    assert "Outside road coverage" in await armed.inner_text()
    assert not [url for url in posts if url.endswith("/assignments")]
    await console.screenshot(path=shot("console-eta-warning"))
    assert await _status(api, incident["id"]) == "received"  # nothing was sent

    await console.keyboard.press("a")  # the second, deliberate press assigns
    assert await wait_until(lambda: _assigned_to(api, incident["id"], unit_id))

    await console.route("**/api/v1/incidents/*/assignments", flag_first("assignments"))
    await console.select_option("#lang", "th")  # re-renders the panel: the warning in Thai, on the assignment too
    assigned = console.locator("#assignments .rec [data-coverage-warning]")
    await assigned.wait_for()
    assert _shows_all(await assigned.inner_text(), WARNING["th"])
    await console.keyboard.press("Escape")  # out of the language menu, so the shortcuts work again

    destination = console.locator("#destinations .rec").first
    await destination.locator("[data-coverage-warning]").wait_for()
    await console.keyboard.press("d")  # the same guard on the hospital
    await destination.locator("button[data-hospital].armed").wait_for()
    assert not [url for url in posts if url.endswith("/destinations")]
    await console.keyboard.press("d")
    await console.locator("#destinations .rec.chosen").wait_for()
    assert console.errors == []
    await context.close()


async def _assigned_to(api: Api, incident_id: int, unit_id: str) -> bool:
    _, incident = await api.get(f"/api/v1/incidents/{incident_id}")
    return incident["unit_ids"] == [unit_id]


async def test_tablet_and_hospital_board_flag_an_estimated_eta(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    incident, hospital_id = await inbound_patient(server, api, "CB-BLS-01", "หอบ")

    tablet_ctx, tablet = await open_page(browser, "about:blank", width=768, height=1024, locale="th-TH")
    await tablet.route("**/api/v1/route?*", flag_first(None))
    await tablet.route("**/api/v1/incidents/*/destinations", flag_first("destinations"))
    await tablet.goto(f"{base}/tablet.html#token={tokens['CB-BLS-01']}")
    await tablet.select_option("#lang", "th")
    await tablet.click("#respond")
    route_warning = tablet.locator("#route-warning [data-coverage-warning]")
    await route_warning.wait_for()
    assert _shows_all(await route_warning.inner_text(), WARNING["th"])
    await tablet.locator("#destinations li").first.locator("[data-coverage-warning]").wait_for()
    assert await tablet.locator("#destinations li").nth(1).locator("[data-coverage-warning]").count() == 0

    board_ctx, board = await open_page(browser, "about:blank")
    await board.route("**/api/v1/hospitals/*/inbound", flag_first("inbound"))
    await board.goto(f"{base}/hospital.html#token={tokens[hospital_id]}")
    eta = board.locator(f"#inbound li[data-id='{incident['id']}'] .eta")
    await eta.locator("[data-coverage-warning]").wait_for()
    assert _shows_all(await eta.inner_text(), WARNING["en"])
    await tablet.screenshot(path=shot("tablet-eta-warning"))
    await board.screenshot(path=shot("hospital-eta-warning"))
    assert tablet.errors == [] and board.errors == []
    await tablet_ctx.close()
    await board_ctx.close()


async def test_a_first_press_stays_armed_when_a_live_update_redraws_the_hospitals(browser, city):
    """A hospital's bed count changing between the dispatcher's two presses redraws the destinations: the first
    press must hold (before, the redraw dropped it and the second press only armed the button again)."""
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    _, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE, "chief_complaint": "ล้ม"})
    context, console = await open_page(browser, "about:blank")
    await console.route("**/api/v1/incidents/*/destinations", flag_first("destinations"))
    await console.goto(f"{base}/console.html#token={tokens['dispatcher']}")
    await console.wait_for_selector("text=Connected")
    await console.locator(f"#incident-list li[data-id='{incident['id']}']").click()
    button = console.locator("#destinations .rec").first.locator("button[data-hospital]")
    await console.locator("#destinations .rec").first.locator("[data-coverage-warning]").wait_for()
    await button.click()  # the first press arms
    await console.locator("#destinations button[data-hospital].armed").wait_for()
    await console.locator("#destinations").evaluate(  # marks that are gone once the list is drawn again
        "box => box.querySelectorAll('button').forEach(b => { b.dataset.before = 'redraw'; })")
    hospital_id = await button.get_attribute("data-hospital")
    hospital = Api(base, tokens[hospital_id])
    status, _ = await hospital.post(f"/api/v1/hospitals/{hospital_id}/capacity", {"ed_beds_free": 3, "diversion": False})
    assert status == 200
    await console.locator("#destinations button[data-hospital]:not([data-before])").first.wait_for()  # redrawn
    await console.locator(f"#destinations button[data-hospital='{hospital_id}'].armed").click()  # the second acts
    await console.locator("#destinations .rec.chosen").wait_for()
    _, after = await api.get(f"/api/v1/incidents/{incident['id']}")
    assert after["destination_hospital_id"] == hospital_id
    assert console.errors == []
    await context.close()
