"""Hospital pre-arrival alerts as FHIR R4 Bundles to a loopback receiver: validated with the `fhir.resources` R4
models (its R4B package, FHIR 4.3), retried with backoff, delivered at most once, with the SMS fallback."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import tornado.web
from fhir.resources.R4B.bundle import Bundle

from dispatch.events import (
    DestinationChosen,
    HospitalAlerted,
    HospitalRegistered,
    IncidentStatusChanged,
)
from dispatch.model import IncidentStatus, LatLon
from integrations.fhir.bundle import build_bundle
from runtime import local_services
from server import Server
from tests.conftest import wait_until
from tests.integrations.conftest import integration_config

CALLER = "+66812345678"
HOSPITAL_PHONE = "+6638931000"


class FhirReceiver(tornado.web.RequestHandler):
    def initialize(self, received: list, answer: list) -> None:
        self.received, self.answer = received, answer

    def post(self) -> None:
        self.received.append((self.request.headers.get("Content-Type"), json.loads(self.request.body)))
        self.set_status(self.answer.pop(0) if len(self.answer) > 1 else self.answer[0])
        self.write({"resourceType": "Bundle", "type": "transaction-response"})


async def _start_receiver(*statuses: int):
    """A hospital's FHIR endpoint answering `statuses` in turn (the last one from then on; 200 if none)."""
    received, answer = [], list(statuses or (200,))
    port = local_services.free_port()
    server = tornado.web.Application([(r"/fhir", FhirReceiver, {"received": received, "answer": answer})]).listen(
        port, address="127.0.0.1")
    return server, f"http://127.0.0.1:{port}/fhir", received, answer


async def _inbound_patient(ems, dispatcher, *, hospital_id: str = "H-CBH", fhir_url: str | None = None) -> int:
    """A hospital (with `fhir_url` configured through the API, if given) and a patient alerted to it, ETA 600 s."""
    clock = ems.ctx.clock
    async with ems.ctx.store.unit_of_work("test") as uow:
        await uow.append(HospitalRegistered(at=clock.now(), hospital_id=hospital_id, name_th="โรงพยาบาลชลบุรี",
                                            name_en="Chonburi Hospital", location=LatLon(13.3525, 100.9839),
                                            phone=HOSPITAL_PHONE))
    if fhir_url:
        status, _ = await dispatcher.call("PUT", f"/api/v1/hospitals/{hospital_id}/fhir-endpoint",
                                          {"fhir_url": fhir_url})
        assert status == 200
    _, incident = await dispatcher.post("/api/v1/incidents", {
        "channel": "phone", "location": {"lat": 13.36, "lon": 100.98}, "chief_complaint": "เจ็บหน้าอก chest pain",
        "caller": {"phone": CALLER, "name": "Somchai"}})
    async with ems.ctx.store.unit_of_work("test") as uow:
        await uow.append(DestinationChosen(at=clock.now(), incident_id=incident["id"], hospital_id=hospital_id,
                                           eta_s=600))
        await uow.append(HospitalAlerted(at=clock.now(), incident_id=incident["id"], hospital_id=hospital_id,
                                         eta_s=600, colour="red", summary="chest pain"))
    return incident["id"]


async def _arrive(ems, incident_id: int) -> None:
    async with ems.ctx.store.unit_of_work("test") as uow:
        await uow.append(IncidentStatusChanged(at=ems.ctx.clock.now(), incident_id=incident_id,
                                               status=IncidentStatus.AT_HOSPITAL))


async def _notified(dispatcher) -> list[dict]:
    _, body = await dispatcher.get("/api/v1/events?since=0")
    return [e["payload"] for e in body["events"] if e["type"] == "HospitalNotified"]


async def _alert_time(dispatcher, incident_id: int) -> datetime:
    _, body = await dispatcher.get("/api/v1/events?since=0")
    [alert] = [e for e in body["events"] if e["type"] == "HospitalAlerted"
               and e["payload"]["incident_id"] == incident_id]
    return datetime.fromisoformat(alert["occurred_at"])


def _resources(bundle: dict) -> dict[str, list]:
    """The validated Bundle's resources by type (fhir.resources raises on anything that is not FHIR)."""
    by_type: dict[str, list] = {}
    for entry in Bundle.model_validate(bundle).entry:
        by_type.setdefault(entry.resource.get_resource_type(), []).append(entry)
    return by_type


@pytest.fixture
def quick_retries(ems):
    ems.ctx.hospital_alerts.retry_delays_s = (0.05, 0.1)  # three tries, not six over 15 s


