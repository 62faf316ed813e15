"""Issue #19 item 3 over HTTP: crews log on to a unit (who is on board, qualifications) and off; a unit without a
crew is not recommended; staffing and out-of-service reasons are listed per agency."""
from datetime import UTC, datetime, timedelta

import pytest

from dispatch import demo
from dispatch.access import Identity
from dispatch.errors import Forbidden
from tests.conftest import make_user

CREW = [{"name": "สมชาย ใจดี", "qualification": "EMT-B"}, {"name": "Malee", "qualification": "driver"}]
PAO_DISPATCHER = Identity("disp-pao", "PAO dispatcher", "dispatcher", agency_id=demo.PAO)


async def test_staffing_is_listed_per_agency(province):
    status, body = await province.centre.get("/api/v1/shifts")
    assert status == 200 and len(body["units"]) == len(demo.FLEET)
    assert all(u["staffed"] and u["shift"]["crew"] for u in body["units"])  # the demo starts every unit on shift
    status, body = await province.pao.get("/api/v1/shifts")
    assert status == 200 and {u["id"] for u in body["units"]} == {"CB-BLS-02", "CB-BLS-03", "CB-BLS-04"}
    qualifications = [m["qualification"] for m in body["units"][0]["shift"]["crew"]]
    assert "EMT-B" in qualifications


async def test_a_unit_whose_crew_logged_off_is_not_recommended_until_a_crew_logs_on(province):
    incident_id = await province.report()
    status, ranked = await province.centre.get(f"/api/v1/incidents/{incident_id}/recommendations")
    assert status == 200 and "CB-BLS-02" in {r["unit_id"] for r in ranked["recommendations"]}
    status, unit = await province.pao.call("DELETE", "/api/v1/shifts/CB-BLS-02?reason=end%20of%20shift")
    assert status == 200 and unit["staffed"] is False and unit["shift"] is None and unit["off_shift_since"]
    status, ranked = await province.centre.get(f"/api/v1/incidents/{incident_id}/recommendations")
    assert "CB-BLS-02" not in {r["unit_id"] for r in ranked["recommendations"]}
    status, body = await province.centre.post(f"/api/v1/incidents/{incident_id}/assignments", {"unit_id": "CB-BLS-02"})
    assert status == 409 and "no crew" in body["error"]["message"]
    assert (await province.pao.call("DELETE", "/api/v1/shifts/CB-BLS-02"))[0] == 409  # nobody left to log off
    status, unit = await province.pao.post("/api/v1/shifts", {"unit_id": "CB-BLS-02", "crew": CREW,
                                                              "ends_at": "2099-01-01T08:00:00+07:00"})
    assert status == 201, unit
    assert unit["staffed"] and [m["name"] for m in unit["shift"]["crew"]] == ["สมชาย ใจดี", "Malee"]
    assert (await province.pao.post("/api/v1/shifts", {"unit_id": "CB-BLS-02", "crew": CREW}))[0] == 409
    status, ranked = await province.centre.get(f"/api/v1/incidents/{incident_id}/recommendations")
    assert "CB-BLS-02" in {r["unit_id"] for r in ranked["recommendations"]}


async def test_another_agency_cannot_log_a_crew_on_or_off_its_units(province):
    refused = (403, "unit CB-BLS-02 belongs to another agency: ask for it through mutual aid")
    status, body = await province.foundation.call("DELETE", "/api/v1/shifts/CB-BLS-02")
    assert (status, body["error"]["message"]) == refused
    status, body = await province.foundation.post("/api/v1/shifts", {"unit_id": "CB-BLS-02", "crew": CREW})
    assert (status, body["error"]["message"]) == refused
    status, body = await province.foundation.post("/api/v1/shifts", {"unit_id": "NO-SUCH", "crew": CREW})
    assert status == 422 and body["error"]["fields"] == [{"field": "unit_id", "code": "no_such_unit", "reason": "no such unit"}]
    status, body = await province.foundation.call("DELETE", "/api/v1/shifts/NO-SUCH")
    assert (status, body["error"]["message"]) == (404, "no unit NO-SUCH")
    assert (await province.server.ctx.store.get("units", "CB-BLS-02")).staffed


