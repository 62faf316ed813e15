"""Bulk import into the registry (issue #19): a dry run lists what would change and every bad row, writes nothing;
a real import writes every row or, when any row is bad, nothing."""
import json
from pathlib import Path

from dispatch import demo
from tests.conftest import Api, make_user

POIS = Path(__file__).resolve().parents[2] / "data" / "osm" / "chonburi_emergency_pois.geojson"
CSV = "text/csv; charset=utf-8"
HOSPITALS_CSV = (
    "\ufeffhospital_id,name_th,name_en,lat,lon,capabilities,ed_beds,ed_beds_free,phone,fhir_endpoint\n"
    "h-banglamung,โรงพยาบาลบางละมุง,Banglamung Hospital,12.9767,100.9068,trauma;stroke,14,5,038-429-000,\n"
    "h-pattaya,โรงพยาบาลพัทยาเมโมเรียล,Pattaya Memorial Hospital,12.9361,100.8893,stemi,10,3,,"
    "https://fhir.pattaya.example/r4\n"
    "\n"
    "h-sattahip,โรงพยาบาลสัตหีบ กม.10,,12.7208,100.9352,obstetrics,8,8,,\n")


async def import_file(api: Api, kind: str, body: bytes, *, dry_run: bool, content_type: str = CSV):
    return await api.post(f"/api/v1/registry/import?kind={kind}&dry_run={'true' if dry_run else 'false'}",
                          raw=body, headers={"Content-Type": content_type})


async def admin_api(server) -> Api:
    return Api(f"http://127.0.0.1:{server.config.port}", await make_user(server.ctx.pool, "admin-1", "admin"))


async def test_a_csv_of_hospitals_shows_its_dry_run_then_the_hospitals_appear(server, dispatcher_api):
    admin = await admin_api(server)
    status, plan = await import_file(admin, "hospitals", HOSPITALS_CSV.encode(), dry_run=True)
    assert status == 200 and plan["dry_run"] and not plan["applied"]
    assert plan["summary"] == {"create": 3, "change": 0, "retire": 0, "unchanged": 0, "errors": 0}
    assert [(r["row"], r["id"], r["action"]) for r in plan["rows"]] == [
        (2, "h-banglamung", "create"), (3, "h-pattaya", "create"), (5, "h-sattahip", "create")]
    assert plan["rows"][0]["changes"]["phone"] == {"from": None, "to": "+6638429000"}
    assert (await dispatcher_api.get("/api/v1/hospitals"))[1]["hospitals"] == []  # a dry run writes nothing

    status, done = await import_file(admin, "hospitals", HOSPITALS_CSV.encode(), dry_run=False)
    assert status == 200 and done["applied"] and done["summary"]["create"] == 3
    _, listed = await dispatcher_api.get("/api/v1/hospitals")
    by_id = {h["id"]: h for h in listed["hospitals"]}
    assert sorted(by_id) == ["h-banglamung", "h-pattaya", "h-sattahip"]
    sattahip, pattaya = by_id["h-sattahip"], by_id["h-pattaya"]
    assert sattahip["capabilities"] == ["obstetric"] and sattahip["name_en"] == "โรงพยาบาลสัตหีบ กม.10"  # Thai stands in
    assert pattaya["fhir_endpoint"] == "https://fhir.pattaya.example/r4" and pattaya["ed_beds"] == 10

    again = ("hospital_id,name_th,lat,lon,ed_beds_free,retire\n"
             "h-banglamung,โรงพยาบาลบางละมุง,12.9767,100.9068,2,\n"
             "h-pattaya,โรงพยาบาลพัทยาเมโมเรียล,12.9361,100.8893,,yes\n"
             "h-sattahip,โรงพยาบาลสัตหีบ กม.10,12.7208,100.9352,8,\n")
    status, plan = await import_file(admin, "hospitals", again.encode(), dry_run=True)
    assert plan["summary"] == {"create": 0, "change": 1, "retire": 1, "unchanged": 1, "errors": 0}
    assert plan["rows"][0]["changes"] == {"ed_beds_free": {"from": 5, "to": 2}}
    status, done = await import_file(admin, "hospitals", again.encode(), dry_run=False)
    assert status == 200 and done["applied"]
    _, listed = await dispatcher_api.get("/api/v1/hospitals")
    assert sorted(h["id"] for h in listed["hospitals"]) == ["h-banglamung", "h-sattahip"]
    _, events = await admin.get("/api/v1/events?since=0&limit=5000")
    kinds = [e["type"] for e in events["events"] if e["type"].startswith("Hospital")]
    assert kinds == ["HospitalRegistered"] * 4 + ["HospitalRetired"]
    assert {e["actor"] for e in events["events"]} == {"admin:admin-1"}


