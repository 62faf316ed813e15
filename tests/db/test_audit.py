import pytest

from dispatch import demo
from tests.conftest import GOOD_REPORT, Api, Socket, make_user, routing_ready


async def test_reading_an_incident_is_audited_and_the_log_cannot_be_changed(server, dispatcher_api):
    _, incident = await dispatcher_api.post("/api/v1/incidents", GOOD_REPORT)
    await dispatcher_api.get(f"/api/v1/incidents/{incident['id']}")
    admin = Api(dispatcher_api.base_url, await make_user(server.ctx.pool, "admin-a", "admin"))
    status, body = await admin.get(f"/api/v1/audit?subject=incident:{incident['id']}")
    assert status == 200
    [entry] = body["entries"]
    assert entry["actor"] == "dispatcher:disp-test" and entry["action"] == "read"
    assert entry["at"].endswith("Z")
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        with pytest.raises(Exception, match="append-only"):
            await server.ctx.pool.execute(statement)


@pytest.fixture
async def city_server(server):
    await demo.seed(server.ctx.store)
    await routing_ready(server)
    return server


async def test_every_read_of_patient_or_crew_data_is_audited(city_server):
    server = city_server
    token = await make_user(server.ctx.pool, "disp-au", "dispatcher")
    dispatcher = Api(f"http://127.0.0.1:{server.config.port}", token)
    _, incident = await dispatcher.post("/api/v1/incidents", GOOD_REPORT)
    incident_id = incident["id"]
    status, body = await dispatcher.post(f"/api/v1/incidents/{incident_id}/assignments", {"unit_id": "CB-ALS-01"})
    assert status == 201, body
    reads = {
        f"/api/v1/incidents/{incident_id}/duplicates": f"incident:{incident_id}:duplicates",
        f"/api/v1/incidents/{incident_id}/assignments": f"incident:{incident_id}:assignments",
        f"/api/v1/incidents/{incident_id}/destinations": f"incident:{incident_id}:destinations",
        f"/api/v1/incidents/{incident_id}/recommendations": f"incident:{incident_id}:recommendations",
        "/api/v1/units": "units",
        "/api/v1/coverage?capability=ALS": "coverage",
        "/api/v1/coverage/moveups": "coverage:moveups",
    }
    await _read_each(dispatcher, reads)
    rows = await server.ctx.pool.fetch("SELECT actor, subject, at FROM audit_log WHERE actor = 'dispatcher:disp-au'")
    assert set(reads.values()) <= {r["subject"] for r in rows}
    assert all(r["at"] is not None for r in rows)
    crew = Api(dispatcher.base_url, await make_user(server.ctx.pool, "crew-au", "crew", unit_id="CB-ALS-01"))
    assert (await crew.get("/api/v1/units"))[0] == 200
    assert await server.ctx.pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE actor = 'crew:crew-au' AND subject = 'units'") == 1


async def test_reads_added_since_are_audited_too(city_server):
    """Calls, staffing, mutual aid, the user registry, reports, replay, the event log and a live subscription."""
    server = city_server
    dispatcher = Api(f"http://127.0.0.1:{server.config.port}", await make_user(server.ctx.pool, "disp-au2",
                                                                               "dispatcher"))
    _, incident = await dispatcher.post("/api/v1/incidents", GOOD_REPORT)
    reads = {
        "/api/v1/calls": "calls",
        "/api/v1/shifts": "shifts",
        "/api/v1/mutual-aid": "mutual-aid",
        "/api/v1/events?since=0": "events",
        f"/api/v1/incidents/{incident['id']}/replay": f"incident:{incident['id']}",
        "/api/v1/reports/kpi": "kpi",
        "/api/v1/reports/items.csv": "items",
        "/api/v1/reports/items-completeness": "items",
    }
    await _read_each(dispatcher, reads)
    socket = await Socket.connect(server.config.port, dispatcher.token)
    await socket.next_of("snapshot")
    socket.conn.close()
    admin = Api(dispatcher.base_url, await make_user(server.ctx.pool, "admin-au2", "admin"))
    assert (await admin.get("/api/v1/users"))[0] == 200
    rows = await server.ctx.pool.fetch("SELECT actor, subject FROM audit_log")
    subjects = {r["subject"] for r in rows if r["actor"] == "dispatcher:disp-au2"}
    expected = set(reads.values()) | {"ws"}
    assert expected <= subjects, expected - subjects
    assert "users" in {r["subject"] for r in rows if r["actor"] == "admin:admin-au2"}


async def _read_each(api: Api, paths) -> None:
    """GET every path; each must answer 200."""
    for path in paths:
        status, body = await api.get(path)
        assert status == 200, (path, body)