async def test_fhir_bundle_validates_planned_then_arrived_without_the_callers_number(ems, dispatcher, fake_twilio):
    receiver, url, received, _ = await _start_receiver()
    try:
        incident_id = await _inbound_patient(ems, dispatcher, fhir_url=url)
        assert await wait_until(lambda: _len(_notified(dispatcher), 1), 10)
        [(content_type, bundle)] = received
        assert content_type.startswith("application/fhir+json")
        assert bundle["type"] == "transaction"
        by_type = _resources(bundle)
        [patient], [encounter] = by_type["Patient"], by_type["Encounter"]
        assert patient.resource.identifier[0].value == str(incident_id) and not patient.resource.telecom
        assert patient.request.method == "POST" and patient.request.ifNoneExist.endswith(f"|{incident_id}")
        assert encounter.resource.status == "planned" and encounter.resource.class_fhir.code == "EMER"
        assert encounter.resource.subject.reference == patient.fullUrl
        eta = encounter.resource.period.start - await _alert_time(dispatcher, incident_id)
        assert eta == timedelta(seconds=600)  # expected arrival = alert time + ETA
        values = {o.resource.code.text: o.resource.valueString for o in by_type["Observation"]}
        assert values == {"Triage colour": "red", "Chief complaint": "chest pain"}
        assert CALLER not in json.dumps(bundle) and "Somchai" not in json.dumps(bundle)
        await _arrive(ems, incident_id)
        assert await wait_until(lambda: _len(_notified(dispatcher), 2), 10)
        [arrived] = _resources(received[1][1])["Encounter"]
        assert arrived.resource.status == "arrived"
        assert arrived.request.method == "PUT" and arrived.request.url.startswith("Encounter?identifier=")
        assert [(n["via"], n["stage"], n["ok"]) for n in await _notified(dispatcher)] == \
            [("fhir", "planned", True), ("fhir", "arrived", True)]
        assert fake_twilio.sent("sms") == []
    finally:
        receiver.stop()


async def test_an_endpoint_answering_500_is_retried_and_the_alert_delivered_once(ems, dispatcher, fake_twilio,
                                                                                 quick_retries):
    receiver, url, received, _ = await _start_receiver(500, 200)
    try:
        await _inbound_patient(ems, dispatcher, fhir_url=url)
        assert await wait_until(lambda: _len(_notified(dispatcher), 1), 10)
        assert len(received) == 2 and received[0][1] == received[1][1]  # the same Bundle, byte for byte
        assert await ems.ctx.hospital_alerts.deliver_pending() == 0  # already claimed: never resent
        await ems.integrations.after.drain()
        assert len(received) == 2
        assert [(n["via"], n["ok"], n["detail"]) for n in await _notified(dispatcher)] == [("fhir", True, None)]
        assert fake_twilio.sent("sms") == []
    finally:
        receiver.stop()


def test_vital_signs_become_valid_observations_and_a_bundle_is_the_same_on_every_build():
    incident = SimpleNamespace(id=42, colour="yellow", chief_complaint="หายใจลำบาก")
    at = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    vitals = {"heart_rate": 128, "spo2": 91, "systolic_bp": 90, "temperature": 38.4, "mood": 3, "spo2_src": "x"}
    bundle = build_bundle(incident, "H-1", stage="planned", at=at, version=7, eta_s=300, vitals=vitals)
    assert bundle == build_bundle(incident, "H-1", stage="planned", at=at, version=7, eta_s=300, vitals=vitals)
    observations = _resources(bundle)["Observation"]
    measured = {o.resource.code.coding[0].code: (float(o.resource.valueQuantity.value), o.resource.valueQuantity.code)
                for o in observations if o.resource.valueQuantity}
    assert measured == {"8867-4": (128, "/min"), "59408-5": (91, "%"), "8480-6": (90, "mm[Hg]"),
                        "8310-5": (38.4, "Cel")}
    assert all(o.resource.category[0].coding[0].code == "vital-signs" for o in observations
               if o.resource.valueQuantity)
    realert = build_bundle(incident, "H-1", stage="planned", at=at, version=9, eta_s=300)
    assert realert["identifier"] != bundle["identifier"]  # a new alert version is a new delivery


async def test_failing_fhir_endpoint_falls_back_to_sms_without_the_callers_number(ems, dispatcher, fake_twilio,
                                                                                   quick_retries):
    receiver, url, received, _ = await _start_receiver(503)
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
        await _arrive(ems, incident_id)
        assert await wait_until(lambda: _len(_notified(dispatcher), 2), 10)
        assert len(received) == 3  # tried three times (it kept answering 503), then the SMS
        assert "503 (after 3 attempts)" in (await _notified(dispatcher))[1]["detail"]
        assert fake_twilio.sent("sms")[1].params["To"] == "+6638000111"
    finally:
        receiver.stop()


async def _len(coro, n: int) -> bool:
    return len(await coro) >= n


