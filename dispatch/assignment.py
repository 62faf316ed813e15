"""Assignment of units to incidents, crew acknowledgement, and the escalation ladder for silent crews.

A unit cannot be double-booked: the unit row is read with a lock inside the unit of work and must be free.
The ladder is driven by a runner that any number of server processes may run at once: each step is recorded as
an `AssignmentEscalated` event in a unit of work that locks the assignment and re-checks the step is still due
and not yet taken, so every step happens exactly once; SMS and voice go out only after that commit. The last
step re-assigns: the silent crew's assignment is withdrawn and the next free unit assigned in the same commit.

Auto-dispatch sends what a red incident's determinant asks for (several units of a capability mix for e.g. 6R1),
and raises a `DispatchShortfall` alert at once when the free fleet cannot.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from dispatch.access import Identity, require_dispatchable_unit
from dispatch.error_codes import ErrorCode
from dispatch.errors import Conflict, FieldError, Invalid, NotFound
from dispatch.events import (
    AssignmentAcknowledged, AssignmentCancelled, AssignmentEscalated, EscalationMessageOutcome, Event, UnitAssigned,
    UnitStatusChanged,
)
from dispatch.model import (
    CAPABILITY_RANK, Assignment, AssignmentStatus, Capability, Colour, Incident, LocationFlag, UnitStatus,
)
from dispatch.loops import BackgroundLoop
from dispatch.policies import require
from dispatch.ports import Clock, CrewNotifier, EventStore, get_or_not_found
from dispatch.recommendation import RecommendationService, required_capability
from dispatch.road_coverage import INCIDENT_OUTSIDE, UNIT_OUTSIDE, AutoDispatchWithheld

log = logging.getLogger("ems.dispatch")

ASSIGNABLE_INCIDENT = {"received", "triaged", "assigned", "acknowledged", "en_route", "on_scene"}
AUTO_DISPATCH_ACTOR = "system:auto-dispatch"


class DispatchShortfall(Event, frozen=True):
    """An alert for the dispatcher: the fleet could not send what the incident needs, at once.

    `needed`: the least capability of each unit the determinant asks for; `assigned`: the units that were sent
    (possibly below the capability asked for); `missing`: the capabilities not met. `cause`: "auto_dispatch", or
    "escalation" when a silent crew's assignment could not be handed to another unit.
    """

    incident_id: int
    needed: list[str]
    assigned: list[str] = []
    missing: list[str] = []
    cause: str = "auto_dispatch"


def _usable(option) -> bool:
    """A recommendation the system may act on by itself: a road ETA and a location the road graph covers
    (`outside_coverage` comes from the routing layer; absent means covered)."""
    return option.eta_s is not None and not getattr(option, "outside_coverage", False)


def _meets(capability: str, needed: Capability) -> bool:
    return CAPABILITY_RANK[Capability(capability)] >= CAPABILITY_RANK[needed]


@dataclass
class DispatchPolicy:
    ack_timeout_red_s: float = 30.0
    ack_timeout_other_s: float = 60.0
    auto_dispatch_red: bool = True
    # (seconds after the acknowledgement was due, step): re-push the frame, SMS, voice call, and re-assign to the
    # next unit (the silent crew's assignment is withdrawn)
    ladder: list[tuple[float, str]] = field(default_factory=lambda: [(0.0, "repush"), (15.0, "sms"),
                                                                     (30.0, "voice"), (45.0, "next_unit")])

    def ack_timeout_s(self, incident: Incident) -> float:
        """Seconds a crew has to acknowledge an assignment to `incident`: the red timeout for red calls, else the other
        one."""
        return self.ack_timeout_red_s if incident.colour == Colour.RED.value else self.ack_timeout_other_s


class AssignmentService:
    def __init__(self, store: EventStore, clock: Clock, recommendations: RecommendationService,
                 policy: DispatchPolicy):
        self.store = store
        self.clock = clock
        self.recommendations = recommendations
        self.policy = policy

    async def assign(self, incident_id: int, unit_id: str, *, actor: str, role: str, auto: bool = False,
                     dispatcher: Identity | None = None):
        """Assign a free unit; Conflict if it is busy (a concurrent assign of the same unit loses).

        `dispatcher`: the person assigning, whose agency must own the unit (`may_dispatch_unit`, judged on the
        unit row the unit of work writes against, so a unit moved to another agency meanwhile is refused with
        Forbidden); None for the system (auto-dispatch)."""
        require(role, "assign")
        incident, unit = await asyncio.gather(self.store.get("incidents", incident_id),
                                              self.store.get("units", unit_id))
        # The road ETA is computed before the unit of work, which then takes these two reads as its own.
        eta = await self.recommendations.eta_for(incident, unit) if incident and unit else None
        return await self.store.run(actor, self.assignment(incident_id, unit_id, eta, auto=auto, dispatcher=dispatcher),
                                    known=(("incidents", incident), ("units", unit)))

    def assignment(self, incident_id: int, unit_id: str, eta, *, auto: bool = False,
                   dispatcher: Identity | None = None):
        """`assign` as a unit-of-work body (the role already checked, `eta` computed), for a caller that records
        more in the same unit (e.g. an accepted mutual-aid request). The unit must be free and staffed, and
        `dispatcher`'s (when given) to dispatch."""
        async def work(uow):
            incident = await get_or_not_found(uow, "incidents", incident_id, lock=True)
            unit = await uow.get("units", unit_id, lock=True)
            if unit is None:
                raise Invalid(FieldError("unit_id", ErrorCode.NO_SUCH_UNIT))
            if dispatcher is not None:
                require_dispatchable_unit(dispatcher, unit)
            if incident.status.value not in ASSIGNABLE_INCIDENT:
                raise Conflict(ErrorCode.INCIDENT_IS, incident_id=incident_id, status=incident.status.value)
            if not unit.is_open:
                raise Conflict(ErrorCode.UNIT_RETIRED, unit_id=unit_id)
            if unit.status not in (UnitStatus.AVAILABLE, UnitStatus.RETURNING):
                if unit.incident_id:
                    raise Conflict(ErrorCode.UNIT_BUSY_ON_INCIDENT, unit_id=unit_id, status=unit.status.value,
                                   incident_id=unit.incident_id)
                raise Conflict(ErrorCode.UNIT_BUSY, unit_id=unit_id, status=unit.status.value)
            if not unit.staffed:
                raise Conflict(ErrorCode.UNIT_NO_CREW, unit_id=unit_id)
            return await append_assignment(uow, self.clock, self.policy, incident, unit_id, eta, auto=auto)

        return work

    async def auto_dispatch(self, incident_id: int) -> list[Assignment]:
        """For a red incident with a trusted location and no unit yet, send what its determinant asks for.

        One unit per entry of the triage's `unit_capabilities` (6R1: an ALS and a BLS unit), most demanding
        first, each the best-ranked free unit with a road ETA that meets it; when none meets it, the best-ranked
        lower one stands in (a red patient gets the nearest help rather than none). Units outside the road
        graph's coverage are never auto-dispatched. Anything not met at its capability is recorded at once as a
        `DispatchShortfall` alert for the dispatcher. Returns the assignments made (empty when none was due).
        """
        if not self.policy.auto_dispatch_red:
            return []
        incident = await self.store.get("incidents", incident_id)
        if (incident is None or incident.colour != Colour.RED.value or incident.unit_ids or not incident.is_open
                or incident.location is None
                or {LocationFlag.OUTSIDE_SERVICE_AREA, LocationFlag.UNVERIFIED} & set(incident.location_flags)):
            return []
        ranked = [o for o in await self._ranked(incident_id) if o.eta_s is not None]
        if ranked and all(o.outside_coverage for o in ranked):
            # A road answer needs both ends on the network: with none, the incident is off the road graph and every
            # ETA is a straight-line guess. The dispatcher decides; nothing is sent on a guess.
            await self._withhold(incident_id, ranked[0], INCIDENT_OUTSIDE)
            return []
        if ranked and ranked[0].outside_coverage:
            # A unit off the road graph may be nearer than its conservative guess says: the covered units below still
            # go at once (a red patient never waits for a person), and the dispatcher is told about that unit.
            await self._withhold(incident_id, ranked[0], UNIT_OUTSIDE)
        needed = incident.triage.unit_capabilities if incident.triage else [required_capability(incident)]
        assignments, missing = [], []
        for capability in needed:
            assignment = await self._best_free(incident_id, capability, {a.unit_id for a in assignments})
            if assignment is None or not _meets(assignment.capability, capability):
                missing.append(capability.value)
            if assignment is not None:
                assignments.append(assignment.assignment)
        if missing:
            async with self.store.unit_of_work(AUTO_DISPATCH_ACTOR) as uow:
                await uow.append(DispatchShortfall(at=self.clock.now(), incident_id=incident_id,
                                                   needed=[c.value for c in needed],
                                                   assigned=[a.unit_id for a in assignments], missing=missing))
        return assignments

    async def _best_free(self, incident_id: int, capability: Capability, taken: set[str]):
        """Assign the best-ranked usable unit for `capability` (qualified ones first); None when none is free."""
        options = [o for o in await self.recommendations.recommend(incident_id, limit=1000, exclude=taken,
                                                                   capability=capability) if _usable(o)]
        options.sort(key=lambda o: not _meets(o.capability, capability))  # stable: keeps the ranking within
        for option in options:
            try:
                assignment = await self.assign(incident_id, option.unit_id, actor=AUTO_DISPATCH_ACTOR,
                                               role="dispatcher", auto=True)
            except Conflict:
                continue  # taken meanwhile: try the next one
            return _Sent(assignment, option.capability)
        return None

    async def _ranked(self, incident_id: int):
        try:
            return await self.recommendations.recommend(incident_id, limit=1000)
        except (Conflict, NotFound):
            return []  # no location yet

    async def _withhold(self, incident_id: int, option, reason: str) -> None:
        """Record, for the dispatcher, that auto-dispatch did not act on `option` (a straight-line estimate); an
        incident off the road graph is also flagged `outside_road_coverage` (shown on the console)."""
        async with self.store.unit_of_work(AUTO_DISPATCH_ACTOR) as uow:
            await uow.append(AutoDispatchWithheld(at=self.clock.now(), incident_id=incident_id, reason=reason,
                                                  unit_id=option.unit_id, eta_s=option.eta_s,
                                                  snap_distance_m=option.snap_distance_m))
        log.warning("auto-dispatch withheld", extra={"incident": incident_id, "reason": reason})

    async def for_incident(self, incident_id: int) -> dict:
        """The incident's assignments, newest first, with the ladder (seconds after the ack was due, step)."""
        incident = await get_or_not_found(self.store, "incidents", incident_id)
        assignments = await asyncio.gather(
            *(self.store.get("assignments", a) for a in reversed(incident.assignment_ids)))
        return {"assignments": [a for a in assignments if a is not None],
                "ladder": [{"after_due_s": offset_s, "step": step} for offset_s, step in self.policy.ladder]}

    async def acknowledge(self, assignment_id: int, *, actor: str, role: str, unit_id: str | None):
        """The crew's acknowledgement; repeating it is harmless; a late one stops the ladder."""
        return await self.store.run(actor, self.acknowledgement(assignment_id, role=role, unit_id=unit_id))

    def acknowledgement(self, assignment_id: int, *, role: str, unit_id: str | None):
        """`acknowledge` as a unit-of-work body, for a caller that runs it in its own unit (e.g. together with the
        claim of a WebSocket command id). Raises Forbidden at once for a role that may not acknowledge."""
        require(role, "acknowledge")
        async def work(uow):
            assignment = await uow.get("assignments", assignment_id, lock=True)
            if assignment is None or assignment.unit_id != unit_id:
                raise NotFound(ErrorCode.NO_ASSIGNMENT, assignment_id=assignment_id)  # same answer: no probing
            if assignment.status is AssignmentStatus.ACKNOWLEDGED:
                return assignment
            if assignment.status is not AssignmentStatus.AWAITING_ACK:
                raise Conflict(ErrorCode.ASSIGNMENT_IS, assignment_id=assignment_id, status=assignment.status.value)
            await uow.append(AssignmentAcknowledged(at=self.clock.now(), assignment_id=assignment_id,
                                                    incident_id=assignment.incident_id, unit_id=unit_id,
                                                    late=bool(assignment.escalations)))
            return await uow.get("assignments", assignment_id)

        return work


