"""The call-taker flow in the browser (issue #16): a dispatcher locates a caller by typing a Thai landmark and
picking a suggestion with the keyboard, triages and assigns without touching the map; a wrong pick is corrected by
dragging the pin; an address-only SMS arrives placed by the geocoder with its confidence on the console. Real
server, PostgreSQL, gazetteer and Chromium; Twilio is the loopback fake."""
from __future__ import annotations

import json
import math
import time
from urllib.parse import quote

from dispatch import demo
from dispatch.places import distance_m
from ops.bench.geocode import BROWSER_LANDMARK, BROWSER_TYPED, pick_suggestion, type_a_new_call
from tests.conftest import Api, make_user, routing_ready, wait_until
from tests.integrations.conftest import dispatcher, ems, fake_twilio, twilio  # noqa: F401 - fixtures
from tests.integrations.test_twilio import call_params
from tests.places.conftest import places_ready
from tests.web.conftest import open_console, open_page, shot, watch_writes, writes_seen

LANDMARK, TYPED = BROWSER_LANDMARK, BROWSER_TYPED  # a hospital of the province POI file, as a dispatcher types it
LOCATED_WITHIN_S = 20  # issue #16: a located incident within 20 s of answering, by keystrokes


async def _place(api: Api, name: str) -> dict:
    _, body = await api.get(f"/api/v1/geocode?q={quote(name)}&limit=1")
    return body["results"][0]


async def _located(api: Api) -> list[dict]:
    _, body = await api.get("/api/v1/incidents")
    return [i for i in body["incidents"] if i["location"] is not None]


