"""The national operation record: each closed operation as the fields Thailand's NIEMS ITEMS (Information
Technology for Emergency Medical System) asks of a 1669 operation, and which of them are missing.

Pure: the caller reads the closed incidents, the events about them, and the units' later status changes (for
"back at base"); this module picks the responding unit and the times. The field mapping, and why each value
comes from where it does, is written up in docs/items.md.

The responding unit is the first unit to set off to the incident (en route), else the first assigned and not
withdrawn. Times are that unit's: ordered (assigned), departed (en route), at scene, left the scene (transporting,
or returning/available straight from the scene), at hospital, and back at base (its first `available` after the
incident). Times are written in Thai local time with their offset (+07:00).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from dispatch.kpi import LOCAL_OFFSET, local_date
from dispatch.model import Hospital, Incident, IncidentStatus, Unit
from dispatch.ports import StoredEvent

UNIT_LEVELS = {"ALS": "ระดับสูง (ALS)", "BLS": "ระดับพื้นฐาน (BLS)", "FR": "ระดับเบื้องต้น (FR)"}
COLOURS_TH = {"red": "แดง", "yellow": "เหลือง", "green": "เขียว", "white": "ขาว"}
# Close-out code (dispatch.lifecycle.CLOSE_DISPOSITIONS) → outcome category and its Thai label.
OUTCOMES = {
    "treated_transported": ("transported", "รักษาและนำส่งโรงพยาบาล"),
    "treated_on_scene": ("treated_not_transported", "รักษา ณ จุดเกิดเหตุ ไม่นำส่ง"),
    "refused_transport": ("refused", "ผู้ป่วยปฏิเสธการรักษาหรือการนำส่ง"),
    "dead_on_arrival": ("dead_at_scene", "เสียชีวิต ณ จุดเกิดเหตุ"),
    "no_patient_found": ("not_found", "ไม่พบผู้ป่วย/ไม่พบเหตุ"),
    "transferred_other_agency": ("handed_over", "ส่งต่อหน่วยอื่น"),
    "other": ("other", "อื่น ๆ"),
}
TIME_COLUMNS = ("call_received_at", "order_at", "depart_at", "at_scene_at", "depart_scene_at", "at_hospital_at",
                "back_at_base_at")
COLUMNS = ("operation_number", "incident_id", "call_date", "agency_id", "unit_id", "unit_level", "unit_level_th",
           "cbd_code", "cbd_group", "colour", "colour_th", *TIME_COLUMNS, "outcome", "outcome_th", "hospital_id",
           "hospital_name")
ALWAYS_REQUIRED = ("operation_number", "agency_id", "unit_id", "unit_level", "cbd_code", "colour", "call_received_at",
                   "order_at", "depart_at", "at_scene_at", "depart_scene_at", "back_at_base_at", "outcome")
TRANSPORT_REQUIRED = ("at_hospital_at", "hospital_id")  # only when the patient was taken to hospital
_LEFT_SCENE = ("transporting", "returning", "available")


def operation_number(incident: Incident) -> str:
    """The operation's number: its local (Thai) call date and incident id, e.g. 20261130-000042."""
    return f"{local_date(incident.reported_at):%Y%m%d}-{incident.id:06d}"


def _local(at: datetime | None) -> str | None:
    return None if at is None else (at + LOCAL_OFFSET).replace(tzinfo=None).isoformat(timespec="seconds") + "+07:00"


def _responding_unit(events: list[StoredEvent]) -> str | None:
    departed = [e.payload["unit_id"] for e in events
                if e.type == "UnitStatusChanged" and e.payload.get("status") == "en_route" and e.payload.get("unit_id")]
    if departed:
        return departed[0]
    withdrawn = {e.payload.get("unit_id") for e in events if e.type == "AssignmentCancelled"}
    assigned = [e.payload["unit_id"] for e in events if e.type == "UnitAssigned"]
    kept = [u for u in assigned if u not in withdrawn]
    return (kept or assigned or [None])[0]


