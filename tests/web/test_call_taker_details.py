"""What the call-taker types after the incident exists is kept (issue #16 follow-up): a dispatcher presses N, picks a
place, then types the chief complaint, the caller's phone and name; each is saved on the incident. The first save is
cut off on its way (the network failing): the console says it is not saved, keeps the edit, and saves it on retry."""
from __future__ import annotations

from ops.bench.geocode import BROWSER_LANDMARK, BROWSER_TYPED, pick_suggestion, type_a_new_call
from tests.conftest import Api, wait_until
from tests.places.conftest import places_ready
from tests.web.conftest import open_console

COMPLAINT = "เจ็บแน่นหน้าอก เหงื่อออก"
PHONE = "081 234 5678"
NAME = "สมศรี ใจดี"


async def test_details_typed_after_the_location_are_saved_and_a_failed_save_is_retried(browser, city):
    server, base, tokens = city
    await places_ready(server)
    api = Api(base, tokens["dispatcher"])
    context, console = await open_console(browser, base, tokens["dispatcher"])
    patches = {"aborted": 0, "sent": 0}

    async def first_patch_fails(route):
        if route.request.method != "PATCH":
            await route.continue_()
        elif patches["aborted"] == 0:
            patches["aborted"] += 1
            await route.abort("connectionreset")
        else:
            patches["sent"] += 1
            await route.continue_()

    await console.route("**/api/v1/incidents/*", first_patch_fails)

    names = await type_a_new_call(console, BROWSER_TYPED)
    await pick_suggestion(console, next(n for n, text in enumerate(names) if BROWSER_LANDMARK in text))
    await console.locator("#complaint-q:focus").wait_for(timeout=15_000)
    _, listing = await api.get("/api/v1/incidents")
    [incident] = listing["incidents"]
    assert incident["chief_complaint"] is None and incident["callers"] == []  # created before any of it was typed

    await console.keyboard.type(COMPLAINT)
    await console.locator("input[name=caller_phone]").click()  # leaving the complaint saves it: that save fails
    await console.locator("#details-status.error").wait_for(timeout=10_000)
    assert "Not saved" in await console.inner_text("#details-status")
    await console.keyboard.type(PHONE)
    await console.locator("#new-incident-more summary").click()
    await console.locator("input[name=caller_name]").click()
    await console.keyboard.type(NAME)
    await console.keyboard.press("Tab")

    async def stored() -> dict:
        return (await api.get(f"/api/v1/incidents/{incident['id']}"))[1]

    async def saved() -> bool:
        now = await stored()
        return now["chief_complaint"] == COMPLAINT and [(c["phone"], c["name"]) for c in now["callers"]] == [(PHONE, NAME)]

    assert await wait_until(saved, 20), await stored()
    assert (await stored())["address"] == BROWSER_TYPED  # what the caller said first is still there
    await console.locator("#details-status", has_text="Saved").wait_for(timeout=10_000)
    assert patches["aborted"] == 1 and patches["sent"] >= 1
    await console.locator("#incident-panel", has_text=PHONE).wait_for(timeout=10_000)  # the panel shows it
    events = await server.ctx.pool.fetch("SELECT payload, actor FROM events WHERE stream = $1"
                                         " AND type = 'IncidentDetailsUpdated' ORDER BY seq", f"incident-{incident['id']}")
    assert events and {e["actor"] for e in events} == {"dispatcher:disp-web"}
    assert console.errors == []
    await context.close()
