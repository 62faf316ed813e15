"""The three pages in a real browser (Debian's Chromium via Playwright): one end-to-end story, the offline
queue of the crew tablet, and the console's degraded banner."""
import asyncio

from runtime.local_services import redis_server
from server import Server
from tests.conftest import Api, make_user, reset_state, server_config, wait_until
from tests.web.conftest import open_page, shot, tablet_on_a_job

SCENE = {"lat": 13.3611, "lon": 100.9847}


async def test_incident_to_hospital_board_story(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    console_ctx, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}")
    await console.wait_for_selector("text=Connected")
    _, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE,
                                                       "chief_complaint": "ชายหมดสติ หายใจเฮือก <b>e2e</b>"})
    row = console.locator(f"#incident-list li[data-id='{incident['id']}']")
    await row.wait_for()
    assert "<b>e2e</b>" in await row.inner_text()  # markup shown literally, not rendered
    await row.click()
    assign = console.locator("#recommendations button[data-unit]").first
    await assign.wait_for()
    unit_id = await assign.get_attribute("data-unit")
    await assign.click()
    assert await wait_until(lambda: _status(api, incident["id"], "assigned"))
    await console.screenshot(path=shot("story-console"))

    tablet_ctx, tablet = await open_page(browser, f"{base}/tablet.html#token={tokens[unit_id]}", width=768, height=1024)
    await tablet.wait_for_selector("#job:not([hidden])")
    assert "ชายหมดสติ" in await tablet.inner_text("#job-complaint")
    await tablet.click("#respond")
    assert await wait_until(lambda: _status(api, incident["id"], "en_route"))
    await console.locator(f"#incident-list li[data-id='{incident['id']}']", has_text="En route").wait_for()
    await tablet.wait_for_selector("#instructions li")
    destination = tablet.locator("#destinations button[data-hospital]").first
    await destination.wait_for()
    hospital_id = await destination.get_attribute("data-hospital")
    await destination.click()
    await tablet.screenshot(path=shot("story-tablet"))

    board_ctx, board = await open_page(browser, f"{base}/hospital.html#token={tokens[hospital_id]}")
    patient = board.locator(f"#inbound li.patient[data-id='{incident['id']}']")
    await patient.wait_for()
    eta = await patient.locator(".eta").inner_text()
    assert "En route to scene" in eta and "Scene-to-hospital estimate" in eta  # not transporting yet: no countdown
    assert await patient.locator(".eta-left").count() == 0
    assert await board.inner_text("#count") == "1"
    await board.screenshot(path=shot("story-hospital"))
    for page in (console, tablet, board):
        assert page.errors == []
    for ctx in (console_ctx, tablet_ctx, board_ctx):
        await ctx.close()


async def _status(api: Api, incident_id: int, expected: str) -> bool:
    _, incident = await api.get(f"/api/v1/incidents/{incident_id}")
    return incident["status"] == expected


async def test_tablet_queues_a_status_change_offline_and_delivers_it_once(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    incident, context, tablet = await tablet_on_a_job(browser, base, tokens, "CB-BLS-02", "ล้ม", width=768, height=1024)
    await tablet.wait_for_selector("#job:not([hidden])")
    await tablet.click("#respond")
    assert await wait_until(lambda: _status(api, incident["id"], "en_route"))
    # Chromium's offline emulation leaves WebSockets alone, so new sockets are refused by a route while offline.
    network = {"up": False}

    async def socket_while_offline(route):
        if network["up"]:
            route.connect_to_server()
        else:
            await route.close(code=4000, reason="offline")

    await context.route_web_socket("**/ws*", socket_while_offline)
    await context.set_offline(True)
    await tablet.evaluate("import('/js/tablet.js').then(m => m.realtime.socket.close())")
    await tablet.wait_for_selector("#degraded.show")
    await tablet.click("button[data-status='on_scene']")
    await tablet.wait_for_selector("#queue-badge", state="visible")
    await asyncio.sleep(1)
    assert await _status(api, incident["id"], "en_route")  # nothing reached the server while offline
    network["up"] = True
    await context.set_offline(False)
    assert await wait_until(lambda: _status(api, incident["id"], "on_scene"), timeout_s=30)
    await tablet.wait_for_selector("#queue-badge", state="hidden")
    events = await server.ctx.store.events_since(0, limit=5000)
    on_scene = [e for e in events if e.type == "UnitStatusChanged" and e.payload["status"] == "on_scene"]
    assert len(on_scene) == 1
    await context.close()


async def test_console_shows_degraded_banner_when_redis_stops(browser, database_url, tmp_path):
    redis = redis_server(tmp_path / "redis").start()
    redis_url = f"redis://127.0.0.1:{redis.port}/0"
    await reset_state(database_url, redis_url)
    running = Server(server_config(database_url, redis_url))
    await running.start()
    try:
        token = await make_user(running.ctx.pool, "disp-deg", "dispatcher")
        context, console = await open_page(browser, f"http://127.0.0.1:{running.config.port}/console.html#token={token}")
        await console.wait_for_selector("text=Connected")
        assert not await console.is_visible("#degraded")
        redis.kill()
        await console.wait_for_selector("#degraded.show", timeout=15000)
        await console.screenshot(path=shot("console-degraded"))
        redis.start()
        await console.wait_for_selector("#degraded:not(.show)", state="attached", timeout=15000)
        await context.close()
    finally:
        await running.stop()
        redis.stop()


async def test_dispatcher_triages_from_the_cbd_card_in_the_console(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    _, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": {"lat": 13.75, "lon": 100.5},
                                                       "chief_complaint": "ไม่หายใจ"})
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}")
    row = console.locator(f"#incident-list li[data-id='{incident['id']}']")
    await row.wait_for()
    await row.click()
    await console.select_option("#cbd-group", "6")
    await console.click("#cbd-card button[data-determinant='1']")
    assert await wait_until(lambda: _triaged(api, incident["id"], "6R1"))
    await console.locator(f"#incident-list li[data-id='{incident['id']}'] .badge", has_text="6R1").wait_for()
    assert console.errors == []
    await context.close()


async def _triaged(api: Api, incident_id: int, code: str) -> bool:
    _, incident = await api.get(f"/api/v1/incidents/{incident_id}")
    return (incident.get("triage") or {}).get("code") == code