async def _location_events(server, incident_id: int) -> list[dict]:
    rows = await server.ctx.pool.fetch("SELECT payload FROM events WHERE stream = $1 AND type = 'LocationConfirmed'"
                                       " ORDER BY seq", f"incident-{incident_id}")
    return [json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"] for r in rows]


async def test_a_thai_landmark_typed_and_picked_by_keyboard_is_triaged_and_assigned_without_the_map(browser, city):
    server, base, tokens = city
    await places_ready(server)
    api = Api(base, tokens["dispatcher"])
    hospital = await _place(api, LANDMARK)
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}", locale="th-TH",
                                       width=1440, height=900)
    await console.wait_for_selector("#status-line:has-text('เชื่อมต่อแล้ว')")

    started = time.monotonic()
    names = await type_a_new_call(console, TYPED)  # the benchmark's steps (ops/bench/geocode.py)
    assert await console.evaluate("document.activeElement.id") == "locate-q"  # N put the cursor in the location box
    assert any(LANDMARK in n for n in names)
    assert await console.locator(".candidate-pin").count() == len(names)  # each suggestion drawn on the map
    await console.keyboard.press("ArrowDown")
    assert await console.locator("#locate-suggestions li.active").get_attribute("data-index") == str(1 % len(names))
    await console.keyboard.press("ArrowUp")
    await console.screenshot(path=shot("console-new-call"))
    await pick_suggestion(console, next(n for n, text in enumerate(names) if LANDMARK in text))
    assert await wait_until(lambda: _located(api), LOCATED_WITHIN_S)
    located_s = time.monotonic() - started
    print(f"\nNew call (N) to located incident: {located_s:.1f} s")
    assert located_s <= LOCATED_WITHIN_S
    [incident] = await _located(api)
    assert distance_m(incident["location"]["lat"], incident["location"]["lon"], hospital["lat"], hospital["lon"]) < 1
    assert incident["address"] == TYPED  # what the caller said is kept

    # the location's source and the dispatcher who chose it are recorded; recommendations are there at once
    assert await wait_until(lambda: _location_events(server, incident["id"]), 10)
    [confirmed] = await _location_events(server, incident["id"])
    assert confirmed["source"] == "typed_address" and confirmed["confirmed_by"] == "disp-web"
    assert confirmed["label"] == LANDMARK
    await console.locator("#recommendations button[data-unit]").first.wait_for(timeout=10_000)
    await console.locator("#place-description").filter(has_text=LANDMARK).wait_for(timeout=10_000)

    # the chief complaint opens the CBD card and its key questions
    assert await console.evaluate("document.activeElement.id") == "complaint-q"
    await console.keyboard.type("เจ็บแน่นหน้าอก")
    await console.locator("#complaint-cards li[data-group='7'].active").wait_for()
    await console.keyboard.press("Enter")
    await console.locator("#interview-questions li[data-question='sweating_faint']").wait_for(timeout=10_000)
    assert await console.locator("#interview-card").input_value() == "7"
    await console.screenshot(path=shot("console-new-call-located"))
    await console.locator("#interview-questions li[data-question='sweating_faint'] button[data-answer='no']").click()
    await console.locator("#interview-questions li[data-question='over_35_heart'] button[data-answer='yes']").click()
    await console.locator("#proposed-code").wait_for(timeout=10_000)
    await console.locator("#interview-confirm").click()
    await console.locator("#interview-recorded").wait_for(timeout=10_000)

    # A assigns the top recommended unit; the per-call timer stops at the first assignment
    await console.locator("#recommendations button[data-unit]").first.wait_for(timeout=10_000)
    await console.keyboard.press("a")
    await console.locator("#call-timer.dispatched").wait_for(timeout=15_000)
    _, assigned = await api.get(f"/api/v1/incidents/{incident['id']}")
    assert assigned["status"] == "assigned" and assigned["triage"]["group"] == 7
    [timing] = await console.evaluate("import('/js/console/calltimer.js').then(m => m.callTimes)")
    assert timing["incident_id"] == incident["id"] and 0 < timing["answer_to_dispatch_s"] < time.monotonic() - started
    print(f"Answer to dispatch (console timer): {timing['answer_to_dispatch_s']} s")
    assert str(timing["answer_to_dispatch_s"]) in await console.inner_text("#call-timer")
    _, report = await api.get("/api/v1/reports/kpi")  # the figure reaches the NFPA 1225 call KPIs
    assert report["calls"]["console_calls"] == 1 and report["calls"]["intervals"]["to_dispatch"]["n"] == 1
    assert abs(report["calls"]["intervals"]["to_dispatch"]["p50_s"] - timing["answer_to_dispatch_s"]) < 2

    # the crew's tablet shows the place in words beside the address and coordinates
    tablet_ctx, tablet = await open_page(browser, f"{base}/tablet.html#token={tokens[assigned['unit_ids'][0]]}",
                                         width=768, height=1024, locale="th-TH")
    await tablet.locator("#job-address").filter(has_text=LANDMARK).wait_for(timeout=15_000)
    assert TYPED in await tablet.inner_text("#job-address") and tablet.errors == []
    await tablet_ctx.close()
    assert console.errors == []
    await context.close()


