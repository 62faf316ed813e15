from dispatch.mci import distribute
from dispatch.model import Colour, Hospital, LatLon, Patient
from tests.dispatch.test_dispatch_flow import SCENE, city  # noqa: F401 - the fixture


def test_mci_distribution_respects_capacity_diversion_and_severity():
    def hospital(hid, beds, diversion=False):
        return Hospital(id=hid, name_th=hid, name_en=hid, location=LatLon(13.36, 100.98), ed_beds_free=beds,
                        diversion=diversion)
    hospitals = [(hospital("near", 2), 120.0), (hospital("diverted", 50, diversion=True), 60.0),
                 (hospital("far", 1), 900.0), (hospital("unreachable", 9), None)]
    patients = [Patient(number=1, colour=Colour.GREEN), Patient(number=2, colour=Colour.RED),
                Patient(number=3, colour=Colour.YELLOW), Patient(number=4, colour=Colour.RED)]
    plan = distribute(patients, hospitals)
    assert plan[2] == "near" and plan[4] == "near"  # the reds take the nearest beds
    assert plan[3] == "far"  # then the yellow, to the next hospital with a bed
    assert plan[1] is None  # no bed left anywhere reachable and not on diversion
    assert sum(1 for h in plan.values() if h == "near") <= 2


def test_mci_distribution_sends_the_sickest_to_hospitals_with_the_capability_they_need():
    """Issue #13 item 9: three red trauma patients went to the nearer hospital without trauma capability while the
    trauma centre received green ones."""
    def hospital(hid, beds, capabilities):
        return Hospital(id=hid, name_th=hid, name_en=hid, location=LatLon(13.36, 100.98), ed_beds_free=beds,
                        capabilities=capabilities)
    hospitals = [(hospital("general-near", 5, ["stroke"]), 120.0), (hospital("trauma-centre", 3, ["trauma"]), 600.0),
                 (hospital("trauma-far", 2, ["trauma", "stemi"]), 1500.0)]
    patients = ([Patient(number=n, colour=Colour.GREEN) for n in (1, 2, 3)]
                + [Patient(number=n, colour=Colour.RED) for n in (4, 5, 6)]
                + [Patient(number=7, colour=Colour.YELLOW), Patient(number=8, colour=Colour.RED)])
    plan = distribute(patients, hospitals, need="trauma")
    assert [plan[n] for n in (4, 5, 6)] == ["trauma-centre"] * 3  # the nearest trauma beds, reds first
    assert plan[8] == "trauma-far" and plan[7] == "trauma-far"  # the next capable beds, before any incapable one
    assert [plan[n] for n in (1, 2, 3)] == ["general-near"] * 3  # greens leave the trauma beds to the sickest
    # no capable bed left: a severe patient still gets the nearest bed rather than none
    overflow = distribute([Patient(number=1, colour=Colour.RED)], [(hospital("general-near", 1, []), 90.0),
                                                                   (hospital("trauma-full", 0, ["trauma"]), 60.0)],
                          need="trauma")
    assert overflow == {1: "general-near"}
    # without a specialist need, the nearest beds go to the sickest as before
    assert distribute(patients[3:6], hospitals)[4] == "general-near"


async def test_mci_distribution_through_the_api_follows_the_incidents_need(city):  # noqa: F811
    server, dispatcher, _ = city
    _, incident = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    path = f"/api/v1/incidents/{incident['id']}"
    assert (await dispatcher.post(f"{path}/triage", {"group": 25, "determinant": 2}))[0] == 200  # crash, trauma
    assert (await dispatcher.post(f"{path}/mci"))[0] == 200
    status, _ = await dispatcher.post(f"{path}/patients", {"colours": ["green"] * 4 + ["red"] * 3})
    assert status == 200
    status, distributed = await dispatcher.post(f"{path}/mci/distribute")
    assert status == 200
    hospitals = {h.id: h for h in await server.ctx.store.list("hospitals")}
    reds = [p for p in distributed["patients"] if p["colour"] == "red"]
    assert len(reds) == 3 and all("trauma" in hospitals[p["hospital_id"]].capabilities for p in reds)
    greens = [p for p in distributed["patients"] if p["colour"] == "green"]
    assert all(p["hospital_id"] and "trauma" not in hospitals[p["hospital_id"]].capabilities for p in greens)


