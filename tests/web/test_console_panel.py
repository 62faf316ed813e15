"""The selected incident's panel under live events: a redraw keeps the lists the dispatcher is about to press."""
from tests.conftest import Api
from tests.web.conftest import open_console

SCENE = {"lat": 13.3611, "lon": 100.9847}

# Set when, after any change to the panel, the destinations list has no button to press (it shows "…" while it
# reloads): a D pressed then does nothing. MutationObserver callbacks see the panel once a redraw has finished.
WATCH_DESTINATIONS = """() => {
  window.destinationsBlanked = false;
  new MutationObserver(() => {
    if (!document.querySelector("#destinations button[data-hospital]")) window.destinationsBlanked = true;
  }).observe(document.querySelector("#incident-panel"), {childList: true, subtree: true});
}"""


async def test_a_live_event_redraws_the_panel_without_blanking_the_hospitals_under_the_d_key(browser, city):
    """Before, every event that changed the panel (a unit assigned, vitals recorded) drew the destinations afresh
    as "…" until they reloaded: a D pressed in that moment was lost (seen in CI as a send that never happened)."""
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    _, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE, "chief_complaint": "ล้ม"})
    context, console = await open_console(browser, base, tokens["dispatcher"])
    await console.locator(f"#incident-list li[data-id='{incident['id']}']").click()
    await console.locator("#destinations button[data-hospital]").first.wait_for()
    await console.locator("#incident-panel h3").evaluate("h => { h.dataset.before = 'redraw'; }")
    await console.evaluate(WATCH_DESTINATIONS)

    status, _ = await api.post(f"/api/v1/incidents/{incident['id']}/vitals", {"heart_rate": 128, "spo2": 91})
    assert status == 201
    await console.locator("#incident-panel h3:not([data-before])").wait_for()  # the event redrew the panel
    assert await console.evaluate("window.destinationsBlanked") is False

    hospital_id = await console.locator("#destinations button[data-hospital]").first.get_attribute("data-hospital")
    await console.keyboard.press("d")  # the kept list's button still acts
    await console.locator(f"#destinations .rec.chosen[data-destination='{hospital_id}']").wait_for()
    _, after = await api.get(f"/api/v1/incidents/{incident['id']}")
    assert after["destination_hospital_id"] == hospital_id
    assert console.errors == []
    await context.close()
