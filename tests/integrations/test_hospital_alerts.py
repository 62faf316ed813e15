"""Hospital pre-arrival alerts as FHIR R4 Bundles to a loopback receiver, with the SMS fallback."""
from __future__ import annotations

import json

import tornado.web

from dispatch.events import (
    DestinationChosen,
    HospitalAlerted,
    HospitalRegistered,
    IncidentStatusChanged,
)
from dispatch.model import IncidentStatus, LatLon
from ops import local_services
from tests.conftest import wait_until

CALLER = "+66812345678"
HOSPITAL_PHONE = "+6638931000"


class FhirReceiver(tornado.web.RequestHandler):
    def initialize(self, received: list, answer: list) -> None:
        self.received, self.answer = received, answer

    def post(self) -> None:
        self.received.append((self.request.headers.get("Content-Type"), json.loads(self.request.body)))
        self.set_status(self.answer[0])
        self.write({"resourceType": "Bundle", "type": "transaction-response"})


async def _start_receiver(status: int = 200):
    received, answer = [], [status]
    port = local_services.free_port()
    server = tornado.web.Application([(r"/fhir", FhirReceiver, {"received": received, "answer": answer})]).listen(
        port, address="127.0.0.1")
    return server, f"http://127.0.0.1:{port}/fhir", received, answer


async def _inbound_patient(ems, dispatcher, *, hospital_id: str = "H-CBH") -> int:
    clock = ems.ctx.clock
    async with ems.ctx.store.unit_of_work("test") as uow:
        await uow.append(HospitalRegistered(at=clock.now(), hospital_id=hospital_id, name_th="โรงพยาบาลชลบุรี",
                                            name_en="Chonburi Hospital", location=LatLon(13.3525, 100.9839),
                                            phone=HOSPITAL_PHONE))
    _, incident = await dispatcher.post("/api/v1/incidents", {
        "channel": "phone", "location": {"lat": 13.36, "lon": 100.98}, "chief_complaint": "เจ็บหน้าอก chest pain",
        "caller": {"phone": CALLER, "name": "Somchai"}})
    async with ems.ctx.store.unit_of_work("test") as uow:
        await uow.append(DestinationChosen(at=clock.now(), incident_id=incident["id"], hospital_id=hospital_id,
                                           eta_s=600))
        await uow.append(HospitalAlerted(at=clock.now(), incident_id=incident["id"], hospital_id=hospital_id,
                                         eta_s=600, colour="red", summary="chest pain"))
    return incident["id"]


async def _notified(dispatcher) -> list[dict]:
    _, body = await dispatcher.get("/api/v1/events?since=0")
    return [e["payload"] for e in body["events"] if e["type"] == "HospitalNotified"]


async def test_fhir_bundle_planned_then_arrived_without_the_callers_number(ems, dispatcher, fake_twilio):
    receiver, url, received, _ = await _start_receiver()
    try:
        incident_id = await _inbound_patient(ems, dispatcher)
        status, _ = await dispatcher.call("PUT", "/api/v1/hospitals/H-CBH/fhir-endpoint", {"fhir_url": url})
        assert status == 200
        assert await wait_until(lambda: _len(_notified(dispatcher), 1), 10)
        [(content_type, bundle)] = received
        assert content_type.startswith("application/fhir+json")
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "transaction"
        by_type = {}
        for entry in bundle["entry"]:
            by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
            assert entry["request"] == {"method": "POST", "url": entry["resource"]["resourceType"]}
        [patient], [encounter] = by_type["Patient"], by_type["Encounter"]
        assert patient["identifier"][0]["value"] == str(incident_id) and "telecom" not in patient
        assert encounter["status"] == "planned" and encounter["class"]["code"] == "EMER"
        values = {o["code"]["text"]: o.get("valueString") for o in by_type["Observation"]}
        assert values == {"Triage colour": "red", "Chief complaint": "chest pain"}
        assert CALLER not in json.dumps(bundle) and "Somchai" not in json.dumps(bundle)
        async with ems.ctx.store.unit_of_work("test") as uow:
            await uow.append(IncidentStatusChanged(at=ems.ctx.clock.now(), incident_id=incident_id,
                                                   status=IncidentStatus.AT_HOSPITAL))
        assert await wait_until(lambda: _len(_notified(dispatcher), 2), 10)
        arrived = received[1][1]
        assert [e["resource"]["status"] for e in arrived["entry"] if e["resource"]["resourceType"] == "Encounter"] \
            == ["arrived"]
        assert [(n["via"], n["stage"], n["ok"]) for n in await _notified(dispatcher)] == \
            [("fhir", "planned", True), ("fhir", "arrived", True)]
        assert fake_twilio.sent("sms") == []
    finally:
        receiver.stop()


async def test_failing_fhir_endpoint_falls_back_to_sms_without_the_callers_number(ems, dispatcher, fake_twilio):
    receiver, url, received, _ = await _start_receiver(status=503)
    try:
        await dispatcher.call("PUT", "/api/v1/hospitals/H-X/fhir-endpoint", {"fhir_url": url})  # 404 before it exists
        incident_id = await _inbound_patient(ems, dispatcher, hospital_id="H-X")
        assert (await dispatcher.call("PUT", "/api/v1/hospitals/H-X/fhir-endpoint", {"fhir_url": "ftp://x"}))[0] == 422
        assert await wait_until(lambda: _len(_notified(dispatcher), 1), 10)
        [notice] = await _notified(dispatcher)
        assert notice["via"] == "sms" and notice["ok"] is True and "no FHIR endpoint" in notice["detail"]
        [sms] = fake_twilio.sent("sms")
        assert sms.params["To"] == HOSPITAL_PHONE and f"#{incident_id}" in sms.params["Body"]
        assert CALLER not in sms.params["Body"] and "red" in sms.params["Body"] and "10 min" in sms.params["Body"]
        status, _ = await dispatcher.call("PUT", "/api/v1/hospitals/H-X/fhir-endpoint",
                                          {"fhir_url": url, "sms_phone": "+6638000111"})
        assert status == 200
        async with ems.ctx.store.unit_of_work("test") as uow:
            await uow.append(IncidentStatusChanged(at=ems.ctx.clock.now(), incident_id=incident_id,
                                                   status=IncidentStatus.AT_HOSPITAL))
        assert await wait_until(lambda: _len(_notified(dispatcher), 2), 10)
        assert len(received) == 1  # the endpoint was tried (and answered 503)
        assert "503" in (await _notified(dispatcher))[1]["detail"]
        assert fake_twilio.sent("sms")[1].params["To"] == "+6638000111"
    finally:
        receiver.stop()


async def _len(coro, n: int) -> bool:
    return len(await coro) >= n
