"""FHIR R4 pre-arrival Bundle for a receiving hospital, as plain JSON (no FHIR library needed).

A `transaction` Bundle of: a Patient with minimal data (no name, no phone — hospitals never get the caller's
number; only the incident id as an identifier), an Encounter (`planned` on the pre-arrival alert, `arrived` when
the ambulance reaches the hospital), and Observations for the triage colour, the chief complaint and any vitals.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

INCIDENT_SYSTEM = "urn:ems:chonburi:incident"
LOCAL_SYSTEM = "urn:ems:chonburi:code"
LOINC = "http://loinc.org"
# Vital signs by the key a crew record may use → (LOINC code, display, UCUM unit)
VITALS = {
    "heart_rate": ("8867-4", "Heart rate", "/min"),
    "respiratory_rate": ("9279-1", "Respiratory rate", "/min"),
    "spo2": ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%"),
    "systolic_bp": ("8480-6", "Systolic blood pressure", "mm[Hg]"),
    "diastolic_bp": ("8462-4", "Diastolic blood pressure", "mm[Hg]"),
    "temperature": ("8310-5", "Body temperature", "Cel"),
}


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    full_url = f"urn:uuid:{uuid.uuid4()}"
    return {"fullUrl": full_url, "resource": resource,
            "request": {"method": "POST", "url": resource["resourceType"]}}


def _observation(patient_ref: str, encounter_ref: str, code: dict[str, Any], at: str, **value: Any) -> dict:
    return {"resourceType": "Observation", "status": "preliminary", "code": code,
            "subject": {"reference": patient_ref}, "encounter": {"reference": encounter_ref},
            "effectiveDateTime": at, **value}


def build_bundle(incident: Any, hospital_id: str, *, stage: str, now: datetime, eta_s: float | None = None,
                 colour: str | None = None, summary: str | None = None,
                 vitals: dict[str, float] | None = None) -> dict[str, Any]:
    """The Bundle for `incident` bound for `hospital_id`; stage is "planned" (pre-arrival) or "arrived"."""
    at = now.isoformat()
    patient = _entry({"resourceType": "Patient", "identifier": [{"system": INCIDENT_SYSTEM, "value": str(incident.id)}],
                      "gender": "unknown"})
    period = {"start": (now + timedelta(seconds=eta_s)).isoformat()} if stage == "planned" and eta_s else {"start": at}
    encounter = _entry({
        "resourceType": "Encounter", "status": stage,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER",
                  "display": "emergency"},
        "identifier": [{"system": INCIDENT_SYSTEM, "value": str(incident.id)}],
        "subject": {"reference": patient["fullUrl"]},
        "serviceProvider": {"identifier": {"system": "urn:ems:chonburi:hospital", "value": hospital_id}},
        "period": period,
    })
    pref, eref = patient["fullUrl"], encounter["fullUrl"]
    entries = [patient, encounter]
    colour = colour or getattr(incident, "colour", None)
    if colour:
        entries.append(_entry(_observation(pref, eref, {"coding": [{"system": LOCAL_SYSTEM, "code": "triage-colour",
                                                                    "display": "Triage colour"}],
                                                        "text": "Triage colour"}, at, valueString=colour)))
    complaint = summary or getattr(incident, "chief_complaint", None)
    if complaint:
        entries.append(_entry(_observation(pref, eref, {"coding": [{"system": LOINC, "code": "8661-1",
                                                                    "display": "Chief complaint - Reported"}],
                                                        "text": "Chief complaint"}, at, valueString=complaint)))
    for key, value in (vitals or {}).items():
        if key in VITALS and isinstance(value, int | float):
            code, display, unit = VITALS[key]
            entries.append(_entry(_observation(
                pref, eref, {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display}, at,
                category=[{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                       "code": "vital-signs"}]}],
                valueQuantity={"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit})))
    return {"resourceType": "Bundle", "type": "transaction", "timestamp": at, "entry": entries}
