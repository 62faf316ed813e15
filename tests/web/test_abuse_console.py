"""RELIABILITY 18 and 20 in the dispatcher console: an incident outside the service area is flagged to the
dispatcher and not auto-dispatched; hostile text is shown literally, never run."""
from tests.conftest import Api
from tests.web.conftest import open_console

OUTSIDE = {"lat": 13.75, "lon": 100.50}  # Bangkok: outside Chon Buri's service area
HOSTILE = "<img src=x onerror=\"window.pwned=1\"> \u202eRTL e\u0301 🚑"


async def test_console_prompts_for_an_outside_area_red_call_and_shows_hostile_text_literally(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    context, console = await open_console(browser, base, tokens["dispatcher"])
    status, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": OUTSIDE,
                                                            "chief_complaint": HOSTILE})
    assert status == 201 and incident["location_flags"] == ["outside_service_area"]
    _, triaged = await api.post(f"/api/v1/incidents/{incident['id']}/triage", {"group": 6, "determinant": 1})
    assert triaged["triage"]["colour"] == "red" and triaged["unit_ids"] == []  # red, yet never auto-dispatched
    row = console.locator(f"#incident-list li[data-id='{incident['id']}']")
    await row.wait_for()
    await row.locator(".flag", has_text="Outside service area").wait_for()  # the dispatcher's prompt
    assert HOSTILE.split(" ")[0] in await row.inner_text()  # the markup is text on the page
    assert await console.evaluate("window.pwned === undefined")
    assert await console.locator("#incident-list img").count() == 0
    assert console.errors == []
    await context.close()