async def test_a_refusing_endpoint_is_not_retried(ems, dispatcher, fake_twilio, quick_retries):
    receiver, url, received, _ = await _start_receiver(422)  # the hospital rejects the Bundle: retrying cannot help
    try:
        await _inbound_patient(ems, dispatcher, fhir_url=url)
        assert await wait_until(lambda: _len(_notified(dispatcher), 1), 10)
        [notice] = await _notified(dispatcher)
        assert len(received) == 1 and notice["via"] == "sms" and "422 (after 1 attempt)" in notice["detail"]
    finally:
        receiver.stop()


async def test_two_processes_deliver_each_alert_version_once(ems, dispatcher, database_url, redis_url, fake_twilio,
                                                             mqtt_url):
    other = Server(integration_config(database_url, redis_url, fake_twilio, mqtt_url))
    await other.start()  # a second process polling the same event log
    receiver, url, received, _ = await _start_receiver()
    try:
        incident_id = await _inbound_patient(ems, dispatcher, fhir_url=url)
        async with ems.ctx.store.unit_of_work("test") as uow:  # the ETA changed: a second version of the alert
            await uow.append(HospitalAlerted(at=ems.ctx.clock.now(), incident_id=incident_id, hospital_id="H-CBH",
                                             eta_s=300, colour="red", summary="chest pain"))
        assert await wait_until(lambda: _len(_notified(dispatcher), 2), 10)
        for process in (ems, other):
            assert await process.ctx.hospital_alerts.deliver_pending() == 0
            await process.integrations.after.drain()
        versions = [bundle["identifier"]["value"] for _, bundle in received]
        assert len(versions) == 2 and len(set(versions)) == 2
        assert [n["stage"] for n in await _notified(dispatcher)] == ["planned", "planned"]
    finally:
        receiver.stop()
        await other.stop()


RECORDED_VITALS = {"heart_rate": 128, "systolic_bp": 90, "diastolic_bp": 60, "respiratory_rate": 28, "spo2": 91,
                   "gcs": 14, "temperature": 38.4}
LOINC_BY_VITAL = {"heart_rate": "8867-4", "systolic_bp": "8480-6", "diastolic_bp": "8462-4",
                  "respiratory_rate": "9279-1", "spo2": "59408-5", "gcs": "9269-2", "temperature": "8310-5"}


def _measured(bundle: dict) -> dict[str, float]:
    return {o.resource.code.coding[0].code: float(o.resource.valueQuantity.value)
            for o in _resources(bundle)["Observation"] if o.resource.valueQuantity}


async def test_recorded_vitals_go_to_the_hospital_as_vital_sign_observations(ems, dispatcher, fake_twilio):
    receiver, url, received, _ = await _start_receiver()
    try:
        incident_id = await _inbound_patient(ems, dispatcher, fhir_url=url)
        assert await wait_until(lambda: _len(_notified(dispatcher), 1), 10)
        assert _measured(received[0][1]) == {}  # nothing measured yet
        status, _ = await dispatcher.post(f"/api/v1/incidents/{incident_id}/vitals", RECORDED_VITALS)
        assert status == 201
        assert await wait_until(lambda: _len(_notified(dispatcher), 2), 10)
        update = received[1][1]
        assert _measured(update) == {LOINC_BY_VITAL[k]: v for k, v in RECORDED_VITALS.items()}
        vital_signs = [o for o in _resources(update)["Observation"] if o.resource.valueQuantity]
        assert {o.resource.category[0].coding[0].code for o in vital_signs} == {"vital-signs"}
        [encounter] = _resources(update)["Encounter"]
        assert encounter.request.method == "POST" and encounter.request.ifNoneExist  # not a second encounter

        await _arrive(ems, incident_id)
        assert await wait_until(lambda: _len(_notified(dispatcher), 3), 10)
        assert _measured(received[2][1])[LOINC_BY_VITAL["gcs"]] == 14  # the arrival carries the latest set
        assert [(n["via"], n["stage"], n["ok"]) for n in await _notified(dispatcher)] == \
            [("fhir", "planned", True), ("fhir", "planned", True), ("fhir", "arrived", True)]
        assert CALLER not in json.dumps(received)
    finally:
        receiver.stop()


async def test_vitals_for_a_hospital_without_fhir_send_no_extra_sms(ems, dispatcher, fake_twilio):
    incident_id = await _inbound_patient(ems, dispatcher)
    assert await wait_until(lambda: _len(_notified(dispatcher), 1), 10)
    await dispatcher.post(f"/api/v1/incidents/{incident_id}/vitals", {"heart_rate": 90})
    await ems.ctx.hospital_alerts.deliver_pending()
    await ems.integrations.after.drain()
    assert len(await _notified(dispatcher)) == 1 and len(fake_twilio.sent("sms")) == 1  # the alert's SMS only
