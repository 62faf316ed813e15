"""Issue #19 item 1 over HTTP: an agency's dispatcher sees and moves only its agency's units and the incidents they
are on (or that are shared with it); every cross-agency read and write is refused with a clear 403 or 404; the
1669 centre sees and dispatches everything."""
from datetime import UTC, datetime, timedelta

import pytest

from db.pool import _CONNECTIONS as pool_connections
from dispatch import demo
from dispatch.access import Identity
from dispatch.errors import Forbidden
from tests.conftest import make_user

PAO_UNITS = {"CB-BLS-02", "CB-BLS-03", "CB-BLS-04"}
FOUNDATION_UNIT = "CB-FR-01"

# Every route that acts on one incident, with a body that would otherwise be acceptable.
INCIDENT_ROUTES = [
    ("GET", "", None), ("POST", "/triage", {"group": 6, "determinant": 1}), ("GET", "/recommendations", None),
    ("GET", "/assignments", None), ("POST", "/assignments", {"unit_id": "CB-BLS-03"}),
    ("POST", "/status", {"status": "cancelled", "disposition": "duplicate"}), ("GET", "/destinations", None),
    ("POST", "/destinations", {"hospital_id": "way-525523960"}), ("POST", "/mci", {}),
    ("POST", "/patients", {"colours": ["red"]}), ("POST", "/mci/distribute", {}),
    ("POST", "/vitals", {"heart_rate": 90}), ("POST", "/location", {"lat": 13.36, "lon": 100.98, "source": "map_pin"}),
]
# Routes that stay the 1669 centre's whatever the incident.
CENTRE_ROUTES = [
    ("GET", "/api/v1/events", None), ("GET", "/api/v1/audit", None), ("GET", "/api/v1/reports/kpi", None),
    ("GET", "/api/v1/coverage", None), ("GET", "/api/v1/calls", None),
    ("POST", "/api/v1/incidents", {"channel": "phone", "location": {"lat": 13.36, "lon": 100.98}}),
    ("GET", "/api/v1/incidents/{id}/duplicates", None), ("POST", "/api/v1/incidents/{id}/merge", {"into_incident_id": 1}),
    ("GET", "/api/v1/incidents/{id}/replay", None), ("GET", "/api/v1/hospitals/way-525523960/inbound", None),
    ("POST", "/api/v1/agencies", {"id": "x-1", "name_th": "x", "name_en": "x", "kind": "private"}),
]


async def test_an_agency_dispatcher_lists_only_its_agencys_units(province):
    status, body = await province.pao.get("/api/v1/units")
    assert status == 200 and {u["id"] for u in body["units"]} == PAO_UNITS
    assert all(u["agency_id"] == demo.PAO for u in body["units"])
    status, everything = await province.centre.get("/api/v1/units")
    assert status == 200 and len(everything["units"]) == len(demo.FLEET)


async def test_an_agency_dispatcher_cannot_move_another_agencys_unit(province):
    status, body = await province.pao.post(f"/api/v1/units/{FOUNDATION_UNIT}/status", {"status": "out_of_service"})
    assert (status, body["error"]["message"]) == (
        403, f"unit {FOUNDATION_UNIT} belongs to another agency: ask for it through mutual aid")
    assert (await province.server.ctx.store.get("units", FOUNDATION_UNIT)).status.value == "available"
    back_at = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    status, unit = await province.pao.post("/api/v1/units/CB-BLS-03/status", {
        "status": "out_of_service", "reason": "tyre change", "back_at": back_at})
    assert status == 200 and unit["out_of_service_reason"] == "tyre change" and unit["back_at"]
    status, body = await province.pao.post("/api/v1/units/CB-BLS-04/status", {
        "status": "out_of_service", "back_at": "yesterday"})
    assert status == 422 and body["error"]["fields"][0]["field"] == "back_at"
    status, body = await province.pao.post("/api/v1/units/NO-SUCH/status", {"status": "available"})
    assert (status, body["error"]["message"]) == (404, "no unit NO-SUCH")


async def test_an_incident_is_an_agencys_only_while_its_unit_is_on_it(province):
    incident_id = await province.report()
    assert (await province.pao.get(f"/api/v1/incidents/{incident_id}"))[0] == 404
    status, listed = await province.pao.get("/api/v1/incidents")
    assert status == 200 and incident_id not in [i["id"] for i in listed["incidents"]]
    status, body = await province.centre.post(f"/api/v1/incidents/{incident_id}/assignments", {"unit_id": "CB-BLS-02"})
    assert status == 201, body
    status, seen = await province.pao.get(f"/api/v1/incidents/{incident_id}")
    assert status == 200 and seen["unit_ids"] == ["CB-BLS-02"] and seen["chief_complaint"] == "fall"
    status, listed = await province.pao.get("/api/v1/incidents")
    assert [i["id"] for i in listed["incidents"]] == [incident_id]
    assert (await province.foundation.get(f"/api/v1/incidents/{incident_id}"))[0] == 404


