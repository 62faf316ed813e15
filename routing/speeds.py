"""Travel speeds. `maxspeed` where OSM has it, else a car default per highway class (km/h); junction delays.

Per-class defaults are OSRM's car profile (v5 `car.lua`, `speeds.highway`), the free-flow car speeds an
independent router uses worldwide; a posted `maxspeed` counts at `MAXSPEED_SHARE` of its value (OSRM's
`speed_reduction` of 0.8: traffic seldom drives at the limit). `speed_factor` (config `EMS_SPEED_FACTOR`) is the
ambulance's factor on top of this car baseline, explicit and separate. Sources and measured effect: docs/routing.md.

| highway | km/h |      | highway | km/h |
|---|---|---|---|---|
| motorway | 90 | | motorway_link | 45 |
| trunk | 85 | | trunk_link | 40 |
| primary | 65 | | primary_link | 30 |
| secondary | 55 | | secondary_link | 25 |
| tertiary | 40 | | tertiary_link | 20 |
| unclassified | 25 | | residential | 25 |
| living_street | 10 | | service | 15 |
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

CAR_DEFAULT_KMH = {
    "motorway": 90.0, "trunk": 85.0, "primary": 65.0, "secondary": 55.0, "tertiary": 40.0,
    "motorway_link": 45.0, "trunk_link": 40.0, "primary_link": 30.0, "secondary_link": 25.0,
    "tertiary_link": 20.0, "unclassified": 25.0, "residential": 25.0, "living_street": 10.0, "service": 15.0,
    "road": 25.0,  # class unknown to the mapper: as a residential street
}
MAXSPEED_SHARE = 0.8
FALLBACK_KMH = 25.0
MAJOR_CLASSES = ("motorway", "trunk", "primary", "secondary", "tertiary")  # fastest first
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class JunctionDelays:
    """Seconds added to an edge for entering a junction node (docs/routing.md: Junction delays).

    Tagged nodes (OSM `highway=` on the node) pay their tag's delay. Where the extract has no node tags, a node
    where major roads (tertiary and above) meet from three or more sides is taken as signalised, and a minor road
    entering a major one gives way. Turn costs proper (left vs right vs straight) need an edge-based graph and
    are not modelled; the U-turn of a moving unit is (`EMS_UTURN_PENALTY_S`).
    """

    traffic_signals: float = 8.0
    crossing: float = 2.0
    stop: float = 6.0
    give_way: float = 3.0
    inferred_signals: float = 8.0
    minor_onto_major: float = 3.0

    def tagged(self, tag) -> float | None:
        """The delay for a node's OSM `highway` tag; None when the tag sets none."""
        return {"traffic_signals": self.traffic_signals, "crossing": self.crossing, "stop": self.stop,
                "give_way": self.give_way}.get(tag)

    def key(self) -> str:
        """Identifies these values in a graph cache's name."""
        return ",".join(f"{v:g}" for v in asdict(self).values())


NO_JUNCTION_DELAYS = JunctionDelays(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def highway_class(value) -> str | None:
    """The one highway class of an edge. osmnx gives a list where merged ways disagree (routing/build.py does not
    merge across a class change, so only a foreign graph has them): take the slowest class, the conservative
    choice for an ETA, so the answer does not depend on the list's order."""
    if not isinstance(value, list):
        return value
    if not value:
        return None
    return min(value, key=lambda h: (CAR_DEFAULT_KMH.get(h, FALLBACK_KMH), str(h)))


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
    """Speed in km/h: `MAXSPEED_SHARE` of the OSM maxspeed when parseable, else the car default for the highway
    class, else FALLBACK_KMH."""
    posted = parse_maxspeed(maxspeed)
    if posted:
        return posted * MAXSPEED_SHARE
    return CAR_DEFAULT_KMH.get(highway_class(highway), FALLBACK_KMH)


def travel_time_s(length_m: float, kmh: float, speed_factor: float = 1.0) -> float:
    """Seconds to drive `length_m` metres at `kmh` km/h, divided by `speed_factor`. ValueError unless all are positive
    and finite."""
    if not (length_m >= 0 and kmh > 0 and speed_factor > 0) or math.isinf(length_m):
        raise ValueError("length, speed and factor must be positive and finite")
    return length_m / (kmh / 3.6) / speed_factor
