"""Duplicate calls: many people phone about the same crash. Suggest open incidents near in place and time;
the dispatcher merges (callers move to the surviving incident, nobody's callback details are lost) or keeps
them apart (the pair is not suggested again)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from dispatch.error_codes import ErrorCode
from dispatch.errors import Conflict, FieldError, Invalid, NotFound
from dispatch.events import CallersAdded, IncidentMerged, IncidentsKeptApart
from dispatch.model import Incident, distance_m
from dispatch.policies import require
from dispatch.ports import Clock, EventStore, get_or_not_found


@dataclass(frozen=True)
class DuplicateSuggestion:
    incident_id: int
    distance_m: float
    minutes_apart: float
    channel: str
    status: str
    chief_complaint: str | None

    def to_json(self) -> dict:
        """The suggestion as a JSON-ready dict (distance in metres, gap in seconds, as named)."""
        return dict(self.__dict__)


def suggest_for(incident: Incident, others: list[Incident], *, within_m: float, window: timedelta) -> list[DuplicateSuggestion]:
    """Open incidents within `within_m` and `window` of this one, any channel, nearest first."""
    if incident.location is None:
        return []
    found = []
    for other in others:
        if (other.id == incident.id or not other.is_open or other.location is None
                or other.id in incident.kept_apart or incident.id in other.kept_apart):
            continue
        gap = abs(other.reported_at - incident.reported_at)
        metres = distance_m(incident.location, other.location)
        if metres <= within_m and gap <= window:
            found.append(DuplicateSuggestion(other.id, round(metres, 1), round(gap.total_seconds() / 60, 1),
                                             other.channel.value, other.status.value, other.chief_complaint))
    return sorted(found, key=lambda s: (s.distance_m, s.minutes_apart))


class DuplicateService:
    def __init__(self, store: EventStore, clock: Clock, *, within_m: float = 300.0, window_min: float = 30.0):
        self.store = store
        self.clock = clock
        self.within_m = within_m
        self.window = timedelta(minutes=window_min)

    async def suggest(self, incident_id: int) -> list[DuplicateSuggestion]:
        """Open incidents that may be the same emergency as `incident_id` (near in space and time), best first; NotFound
        if it does not exist."""
        incident = await get_or_not_found(self.store, "incidents", incident_id)
        others = await self.store.list("incidents", open_only=True, limit=10_000)
        return suggest_for(incident, others, within_m=self.within_m, window=self.window)

    async def merge(self, duplicate_id: int, into_id: int, *, actor: str, role: str) -> Incident:
        """Close `duplicate_id` as a repeat of `into_id`; its callers (and their callback numbers) move over."""
        require(role, "merge")
        if duplicate_id == into_id:
            raise Invalid(FieldError("into_incident_id", ErrorCode.MUST_BE_ANOTHER_INCIDENT))
        async with self.store.unit_of_work(actor) as uow:
            first, second = sorted((duplicate_id, into_id))  # lock in id order: two opposite merges cannot deadlock
            rows = {i: await uow.get("incidents", i, lock=True) for i in (first, second)}
            duplicate, survivor = rows[duplicate_id], rows[into_id]
            if duplicate is None:
                raise NotFound(ErrorCode.INCIDENT_NOT_FOUND, incident_id=duplicate_id)
            if survivor is None:
                raise Invalid(FieldError("into_incident_id", ErrorCode.NO_SUCH_INCIDENT))
            if not duplicate.is_open or not survivor.is_open:
                raise Conflict(ErrorCode.MERGE_NEEDS_OPEN)
            if duplicate.unit_ids:
                raise Conflict(ErrorCode.MERGE_HAS_UNITS, incident_id=duplicate_id)
            now = self.clock.now()
            await uow.append(IncidentMerged(at=now, incident_id=duplicate_id, into_incident_id=into_id))
            await uow.append(CallersAdded(at=now, incident_id=into_id, callers=duplicate.callers, merged_from=duplicate_id))
            return await uow.get("incidents", into_id)

    async def keep_apart(self, incident_id: int, other_id: int, *, actor: str, role: str) -> None:
        """Record that two incidents are different emergencies, so neither is suggested as the other's duplicate again.

        Raises
        ------
        Forbidden
            The role may not merge.
        NotFound
            `incident_id` does not exist.
        Invalid
            `other_id` does not exist, or equals `incident_id`.
        """
        require(role, "merge")
        async with self.store.unit_of_work(actor) as uow:
            for a, b in ((incident_id, other_id), (other_id, incident_id)):
                if await uow.get("incidents", a, lock=True) is None:
                    if a == other_id:
                        raise Invalid(FieldError("other_incident_id", ErrorCode.NO_SUCH_INCIDENT))
                    raise NotFound(ErrorCode.INCIDENT_NOT_FOUND, incident_id=a)
                await uow.append(IncidentsKeptApart(at=self.clock.now(), incident_id=a, other_incident_id=b))