async def test_an_agency_dispatcher_ranks_and_assigns_only_its_own_units(province):
    incident_id = await province.report()
    status, _ = await province.centre.post(f"/api/v1/incidents/{incident_id}/assignments", {"unit_id": "CB-BLS-02"})
    assert status == 201
    status, ranked = await province.pao.get(f"/api/v1/incidents/{incident_id}/recommendations")
    assert status == 200 and {r["unit_id"] for r in ranked["recommendations"]} == PAO_UNITS - {"CB-BLS-02"}
    status, body = await province.pao.post(f"/api/v1/incidents/{incident_id}/assignments",
                                           {"unit_id": FOUNDATION_UNIT})
    assert status == 403 and body["error"]["code"] == "unit_of_other_agency"
    assert body["error"]["params"] == {"unit_id": FOUNDATION_UNIT} and "/api/" not in body["error"]["message"]
    assert (await province.server.ctx.store.get("units", FOUNDATION_UNIT)).incident_id is None
    status, body = await province.pao.post(f"/api/v1/incidents/{incident_id}/assignments", {"unit_id": "CB-BLS-03"})
    assert status == 201, body
    status, ranked = await province.centre.get(f"/api/v1/incidents/{incident_id}/recommendations")
    assert "CB-ALS-01" in {r["unit_id"] for r in ranked["recommendations"]}  # the centre ranks every agency's


async def test_every_incident_route_is_refused_to_an_agency_without_a_unit_on_it(province):
    incident_id = await province.report()
    status, _ = await province.centre.post(f"/api/v1/incidents/{incident_id}/assignments", {"unit_id": "CB-BLS-02"})
    assert status == 201
    before = await province.server.ctx.store.last_seq()
    for method, suffix, body in INCIDENT_ROUTES:
        status, answer = await province.foundation.call(method, f"/api/v1/incidents/{incident_id}{suffix}", body)
        assert status == 404, (method, suffix, status, answer)
        assert answer["error"]["message"] == "no such incident"  # the same answer as for an incident that is not
        status, _ = await province.foundation.call(method, f"/api/v1/incidents/99999{suffix}", body)
        assert status == 404
    assert await province.server.ctx.store.last_seq() == before  # nothing was written


async def test_centre_only_routes_are_refused_to_an_agency(province):
    incident_id = await province.report()
    for method, path, body in CENTRE_ROUTES:
        status, answer = await province.pao.call(method, path.format(id=incident_id), body)
        assert status == 403, (method, path, status, answer)
        assert answer["error"]["code"] == "centre_only" and answer["error"]["message"] == "only the 1669 centre may do this"
    status, _ = await province.centre.get(f"/api/v1/incidents/{incident_id}/duplicates")
    assert status == 200


async def test_agencies_are_listed_to_all_and_managed_by_the_centres_admins(province):
    status, body = await province.pao.get("/api/v1/agencies")
    assert status == 200 and {a["id"] for a in body["agencies"]} == {a[0] for a in demo.AGENCIES}
    new = {"id": "bang-saen-muni", "name_th": "เทศบาลเมืองแสนสุข", "name_en": "Saen Suk municipality",
           "kind": "municipality"}
    assert (await province.centre.post("/api/v1/agencies", new))[0] == 403  # a dispatcher, not an admin
    admin_of_pao = province.api(await _agency_admin(province, demo.PAO))
    assert (await admin_of_pao.post("/api/v1/agencies", new))[0] == 403  # an admin, not the centre's
    status, created = await province.admin.post("/api/v1/agencies", new)
    assert status == 201 and created["id"] == "bang-saen-muni"
    assert (await province.admin.post("/api/v1/agencies", new))[0] == 409
    status, body = await province.admin.post("/api/v1/agencies", {**new, "id": "Bad Id"})
    assert status == 422 and body["error"]["fields"][0]["field"] == "id"
    status, updated = await province.admin.call("PATCH", "/api/v1/agencies/bang-saen-muni", {"phone": "038000000"})
    assert status == 200 and updated["phone"] == "038000000"
    status, retired = await province.admin.post("/api/v1/agencies/bang-saen-muni/retire", {"reason": "test"})
    assert status == 200 and retired["retired_at"]
    status, body = await province.pao.get("/api/v1/agencies")
    assert "bang-saen-muni" not in {a["id"] for a in body["agencies"]}
    status, body = await province.pao.get("/api/v1/agencies?retired=true")
    assert "bang-saen-muni" in {a["id"] for a in body["agencies"]}
    assert (await province.admin.post("/api/v1/agencies/1669-cb/retire", {}))[0] == 409


async def test_me_says_which_agency_a_user_acts_for(province):
    status, me = await province.foundation.get("/api/v1/me")
    assert status == 200 and me["agency_id"] == demo.FOUNDATION
    status, me = await province.centre.get("/api/v1/me")
    assert status == 200 and me["agency_id"] == "1669-cb"  # a user made without an agency is the centre's


