"""The console's picture of the fleet under a busy shift: a just-assigned unit is never taken for released, and the
unit board keeps up while unit events never pause."""
import asyncio

from playwright.async_api import expect

from ops.clients import Api
from tests.web.conftest import open_console

SCENE = {"lat": 13.3611, "lon": 100.9847}
WATCH_RELEASED_FLAGS = """() => {
  window.releasedFlags = 0;
  new MutationObserver(() => { window.releasedFlags += document.querySelectorAll('.released-flag').length; })
    .observe(document.querySelector('#queue'), {childList: true, subtree: true, characterData: true});
}"""


async def test_a_just_assigned_incident_is_never_shown_as_all_units_released(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    context, console = await open_console(browser, base, tokens["dispatcher"])
    await console.click("#units-btn")
    await console.evaluate(WATCH_RELEASED_FLAGS)
    for unit_id in ("CB-ALS-01", "CB-BLS-01"):
        _, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE,
                                                           "chief_complaint": f"fall ({unit_id})"})
        status, _ = await api.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": unit_id})
        assert status == 201
        await expect(console.locator(f"#unit-board tr[data-unit='{unit_id}']")).to_contain_text(f"#{incident['id']}")
    await console.wait_for_timeout(500)  # any late re-read has landed
    assert await console.evaluate("window.releasedFlags") == 0
    assert console.errors == []
    await context.close()


async def test_the_unit_board_keeps_up_while_unit_events_never_pause(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    context, console = await open_console(browser, base, tokens["dispatcher"])
    await console.click("#units-btn")
    busy = asyncio.Event()

    async def steady_unit_events():  # another unit changes status every 100 ms, with no pause of 300 ms
        for n in range(80):
            asyncio.ensure_future(api.post("/api/v1/units/CB-BLS-02/status",
                                           {"status": "out_of_service" if n % 2 == 0 else "available",
                                            "reason": "fuel"}))
            if n == 5:
                busy.set()
            await asyncio.sleep(0.1)

    stream = asyncio.ensure_future(steady_unit_events())
    try:
        await busy.wait()
        status, _ = await api.post("/api/v1/units/CB-ALS-01/status", {"status": "out_of_service", "reason": "tyre"})
        assert status == 200
        row = console.locator("#unit-board tr[data-unit='CB-ALS-01']")
        await expect(row).to_contain_text("tyre", timeout=4000)  # while the other unit's events still come
        assert not stream.done()
    finally:
        await stream
    assert console.errors == []
    await context.close()
