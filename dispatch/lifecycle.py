"""Incident lifecycle: which status may follow which, and the NFPA-style intervals from status times."""
from __future__ import annotations

from datetime import datetime

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