async def test_a_wrong_suggestion_is_corrected_by_dragging_the_pin(browser, city):
    server, base, tokens = city
    await places_ready(server)
    api = Api(base, tokens["dispatcher"])
    hospital = await _place(api, LANDMARK)
    context, console = await open_console(browser, base, tokens["dispatcher"])
    names = await type_a_new_call(console, TYPED)
    await pick_suggestion(console, next(n for n, text in enumerate(names) if LANDMARK not in text))  # a slip
    assert await wait_until(lambda: _located(api), LOCATED_WITHIN_S)
    [incident] = await _located(api)
    assert distance_m(incident["location"]["lat"], incident["location"]["lon"], hospital["lat"], hospital["lon"]) > 50

    # both the pin and the right place in view, then the pin dragged onto the hospital
    pin = console.locator(".locate-pin")
    await pin.wait_for()
    zoom = await console.evaluate(f"""import('/js/console/map.js').then(({{map}}) => {{
        map.fitBounds([[{incident['location']['lat']}, {incident['location']['lon']}], [{hospital['lat']}, {hospital['lon']}]],
                      {{padding: [80, 80], animate: false, maxZoom: 17}});
        return map.getZoom(); }})""")
    target = await console.evaluate(f"""import('/js/console/map.js').then(({{map}}) => {{
        const p = map.latLngToContainerPoint([{hospital['lat']}, {hospital['lon']}]); return [p.x, p.y]; }})""")
    box = await console.locator("#map").bounding_box()
    grab = await pin.bounding_box()
    # the pin's point is its icon's anchor (14, 34 px from the icon's top left): grab it there
    start = (grab["x"] + 14, grab["y"] + 34 - 4)
    await console.mouse.move(*start)
    await console.mouse.down()
    await console.mouse.move(box["x"] + target[0], box["y"] + target[1] - 4, steps=12)
    await console.mouse.up()

    async def moved() -> bool:
        events = await _location_events(server, incident["id"])
        return len(events) >= 2 and events[-1]["source"] == "map_pin"
    assert await wait_until(moved, 10)
    event = (await _location_events(server, incident["id"]))[-1]
    assert event["confirmed_by"] == "disp-web" and event["label"]  # described by the reverse geocoder
    _, corrected = await api.get(f"/api/v1/incidents/{incident['id']}")
    assert corrected["location"] == event["location"] and corrected["location_source"] == "map_pin"
    metres_per_px = 40_075_016 * math.cos(math.radians(hospital["lat"])) / 2 ** (zoom + 8)
    off_m = distance_m(corrected["location"]["lat"], corrected["location"]["lon"], hospital["lat"], hospital["lon"])
    assert off_m <= 6 * metres_per_px + 5, (off_m, metres_per_px)
    await console.locator("#place-label").filter(has_text="map pin").wait_for(timeout=10_000)
    assert console.errors == []
    await context.close()


async def test_an_address_only_sms_arrives_geocoded_with_its_confidence_on_the_console(browser, ems, twilio, dispatcher):
    await demo.seed(ems.ctx.store)
    await routing_ready(ems)
    await places_ready(ems)
    token = await make_user(ems.ctx.pool, "disp-sms", "dispatcher")
    context, console = await open_page(browser, f"{dispatcher.base_url}/console.html#token={token}")
    await console.wait_for_selector("text=Connected")
    text = {"MessageSid": "SM" + "6" * 32, "From": "+66811112222", "Body": f"มีคนหมดสติ หน้า{TYPED}"}
    assert (await twilio.post("/twilio/sms", text))[0] == 200
    assert await wait_until(lambda: _located(dispatcher), 30)
    [incident] = await _located(dispatcher)
    assert incident["location_source"] == "geocoder" and incident["location_label"] == LANDMARK

    row = console.locator(f"#incident-list li[data-id='{incident['id']}']")
    await row.filter(has_text="Placed by the geocoder").wait_for(timeout=10_000)  # the queue's flag
    await row.click()
    confidence = console.locator("#incident-panel .geocoded-confidence")
    await confidence.wait_for(timeout=10_000)
    assert f"confidence {round(incident['location_confidence'] * 100)}%" in await confidence.inner_text()
    assert float(await confidence.get_attribute("data-confidence")) == incident["location_confidence"]
    _, full = await dispatcher.get(f"/api/v1/incidents/{incident['id']}")
    await console.locator("#place-description").filter(has_text=full["place"]["description_en"]).wait_for(timeout=10_000)
    await console.locator(".locate-pin").wait_for()  # the dispatcher can drag it to correct it

    await confidence.locator("#confirm-place").click()  # or confirm the candidate as it is
    await confidence.wait_for(state="detached", timeout=10_000)
    _, confirmed = await dispatcher.get(f"/api/v1/incidents/{incident['id']}")
    assert confirmed["location"] == incident["location"] and "location_unverified" not in confirmed["location_flags"]
    assert (await _location_events(ems, incident["id"]))[-1]["confirmed_by"] == "disp-sms"
    assert console.errors == []
    await context.close()


