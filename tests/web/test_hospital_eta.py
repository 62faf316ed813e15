"""The hospital board's ETA in a real browser: every board, opened whenever, counts down to the same arrival time;
no countdown before transport (the crew's stage instead, and a labelled scene-to-hospital estimate); transporting
counts down from the unit's latest position and follows it as it moves; at hospital the patient shows as arrived
and stays listed; a stale unit position is labelled."""
import asyncio
import json
from datetime import UTC, datetime, timedelta

from dispatch.model import LatLon
from tests.conftest import Api, wait_until
from tests.web.conftest import inbound_patient, open_page, shot

UNIT = "CB-BLS-01"
SCENE = LatLon(13.3611, 100.9847)


def seconds(text: str) -> int:
    m, s = text.strip().split(":")
    return int(m) * 60 + int(s)


async def _move(crew: Api, *statuses: str) -> None:
    for status in statuses:
        code, body = await crew.post(f"/api/v1/units/{UNIT}/status", {"status": status})
        assert code == 200, body


def _between(hospital: LatLon, f: float) -> dict:
    return {"lat": SCENE.lat + (hospital.lat - SCENE.lat) * f, "lon": SCENE.lon + (hospital.lon - SCENE.lon) * f}


async def _remaining_by_api(api: Api, hospital_id: str, incident_id: int) -> float:
    """The time left to the API's arrival_at, on the server's clock."""
    _, body = await api.get(f"/api/v1/hospitals/{hospital_id}/inbound")
    [patient] = [p for p in body["inbound"] if p["id"] == incident_id]
    return (datetime.fromisoformat(patient["arrival_at"]) - datetime.fromisoformat(body["server_time"])).total_seconds()


async def _shown(board, incident_id: int) -> int:
    return seconds(await board.locator(f"#inbound li[data-id='{incident_id}'] .eta-left").inner_text())


async def test_two_boards_opened_at_different_times_show_the_same_time_left(browser, city):
    """Before, each board counted down from its own fetch: one opened 6 s later showed 6 s more."""
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    incident, hospital_id = await inbound_patient(server, api, UNIT, "หอบ")
    hospital = await server.ctx.store.get("hospitals", hospital_id)
    assert await server.ctx.avl.report(UNIT, _between(hospital.location, 0.3))
    await _move(Api(base, tokens[UNIT]), "en_route", "on_scene", "transporting")

    first_ctx, first = await open_page(browser, f"{base}/hospital.html#token={tokens[hospital_id]}")
    await first.locator(f"#inbound li[data-id='{incident['id']}'] .eta-left").wait_for()
    await asyncio.sleep(6)
    second_ctx, second = await open_page(browser, f"{base}/hospital.html#token={tokens[hospital_id]}")
    await second.locator(f"#inbound li[data-id='{incident['id']}'] .eta-left").wait_for()
    a, b = await _shown(first, incident["id"]), await _shown(second, incident["id"])
    assert a > 0 and abs(a - b) <= 2, (a, b)
    expected = await _remaining_by_api(api, hospital_id, incident["id"])
    assert abs(b - expected) <= 2, (b, expected)

    await second.reload()  # a reload does not restart the countdown either
    await second.locator(f"#inbound li[data-id='{incident['id']}'] .eta-left").wait_for()
    a, b = await _shown(first, incident["id"]), await _shown(second, incident["id"])
    assert abs(a - b) <= 2, (a, b)
    assert first.errors == [] and second.errors == []
    await first_ctx.close()
    await second_ctx.close()


