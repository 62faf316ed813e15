"""PATCH /api/v1/incidents/{id}: what the call-taker types after the incident exists (caller's name and phone, chief
complaint, address, channel) is kept as one IncidentDetailsUpdated with only what changed."""
import pytest

from tests.conftest import Api, make_user

SCENE = {"lat": 13.3611, "lon": 100.9847}


async def new_incident(api: Api, **fields) -> dict:
    status, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE, **fields})
    assert status == 201, incident
    return incident


async def patch(api: Api, incident_id: int, body, **kw):
    return await api.call("PATCH", f"/api/v1/incidents/{incident_id}", body, **kw)


async def detail_events(server, incident_id: int) -> list:
    return await server.ctx.pool.fetch(
        "SELECT payload, actor FROM events WHERE stream = $1 AND type = 'IncidentDetailsUpdated' ORDER BY seq",
        f"incident-{incident_id}")


async def test_typed_details_are_stored_with_only_what_changed(server, dispatcher_api):
    incident = await new_incident(dispatcher_api, chief_complaint="ล้ม")
    status, updated = await patch(dispatcher_api, incident["id"], {
        "caller": {"name": "สมศรี", "phone": "081 234 5678"}, "chief_complaint": "ล้ม หมดสติ",
        "address": "หน้าเซเว่น ซ.5", "channel": "phone"})
    assert status == 200, updated
    assert updated["callers"][0] == {"phone": "081 234 5678", "name": "สมศรี", "channel": "phone",
                                     "line_user_id": None}
    assert (updated["chief_complaint"], updated["address"]) == ("ล้ม หมดสติ", "หน้าเซเว่น ซ.5")
    status, fetched = await dispatcher_api.get(f"/api/v1/incidents/{incident['id']}")
    assert status == 200 and fetched["callers"] == updated["callers"]
    [event] = await detail_events(server, incident["id"])
    payload = event["payload"]
    assert {k for k in payload if k not in ("at", "v")} == {
        "incident_id", "caller_name", "caller_phone", "chief_complaint", "address"}  # channel did not change
    assert event["actor"] == "dispatcher:disp-test"


async def test_each_edit_is_an_event_and_the_history_keeps_the_old_values(server, dispatcher_api):
    incident = await new_incident(dispatcher_api, caller={"phone": "0811111111"}, address="ซ.5")
    for phone in ("0822222222", "0833333333"):
        status, _ = await patch(dispatcher_api, incident["id"], {"caller": {"phone": phone}})
        assert status == 200
    status, cleared = await patch(dispatcher_api, incident["id"], {"address": ""})
    assert status == 200 and cleared["address"] is None
    assert cleared["callers"][0]["phone"] == "0833333333"
    events = [e["payload"] for e in await detail_events(server, incident["id"])]
    assert [e.get("caller_phone") for e in events] == ["0822222222", "0833333333", None]
    assert "address" in events[2] and events[2]["address"] is None and "caller_phone" not in events[2]
    reported = await server.ctx.pool.fetchval(
        "SELECT payload FROM events WHERE stream = $1 AND type = 'IncidentReported'", f"incident-{incident['id']}")
    assert '"0811111111"' in str(reported) or "0811111111" in str(reported)  # the first value stays in the log


async def test_an_edit_that_changes_nothing_writes_nothing(server, dispatcher_api):
    incident = await new_incident(dispatcher_api, chief_complaint="เจ็บอก", caller={"name": "นิด"})
    before = await server.ctx.pool.fetchval("SELECT max(seq) FROM events")
    for body in ({}, {"chief_complaint": "เจ็บอก", "caller": {"name": "นิด"}}, {"channel": "phone"}):
        status, same = await patch(dispatcher_api, incident["id"], body)
        assert status == 200 and same["chief_complaint"] == "เจ็บอก"
    assert await server.ctx.pool.fetchval("SELECT max(seq) FROM events") == before


async def test_bad_fields_are_422_naming_each_and_nothing_is_written(server, dispatcher_api):
    incident = await new_incident(dispatcher_api)
    status, body = await patch(dispatcher_api, incident["id"], {
        "caller": {"phone": "call me", "name": "x" * 201}, "chief_complaint": 5, "channel": "pigeon",
        "location": SCENE, "colour": "red"})
    assert status == 422, body
    fields = {f["field"] for f in body["error"]["fields"]}
    assert fields == {"caller.phone", "caller.name", "chief_complaint", "channel", "location", "colour"}
    status, body = await patch(dispatcher_api, incident["id"], ["not", "an", "object"])
    assert status == 422 and body["error"]["fields"][0]["field"] == "body"
    assert await detail_events(server, incident["id"]) == []


@pytest.mark.parametrize("raw, field", [
    ('{"address": "ซ.5\\u0000"}'.encode(), "address"),
    (b'{"caller": {"name": "\\ud800"}}', "caller.name"),
])
async def test_text_postgresql_cannot_store_is_refused(server, dispatcher_api, raw, field):
    incident = await new_incident(dispatcher_api)
    status, body = await dispatcher_api.call("PATCH", f"/api/v1/incidents/{incident['id']}", raw=raw)
    assert status == 422, body
    assert [f["field"] for f in body["error"]["fields"]] == [field]
    assert await detail_events(server, incident["id"]) == []


async def test_a_closed_or_cancelled_incident_is_409_and_a_missing_one_404(server, dispatcher_api):
    incident = await new_incident(dispatcher_api)
    status, body = await dispatcher_api.post(f"/api/v1/incidents/{incident['id']}/status",
                                             {"status": "cancelled", "disposition": "cancelled_by_caller"})
    assert status == 200, body
    status, body = await patch(dispatcher_api, incident["id"], {"chief_complaint": "ล้ม"})
    assert status == 409, body
    assert await detail_events(server, incident["id"]) == []
    status, _ = await patch(dispatcher_api, 987654, {"chief_complaint": "ล้ม"})
    assert status == 404


async def test_only_dispatchers_and_admins_may_change_a_report(server, dispatcher_api):
    incident = await new_incident(dispatcher_api)
    base = f"http://127.0.0.1:{server.config.port}"
    admin = Api(base, await make_user(server.ctx.pool, "admin-1", "admin"))
    status, body = await patch(admin, incident["id"], {"chief_complaint": "ล้ม"})
    assert status == 200 and body["chief_complaint"] == "ล้ม"
    for user_id, role, extra in (("crew-1", "crew", {"unit_id": "CB-BLS-01"}),
                                 ("ed-1", "hospital", {"hospital_id": "H1"}), ("panic-1", "device", {})):
        outsider = Api(base, await make_user(server.ctx.pool, user_id, role, **extra))
        status, body = await patch(outsider, incident["id"], {"chief_complaint": role})
        assert status == 403, (role, body)
    status, _ = await patch(Api(base), incident["id"], {"chief_complaint": "anon"})
    assert status == 401
    assert [e["payload"]["chief_complaint"] for e in await detail_events(server, incident["id"])] == ["ล้ม"]


async def test_a_caller_is_added_when_the_report_had_none(server, dispatcher_api):
    incident = await new_incident(dispatcher_api, channel="sms")
    assert incident["callers"] == []
    status, body = await patch(dispatcher_api, incident["id"], {"caller": {"name": "ป้าแดง"}})
    assert status == 200
    assert body["callers"] == [{"phone": None, "name": "ป้าแดง", "channel": "sms", "line_user_id": None}]
