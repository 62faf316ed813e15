"""The move-up event: a unit sent to stand by at another post to cover a gap (see dispatch/coverage.py)."""
from __future__ import annotations

from dispatch.events import Event
from dispatch.model import LatLon, Unit


class UnitRelocated(Event, frozen=True):
    """A dispatcher (or the simulator's policy) accepted a move-up: the unit now stands by at `post_id`."""

    unit_id: str
    post_id: str
    post_name: str
    location: LatLon
    gain: float | None = None  # urgency-weighted expected coverage added (dispatch/coverage.py)


def unit_relocated(unit: Unit, e: UnitRelocated) -> Unit:
    """Projection: the unit now stands by at the move-up post (its standby location)."""
    unit.standby_post_id, unit.standby = e.post_id, e.location
    return unit
