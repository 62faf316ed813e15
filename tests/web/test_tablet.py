"""The crew tablet on a phone: big buttons without sideways scrolling, the destination chooser, the route to the
chosen hospital, and GPS pings from the browser reaching the dispatcher's view of the unit."""
from tests.conftest import Api, wait_until
from tests.web.conftest import open_page

SCENE = {"lat": 13.3611, "lon": 100.9847}
PHONE = {"width": 390, "height": 844}


async def _assigned_job(api: Api, unit_id: str) -> dict:
    _, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE, "chief_complaint": "ปวดท้อง"})
    await api.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": unit_id})
    return incident


async def test_phone_layout_destination_chooser_and_route_to_the_hospital(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    incident = await _assigned_job(api, "CB-BLS-01")
    context, phone = await open_page(browser, f"{base}/tablet.html#token={tokens['CB-BLS-01']}", **PHONE)
    await phone.click("#respond")
    await phone.wait_for_selector("#instructions li")
    assert await phone.inner_text("#route-to") == "Route to the scene"
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    for button in await phone.locator(".status-grid button").all():
        box = await button.bounding_box()
        assert box["height"] >= 64 and box["width"] >= 150  # gloved-finger targets

    await phone.click("button[data-status='on_scene']")
    choices = phone.locator("#destinations button[data-hospital]")
    await choices.first.wait_for()
    assert await phone.locator("#destinations .badge", has_text="Recommended").count() == 1
    chosen_id = await choices.nth(1).get_attribute("data-hospital")  # the crew may overrule the recommendation
    await choices.nth(1).click()
    await phone.locator(f"#destinations li.chosen button[data-hospital='{chosen_id}']").wait_for()
    await phone.click("button[data-status='transporting']")
    await phone.wait_for_selector("#route-to:has-text('Route to the hospital')")
    await phone.wait_for_selector("#instructions li")
    assert await wait_until(lambda: _incident_is(api, incident["id"], "transporting", chosen_id))
    assert phone.errors == []
    await context.close()


async def _incident_is(api: Api, incident_id: int, status: str, hospital_id: str) -> bool:
    _, incident = await api.get(f"/api/v1/incidents/{incident_id}")
    return incident["status"] == status and incident["destination_hospital_id"] == hospital_id


async def test_gps_pings_from_the_browser_reach_the_dispatcher(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    await _assigned_job(api, "CB-ALS-02")
    here = {"latitude": 13.3550, "longitude": 100.9800}
    context, tablet = await open_page(browser, f"{base}/tablet.html#token={tokens['CB-ALS-02']}", width=768,
                                      height=1024, permissions=["geolocation"], geolocation=here)
    await tablet.wait_for_selector("#job:not([hidden])")
    assert await wait_until(lambda: _position_of(api, "CB-ALS-02", here))
    assert tablet.errors == []
    await context.close()


async def _position_of(api: Api, unit_id: str, expected: dict) -> bool:
    _, body = await api.get("/api/v1/units")
    position = body["positions"].get(unit_id)
    return bool(position) and abs(position["lat"] - expected["latitude"]) < 1e-4 \
        and abs(position["lon"] - expected["longitude"]) < 1e-4
