"""Public defibrillators (AED points) for the telephone-CPR coach (issue #18): pure domain, no I/O.

The points come from a GeoJSON FeatureCollection of Points (WGS84 lon/lat), one per public AED, with properties
`{"id", "name_th", "name_en", "access_th", "access_en", "hours", "checked_at"}` (docs/operations.md). While a caller
does CPR, the dispatcher sends a second bystander to fetch the nearest one: `nearest` lists those within the search
radius (a run there and back in a few minutes), nearest first.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import msgspec

from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError, Invalid
from dispatch.model import LatLon, distance_m

MAX_POINTS = 100_000  # a national registry is a few tens of thousands; more is a wrong file
TEXT_MAX = 500


class AedPoint(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    lat: float
    lon: float
    name_th: str
    name_en: str
    access_th: str | None = None  # where it is inside the building, who holds the key
    access_en: str | None = None
    hours: str | None = None  # when it can be reached, e.g. "24/7" or "08:00-17:00"
    checked_at: str | None = None  # when it was last checked (YYYY-MM-DD)


def parse_aed_points(data: Any) -> list[AedPoint]:
    """AED points from a GeoJSON FeatureCollection (decoded JSON).

    Raises Invalid naming each bad feature (`features[i].geometry`, `features[i].properties.name_en`, …) so a wrong
    file stops the server at start-up with every problem listed, never half-loaded.
    """
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(
            data.get("features"), list):
        raise Invalid(FieldError("aed_file", ErrorCode.MUST_BE_FEATURE_COLLECTION))
    features = data["features"]
    if len(features) > MAX_POINTS:
        raise Invalid(FieldError("aed_file", ErrorCode.TOO_MANY_FEATURES, max=MAX_POINTS))
    points, errors, seen = [], [], set()
    for i, feature in enumerate(features):
        where = f"features[{i}]"
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        props = feature.get("properties") if isinstance(feature, dict) else None
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if not (isinstance(geometry, dict) and geometry.get("type") == "Point" and isinstance(coords, list)
                and len(coords) >= 2 and all(_finite(c) for c in coords[:2])
                and -180 <= coords[0] <= 180 and -90 <= coords[1] <= 90):
            errors.append(FieldError(f"{where}.geometry", ErrorCode.MUST_BE_POINT))
            continue
        if not isinstance(props, dict):
            errors.append(FieldError(f"{where}.properties", ErrorCode.MUST_BE_OBJECT))
            continue
        bad = [FieldError(f"{where}.properties.{name}", ErrorCode.REQUIRED_TEXT_AT_MOST, max=TEXT_MAX)
               for name in ("id", "name_th", "name_en") if not _text(props.get(name))]
        bad += [FieldError(f"{where}.properties.{name}", ErrorCode.TEXT_AT_MOST, max=TEXT_MAX)
                for name in ("access_th", "access_en", "hours", "checked_at")
                if props.get(name) is not None and not _text(props[name])]
        if not bad and props["id"] in seen:
            bad.append(FieldError(f"{where}.properties.id", ErrorCode.ID_USED_EARLIER))
        if bad:
            errors.extend(bad)
            continue
        seen.add(props["id"])
        points.append(AedPoint(id=props["id"], lat=float(coords[1]), lon=float(coords[0]),
                               name_th=props["name_th"], name_en=props["name_en"], access_th=props.get("access_th"),
                               access_en=props.get("access_en"), hours=props.get("hours"),
                               checked_at=props.get("checked_at")))
    if errors:
        raise Invalid(errors)
    return points


def read_aed_file(path: Path) -> list[AedPoint]:
    """The AED points of GeoJSON file `path` (the one file this module reads). Invalid as parse_aed_points, or
    naming `aed_file` when it is not JSON."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(FieldError("aed_file", ErrorCode.NOT_GEOJSON, detail=str(exc)[:200])) from None
    return parse_aed_points(data)


def nearest(points: list[AedPoint], at: LatLon, *, within_m: float, limit: int) -> list[dict[str, Any]]:
    """The `limit` AED points nearest to `at` within `within_m` metres (straight line), nearest first, each with
    `distance_m` (whole metres)."""
    found = []
    for point in points:
        metres = distance_m(at, point)
        if metres <= within_m:
            found.append((metres, point))
    found.sort(key=lambda pair: (pair[0], pair[1].id))
    return [{**msgspec.to_builtins(point), "distance_m": round(metres), "direction": compass(at, point)}
            for metres, point in found[:limit]]


COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def compass(origin: LatLon, target: Any) -> str:
    """Which way `target` lies from `origin` on an 8-point compass ("N", "NE", …): what the dispatcher tells the
    bystander who runs for the AED."""
    lat1, lat2 = math.radians(origin.lat), math.radians(target.lat)
    d_lon = math.radians(target.lon - origin.lon)
    east = math.sin(d_lon) * math.cos(lat2)
    north = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(d_lon)
    bearing = math.degrees(math.atan2(east, north))
    return COMPASS[round((bearing % 360) / 45) % 8]


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value.strip()) and len(value) <= TEXT_MAX
