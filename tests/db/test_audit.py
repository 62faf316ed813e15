import pytest

from tests.conftest import GOOD_REPORT, Api, make_user


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