async def test_duplicate_calls_across_channels_are_suggested_and_merged_keeping_every_caller(city):  # noqa: F811
    server, dispatcher, _ = city
    _, phone = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": SCENE,
                                                          "caller": {"phone": "+66811111111", "name": "A"}})
    nearby = {"lat": SCENE["lat"] + 0.0005, "lon": SCENE["lon"]}  # about 55 m away
    _, sms = await dispatcher.post("/api/v1/incidents", {"channel": "sms", "location": nearby,
                                                        "caller": {"phone": "+66822222222"}})
    _, far = await dispatcher.post("/api/v1/incidents", {"channel": "app", "location": {"lat": 13.40, "lon": 101.0}})
    status, body = await dispatcher.get(f"/api/v1/incidents/{sms['id']}/duplicates")
    assert status == 200
    assert [d["incident_id"] for d in body["duplicates"]] == [phone["id"]]
    assert body["duplicates"][0]["channel"] == "phone" and body["duplicates"][0]["distance_m"] < 100
    status, survivor = await dispatcher.post(f"/api/v1/incidents/{sms['id']}/merge", {"into_incident_id": phone["id"]})
    assert status == 200
    assert {c["phone"] for c in survivor["callers"]} == {"+66811111111", "+66822222222"}
    _, merged = await dispatcher.get(f"/api/v1/incidents/{sms['id']}")
    assert merged["status"] == "cancelled" and merged["merged_into"] == phone["id"]
    assert far["id"] not in [d["incident_id"] for d in (await dispatcher.get(f"/api/v1/incidents/{phone['id']}/duplicates"))[1]["duplicates"]]


async def test_kept_apart_pairs_are_not_suggested_again(city):  # noqa: F811
    _, dispatcher, _ = city
    _, a = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    _, b = await dispatcher.post("/api/v1/incidents", {"channel": "app", "location": SCENE})
    assert (await dispatcher.post(f"/api/v1/incidents/{a['id']}/keep-apart", {"other_incident_id": b["id"]}))[0] == 200
    _, body = await dispatcher.get(f"/api/v1/incidents/{a['id']}/duplicates")
    assert body["duplicates"] == []


async def test_mci_declared_tagged_and_distributed_through_the_api(city):  # noqa: F811
    server, dispatcher, _ = city
    _, incident = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    path = f"/api/v1/incidents/{incident['id']}"
    assert (await dispatcher.post(f"{path}/patients", {"colours": ["red"]}))[0] == 409  # not declared yet
    assert (await dispatcher.post(f"{path}/mci"))[0] == 200
    status, tagged = await dispatcher.post(f"{path}/patients", {"colours": ["red"] * 3 + ["yellow"] * 5 + ["green"] * 10})
    assert status == 200 and len(tagged["patients"]) == 18
    status, body = await dispatcher.post(f"{path}/patients", {"colours": ["purple"]})
    assert status == 422 and body["error"]["fields"][0]["field"] == "colours"
    status, distributed = await dispatcher.post(f"{path}/mci/distribute")
    assert status == 200
    hospitals = {h.id: h for h in await server.ctx.store.list("hospitals")}
    placed: dict[str, int] = {}
    for patient in distributed["patients"]:
        if patient["hospital_id"]:
            placed[patient["hospital_id"]] = placed.get(patient["hospital_id"], 0) + 1
    assert all(count <= hospitals[h].ed_beds_free for h, count in placed.items())
    reds = [p for p in distributed["patients"] if p["colour"] == "red"]
    assert all(p["hospital_id"] for p in reds)
