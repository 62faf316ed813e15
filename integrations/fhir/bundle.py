"""FHIR R4 pre-arrival Bundle for a receiving hospital, as plain JSON (tests validate it with `fhir.resources`).

A `transaction` Bundle of: a Patient with minimal data (no name, no phone — hospitals never get the caller's
number; only the incident id as an identifier), an Encounter (`planned` on the pre-arrival alert, with the expected
arrival time (ETA) as its period start; `arrived` when the ambulance reaches the hospital), and Observations for the
triage colour, the chief complaint and any vital signs.

Every alert has a key (incident, hospital, stage, version); the Bundle built for it is the same bytes on every
retry: its identifier and fullUrls derive from the key, and each entry is a conditional create (or, for the arrived
Encounter, a conditional update), so a FHIR server that already stored it — a POST whose answer was lost — stores
nothing twice.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

INCIDENT_SYSTEM = "urn:ems:chonburi:incident"
ALERT_SYSTEM = "urn:ems:chonburi:hospital-alert"
OBSERVATION_SYSTEM = "urn:ems:chonburi:observation"
LOCAL_SYSTEM = "urn:ems:chonburi:code"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ENCOUNTER_CLASS = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER",
                   "display": "emergency"}
# Vital signs by the key a crew record may use → (LOINC code, display, UCUM unit)
VITALS = {
    "heart_rate": ("8867-4", "Heart rate", "/min"),
    "respiratory_rate": ("9279-1", "Respiratory rate", "/min"),
    "spo2": ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%"),
    "systolic_bp": ("8480-6", "Systolic blood pressure", "mm[Hg]"),
    "diastolic_bp": ("8462-4", "Diastolic blood pressure", "mm[Hg]"),
    "temperature": ("8310-5", "Body temperature", "Cel"),
    "gcs": ("9269-2", "Glasgow coma score total", "{score}"),
}
VITAL_SIGNS = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "vital-signs", "display": "Vital Signs"}]}]


def alert_key(incident_id: int, hospital_id: str, stage: str, version: int) -> str:
    """One alert: `version` is the event-log position of the alert (a re-alert is a new version)."""
    return f"{incident_id}/{hospital_id}/{stage}/{version}"


class _Builder:
    def __init__(self, key: str):
        self.key = key
        self.entries: list[dict[str, Any]] = []

    def full_url(self, name: str) -> str:
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{ALERT_SYSTEM}/{self.key}/{name}')}"

    def add(self, name: str, resource: dict[str, Any], identifier: dict[str, str], *,
            update: bool = False) -> str:
        """Append `resource` as a conditional create on `identifier` (or a conditional update); its fullUrl."""
        kind = resource["resourceType"]
        search = f"identifier={identifier['system']}|{identifier['value']}"
        request = {"method": "PUT", "url": f"{kind}?{search}"} if update else \
            {"method": "POST", "url": kind, "ifNoneExist": search}
        url = self.full_url(name)
        self.entries.append({"fullUrl": url, "resource": {**resource, "identifier": [identifier]},
                             "request": request})
        return url

    def observation(self, name: str, subject: str, encounter: str, code: dict[str, Any], at: str,
                    **value: Any) -> None:
        self.add(name, {"resourceType": "Observation", "status": "preliminary", "code": code,
                        "subject": {"reference": subject}, "encounter": {"reference": encounter},
                        "effectiveDateTime": at, **value},
                 {"system": OBSERVATION_SYSTEM, "value": f"{self.key}/{name}"})


def build_bundle(incident: Any, hospital_id: str, *, stage: str, at: datetime, version: int,
                 eta_s: float | None = None, colour: str | None = None, summary: str | None = None,
                 vitals: dict[str, float] | None = None) -> dict[str, Any]:
    """The Bundle for `incident` bound for `hospital_id`.

    stage: "planned" (pre-arrival) or "arrived". at: when the alert was raised (UTC); the ETA (seconds) counts from
    it. version: the alert's position in the event log; the same arguments always give the same Bundle.
    """
    build = _Builder(alert_key(incident.id, hospital_id, stage, version))
    when = at.isoformat()
    incident_ref = {"system": INCIDENT_SYSTEM, "value": str(incident.id)}
    patient = build.add("patient", {"resourceType": "Patient", "gender": "unknown"}, incident_ref)
    expected = at + timedelta(seconds=eta_s) if stage == "planned" and eta_s is not None else at
    encounter = build.add("encounter", {
        "resourceType": "Encounter", "status": stage, "class": ENCOUNTER_CLASS,
        "subject": {"reference": patient},
        "serviceProvider": {"identifier": {"system": "urn:ems:chonburi:hospital", "value": hospital_id}},
        "period": {"start": expected.isoformat()},
    }, incident_ref, update=stage == "arrived")
    colour = colour or getattr(incident, "colour", None)
    if colour:
        build.observation("triage-colour", patient, encounter,
                          {"coding": [{"system": LOCAL_SYSTEM, "code": "triage-colour", "display": "Triage colour"}],
                           "text": "Triage colour"}, when, valueString=colour)
    complaint = summary or getattr(incident, "chief_complaint", None)
    if complaint:
        build.observation("chief-complaint", patient, encounter,
                          {"coding": [{"system": LOINC, "code": "8661-1", "display": "Chief complaint - Reported"}],
                           "text": "Chief complaint"}, when, valueString=complaint)
    for key, value in (vitals or {}).items():
        if key in VITALS and isinstance(value, int | float) and not isinstance(value, bool):
            code, display, unit = VITALS[key]
            build.observation(key, patient, encounter,
                              {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
                              when, category=VITAL_SIGNS,
                              valueQuantity={"value": value, "unit": unit, "system": UCUM, "code": unit})
    return {"resourceType": "Bundle", "type": "transaction", "timestamp": when,
            "identifier": {"system": ALERT_SYSTEM, "value": build.key}, "entry": build.entries}
