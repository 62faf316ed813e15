"""Mutual aid: one agency's unit sent to another's incident, with that agency's consent (issue #19 item 1).

The 1669 centre (or an agency's dispatcher, for an incident it can see) asks for a free, staffed unit of another
agency. The request shares the incident with the unit's agency (dispatch/access.py: its dispatchers now see it),
and that agency's dispatcher accepts (the unit is assigned in the same unit of work) or declines with a reason.
A decline, or no answer within the answer timeout, escalates to the 1669 centre (`MutualAidEscalated`) and
withdraws the share. Every step is an event on the incident's stream, so replays and the console agree.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import msgspec

from dispatch.agencies import CENTRE_AGENCY_ID, agency_of
from dispatch.assignment import AssignmentService
from dispatch.error_codes import ErrorCode
from dispatch.errors import Conflict, FieldError, Invalid, NotFound
from dispatch.events import Event
from dispatch.model import Incident, UnitStatus
from dispatch.policies import require
from dispatch.ports import Clock, EventStore, get_or_not_found

log = logging.getLogger("ems.dispatch")

MUTUAL_AID_ACTOR = "system:mutual-aid"
REQUEST_ID_PATTERN = r"^[0-9]{1,18}-[0-9]{1,4}$"  # "<incident id>-<n>": the incident's n-th request


class MutualAidRequest(msgspec.Struct, kw_only=True):
    """One request for another agency's unit, as folded from its events. Open while awaiting an answer."""

    id: str
    incident_id: int
    unit_id: str
    agency_id: str  # the unit's agency, which answers
    requesting_agency_id: str
    status: str  # requested | accepted | declined | expired
    requested_at: datetime
    answer_due_at: datetime
    note: str | None = None
    answered_at: datetime | None = None
    reason: str | None = None  # why it was declined
    assignment_id: int | None = None
    escalated: bool = False  # the 1669 centre was alerted (declined or unanswered)
    last_seq: int = 0

    @property
    def is_open(self) -> bool:
        """True while the unit's agency has not answered and the request has not expired."""
        return self.status == "requested"


class MutualAidRequested(Event, frozen=True):
    request_id: str
    incident_id: int
    unit_id: str
    agency_id: str
    requesting_agency_id: str
    answer_due_at: datetime
    note: str | None = None


class MutualAidAccepted(Event, frozen=True):
    """The unit's agency lent it; the UnitAssigned of `assignment_id` is in the same commit."""

    request_id: str
    incident_id: int
    unit_id: str
    agency_id: str
    assignment_id: int


class MutualAidDeclined(Event, frozen=True):
    request_id: str
    incident_id: int
    unit_id: str
    agency_id: str
    reason: str


class MutualAidEscalated(Event, frozen=True):
    """The 1669 centre must find another way: the request was declined, or not answered in time (`cause`)."""

    request_id: str
    incident_id: int
    unit_id: str
    agency_id: str
    requesting_agency_id: str
    cause: str  # declined | timeout


def request_made(_: MutualAidRequest | None, e: MutualAidRequested) -> MutualAidRequest:
    """Projection: a new request awaiting the unit's agency."""
    return MutualAidRequest(id=e.request_id, incident_id=e.incident_id, unit_id=e.unit_id, agency_id=e.agency_id,
                            requesting_agency_id=e.requesting_agency_id, status="requested", requested_at=e.at,
                            answer_due_at=e.answer_due_at, note=e.note)


def request_accepted(request: MutualAidRequest, e: MutualAidAccepted) -> MutualAidRequest:
    """Projection: lent, with the assignment it made."""
    request.status, request.answered_at, request.assignment_id = "accepted", e.at, e.assignment_id
    return request


def request_declined(request: MutualAidRequest, e: MutualAidDeclined) -> MutualAidRequest:
    """Projection: refused, with the reason."""
    request.status, request.answered_at, request.reason = "declined", e.at, e.reason
    return request


def request_escalated(request: MutualAidRequest, e: MutualAidEscalated) -> MutualAidRequest:
    """Projection: the centre was alerted; an unanswered request expires."""
    request.escalated = True
    if request.status == "requested":
        request.status = "expired"
    return request