async def test_an_answered_call_shows_the_callers_shared_location_with_its_accuracy_and_searches_near_it(
        browser, ems, twilio, fake_twilio, dispatcher):
    await demo.seed(ems.ctx.store)
    await routing_ready(ems)
    await places_ready(ems)
    sid = "CA" + "d" * 32
    assert (await twilio.post("/twilio/voice", call_params(sid)))[0] == 200
    await ems.integrations.after.drain()
    [sms] = fake_twilio.sent("sms")
    shared = {"lat": 13.3500, "lon": 100.9800}
    status, body = await Api(dispatcher.base_url, None).post(
        "/api/v1/share/location", {"token": sms.params["Body"].split("#t=")[1], "location": shared, "accuracy_m": 35})
    assert status == 200
    incident_id = body["incident_id"]

    await dispatcher.call("PUT", "/api/v1/me/desk-line", {"desk_line": "+66380001669"})
    context, console = await open_page(browser, f"{dispatcher.base_url}/console.html#token={dispatcher.token}")
    searches: list[str] = []
    console.on("request", lambda r: searches.append(r.url) if "/api/v1/geocode" in r.url else None)
    await console.locator(f'#call-list li[data-sid="{sid}"] button.answer-call').click(timeout=15_000)
    await console.locator("#new-incident:not([hidden])").wait_for(timeout=10_000)
    assert await console.evaluate("document.activeElement.id") == "locate-q"  # the call's timer runs, ready to type
    assert "Call" in await console.inner_text("#call-timer")
    caller = console.locator("#incident-panel .caller-location")
    await caller.wait_for(timeout=10_000)
    assert "±35 m" in await caller.inner_text()
    radius = await console.evaluate("""import('/js/console/place.js').then(async ({accuracy}) => {
        const {map} = await import('/js/console/map.js'); return map.hasLayer(accuracy) ? accuracy.getRadius() : null; })""")
    assert radius == 35  # drawn on the map as a circle of that radius

    await console.keyboard.type(TYPED)
    await console.locator("#locate-suggestions li[data-index]").first.wait_for(timeout=10_000)
    assert any(f"near={shared['lat']:.5f}%2C{shared['lon']:.5f}" in url for url in searches), searches
    await console.keyboard.press("Enter")  # the best suggestion places the call's incident (no new incident)

    async def moved() -> bool:
        events = await _location_events(ems, incident_id)
        return bool(events) and events[-1]["source"] == "typed_address"
    assert await wait_until(moved, 10)
    _, located = await dispatcher.get("/api/v1/incidents")
    assert [i["id"] for i in located["incidents"]] == [incident_id]
    await console.locator("#incident-panel .caller-location").wait_for(state="detached", timeout=10_000)
    assert console.errors == []
    await context.close()


async def test_the_call_timer_redraws_on_the_calls_whole_seconds_and_only_what_changed(browser, server):
    token = await make_user(server.ctx.pool, "disp-timer", "dispatcher")
    context, console = await open_page(browser, f"http://127.0.0.1:{server.config.port}/console.html#token={token}",
                                       fake_clock=True)
    await console.wait_for_selector("text=Connected")
    await console.clock.pause_at(await console.evaluate("Date.now()") + 1000)  # the page's time moves when we say
    await console.keyboard.press("n")  # a call answered: its clock starts at this instant
    await console.locator("#call-timer:not([hidden])").wait_for()
    await watch_writes(console, "#call-timer, #call-timer-form")
    await console.clock.run_for(999)
    assert await console.inner_text("#call-timer") == "Call 0 s"
    await console.clock.run_for(1)
    assert await console.inner_text("#call-timer") == "Call 1 s"  # on the call's second, not up to a beat later
    await console.clock.run_for(4000)
    writes = await writes_seen(console)
    assert [w["after"] for w in writes if w["target"] == "call-timer" and w["kind"] == "text"] == [
        f"Call {s} s" for s in range(1, 6)]  # one redraw a second
    assert [w for w in writes if w["before"] == w["after"]] == []  # and nothing written again as it was
    assert console.errors == []
    await context.close()
