"""The Chonburi demo: real hospitals and a fire station from OSM (data/osm), a fleet of ten units based there.

Capabilities, bed counts and crews are illustrative, not official data.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from dispatch.events import HospitalRegistered, UnitRegistered
from dispatch.model import Capability, LatLon
from dispatch.ports import EventStore

POIS = Path(__file__).resolve().parent.parent / "data" / "osm" / "chonburi_emergency_pois.geojson"

HOSPITALS = {  # OSM id → (capabilities, ED beds free)
    "way/525523960": (["trauma", "stroke", "stemi", "paediatric", "obstetric"], 12),  # Chonburi Hospital
    "way/115844597": (["stroke", "stemi", "paediatric", "obstetric"], 6),  # Aikchol
    "way/276522204": (["paediatric"], 4),  # Aikchol 2
    "way/565018836": (["stemi", "paediatric"], 5),  # Samitivej Chonburi
    "node/7856667468": (["obstetric", "paediatric"], 3),  # Mother and Child
    "node/7856667469": ([], 4),  # Chonlawet
    "node/7856667470": (["trauma"], 6),  # Khai Nawamintharachini (army)
}
FLEET = [  # call sign, capability, base (OSM id), crew
    ("CB-ALS-01", Capability.ALS, "way/525523960", ["พยาบาลวิชาชีพ", "EMT-I", "พนักงานขับรถ"]),
    ("CB-ALS-02", Capability.ALS, "way/525523960", ["พยาบาลวิชาชีพ", "EMT-I", "พนักงานขับรถ"]),
    ("CB-BLS-01", Capability.BLS, "way/525523960", ["EMT-B", "พนักงานขับรถ"]),
    ("CB-ALS-03", Capability.ALS, "way/115844597", ["Paramedic", "EMT-I", "Driver"]),
    ("CB-BLS-02", Capability.BLS, "way/115844597", ["EMT-B", "Driver"]),
    ("CB-BLS-03", Capability.BLS, "node/7856667470", ["EMT-B", "พลขับ"]),
    ("CB-BLS-04", Capability.BLS, "way/276522204", ["EMT-B", "Driver"]),
    ("CB-FR-01", Capability.FR, "way/1259389562", ["อาสากู้ภัย", "อาสากู้ภัย"]),
    ("CB-FR-02", Capability.FR, "way/1259389562", ["อาสากู้ภัย", "อาสากู้ภัย"]),
    ("CB-FR-03", Capability.FR, "node/7856667468", ["อาสากู้ภัย", "อาสากู้ภัย"]),
]


def _pois() -> dict[str, dict]:
    features = json.loads(POIS.read_text(encoding="utf-8"))["features"]
    return {f["properties"]["id"]: f for f in features}


def demo_events(at: datetime | None = None) -> list:
    """The Chonburi demo fleet as registration events (hospitals, stations, units), stamped `at` (default now, UTC).

    Raises
    ------
    FileNotFoundError
        If the bundled OSM points of interest file is missing.
    """
    at = at or datetime.now(UTC)
    pois = _pois()
    events: list = []
    for osm_id, (capabilities, beds) in HOSPITALS.items():
        p, (lon, lat) = pois[osm_id]["properties"], pois[osm_id]["geometry"]["coordinates"]
        events.append(HospitalRegistered(at=at, hospital_id=osm_id.replace("/", "-"), name_th=p.get("name", osm_id),
                                         name_en=p.get("name:en") or p.get("name", osm_id), location=LatLon(lat, lon),
                                         capabilities=capabilities, ed_beds_free=beds))
    for n, (call_sign, capability, base, crew) in enumerate(FLEET, start=1):
        p, (lon, lat) = pois[base]["properties"], pois[base]["geometry"]["coordinates"]
        events.append(UnitRegistered(at=at, unit_id=call_sign, capability=capability, station_id=base.replace("/", "-"),
                                     station_name=p.get("name", base), base=LatLon(lat, lon), crew=crew,
                                     phone=f"+66800000{n:03d}"))
    return events


async def seed(store: EventStore, *, actor: str = "system:demo") -> bool:
    """Register the demo hospitals and fleet once; returns False when they are already there."""
    if await store.list("units", limit=1):
        return False
    async with store.unit_of_work(actor) as uow:
        for event in demo_events():
            await uow.append(event)
    return True