def _first(events: Iterable[StoredEvent], unit_id: str, statuses: tuple[str, ...],
           after_seq: int = 0) -> StoredEvent | None:
    return next((e for e in events if e.type == "UnitStatusChanged" and e.seq > after_seq
                 and e.payload.get("unit_id") == unit_id and e.payload.get("status") in statuses), None)


def operation_record(incident: Incident, events: list[StoredEvent], unit_events: list[StoredEvent],
                     units: Mapping[str, Unit], hospitals: Mapping[str, Hospital]) -> dict[str, Any]:
    """One closed operation as ITEMS fields (COLUMNS; None where the log does not say).

    Parameters
    ----------
    incident : the closed incident.
    events : the events about it (its stream and those naming it), in seq order.
    unit_events : UnitStatusChanged events of its units from its start on, in seq order (for back at base: the
        status change that frees a unit no longer names the incident).
    units, hospitals : registry rows by id (retired ones included: the record keeps what was true then).
    """
    unit_id = _responding_unit(events)
    unit = units.get(unit_id) if unit_id else None
    triage = incident.triage
    outcome = OUTCOMES.get(incident.disposition or "")
    hospital_id = incident.destination_hospital_id
    hospital = hospitals.get(hospital_id) if hospital_id else None
    record: dict[str, Any] = dict.fromkeys(COLUMNS)
    record.update({
        "operation_number": operation_number(incident), "incident_id": incident.id,
        "call_date": local_date(incident.reported_at).isoformat(),
        "agency_id": unit.agency_id if unit else None, "unit_id": unit_id,
        "unit_level": unit.capability.value if unit else None,
        "unit_level_th": UNIT_LEVELS.get(unit.capability.value) if unit else None,
        "cbd_code": triage.code if triage else None, "cbd_group": triage.group if triage else None,
        "colour": incident.colour, "colour_th": COLOURS_TH.get(incident.colour or ""),
        "call_received_at": _local(incident.reported_at),
        "outcome": outcome[0] if outcome else None, "outcome_th": outcome[1] if outcome else None,
        "hospital_id": hospital_id, "hospital_name": hospital.name_th if hospital else None,
    })
    if unit_id is None:
        return record
    ordered = next((e for e in events if e.type == "UnitAssigned" and e.payload.get("unit_id") == unit_id), None)
    own = [e for e in events if e.payload.get("unit_id") == unit_id]
    departed = _first(own, unit_id, ("en_route",))
    at_scene = _first(own, unit_id, ("on_scene",))
    left_scene = _first(own, unit_id, _LEFT_SCENE, at_scene.seq) if at_scene else None
    at_hospital = _first(own, unit_id, ("at_hospital",))
    anchor = at_hospital or at_scene or departed or ordered
    back = None
    if anchor is not None:  # its first `available` after the last step it took on this call
        back = _first(unit_events, unit_id, ("available",), anchor.seq) or _first(own, unit_id, ("available",),
                                                                                    anchor.seq)
    record.update({name: _local(e.occurred_at) if e else None for name, e in (
        ("order_at", ordered), ("depart_at", departed), ("at_scene_at", at_scene), ("depart_scene_at", left_scene),
        ("at_hospital_at", at_hospital), ("back_at_base_at", back))})
    return record


def missing_fields(record: dict[str, Any]) -> list[str]:
    """The ITEMS fields a closed operation still lacks (hospital and arrival only when it was transported)."""
    required = list(ALWAYS_REQUIRED)
    if record.get("outcome") == "transported" or record.get("hospital_id"):
        required += TRANSPORT_REQUIRED
    return [name for name in required if record.get(name) in (None, "")]


def is_closed_operation(incident: Incident) -> bool:
    """Only closed operations go to ITEMS (a cancelled call sent no crew to a patient)."""
    return incident.status is IncidentStatus.CLOSED


def to_csv(records: Iterable[dict[str, Any]]) -> str:
    """The records as CSV text: a header of COLUMNS, one line each, None as an empty cell; starts with a UTF-8
    byte-order mark so that spreadsheet programs read the Thai text as UTF-8."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: "" if record.get(k) is None else record[k] for k in COLUMNS})
    return "\ufeff" + out.getvalue()