def incident_shared(incident: Incident, e: MutualAidRequested) -> Incident:
    """Projection: the unit's agency now sees the incident; the request is listed on it."""
    incident.shared_by_request[e.request_id] = e.agency_id
    if e.agency_id not in incident.shared_with:
        incident.shared_with.append(e.agency_id)
    incident.mutual_aid_ids.append(e.request_id)
    return incident


def incident_unshared(incident: Incident, e: MutualAidDeclined | MutualAidEscalated) -> Incident:
    """Projection: a declined or expired request withdraws its share, keyed by the request: the agency keeps
    seeing the incident while another of its requests for it is pending or accepted (and while it has a unit on
    it anyway). A row folded before shares were keyed (no `shared_by_request`) loses the agency's share."""
    incident.shared_by_request.pop(e.request_id, None)
    still_shared = set(incident.shared_by_request.values())
    incident.shared_with = [a for a in incident.shared_with if a != e.agency_id or a in still_shared]
    return incident


def _note(value) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > 500):
        raise Invalid(FieldError("note", ErrorCode.TEXT_AT_MOST, max=500))
    return value


class MutualAidService:
    """Request, accept, decline and expire mutual-aid requests. `answer_timeout_s`: how long the unit's agency has
    to answer before the centre is alerted."""

    def __init__(self, store: EventStore, clock: Clock, assignments: AssignmentService, *,
                 answer_timeout_s: float = 120.0):
        self.store = store
        self.clock = clock
        self.assignments = assignments
        self.answer_timeout_s = answer_timeout_s

    async def request(self, incident_id: int, unit_id: str, *, requesting_agency: str, actor: str, role: str,
                      note: str | None = None) -> MutualAidRequest:
        """Ask for `unit_id` (of another agency than `requesting_agency`) for `incident_id`.

        Raises
        ------
        Forbidden
            The role may not ask for mutual aid.
        Invalid
            No such unit, the unit is the requester's own (assign it directly), or a bad note.
        NotFound
            No such incident.
        Conflict
            The incident cannot take units, the unit is busy or has no crew, or a request for it is pending.
        """
        require(role, "mutual_aid")
        note = _note(note)

        async def work(uow):
            incident = await get_or_not_found(uow, "incidents", incident_id, lock=True)
            if not incident.is_open:
                raise Conflict(ErrorCode.INCIDENT_IS, incident_id=incident_id, status=incident.status.value)
            unit = await uow.get("units", unit_id, lock=True)
            if unit is None:
                raise Invalid(FieldError("unit_id", ErrorCode.NO_SUCH_UNIT))
            agency = agency_of(unit.agency_id)
            if agency == requesting_agency:
                raise Invalid(FieldError("unit_id", ErrorCode.OWN_AGENCY_UNIT))
            if unit.status not in (UnitStatus.AVAILABLE, UnitStatus.RETURNING) or not unit.staffed:
                if not unit.staffed:
                    raise Conflict(ErrorCode.UNIT_NO_CREW, unit_id=unit_id)
                raise Conflict(ErrorCode.UNIT_BUSY, unit_id=unit_id, status=unit.status.value)
            for earlier in incident.mutual_aid_ids:
                pending = await uow.get("mutual_aid", earlier)
                if pending is not None and pending.is_open and pending.unit_id == unit_id:
                    raise Conflict(ErrorCode.AID_ALREADY_REQUESTED, unit_id=unit_id, request_id=earlier)
            now = self.clock.now()
            request_id = f"{incident_id}-{len(incident.mutual_aid_ids) + 1}"
            await uow.append(MutualAidRequested(
                at=now, request_id=request_id, incident_id=incident_id, unit_id=unit_id, agency_id=agency,
                requesting_agency_id=requesting_agency, answer_due_at=now + timedelta(seconds=self.answer_timeout_s),
                note=note))
            return await uow.get("mutual_aid", request_id)

        return await self.store.run(actor, work)

    async def accept(self, request_id: str, *, agency: str, actor: str, role: str) -> dict:
        """The unit's agency (or the centre) lends the unit: it is assigned to the incident in the same commit.
        Returns {"request", "assignment"}. NotFound for a request this agency is not asked, Conflict when it was
        answered or expired, or the unit is no longer free and staffed."""
        require(role, "mutual_aid")
        request = await self._answerable(self.store, request_id, agency)
        incident, unit = await asyncio.gather(self.store.get("incidents", request.incident_id),
                                              self.store.get("units", request.unit_id))
        eta = await self.assignments.recommendations.eta_for(incident, unit) if incident and unit else None
        assign = self.assignments.assignment(request.incident_id, request.unit_id, eta)

        async def work(uow):
            current = await self._answerable(uow, request_id, agency, lock=True)
            assignment = await assign(uow)
            await uow.append(MutualAidAccepted(at=self.clock.now(), request_id=request_id,
                                               incident_id=current.incident_id, unit_id=current.unit_id,
                                               agency_id=current.agency_id, assignment_id=assignment.id))
            return {"request": await uow.get("mutual_aid", request_id), "assignment": assignment}

        return await self.store.run(actor, work)

    async def decline(self, request_id: str, reason, *, agency: str, actor: str, role: str) -> MutualAidRequest:
        """The unit's agency refuses (a reason is required); the centre is alerted in the same commit."""
        require(role, "mutual_aid")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
            raise Invalid(FieldError("reason", ErrorCode.REASON_REQUIRED, max=500))

        async def work(uow):
            request = await self._answerable(uow, request_id, agency, lock=True)
            now = self.clock.now()
            common = dict(request_id=request_id, incident_id=request.incident_id, unit_id=request.unit_id,
                          agency_id=request.agency_id)
            await uow.append(MutualAidDeclined(at=now, reason=reason.strip(), **common))
            await uow.append(MutualAidEscalated(at=now, requesting_agency_id=request.requesting_agency_id,
                                                cause="declined", **common))
            return await uow.get("mutual_aid", request_id)

        return await self.store.run(actor, work)

    async def _answerable(self, reader, request_id: str, agency: str, *, lock: bool = False) -> MutualAidRequest:
        request = await (reader.get("mutual_aid", request_id, lock=True) if lock
                         else reader.get("mutual_aid", request_id))
        if request is None or agency not in (request.agency_id, CENTRE_AGENCY_ID):
            raise NotFound(ErrorCode.NO_AID_REQUEST, request_id=request_id)  # same answer: no probing
        if not request.is_open:
            raise Conflict(ErrorCode.AID_REQUEST_IS, request_id=request_id, status=request.status)
        return request

    async def expire_due(self) -> int:
        """Escalate every request whose answer is overdue (exactly once, safe with several processes); returns how
        many this call escalated. Run periodically (server.py)."""
        escalated = 0
        now = self.clock.now()
        for request in await self.store.list("mutual_aid", open_only=True, limit=10_000):
            if request.answer_due_at > now:
                continue
            async with self.store.unit_of_work(MUTUAL_AID_ACTOR) as uow:
                current = await uow.get("mutual_aid", request.id, lock=True)
                if current is None or not current.is_open:
                    continue  # answered meanwhile, or another process escalated it
                await uow.append(MutualAidEscalated(
                    at=self.clock.now(), request_id=current.id, incident_id=current.incident_id,
                    unit_id=current.unit_id, agency_id=current.agency_id,
                    requesting_agency_id=current.requesting_agency_id, cause="timeout"))
            escalated += 1
            log.warning("mutual aid unanswered: escalated to the centre", extra={"request": request.id})
        return escalated

    async def visible_to(self, agency: str, *, open_only: bool) -> list[MutualAidRequest]:
        """Requests an agency's dispatcher may see: asked of it or made by it (the centre sees all)."""
        requests = await self.store.list("mutual_aid", open_only=open_only, limit=10_000)
        if agency == CENTRE_AGENCY_ID:
            return requests
        return [r for r in requests if agency in (r.agency_id, r.requesting_agency_id)]