async def test_the_board_follows_the_crew_from_assignment_to_arrival(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    crew = Api(base, tokens[UNIT])
    incident, hospital_id = await inbound_patient(server, api, UNIT, "เจ็บหน้าอก")
    hospital = await server.ctx.store.get("hospitals", hospital_id)
    context, board = await open_page(browser, f"{base}/hospital.html#token={tokens[hospital_id]}")
    row = board.locator(f"#inbound li[data-id='{incident['id']}']")

    # before transport: the stage, a labelled scene-to-hospital estimate, and no countdown
    stale_s = server.config.page_stale_position_s
    server.ctx.clock.offset = timedelta(seconds=-(stale_s + 120))  # the crew reached the scene long ago
    try:
        for statuses, stage, text in (((), "assigned", "Unit assigned"), (("en_route",), "en_route", "En route to scene"),
                                      (("on_scene",), "on_scene", "On scene")):
            await _move(crew, *statuses)
            await board.locator(f"#inbound li[data-id='{incident['id']}'][data-stage='{stage}']").wait_for()
            eta = await row.locator(".eta").inner_text()
            assert text in eta and "Scene-to-hospital estimate" in eta
            assert await row.locator(".eta-left").count() == 0
    finally:
        server.ctx.clock.offset = timedelta(0)
    estimate_text = await row.locator(".transport-estimate").inner_text()
    _, body = await api.get(f"/api/v1/hospitals/{hospital_id}/inbound")
    from_scene_s = body["inbound"][0]["transport_estimate_s"]
    await asyncio.sleep(2)
    assert await row.locator(".transport-estimate").inner_text() == estimate_text  # an estimate, not counting down

    # transporting: counts down from the unit's position (halfway), to the API's arrival time
    assert await server.ctx.avl.report(UNIT, _between(hospital.location, 0.5))
    await _move(crew, "transporting")
    await board.locator(f"#inbound li[data-id='{incident['id']}'][data-stage='transporting'] .eta-left").wait_for()
    _, body = await api.get(f"/api/v1/hospitals/{hospital_id}/inbound")
    [patient] = body["inbound"]
    assert patient["eta_from"] == "unit_position" and patient["eta_s"] < from_scene_s - 5  # from halfway
    halfway_left = await _shown(board, incident["id"])
    assert abs(halfway_left - await _remaining_by_api(api, hospital_id, incident["id"])) <= 2
    assert "From the unit's position at" in await row.locator(".eta").inner_text()
    assert await row.locator("[data-position-stale]").count() == 0
    await board.screenshot(path=shot("hospital-transporting"))

    # the unit moves on: the board recomputes from its new position (at its next refresh)
    await asyncio.sleep(1.1)  # past the AVL's one-position-a-second limit
    assert await server.ctx.avl.report(UNIT, _between(hospital.location, 0.95))
    near_left = await _remaining_by_api(api, hospital_id, incident["id"])
    assert near_left < halfway_left - 5
    assert await wait_until(lambda: _shows_about(board, incident["id"], api, hospital_id), timeout_s=30)

    # the position goes stale: labelled
    avl = server.ctx.avl
    old = datetime.now(UTC) - timedelta(seconds=stale_s + 60)  # the tablet silent since
    await avl.redis.hset(avl.hash_prefix + UNIT, mapping={"json": json.dumps(
        {"unit_id": UNIT, "at": old.isoformat(), **_between(hospital.location, 0.95)})})
    await board.reload()
    stale = row.locator("[data-position-stale]")
    await stale.wait_for()
    assert "Unit position stale" in await stale.inner_text()

    # at hospital: arrived, no countdown, still listed until the crew hands over
    await _move(crew, "at_hospital")
    arrived = board.locator(f"#inbound li[data-id='{incident['id']}'][data-stage='arrived']")
    await arrived.wait_for()
    assert "Arrived" in await arrived.locator(".eta").inner_text()
    assert await arrived.locator(".eta-left").count() == 0
    assert await board.inner_text("#count") == "1"
    await board.select_option("#lang", "th")
    assert "ถึงแล้ว" in await arrived.locator(".eta").inner_text()
    assert "ถึงโรงพยาบาลแล้ว" in await arrived.inner_text()
    await board.screenshot(path=shot("hospital-arrived"))
    assert board.errors == []
    await context.close()


async def _shows_about(board, incident_id: int, api: Api, hospital_id: str) -> bool:
    return abs(await _shown(board, incident_id) - await _remaining_by_api(api, hospital_id, incident_id)) <= 2