async def test_a_crew_logs_its_own_unit_off_and_on_but_no_other(province):
    token = await make_user(province.server.ctx.pool, "crew-fr1", "crew", unit_id="CB-FR-01")
    crew = province.api(token)
    status, body = await crew.get("/api/v1/shifts")
    assert status == 200 and [u["id"] for u in body["units"]] == ["CB-FR-01"]
    assert (await crew.call("DELETE", "/api/v1/shifts/CB-FR-02"))[0] == 403
    status, unit = await crew.call("DELETE", "/api/v1/shifts/CB-FR-01")
    assert status == 200 and not unit["staffed"]
    status, body = await crew.post("/api/v1/shifts", {"unit_id": "CB-FR-01", "crew": [{"name": "Anan"}]})
    assert status == 422 and body["error"]["fields"][0]["field"] == "crew[0].qualification"
    status, unit = await crew.post("/api/v1/shifts", {"unit_id": "CB-FR-01", "crew": [
        {"name": "Anan", "qualification": "FR", "user_id": "crew-fr1"}]})
    assert status == 201 and unit["staffed"]


async def test_a_crew_on_an_incident_cannot_log_off(province):
    incident_id = await province.report()
    status, _ = await province.pao.call("DELETE", "/api/v1/shifts/CB-BLS-03")
    assert status == 200
    status, _ = await province.centre.post(f"/api/v1/incidents/{incident_id}/assignments", {"unit_id": "CB-BLS-04"})
    assert status == 201
    status, body = await province.pao.call("DELETE", "/api/v1/shifts/CB-BLS-04")
    assert status == 409 and f"incident {incident_id}" in body["error"]["message"]


async def test_out_of_service_shows_its_reason_and_expected_return(province):
    back_at = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    status, _ = await province.pao.post("/api/v1/units/CB-BLS-04/status", {
        "status": "out_of_service", "reason": "oxygen refill", "back_at": back_at.isoformat()})
    assert status == 200
    status, body = await province.pao.get("/api/v1/shifts")
    [unit] = [u for u in body["units"] if u["id"] == "CB-BLS-04"]
    assert unit["status"] == "out_of_service" and unit["out_of_service_reason"] == "oxygen refill"
    assert datetime.fromisoformat(unit["back_at"].replace("Z", "+00:00")) == back_at
    status, _ = await province.pao.post("/api/v1/units/CB-BLS-04/status", {"status": "available"})
    status, body = await province.pao.get("/api/v1/shifts")
    [unit] = [u for u in body["units"] if u["id"] == "CB-BLS-04"]
    assert unit["status"] == "available" and unit["out_of_service_reason"] is None and unit["back_at"] is None


async def test_a_log_on_refuses_a_unit_moved_to_another_agency_judged_on_the_row_it_writes_against(province):
    """The agency rule is kept inside the log-on's unit of work, not only by the handler: a unit moved to another
    agency after it was read (the read the unit of work takes as its own) gets no crew."""
    ctx, pao = province.server.ctx, PAO_DISPATCHER
    with pytest.raises(Forbidden):
        await ctx.shifts.log_on("CB-FR-01", CREW, None, actor=pao.actor, role=pao.role, dispatcher=pao)

    await ctx.shifts.log_off("CB-BLS-03", None, actor="dispatcher:disp-centre", role="dispatcher")
    read_before = await province.move_unit("CB-BLS-03", demo.FOUNDATION)  # PAO's and unstaffed when read, then moved
    moved = await ctx.store.get("units", "CB-BLS-03")
    work = ctx.shifts.shift_start("CB-BLS-03", CREW, None, role=pao.role, dispatcher=pao)
    with pytest.raises(Forbidden, match="belongs to another agency"):
        await ctx.store.run(pao.actor, work, known=(("units", read_before),))
    assert await ctx.store.get("units", "CB-BLS-03") == moved


async def test_a_log_off_refuses_a_unit_moved_to_another_agency_judged_on_the_row_it_writes_against(province):
    """As for the log-on: the crew of a unit moved to another agency after it was read stays on shift."""
    ctx, pao = province.server.ctx, PAO_DISPATCHER
    with pytest.raises(Forbidden):
        await ctx.shifts.log_off("CB-FR-01", None, actor=pao.actor, role=pao.role, dispatcher=pao)

    read_before = await province.move_unit("CB-BLS-03", demo.FOUNDATION)  # PAO's when read, then moved
    moved = await ctx.store.get("units", "CB-BLS-03")
    work = ctx.shifts.shift_end("CB-BLS-03", None, role=pao.role, dispatcher=pao)
    with pytest.raises(Forbidden, match="belongs to another agency"):
        await ctx.store.run(pao.actor, work, known=(("units", read_before),))
    assert await ctx.store.get("units", "CB-BLS-03") == moved and moved.staffed
