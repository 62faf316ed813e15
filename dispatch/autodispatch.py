"""Triage, then auto-dispatch a red incident: the one path the triage API and the simulator both take.

The triage is committed first (a dispatcher's decision stands even if no unit is free); the auto-dispatch that
follows is `AssignmentService.auto_dispatch` (what the determinant asks for, or a shortfall alert at once).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from dispatch.assignment import AssignmentService
from dispatch.model import Assignment, Colour, Incident
from dispatch.triage import TriageService


@dataclass(frozen=True)
class Triaged:
    incident: Incident  # as it stands after the auto-dispatch
    assignments: list[Assignment] = field(default_factory=list)  # what the auto-dispatch sent (empty: nothing due)


class TriageDispatchService:
    def __init__(self, triage: TriageService, assignments: AssignmentService):
        self.triage_service = triage
        self.assignments = assignments

    async def triage(self, incident_id: int, group: int, determinant: int, *, actor: str, role: str,
                     with_events: tuple = ()) -> Triaged:
        """Record the CBD card's determinant (after `with_events`, in one transaction), then auto-dispatch if it is
        red. Invalid/NotFound/Conflict/Forbidden from the triage; the auto-dispatch never raises for a busy fleet
        (it alerts instead)."""
        incident = await self.triage_service.triage(incident_id, group, determinant, actor=actor, role=role,
                                                    with_events=with_events)
        return await self._dispatch(incident)

    async def override_colour(self, incident_id: int, colour: str, reason: str, *, actor: str, role: str) -> Triaged:
        """A dispatcher's colour override (with its reason), then auto-dispatch if it is now red."""
        incident = await self.triage_service.override_colour(incident_id, colour, reason, actor=actor, role=role)
        return await self._dispatch(incident)

    async def _dispatch(self, incident: Incident) -> Triaged:
        if incident.colour != Colour.RED.value:
            return Triaged(incident)
        assignments = await self.assignments.auto_dispatch(incident.id)
        # read again: assignments and alerts (e.g. the outside-road-coverage flag) change the incident
        return Triaged(await self.assignments.store.get("incidents", incident.id), assignments)
