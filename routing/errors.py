"""Typed routing errors; the HTTP edge maps InvalidCoordinates to 422."""
from __future__ import annotations

import math


class RoutingError(Exception):
    pass


class InvalidCoordinates(RoutingError):
    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def check_coordinates(lat, lon, prefix: str = "") -> tuple[float, float]:
    """(lat, lon) as floats, or InvalidCoordinates naming the field."""
    for name, value, limit in (("lat", lat, 90), ("lon", lon, 180)):
        field = f"{prefix}{name}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidCoordinates(field, "must be a number")
        if not math.isfinite(value):
            raise InvalidCoordinates(field, "must be finite")
        if abs(value) > limit:
            raise InvalidCoordinates(field, f"must be between -{limit} and {limit}")
    return float(lat), float(lon)
