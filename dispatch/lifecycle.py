"""Incident lifecycle: which status may follow which, and the NFPA-style intervals from status times."""
from __future__ import annotations

from datetime import datetime

from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError
from dispatch.model import Incident, IncidentStatus as S

NEXT: dict[S, set[S]] = {
    S.RECEIVED: {S.TRIAGED, S.ASSIGNED, S.CANCELLED},
    S.TRIAGED: {S.ASSIGNED, S.CANCELLED},
    S.ASSIGNED: {S.ACKNOWLEDGED, S.EN_ROUTE, S.CANCELLED, S.TRIAGED},
    S.ACKNOWLEDGED: {S.EN_ROUTE, S.CANCELLED},
    S.EN_ROUTE: {S.ON_SCENE, S.CANCELLED},
    S.ON_SCENE: {S.TRANSPORTING, S.CLOSED},  # closed on scene: treated and left, or refused transport
    S.TRANSPORTING: {S.AT_HOSPITAL},
    S.AT_HOSPITAL: {S.CLOSED},
    S.CLOSED: set(),
    S.CANCELLED: set(),
}

INTERVALS = {  # name: (from status, to status)
    "call_processing": (S.RECEIVED, S.ASSIGNED),
    "turnout": (S.ASSIGNED, S.EN_ROUTE),
    "travel": (S.EN_ROUTE, S.ON_SCENE),
    "on_scene": (S.ON_SCENE, S.TRANSPORTING),
    "transport": (S.TRANSPORTING, S.AT_HOSPITAL),
    "handover": (S.AT_HOSPITAL, S.CLOSED),
    "response": (S.RECEIVED, S.ON_SCENE),  # the 8-minute target for red patients
}


# How a closed or cancelled incident ended (the dispatcher's close-out code, stored on IncidentStatusChanged and
# shown in replay). Closing means a crew dealt with the call; cancelling means no crew was needed after all.
CLOSE_DISPOSITIONS = ("treated_transported", "treated_on_scene", "refused_transport", "dead_on_arrival",
                      "no_patient_found", "transferred_other_agency", "other")
CANCEL_DISPOSITIONS = ("cancelled_by_caller", "duplicate", "false_alarm", "no_patient_found",
                       "transferred_other_agency", "other")
DISPOSITIONS: dict[S, tuple[str, ...]] = {S.CLOSED: CLOSE_DISPOSITIONS, S.CANCELLED: CANCEL_DISPOSITIONS}


def disposition_problem(new: S, disposition: object) -> FieldError | None:
    """Why `disposition` does not fit a move to `new` (the refused field), or None when it fits. A disposition belongs only to a close
    or a cancel; None is accepted there (older clients, the simulator) and stored as unknown."""
    if disposition is None:
        return None
    if new not in DISPOSITIONS:
        return FieldError("disposition", ErrorCode.DISPOSITION_NOT_TAKEN)
    if not isinstance(disposition, str) or disposition not in DISPOSITIONS[new]:
        return FieldError("disposition", ErrorCode.DISPOSITION_ONE_OF, allowed=", ".join(DISPOSITIONS[new]),
                          status=new.value)
    return None


def can_move(current: S, new: S) -> bool:
    """True if an incident may go from status `current` to `new` (the lifecycle's allowed moves)."""
    return new in NEXT[current]


def intervals(incident: Incident) -> dict[str, float | None]:
    """Seconds for each interval whose two ends happened; None where one end is missing."""
    times: dict[str, datetime] = incident.status_times
    result = {}
    for name, (start, end) in INTERVALS.items():
        a, b = times.get(start.value), times.get(end.value)
        result[name] = (b - a).total_seconds() if a and b else None
    return result
