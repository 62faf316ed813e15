"""A crew reloading the tablet in the middle of a job (user walk): until the server has told the tablet its unit's
state, it never shows "Available — waiting for a call". It shows the last job saved on the tablet, marked as not
yet confirmed, or a loading panel on a tablet that has none; a slow or failing API only delays the confirmation.
The shift panel (log off) shows only while the unit is known to have no job."""
import asyncio
import re

from playwright.async_api import Error as PlaywrightError

from tests.conftest import Api, wait_until
from tests.web.conftest import open_page

SCENE = {"lat": 13.3611, "lon": 100.9847}
UNIT = "CB-BLS-04"
UNITS_API = re.compile(r"/api/v1/units(\?.*)?$")
INCIDENTS_API = re.compile(r"/api/v1/incidents/\d+$")
ME_API = re.compile(r"/api/v1/me$")

# Records every moment the idle panel is visible, from the first byte of each page load (an init script).
WATCH_IDLE = """
window.idleSeen = [];
const lookForIdle = () => {
  const idle = document.querySelector('#idle');
  if (idle && idle.checkVisibility()) window.idleSeen.push(idle.innerText.trim() || '(empty idle panel)');
};
new MutationObserver(lookForIdle).observe(document, {childList: true, subtree: true, attributes: true, characterData: true});
setInterval(lookForIdle, 20);
"""


async def _tablet(browser, base: str, token: str):
    # service workers blocked: the test's request interception must see the page's API calls
    context, page = await open_page(browser, "about:blank", service_workers="block")
    await page.add_init_script(WATCH_IDLE)
    await page.goto(f"{base}/tablet.html#token={token}")
    return context, page


async def _en_route(api: Api, page) -> dict:
    _, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE, "chief_complaint": "ปวดท้อง"})
    await api.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": UNIT})
    await page.click("#respond")
    await page.wait_for_selector("#unit-status:has-text('en route')")
    assert await wait_until(lambda: _unit_is(api, "en_route"))
    return incident


async def _unit_is(api: Api, status: str) -> bool:
    _, body = await api.get("/api/v1/units")
    return any(u["id"] == UNIT and u["status"] == status for u in body["units"])


def _slow(seconds: float):
    async def handler(route):
        await asyncio.sleep(seconds)
        try:
            await route.continue_()
        except PlaywrightError:  # the page was reloaded meanwhile: the request is gone
            pass
    return handler


async def test_a_reload_mid_job_shows_the_saved_job_unconfirmed_never_the_idle_panel(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    context, page = await _tablet(browser, base, tokens[UNIT])
    incident = await _en_route(api, page)

    await page.route(UNITS_API, _slow(2.5))  # the unit's state comes late (a slow mobile link)
    await page.route(ME_API, _slow(4))  # and who is logged in later still: the saved job does not wait for it
    await page.reload()
    await page.wait_for_timeout(1000)  # the unit's state is still on its way
    assert await page.evaluate("window.idleSeen") == []
    await page.wait_for_selector("#job-unconfirmed:not([hidden])", timeout=2000)
    assert "Not yet confirmed" in await page.inner_text("#job-unconfirmed")
    assert f"#{incident['id']}" in await page.inner_text("#job-title")
    assert await page.inner_text("#unit-status") == "en route"
    assert await page.inner_text("#unit-title") == UNIT
    await page.wait_for_selector("#job-unconfirmed[hidden]", state="attached", timeout=10000)  # confirmed by the server
    assert await page.is_visible("#job") and not await page.is_visible("#loading")
    assert not await page.is_visible("#shift-panel")  # no log-off button in the middle of a job
    assert await page.evaluate("window.idleSeen") == []

    # without signal (every unit and incident request fails) the saved job stays, still marked unconfirmed
    await page.unroute(UNITS_API)
    await page.unroute(ME_API)
    await page.route(UNITS_API, lambda route: route.abort())
    await page.route(INCIDENTS_API, lambda route: route.abort())
    await page.reload()
    await page.wait_for_selector("#job-unconfirmed:not([hidden])", timeout=2000)
    await page.wait_for_timeout(1500)
    assert await page.is_visible("#job-unconfirmed") and await page.is_visible("#job")
    # the signal returns: the tablet asks again by itself and the job is confirmed
    await page.unroute(UNITS_API)
    await page.unroute(INCIDENTS_API)
    await page.wait_for_selector("#job-unconfirmed[hidden]", state="attached", timeout=15000)
    assert await page.evaluate("window.idleSeen") == []
    assert page.errors == []
    await context.close()


async def test_a_tablet_with_no_saved_job_shows_loading_until_it_knows(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    _, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE, "chief_complaint": "ปวดท้อง"})
    await api.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": UNIT})
    context, page = await open_page(browser, "about:blank", service_workers="block")
    await page.add_init_script(WATCH_IDLE)
    await page.route(UNITS_API, _slow(2.5))
    await page.goto(f"{base}/tablet.html#token={tokens[UNIT]}")
    await page.wait_for_timeout(1000)
    assert await page.evaluate("window.idleSeen") == []
    await page.wait_for_selector("#loading:visible", timeout=2000)
    assert "Loading" in await page.inner_text("#loading")
    assert not await page.is_visible("#job") and not await page.is_visible("#shift-panel")
    await page.wait_for_selector("#job:not([hidden])", timeout=10000)
    assert not await page.is_visible("#loading") and await page.is_hidden("#job-unconfirmed")
    assert await page.evaluate("window.idleSeen") == []

    # a unit with no job: once known, the idle panel (and the loading panel gone)
    code, _ = await api.post(f"/api/v1/incidents/{incident['id']}/status", {"status": "cancelled", "disposition": "duplicate"})
    assert code == 200
    await page.reload()
    await page.wait_for_selector("#idle:visible", timeout=15000)
    assert not await page.is_visible("#loading") and not await page.is_visible("#job")
    await page.wait_for_selector("#shift-panel #log-off")  # with no job the crew may log off
    assert page.errors == []
    await context.close()
