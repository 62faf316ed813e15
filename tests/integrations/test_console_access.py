"""Only dispatchers read a caller's SMS thread and history or text the caller; each read is audited."""
import pytest

from tests.conftest import Api, make_user

CALLER = "+66812345678"


@pytest.fixture
async def sms_incident(ems) -> int:
    incident, _, _ = await ems.ctx.twilio.inbound_sms(
        {"MessageSid": "SM" + "6" * 32, "From": CALLER, "Body": "help"})
    return incident.id


@pytest.mark.parametrize("role, extra", [("crew", {"unit_id": "CB01"}), ("hospital", {"hospital_id": "H1"})])
async def test_crews_and_hospitals_may_not_read_the_thread_or_history_or_text_the_caller(ems, sms_incident, role,
                                                                                        extra):
    other = Api(f"http://127.0.0.1:{ems.config.port}", await make_user(ems.ctx.pool, f"{role}-x", role, **extra))
    assert (await other.get(f"/api/v1/incidents/{sms_incident}/messages"))[0] == 403
    assert (await other.get(f"/api/v1/incidents/{sms_incident}/caller-history"))[0] == 403
    assert (await other.post(f"/api/v1/incidents/{sms_incident}/messages", {"body": "hi"}))[0] == 403


async def test_thread_and_history_reads_are_audited(ems, dispatcher, sms_incident):
    assert (await dispatcher.get(f"/api/v1/incidents/{sms_incident}/messages"))[0] == 200
    status, history = await dispatcher.get(f"/api/v1/incidents/{sms_incident}/caller-history")
    assert status == 200 and history["phones"] == [CALLER]
    subjects = {r["subject"] for r in await ems.ctx.pool.fetch("SELECT subject FROM audit_log WHERE action = 'read'")}
    assert {f"incident:{sms_incident}:messages", f"incident:{sms_incident}:caller-history"} <= subjects


async def test_a_reply_must_have_text_and_an_unknown_incident_is_404(dispatcher, sms_incident):
    status, body = await dispatcher.post(f"/api/v1/incidents/{sms_incident}/messages", {"body": "   "})
    assert status == 422 and body["error"]["fields"][0]["field"] == "body"
    assert (await dispatcher.get("/api/v1/incidents/999999/caller-history"))[0] == 404
