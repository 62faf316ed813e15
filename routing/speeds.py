"""Travel speeds. `maxspeed` where OSM has it, else these Thai defaults per highway class (km/h).

The defaults follow Thai legal limits (90 km/h outside towns, 120 on motorways, 80 in Bangkok-style urban
arterials) reduced to typical free-flow urban speeds for an ambulance's unhurried baseline; `speed_factor`
(config) scales them for emergency driving, e.g. 1.2 = 20 % faster than this table.

| highway | km/h |      | highway | km/h |
|---|---|---|---|---|
| motorway | 100 | | tertiary | 40 |
| trunk | 80 | | unclassified | 35 |
| primary | 60 | | residential | 30 |
| secondary | 50 | | living_street | 15 |
| *_link | 40 | | service | 20 |
"""
from __future__ import annotations

import math
import re

THAI_DEFAULT_KMH = {
    "motorway": 100.0, "trunk": 80.0, "primary": 60.0, "secondary": 50.0, "tertiary": 40.0,
    "motorway_link": 40.0, "trunk_link": 40.0, "primary_link": 40.0, "secondary_link": 35.0,
    "tertiary_link": 30.0, "unclassified": 35.0, "residential": 30.0, "living_street": 15.0, "service": 20.0,
    "road": 30.0,
}
FALLBACK_KMH = 25.0
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph)?\s*$", re.IGNORECASE)


def highway_class(value) -> str | None:
    """The one highway class of an edge. osmnx gives a list where merged ways disagree (routing/build.py does not
    merge across a class change, so only a foreign graph has them): take the slowest class, the conservative
    choice for an ETA, so the answer does not depend on the list's order."""
    if not isinstance(value, list):
        return value
    if not value:
        return None
    return min(value, key=lambda h: (THAI_DEFAULT_KMH.get(h, FALLBACK_KMH), str(h)))


def parse_maxspeed(raw) -> float | None:
    """km/h from an OSM maxspeed tag ("60", "50 mph", ["60", "80"] → the lowest); None if unusable."""
    values = raw if isinstance(raw, list) else [raw]
    speeds = []
    for value in values:
        match = _NUMBER.match(str(value)) if value is not None else None
        if match:
            kmh = float(match.group(1)) * (1.609344 if match.group(2) else 1.0)
            if 5 <= kmh <= 200:
                speeds.append(kmh)
    return min(speeds) if speeds else None


def speed_kmh(highway, maxspeed) -> float:
    """Speed in km/h: the OSM maxspeed when parseable, else the Thai default for the highway class, else
    FALLBACK_KMH."""
    return parse_maxspeed(maxspeed) or THAI_DEFAULT_KMH.get(highway_class(highway), FALLBACK_KMH)


def travel_time_s(length_m: float, kmh: float, speed_factor: float = 1.0) -> float:
    """Seconds to drive `length_m` metres at `kmh` km/h, divided by `speed_factor`. ValueError unless all are positive
    and finite."""
    if not (length_m >= 0 and kmh > 0 and speed_factor > 0) or math.isinf(length_m):
        raise ValueError("length, speed and factor must be positive and finite")
    return length_m / (kmh / 3.6) / speed_factor
