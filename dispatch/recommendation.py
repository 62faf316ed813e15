"""Rank units for an incident by road ETA, filtered by the capability its triage asks for.

Where the incident or a unit is outside road coverage, that unit's ETA is a straight-line estimate: the entry says
so (`outside_coverage`, `eta_source`, `snap_distance_m`, and its "why" in both languages), and auto-dispatch never
acts on it (dispatch/assignment.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from dispatch.agencies import agency_of
from dispatch.error_codes import ErrorCode
from dispatch.errors import Conflict
from dispatch.model import CAPABILITY_RANK, Capability, Incident, LatLon, Unit, UnitStatus
from dispatch.ports import EtaProvider, EventStore, UnitPositions, get_or_not_found

RETURNING_PENALTY_S = 60.0  # a unit driving back may still need to restock
OVER_CAPABILITY_PENALTY_S = 90.0  # keep ALS crews free for red calls unless they are clearly closer


@dataclass(frozen=True)
class Recommendation:
    unit_id: str
    call_sign: str
    capability: str
    status: str
    eta_s: float | None
    distance_m: float | None
    score_s: float | None
    why_en: str
    why_th: str
    position_source: str  # "avl" or "station"
    outside_coverage: bool  # the incident or the unit is off the road network: eta_s is a straight-line estimate
    eta_source: str  # "road" or "straight_line"
    snap_distance_m: float  # the farther of incident and unit from its nearest mapped road

    def to_json(self) -> dict:
        """The recommendation as a JSON-ready dict (ETA in seconds, distance in metres, as named)."""
        return dict(self.__dict__)


def required_capability(incident: Incident) -> Capability:
    """The unit level the incident needs: its triage's, else ALS for a provisional red, else BLS."""
    if incident.triage:
        return incident.triage.capability
    return Capability.ALS if incident.provisional_colour == "red" else Capability.BLS


class RecommendationService:
    def __init__(self, store: EventStore, etas: EtaProvider, positions: UnitPositions):
        self.store = store
        self.etas = etas
        self.positions = positions

    async def eta_for(self, incident: Incident, unit: Unit):
        """One unit's road ETA to the incident (None when the incident has no location yet)."""
        if incident.location is None:
            return None
        live = await self.positions.latest([unit.id])
        [eta] = await self.etas.etas_to(LatLon(incident.location.lat, incident.location.lon),
                                        [live.get(unit.id) or unit.base])
        return eta

    async def recommend(self, incident_id: int, *, limit: int = 10, exclude: set[str] = frozenset(),
                        capability: Capability | None = None, agency: str | None = None) -> list[Recommendation]:
        """Free, staffed units ranked for the incident. `capability`: rank for this level instead of the
        triage's (the second unit of a mix, e.g. BLS); `agency`: only that agency's units (an agency's own
        dispatcher; None: every agency's, as the 1669 centre sees them). A unit whose crew has logged off is
        never offered."""
        incident = await get_or_not_found(self.store, "incidents", incident_id)
        if incident.location is None:
            raise Conflict(ErrorCode.NO_VERIFIED_LOCATION)
        needed = capability or required_capability(incident)
        units: list[Unit] = [u for u in await self.store.list("units", open_only=True)
                             if u.status in (UnitStatus.AVAILABLE, UnitStatus.RETURNING) and u.id not in exclude
                             and u.staffed and (agency is None or agency_of(u.agency_id) == agency)]
        qualified = [u for u in units if CAPABILITY_RANK[u.capability] >= CAPABILITY_RANK[needed]]
        candidates = qualified or units  # nobody qualified free: show the rest, flagged, rather than nothing
        live = await self.positions.latest([u.id for u in candidates])
        origins = [live.get(u.id) or u.base for u in candidates]
        etas = await self.etas.etas_to(LatLon(incident.location.lat, incident.location.lon), origins) if candidates else []
        ranked = []
        for unit, eta in zip(candidates, etas):
            score = None
            if eta.eta_s is not None:
                score = eta.eta_s + (RETURNING_PENALTY_S if unit.status is UnitStatus.RETURNING else 0) + (
                    OVER_CAPABILITY_PENALTY_S if CAPABILITY_RANK[unit.capability] > CAPABILITY_RANK[needed] else 0)
            why_en, why_th = _why(unit, eta, needed, unit.id in live)
            ranked.append(Recommendation(
                unit_id=unit.id, call_sign=unit.id, capability=unit.capability.value, status=unit.status.value,
                eta_s=eta.eta_s, distance_m=eta.distance_m, score_s=score, why_en=why_en, why_th=why_th,
                position_source="avl" if unit.id in live else "station", outside_coverage=eta.outside_coverage,
                eta_source=eta.eta_source, snap_distance_m=round(eta.snap_distance_m, 1)))
        ranked.sort(key=lambda r: (r.score_s is None, r.score_s or 0.0, r.unit_id))
        return ranked[:limit]


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def eta_reasons(eta) -> list[tuple[str, str]]:
    """How an ETA was found, as (English, Thai) parts: by road, or a straight-line estimate and why."""
    if eta.eta_source != "straight_line" and eta.distance_m is None:  # a far unit: its metres were not traced
        return [(f"{_minutes(eta.eta_s)} min by road", f"{_minutes(eta.eta_s)} นาทีทางถนน")]
    km = eta.distance_m / 1000
    if eta.eta_source != "straight_line":
        return [(f"{_minutes(eta.eta_s)} min by road ({km:.1f} km)", f"{_minutes(eta.eta_s)} นาทีทางถนน ({km:.1f} กม.)")]
    parts = [(f"≈{_minutes(eta.eta_s)} min straight-line estimate ({km:.1f} km with detour)",
              f"≈{_minutes(eta.eta_s)} นาที ประมาณจากระยะเส้นตรง ({km:.1f} กม. รวมทางอ้อม)")]
    if eta.outside_coverage:
        off_km = eta.snap_distance_m / 1000
        parts.append((f"outside road coverage ({off_km:.1f} km from the nearest mapped road)",
                      f"อยู่นอกพื้นที่ข้อมูลถนน (ห่างถนนในแผนที่ {off_km:.1f} กม.)"))
    return parts


def _why(unit: Unit, eta, needed: Capability, live: bool) -> tuple[str, str]:
    """The reason for a unit's place in the list, in English and Thai."""
    if eta.eta_s is None:
        return "no road route within the ETA limit", "ไม่มีเส้นทางถนนภายในเวลาที่กำหนด"
    parts = [*eta_reasons(eta),
             ("live GPS", "ตำแหน่ง GPS ล่าสุด") if live else (f"from {unit.station_name}", f"จาก{unit.station_name}")]
    rank, wanted = CAPABILITY_RANK[unit.capability], CAPABILITY_RANK[needed]
    if rank > wanted:
        parts.append((f"{unit.capability.value} for a {needed.value} call",
                      f"ทีม {unit.capability.value} สำหรับเหตุระดับ {needed.value}"))
    elif rank < wanted:
        parts.append((f"below the {needed.value} requested", f"ต่ำกว่าระดับ {needed.value} ที่ต้องการ"))
    if unit.status is UnitStatus.RETURNING:
        parts.append(("returning from a call", "กำลังเดินทางกลับฐาน"))
    return "; ".join(en for en, _ in parts), " · ".join(th for _, th in parts)