async def test_a_bad_file_gets_per_row_errors_and_nothing_is_written(server, dispatcher_api):
    admin = await admin_api(server)
    bad = ("hospital_id,name_th,lat,lon,ed_beds,ed_beds_free,phone\n"
           "h-ok,โรงพยาบาลดี,13.1,100.9,5,2,\n"
           "h bad,,13.1,,x,1,12\n"
           "h-ok,โรงพยาบาลซ้ำ,13.2,100.9,5,2,\n"
           "h-beds,โรงพยาบาลเตียง,13.3,100.95,2,9,\n")
    status, plan = await import_file(admin, "hospitals", bad.encode(), dry_run=True)
    assert status == 200 and plan["summary"]["errors"] == 3 and plan["summary"]["create"] == 1
    errors = {(e["row"], e["field"]) for e in plan["errors"]}
    assert errors == {(3, "hospital_id"), (3, "name_th"), (3, "location"), (3, "ed_beds"), (3, "phone"),
                      (4, "hospital_id"), (5, "ed_beds_free")}
    assert all(e["reason"] for e in plan["errors"])
    status, refused = await import_file(admin, "hospitals", bad.encode(), dry_run=False)
    assert status == 422 and not refused["applied"]
    assert "row 4: hospital_id" in [f["field"] for f in refused["error"]["fields"]]
    assert (await dispatcher_api.get("/api/v1/hospitals"))[1]["hospitals"] == []
    _, events = await admin.get("/api/v1/events?since=0&limit=5000")
    assert not [e for e in events["events"] if e["type"] == "HospitalRegistered"]

    status, body = await import_file(admin, "hospitals", b"a,a\n1,2\n", dry_run=True)
    assert status == 422 and body["error"]["fields"][0]["field"] == "body"
    status, body = await import_file(admin, "stations", b"{}", dry_run=True)  # not this kind's file at all
    assert status == 422 and "names none of the columns" in body["error"]["fields"][0]["reason"]
    status, body = await import_file(admin, "ambulances", b"x\n", dry_run=True)
    assert status == 422 and body["error"]["fields"][0]["field"] == "kind"


async def test_the_osm_hospitals_import_from_geojson_with_their_names(server, dispatcher_api):
    admin = await admin_api(server)
    await demo.seed(server.ctx.store)  # seven of them are already there, under the same ids
    status, plan = await import_file(admin, "hospitals", POIS.read_bytes(), dry_run=True,
                                     content_type="application/geo+json")
    assert status == 200 and plan["summary"]["errors"] == 0 and plan["skipped"] == 13  # the fire stations
    summary = plan["summary"]
    assert summary["create"] == 51 and summary["create"] + summary["change"] + summary["unchanged"] == 58
    assert len([r for r in plan["rows"] if r["warnings"]]) == 3  # no name in OSM: named from the id, flagged
    status, done = await import_file(admin, "hospitals", POIS.read_bytes(), dry_run=False,
                                     content_type="application/geo+json")
    assert status == 200 and done["applied"]
    _, listed = await dispatcher_api.get("/api/v1/hospitals")
    by_id = {h["id"]: h for h in listed["hospitals"]}
    assert len(by_id) == 58
    aikchol = by_id["way-115844597"]
    assert aikchol["name_en"] == "Aikchol Hospital" and aikchol["name_th"] == "โรงพยาบาลเอกชล"
    assert "stroke" in by_id["way-115844597"]["capabilities"]  # the demo's capabilities survive the import
    features = json.loads(POIS.read_text())["features"]
    names = {f["properties"]["id"].replace("/", "-"): f["properties"].get("name:th") or f["properties"].get("name")
             for f in features}
    assert all(by_id[i]["name_th"] == n for i, n in names.items() if n and i in by_id)

    status, stations = await import_file(admin, "stations", POIS.read_bytes(), dry_run=False,
                                         content_type="application/geo+json")
    assert status == 200 and stations["summary"]["create"] == 13 and stations["skipped"] == 58
