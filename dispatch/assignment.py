"""Assignment of units to incidents, crew acknowledgement, and the escalation ladder for silent crews.

A unit cannot be double-booked: the unit row is read with a lock inside the unit of work and must be free.
The ladder is driven by a runner that any number of server processes may run at once: each step is recorded as
an `AssignmentEscalated` event in a unit of work that locks the assignment and re-checks the step is still due
and not yet taken, so every step happens exactly once; SMS and voice go out only after that commit.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from dispatch.errors import Conflict, FieldError, Invalid, NotFound
from dispatch.events import AssignmentAcknowledged, AssignmentEscalated, UnitAssigned
from dispatch.model import AssignmentStatus, Colour, Incident, LocationFlag, UnitStatus
from dispatch.policies import require
from dispatch.ports import Clock, CrewNotifier, EventStore
from dispatch.recommendation import RecommendationService

log = logging.getLogger("ems.dispatch")

ASSIGNABLE_INCIDENT = {"received", "triaged", "assigned", "acknowledged", "en_route", "on_scene"}


@dataclass
class DispatchPolicy:
    ack_timeout_red_s: float = 30.0
    ack_timeout_other_s: float = 60.0
    auto_dispatch_red: bool = True
    # (seconds after the acknowledgement was due, step): re-push the frame, SMS, voice call, next unit
    ladder: list[tuple[float, str]] = field(default_factory=lambda: [(0.0, "repush"), (15.0, "sms"),
                                                                     (30.0, "voice"), (45.0, "next_unit")])

    def ack_timeout_s(self, incident: Incident) -> float:
        return self.ack_timeout_red_s if incident.colour == Colour.RED.value else self.ack_timeout_other_s


class AssignmentService:
    def __init__(self, store: EventStore, clock: Clock, recommendations: RecommendationService,
                 policy: DispatchPolicy):
        self.store = store
        self.clock = clock
        self.recommendations = recommendations
        self.policy = policy

    async def assign(self, incident_id: int, unit_id: str, *, actor: str, role: str, auto: bool = False):
        """Assign a free unit; Conflict if it is busy (a concurrent assign of the same unit loses)."""
        require(role, "assign")
        incident, unit = await asyncio.gather(self.store.get("incidents", incident_id),
                                              self.store.get("units", unit_id))
        # The road ETA is computed before the unit of work, which then takes these two reads as its own.
        eta = await self.recommendations.eta_for(incident, unit) if incident and unit else None
        async def work(uow):
            incident = await uow.get("incidents", incident_id, lock=True)
            if incident is None:
                raise NotFound(f"no incident {incident_id}")
            if incident.status.value not in ASSIGNABLE_INCIDENT:
                raise Conflict(f"incident {incident_id} is {incident.status.value}")
            unit = await uow.get("units", unit_id, lock=True)
            if unit is None:
                raise Invalid(FieldError("unit_id", "no such unit"))
            if unit.status not in (UnitStatus.AVAILABLE, UnitStatus.RETURNING):
                raise Conflict(f"unit {unit_id} is {unit.status.value}"
                               + (f" on incident {unit.incident_id}" if unit.incident_id else ""))
            now = self.clock.now()
            assignment_id = await uow.next_assignment_id()
            await uow.append(UnitAssigned(
                at=now, assignment_id=assignment_id, incident_id=incident_id, unit_id=unit_id,
                ack_due_at=now + timedelta(seconds=self.policy.ack_timeout_s(incident)),
                eta_s=eta.eta_s if eta else None, distance_m=eta.distance_m if eta else None, auto=auto))
            return await uow.get("assignments", assignment_id)

        return await self.store.run(actor, work, known=(("incidents", incident), ("units", unit)))

    async def _etas(self, incident_id: int):
        try:
            return await self.recommendations.recommend(incident_id, limit=1000)
        except (Conflict, NotFound):
            return []  # no location yet: the assignment still goes out, without an ETA

    async def auto_dispatch(self, incident_id: int) -> object | None:
        """For a red incident with a trusted location and no unit yet, assign the best recommendation."""
        if not self.policy.auto_dispatch_red:
            return None
        incident = await self.store.get("incidents", incident_id)
        if (incident is None or incident.colour != Colour.RED.value or incident.unit_ids or not incident.is_open
                or {LocationFlag.OUTSIDE_SERVICE_AREA, LocationFlag.UNVERIFIED} & set(incident.location_flags)):
            return None
        for option in await self._etas(incident_id):
            if option.eta_s is None:
                break
            try:
                return await self.assign(incident_id, option.unit_id, actor="system:auto-dispatch", role="dispatcher",
                                         auto=True)
            except Conflict:
                continue  # taken meanwhile: try the next one
        return None

    async def for_incident(self, incident_id: int) -> dict:
        """The incident's assignments, newest first, with the ladder (seconds after the ack was due, step)."""
        incident = await self.store.get("incidents", incident_id)
        if incident is None:
            raise NotFound(f"no incident {incident_id}")
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
                raise NotFound(f"no assignment {assignment_id} for this unit")  # same answer: no probing
            if assignment.status is AssignmentStatus.ACKNOWLEDGED:
                return assignment
            if assignment.status is not AssignmentStatus.AWAITING_ACK:
                raise Conflict(f"assignment {assignment_id} is {assignment.status.value}")
            await uow.append(AssignmentAcknowledged(at=self.clock.now(), assignment_id=assignment_id,
                                                    incident_id=assignment.incident_id, unit_id=unit_id,
                                                    late=bool(assignment.escalations)))
            return await uow.get("assignments", assignment_id)

        return work


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
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="escalation-ladder")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("escalation ladder tick failed")
            await asyncio.sleep(self.poll_s)

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
        detail = None
        async with self.store.unit_of_work("system:escalation") as uow:
            assignment = await uow.get("assignments", assignment_id, lock=True)
            if (assignment.status is not AssignmentStatus.AWAITING_ACK or step in assignment.escalations
                    or self.clock.now() < assignment.ack_due_at + timedelta(seconds=offset_s)):
                return False  # acknowledged meanwhile, or another process took this step
            unit = await uow.get("units", assignment.unit_id)
            if step == "next_unit":
                options = await self.recommendations.recommend(assignment.incident_id, limit=1,
                                                               exclude={assignment.unit_id})
                detail = options[0].unit_id if options else None
            await uow.append(AssignmentEscalated(at=self.clock.now(), assignment_id=assignment_id,
                                                 incident_id=assignment.incident_id, unit_id=assignment.unit_id,
                                                 step=step, detail=detail))
        await self._notify(step, unit, assignment)
        return True

    async def _notify(self, step: str, unit, assignment) -> None:
        phone = unit.phone if unit else None
        text = (f"1669 Chonburi: incident #{assignment.incident_id} assigned to {assignment.unit_id} — open the "
                f"tablet and acknowledge / มีเหตุ #{assignment.incident_id} กรุณากดรับทราบ")
        try:
            if step == "sms" and phone:
                await self.notifier.send_sms(phone, text)
            elif step == "voice" and phone:
                await self.notifier.call(phone, text)
        except Exception:
            log.exception("escalation %s for assignment %s could not be sent", step, assignment.id)
