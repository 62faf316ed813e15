"""Replay, KPI reports, live coverage and move-ups through the HTTP API on real PostgreSQL and the city graph."""
from datetime import UTC, datetime

from db import tracks
from dispatch import demo
from tests.conftest import Api, make_user, routing_ready

SCENE = {"lat": 13.3611, "lon": 100.9847}


async def a_call_run_to_the_hospital(server, dispatcher: Api, base: str) -> tuple[int, str]:
    _, incident = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    incident_id = incident["id"]
    _, triaged = await dispatcher.post(f"/api/v1/incidents/{incident_id}/triage", {"group": 1, "determinant": 1})
    [unit_id] = triaged["unit_ids"]  # red (1R1, one ALS unit): auto-dispatched
    crew = Api(base, await make_user(server.ctx.pool, f"crew-{unit_id}", "crew", unit_id=unit_id))
    for n, status in enumerate(["en_route", "on_scene"]):
        await tracks.record_position(server.ctx.pool, unit_id, datetime.now(UTC), 13.35 + n * 0.005,
                                     100.98, 10.0, 90.0, 5.0)
        assert (await crew.post(f"/api/v1/units/{unit_id}/status", {"status": status}))[0] == 200
    return incident_id, unit_id


async def test_replay_returns_the_events_in_seq_order_with_the_units_track(server, dispatcher_api):
    await demo.seed(server.ctx.store)
    await routing_ready(server)
    base = f"http://127.0.0.1:{server.config.port}"
    incident_id, unit_id = await a_call_run_to_the_hospital(server, dispatcher_api, base)
    status, replay = await dispatcher_api.get(f"/api/v1/incidents/{incident_id}/replay")
    assert status == 200
    seqs = [e["seq"] for e in replay["events"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    types = [e["type"] for e in replay["events"]]
    assert types[0] == "IncidentReported" and types.index("UnitAssigned") < types.index("UnitStatusChanged")
    assert [t["unit_id"] for t in replay["tracks"]] == [unit_id] and len(replay["tracks"][0]["points"]) == 2
    assert (await dispatcher_api.get("/api/v1/incidents/999999/replay"))[0] == 404
    crew = Api(base, await make_user(server.ctx.pool, "crew-x", "crew", unit_id=unit_id))
    assert (await crew.get(f"/api/v1/incidents/{incident_id}/replay"))[0] == 403


async def test_kpi_report_and_csv_count_todays_incident(server, dispatcher_api):
    await demo.seed(server.ctx.store)
    await routing_ready(server)
    await a_call_run_to_the_hospital(server, dispatcher_api, f"http://127.0.0.1:{server.config.port}")
    status, report = await dispatcher_api.get("/api/v1/reports/kpi")
    assert status == 200 and report["response"]["red_incidents"] == 1
    overall = {r["interval"]: r for r in report["intervals"] if r["day"] == "all" and r["colour"] == "red"}
    assert overall["travel"]["n"] == 1 and overall["response"]["p50_s"] >= 0 and overall["transport"]["n"] == 0
    status, body = await dispatcher_api.get("/api/v1/reports/kpi?from=2026-13-01")
    assert status == 422 and body["error"]["fields"][0]["field"] == "from"
    assert (await dispatcher_api.get("/api/v1/reports/kpi?from=2026-02-01&to=2026-01-01"))[0] == 422


async def test_coverage_map_and_an_accepted_move_up_becomes_an_event(server, dispatcher_api):
    await demo.seed(server.ctx.store)
    await routing_ready(server)
    status, coverage = await dispatcher_api.get("/api/v1/coverage?capability=ALS")
    assert status == 200 and set(coverage["unit_ids"]) == {"CB-ALS-01", "CB-ALS-02", "CB-ALS-03"}
    etas = [c["eta_s"] for c in coverage["cells"] if c["eta_s"] is not None]
    assert etas and 0 < coverage["covered_share"] <= 1
    status, moves = await dispatcher_api.get("/api/v1/coverage/moveups")
    assert status == 200 and isinstance(moves["suggestions"], list)
    status, unit = await dispatcher_api.post("/api/v1/coverage/moveups",
                                             {"unit_id": "CB-ALS-02", "post_id": "node-7856667470"})
    assert status == 201 and unit["standby_post_id"] == "node-7856667470"
    _, events = await dispatcher_api.get("/api/v1/events?since=0&limit=5000")
    assert events["events"][-1]["type"] == "UnitRelocated"
    status, after = await dispatcher_api.get("/api/v1/coverage?capability=ALS")
    assert after["covered_share"] != coverage["covered_share"]
    assert (await dispatcher_api.post("/api/v1/coverage/moveups", {"unit_id": "CB-ALS-02", "post_id": "nowhere"}))[0] == 422
    assert (await dispatcher_api.post("/api/v1/coverage/moveups", {"unit_id": "nobody", "post_id": "node-7856667470"}))[0] == 404
    assert (await dispatcher_api.get("/api/v1/coverage?capability=XYZ"))[0] == 422
