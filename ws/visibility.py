"""Who may see which event: authorization on every frame.

Dispatchers and admins see everything. A crew sees events about its own unit and about incidents its unit is
assigned to. A hospital sees events that name it (patients inbound to it), with caller phone numbers removed.
The assignment map is kept from the event stream itself, so every process agrees without extra queries.
"""
from __future__ import annotations

from typing import Any

from db.identity import Identity
from dispatch.ports import StoredEvent

PRIVATE_KEYS = ("phone", "line_user_id")  # caller contact details: never shown to hospitals
RELEASED_UNIT_STATUSES = ("available", "out_of_service", "returning")  # the unit has left its incident


def strip_private(payload: Any) -> Any:
    """A copy without caller phone numbers or LINE user ids (hospitals never see them)."""
    if isinstance(payload, dict):
        return {k: strip_private(v) for k, v in payload.items() if k not in PRIVATE_KEYS}
    if isinstance(payload, list):
        return [strip_private(v) for v in payload]
    return payload


class Visibility:
    def __init__(self) -> None:
        self.units_by_incident: dict[int, set[str]] = {}
        self.hospitals_by_incident: dict[int, set[str]] = {}

    def load(self, incidents, units) -> None:
        """Start from the open incidents' units and destinations (at process start). Only units still on the
        incident count: a crew that has left one must not get its frames after a restart."""
        on_incident = {(u.incident_id, u.id) for u in units if u.incident_id is not None}
        for incident in incidents:
            unit_ids = {u for u in incident.unit_ids if (incident.id, u) in on_incident}
            if unit_ids:
                self.units_by_incident[incident.id] = unit_ids
            if incident.destination_hospital_id:
                self.hospitals_by_incident[incident.id] = {incident.destination_hospital_id}

    def observe(self, event: StoredEvent) -> None:
        """Keep the incident → unit / hospital map current. Call once per event, in seq order, before can_see."""
        p = event.payload
        incident_id = p.get("incident_id")
        if incident_id is None:
            return
        if event.type == "AssignmentCancelled":
            if p.get("unit_id"):
                self.units_by_incident.get(incident_id, set()).discard(p["unit_id"])
        elif p.get("unit_id") and event.type == "UnitAssigned":
            self.units_by_incident.setdefault(incident_id, set()).add(p["unit_id"])
        elif event.type == "UnitStatusChanged" and p.get("status") in RELEASED_UNIT_STATUSES:
            self.units_by_incident.get(incident_id, set()).discard(p["unit_id"])  # the crew is done with it
        if p.get("hospital_id"):
            self.hospitals_by_incident.setdefault(incident_id, set()).add(p["hospital_id"])
        if event.type == "IncidentStatusChanged" and p.get("status") in ("closed", "cancelled"):
            self.units_by_incident.pop(incident_id, None)
            self.hospitals_by_incident.pop(incident_id, None)

    def units_for(self, event: StoredEvent) -> set[str]:
        """Units whose crews may see this event."""
        p = event.payload
        units = set(self.units_by_incident.get(p.get("incident_id"), ()))
        if p.get("unit_id"):
            units.add(p["unit_id"])
        return units

    def hospitals_for(self, event: StoredEvent) -> set[str]:
        p = event.payload
        hospitals = set(self.hospitals_by_incident.get(p.get("incident_id"), ()))
        if p.get("hospital_id"):
            hospitals.add(p["hospital_id"])
        return hospitals

    def can_see(self, identity: Identity, event: StoredEvent) -> bool:
        return self.may_see(identity, self.units_for(event), self.hospitals_for(event))

    @staticmethod
    def may_see(identity: Identity, unit_ids, hospital_ids) -> bool:
        """The read rule, for events and incident rows alike: dispatchers see everything, a crew what its unit is
        on, a hospital what is bound for it."""
        if identity.role in ("dispatcher", "admin"):
            return True
        if identity.role == "crew":
            return bool(identity.unit_id) and identity.unit_id in unit_ids
        if identity.role == "hospital":
            return bool(identity.hospital_id) and identity.hospital_id in hospital_ids
        return False

    @staticmethod
    def redacts(identity: Identity) -> bool:
        """Whether `identity` sees payloads without private fields (so views can be shared by this answer)."""
        return identity.role == "hospital"

    def view(self, identity: Identity, payload: dict) -> dict:
        """The payload as this identity may see it."""
        return strip_private(payload) if self.redacts(identity) else payload