async def _agency_admin(province, agency_id: str) -> str:
    return await make_user(province.server.ctx.pool, f"admin-{agency_id}", "admin", agency_id=agency_id)


async def test_an_agency_exports_the_items_record_of_its_own_operations_only(province):
    for unit_id in ("CB-BLS-02", "CB-FR-01"):  # one PAO and one foundation operation, both closed
        incident_id = await province.report()
        status, _ = await province.centre.post(f"/api/v1/incidents/{incident_id}/assignments", {"unit_id": unit_id})
        assert status == 201
        crew = province.api(await make_user(province.server.ctx.pool, f"crew-{unit_id}", "crew", unit_id=unit_id))
        for step in ("en_route", "on_scene"):
            assert (await crew.post(f"/api/v1/units/{unit_id}/status", {"status": step}))[0] == 200
        status, body = await province.centre.post(f"/api/v1/incidents/{incident_id}/status", {"status": "closed"})
        assert status == 200, body
    status, everything = await province.centre.get("/api/v1/reports/items-completeness")
    assert status == 200 and {r["agency_id"] for r in everything["incomplete"]} == {demo.PAO, demo.FOUNDATION}
    status, own = await province.pao.get("/api/v1/reports/items-completeness")
    assert status == 200 and {r["agency_id"] for r in own["incomplete"]} == {demo.PAO}
    status, body = await province.pao.get(f"/api/v1/reports/items-completeness?agency={demo.FOUNDATION}")
    assert status == 403 and "another agency" in body["error"]["message"]
    status, _ = await province.pao.get("/api/v1/reports/items.csv")
    assert status == 200


async def test_the_assign_path_itself_refuses_another_agencys_unit_judged_on_the_row_it_writes_against(province):
    """The agency rule is kept inside the assignment's unit of work, not only by the handler: a unit moved to
    another agency after it was read (the read a unit of work takes as its own) is refused, not assigned."""
    ctx = province.server.ctx
    incident_id = await province.report()
    pao = Identity("disp-pao", "PAO dispatcher", "dispatcher", agency_id=demo.PAO)
    with pytest.raises(Forbidden):
        await ctx.assignments.assign(incident_id, FOUNDATION_UNIT, actor=pao.actor, role=pao.role, dispatcher=pao)

    incident = await ctx.store.get("incidents", incident_id)
    read_before = await province.move_unit("CB-BLS-03", demo.FOUNDATION)  # PAO's when read, then moved
    work = ctx.assignments.assignment(incident_id, "CB-BLS-03", None, dispatcher=pao)
    with pytest.raises(Forbidden):
        await ctx.store.run(pao.actor, work, known=(("incidents", incident), ("units", read_before)))
    assert (await ctx.store.get("units", "CB-BLS-03")).incident_id is None


async def test_a_unit_status_change_refuses_another_agencys_unit_judged_on_the_row_it_writes_against(province):
    """As for assignments: an agency dispatcher's status change is judged inside its unit of work, so a unit moved
    to another agency after it was read (the read the unit of work takes as its own) is refused, nothing written."""
    ctx = province.server.ctx
    pao = Identity("disp-pao", "PAO dispatcher", "dispatcher", agency_id=demo.PAO)
    with pytest.raises(Forbidden):
        await ctx.fleet.change_unit_status(FOUNDATION_UNIT, "out_of_service", actor=pao.actor, role=pao.role,
                                           dispatcher=pao)

    read_before = await province.move_unit("CB-BLS-03", demo.FOUNDATION)  # PAO's when read, then moved
    moved = await ctx.store.get("units", "CB-BLS-03")
    work = ctx.fleet.unit_status_change("CB-BLS-03", "out_of_service", role=pao.role, dispatcher=pao)
    with pytest.raises(Forbidden, match="belongs to another agency"):
        await ctx.store.run(pao.actor, work, known=(("units", read_before),))
    assert await ctx.store.get("units", "CB-BLS-03") == moved


async def test_an_agency_reads_an_incident_once_and_its_units_in_one_query(province):
    incident_id = await province.report()
    for unit_id in sorted(PAO_UNITS):
        status, body = await province.centre.post(f"/api/v1/incidents/{incident_id}/assignments", {"unit_id": unit_id})
        assert status == 201, body
    queries: list[str] = []

    def record(query) -> None:
        queries.append(query.query)

    watched = [conn for conn in list(pool_connections) if not conn.is_closed()]
    for conn in watched:
        conn.add_query_logger(record)
    try:
        status, seen = await province.pao.get(f"/api/v1/incidents/{incident_id}")
    finally:
        for conn in watched:
            conn.remove_query_logger(record)
    assert status == 200 and set(seen["unit_ids"]) == PAO_UNITS
    assert sum("FROM incidents WHERE id" in q for q in queries) == 1, queries  # the scope check's read serves the GET
    assert sum("FROM units WHERE id" in q for q in queries) == 1, queries
