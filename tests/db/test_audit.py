import pytest

from dispatch import demo
from tests.conftest import GOOD_REPORT, Api, make_user, routing_ready


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
    for path in reads:
        status, body = await dispatcher.get(path)
        assert status == 200, (path, body)
    rows = await server.ctx.pool.fetch("SELECT actor, subject, at FROM audit_log WHERE actor = 'dispatcher:disp-au'")
    assert set(reads.values()) <= {r["subject"] for r in rows}
    assert all(r["at"] is not None for r in rows)
    crew = Api(dispatcher.base_url, await make_user(server.ctx.pool, "crew-au", "crew", unit_id="CB-ALS-01"))
    assert (await crew.get("/api/v1/units"))[0] == 200
    assert await server.ctx.pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE actor = 'crew:crew-au' AND subject = 'units'") == 1
