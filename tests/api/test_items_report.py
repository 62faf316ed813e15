"""The NIEMS ITEMS export (issue #19): a day's closed operations as CSV, every column filled for a complete one, and
the completeness report naming what an incomplete one lacks."""
import csv
import io

from dispatch import demo, items
from tests.conftest import Api, make_user, routing_ready

SCENE = {"lat": 13.3611, "lon": 100.9847}


async def crew_for(server, base: str, unit_id: str) -> Api:
    return Api(base, await make_user(server.ctx.pool, f"crew-{unit_id}", "crew", unit_id=unit_id))


async def move(crew: Api, unit_id: str, *statuses: str) -> None:
    for status in statuses:
        code, body = await crew.post(f"/api/v1/units/{unit_id}/status", {"status": status})
        assert code == 200, body


async def a_complete_operation(server, dispatcher: Api, base: str) -> int:
    """Red call, auto-dispatched, to hospital, closed as transported, the unit back at base."""
    _, incident = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    _, triaged = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/triage", {"group": 1, "determinant": 1})
    [unit_id] = triaged["unit_ids"]
    crew = await crew_for(server, base, unit_id)
    await move(crew, unit_id, "en_route", "on_scene")
    code, _ = await crew.post(f"/api/v1/incidents/{incident['id']}/destinations", {"hospital_id": "way-525523960"})
    assert code == 200
    await move(crew, unit_id, "transporting", "at_hospital")
    code, _ = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/status",
                                    {"status": "closed", "disposition": "treated_transported"})
    assert code == 200
    await move(crew, unit_id, "available")
    return incident["id"]


async def an_incomplete_operation(server, dispatcher: Api, base: str) -> int:
    """Never triaged, closed from the scene with no close-out code."""
    _, incident = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    code, _ = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": "CB-BLS-02"})
    assert code == 201
    await move(await crew_for(server, base, "CB-BLS-02"), "CB-BLS-02", "en_route", "on_scene")
    code, _ = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/status", {"status": "closed"})
    assert code == 200
    return incident["id"]


async def test_a_days_closed_operations_export_as_items_csv_and_the_incomplete_one_is_reported(server, dispatcher_api):
    await demo.seed(server.ctx.store)
    await routing_ready(server)
    base = f"http://127.0.0.1:{server.config.port}"
    complete = await a_complete_operation(server, dispatcher_api, base)
    incomplete = await an_incomplete_operation(server, dispatcher_api, base)
    await dispatcher_api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})  # still open: not exported

    response = await dispatcher_api.http.fetch(f"{base}/api/v1/reports/items.csv", raise_error=False,
                                               headers={"Authorization": f"Bearer {dispatcher_api.token}"})
    assert response.code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert [int(r["incident_id"]) for r in rows] == [complete, incomplete]
    assert list(rows[0]) == list(items.COLUMNS)
    full = rows[0]
    assert all(full[column] for column in items.COLUMNS), {c: v for c, v in full.items() if not v}
    assert full["unit_level"] == "ALS" and full["agency_id"] == demo.HOSPITAL_TEAM and full["cbd_code"] == "1R1"
    assert full["colour"] == "red" and full["colour_th"] == "แดง" and full["outcome"] == "transported"
    assert full["hospital_id"] == "way-525523960" and full["hospital_name"]
    times = [full[c] for c in items.TIME_COLUMNS]
    assert times == sorted(times) and all(t.endswith("+07:00") for t in times)
    assert rows[1]["cbd_code"] == "" and rows[1]["outcome"] == ""

    status, report = await dispatcher_api.get("/api/v1/reports/items-completeness")
    assert status == 200 and report["operations"] == 2 and report["complete"] == 1
    [lacking] = report["incomplete"]
    assert lacking["incident_id"] == incomplete and lacking["unit_id"] == "CB-BLS-02"
    assert set(lacking["missing"]) == {"cbd_code", "colour", "depart_scene_at", "outcome"}

    _, other = await dispatcher_api.get("/api/v1/reports/items-completeness?agency=sawang-cb")
    assert other["operations"] == 0
    _, pao = await dispatcher_api.get(f"/api/v1/reports/items-completeness?agency={demo.PAO}")
    assert pao["operations"] == 1  # CB-BLS-02's operation: the demo's PAO unit
    _, yesterday = await dispatcher_api.get("/api/v1/reports/items-completeness?from=2026-01-01&to=2026-01-02")
    assert yesterday["operations"] == 0
    status, body = await dispatcher_api.get("/api/v1/reports/items-completeness?from=2026-02-01&to=2026-01-01")
    assert status == 422 and body["error"]["fields"][0]["field"] == "to"
    crew = await crew_for(server, base, "CB-ALS-02")
    assert (await crew.get("/api/v1/reports/items.csv"))[0] == 403
    assert (await crew.get("/api/v1/reports/items-completeness"))[0] == 403