@dataclass(frozen=True)
class _Sent:
    assignment: Assignment
    capability: str

    @property
    def unit_id(self) -> str:
        return self.assignment.unit_id


async def append_assignment(uow, clock: Clock, policy: DispatchPolicy, incident: Incident, unit_id: str, eta, *,
                            auto: bool) -> Assignment:
    """Record `unit_id` (read with a lock in `uow` and found free) as assigned to `incident`; returns the row."""
    now = clock.now()
    assignment_id = await uow.next_assignment_id()
    await uow.append(UnitAssigned(
        at=now, assignment_id=assignment_id, incident_id=incident.id, unit_id=unit_id,
        ack_due_at=now + timedelta(seconds=policy.ack_timeout_s(incident)),
        eta_s=eta.eta_s if eta else None, distance_m=eta.distance_m if eta else None, auto=auto,
        eta_source=eta.eta_source if eta else None))
    return await uow.get("assignments", assignment_id)


class EscalationLadder:
    """Polls open assignments and takes each due ladder step exactly once (safe with several processes)."""

    def __init__(self, store: EventStore, clock: Clock, policy: DispatchPolicy, notifier: CrewNotifier,
                 recommendations: RecommendationService, *, poll_s: float = 0.25):
        self.store = store
        self.clock = clock
        self.policy = policy
        self.notifier = notifier
        self.recommendations = recommendations
        self.poll_s = poll_s
        self._loop = BackgroundLoop("escalation ladder", self.tick, interval_s=poll_s, logger=log)

    async def start(self) -> None:
        """Tick every `poll_s` seconds in the background; a failing tick is logged once per outage and retried."""
        self._loop.start()

    async def stop(self) -> None:
        """Stop ticking (a tick in flight is cancelled; its unit of work rolls back)."""
        await self._loop.stop()

    async def tick(self) -> int:
        """Take every step that is due now; returns how many were taken by this process."""
        taken = 0
        now = self.clock.now()
        for assignment in await self.store.list("assignments", open_only=True, limit=10_000):
            if assignment.status is not AssignmentStatus.AWAITING_ACK:
                continue
            for offset_s, step in self.policy.ladder:
                if step in assignment.escalations or now < assignment.ack_due_at + timedelta(seconds=offset_s):
                    continue
                if await self._take(assignment.id, step, offset_s):
                    taken += 1
                break  # one step per assignment per tick, in ladder order
        return taken

    async def _take(self, assignment_id: int, step: str, offset_s: float) -> bool:
        async with self.store.unit_of_work("system:escalation") as uow:
            assignment = await uow.get("assignments", assignment_id, lock=True)
            if (assignment.status is not AssignmentStatus.AWAITING_ACK or step in assignment.escalations
                    or self.clock.now() < assignment.ack_due_at + timedelta(seconds=offset_s)):
                return False  # acknowledged meanwhile, or another process took this step
            unit = await uow.get("units", assignment.unit_id)
            if step == "next_unit":
                await self._reassign(uow, assignment, unit)
            else:
                await uow.append(AssignmentEscalated(at=self.clock.now(), assignment_id=assignment_id,
                                                     incident_id=assignment.incident_id, unit_id=assignment.unit_id,
                                                     step=step))
        if step != "next_unit":
            await self._notify(step, unit, assignment)
        return True

    async def _reassign(self, uow, assignment: Assignment, unit) -> str | None:
        """The last step: withdraw the silent crew's assignment (its unit goes out of service) and assign the best
        free unit of the level it was sent for, in this unit of work (the dispatcher sees the step with the new
        unit; the new crew's tablet gets the assignment). No such unit free: the assignment stays (a late ack still counts) and the dispatcher
        gets a `DispatchShortfall` alert. Returns the new unit's id, or None."""
        incident = await uow.get("incidents", assignment.incident_id, lock=True)
        needed = required_capability(incident)
        if unit is not None and CAPABILITY_RANK[unit.capability] < CAPABILITY_RANK[needed]:
            needed = unit.capability  # it stood in below the level asked for: any unit of its level will do
        options = []
        if incident.status.value in ASSIGNABLE_INCIDENT and incident.location is not None:
            earlier = [await uow.get("assignments", a) for a in incident.assignment_ids]
            # never hand the call back to a crew that has already let it pass, nor to one already on it
            exclude = {assignment.unit_id, *incident.unit_ids, *(a.unit_id for a in earlier if a is not None)}
            options = await self.recommendations.recommend(incident.id, limit=1000, exclude=exclude,
                                                           capability=needed)
        now = self.clock.now()
        for option in options:
            if not _usable(option) or not _meets(option.capability, needed):
                continue  # the ranking offers lower levels too (flagged for the dispatcher): never sent by itself
            candidate = await uow.get("units", option.unit_id, lock=True)
            if candidate is None or candidate.status not in (UnitStatus.AVAILABLE, UnitStatus.RETURNING):
                continue  # taken since it was ranked
            await uow.append(AssignmentEscalated(at=now, assignment_id=assignment.id,
                                                 incident_id=incident.id, unit_id=assignment.unit_id,
                                                 step="next_unit", detail=option.unit_id))
            await uow.append(AssignmentCancelled(at=now, assignment_id=assignment.id, incident_id=incident.id,
                                                 unit_id=assignment.unit_id,
                                                 reason=f"not acknowledged: re-assigned to {option.unit_id}"))
            # A crew that cannot be reached is not offered the next call (it would lose another ladder's worth of
            # time): out of service until it or a dispatcher reports it available again.
            await uow.append(UnitStatusChanged(at=now, unit_id=assignment.unit_id, status=UnitStatus.OUT_OF_SERVICE))
            await append_assignment(uow, self.clock, self.policy, incident, option.unit_id, option, auto=True)
            return option.unit_id
        await uow.append(AssignmentEscalated(at=now, assignment_id=assignment.id, incident_id=incident.id,
                                             unit_id=assignment.unit_id, step="next_unit", detail=None))
        await uow.append(DispatchShortfall(at=now, incident_id=incident.id, needed=[needed.value],
                                           assigned=[assignment.unit_id], missing=[needed.value], cause="escalation"))
        return None

    async def _notify(self, step: str, unit, assignment) -> None:
        phone = unit.phone if unit else None
        text = (f"1669 Chonburi: incident #{assignment.incident_id} assigned to {assignment.unit_id} — open the "
                f"tablet and acknowledge / มีเหตุ #{assignment.incident_id} กรุณากดรับทราบ")
        if step not in ("sms", "voice"):
            return
        sid = error = None
        try:
            if not phone:
                outcome = "no_phone"
            else:
                send = self.notifier.send_sms if step == "sms" else self.notifier.call
                # the incident goes with it: the provider's delivery report finds this step by it
                sid = await send(phone, text, incident_id=assignment.incident_id)
                # the recording notifier (no provider configured) hands out local ids: nothing left the building
                outcome = "not_configured" if str(sid).startswith("local-") else "sent"
        except Exception as exc:
            log.exception("escalation %s for assignment %s could not be sent", step, assignment.id)
            outcome, error = "failed", str(exc)[:300]
        # the dispatcher sees what really happened to the step, not only that it was taken
        try:
            async with self.store.unit_of_work("system:escalation") as uow:
                await uow.append(EscalationMessageOutcome(
                    at=self.clock.now(), assignment_id=assignment.id, incident_id=assignment.incident_id,
                    unit_id=assignment.unit_id, step=step, outcome=outcome, message_sid=sid, error=error))
        except Exception:
            log.exception("escalation outcome for assignment %s could not be recorded", assignment.id)
