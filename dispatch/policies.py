"""Who may do what: the one place role checks of actions live (the edge passes the caller's role). Who may see
what (the read rule and the fields each role sees) is dispatch/access.py."""
from __future__ import annotations

from dispatch.error_codes import ErrorCode
from dispatch.errors import Forbidden

ALLOWED = {
    "report": {"dispatcher", "admin", "device"},
    "triage": {"dispatcher", "admin"},
    "assign": {"dispatcher", "admin"},
    "merge": {"dispatcher", "admin"},
    "close": {"dispatcher", "admin"},
    "cancel": {"dispatcher", "admin"},
    "change_incident_status": {"dispatcher", "admin"},  # correct a step (a crew reports its unit's status instead)
    "choose_destination": {"dispatcher", "admin", "crew"},
    "crew_status": {"crew", "dispatcher", "admin"},
    "acknowledge": {"crew"},
    "manage_fleet": {"dispatcher", "admin"},
    "hospital_capacity": {"hospital", "admin", "dispatcher"},
    "acknowledge_inbound": {"hospital", "admin"},
    "record_vitals": {"crew", "dispatcher", "admin"},
    "read_registry": {"dispatcher", "admin"},  # stations, units, hospitals, users as the admin page lists them
    "manage_registry": {"admin"},  # create, edit, retire and import registry records
    "read_items": {"dispatcher", "admin"},  # the NIEMS ITEMS export and its completeness report
    "manage_agencies": {"admin"},
    "log_shift": {"crew", "dispatcher", "admin"},
    "mutual_aid": {"dispatcher", "admin"},
}


def require(role: str, action: str) -> None:
    """Nothing if `role` may do `action`; raises Forbidden otherwise (KeyError for an unknown action)."""
    if role not in ALLOWED[action]:
        raise Forbidden(ErrorCode.ROLE_MAY_NOT, role=role, action=action.replace('_', ' '))
