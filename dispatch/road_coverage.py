"""Road coverage facts the dispatcher must see (issue #13): auto-dispatch held back because the best option's
ETA is a straight-line estimate outside road coverage, not a road ETA."""
from __future__ import annotations

from dispatch.events import Event
from dispatch.model import Incident, LocationFlag

INCIDENT_OUTSIDE = "incident_outside_road_coverage"  # no free unit has a road ETA to the incident
UNIT_OUTSIDE = "unit_outside_road_coverage"  # the best-ranked unit stands off the road network


class AutoDispatchWithheld(Event, frozen=True):
    """A red incident was not auto-dispatched: the option that would have been taken had a straight-line ETA.
    The dispatcher chooses (the console shows the incident flagged); nothing was assigned."""

    incident_id: int
    reason: str  # INCIDENT_OUTSIDE or UNIT_OUTSIDE
    unit_id: str | None = None  # the unit that ranked first
    eta_s: float | None = None  # its straight-line estimate
    snap_distance_m: float | None = None  # how far the farther end is from a mapped road


def auto_dispatch_withheld(incident: Incident, e: AutoDispatchWithheld) -> Incident:
    """Projection: an incident found outside road coverage is flagged so (once); other reasons change nothing."""
    if e.reason == INCIDENT_OUTSIDE and LocationFlag.OUTSIDE_ROAD_COVERAGE not in incident.location_flags:
        incident.location_flags = [*incident.location_flags, LocationFlag.OUTSIDE_ROAD_COVERAGE]
    return incident
