"""Units and hospitals: registration, crew status changes (mirrored onto the incident), ED capacity."""
from __future__ import annotations

from datetime import UTC, datetime

from dispatch.access import Identity, require_dispatchable_unit
from dispatch.error_codes import ErrorCode
from dispatch.errors import Conflict, FieldError, Forbidden, Invalid
from dispatch.events import (
    AssignmentAcknowledged, AssignmentCancelled, HospitalCapacityUpdated, HospitalRegistered, IncidentStatusChanged, UnitRegistered,
    UnitStatusChanged,
)
from dispatch.lifecycle import can_move, disposition_problem
from dispatch.model import AssignmentStatus, IncidentStatus, UnitStatus as U
from dispatch.policies import require
from dispatch.ports import Clock, EventStore, get_or_not_found

UNIT_NEXT: dict[U, set[U]] = {
    U.AVAILABLE: {U.OUT_OF_SERVICE},
    U.ASSIGNED: {U.EN_ROUTE},
    U.EN_ROUTE: {U.ON_SCENE},
    U.ON_SCENE: {U.TRANSPORTING, U.RETURNING, U.AVAILABLE},
    U.TRANSPORTING: {U.AT_HOSPITAL},
    U.AT_HOSPITAL: {U.RETURNING, U.AVAILABLE},
    U.RETURNING: {U.AVAILABLE, U.OUT_OF_SERVICE},
    U.OUT_OF_SERVICE: {U.AVAILABLE},
}
MIRRORED = {U.EN_ROUTE: IncidentStatus.EN_ROUTE, U.ON_SCENE: IncidentStatus.ON_SCENE,
            U.TRANSPORTING: IncidentStatus.TRANSPORTING, U.AT_HOSPITAL: IncidentStatus.AT_HOSPITAL}

# the action a role needs to move an incident to this status (any other status: correcting a step)
_STATUS_ACTION = {IncidentStatus.CLOSED: "close", IncidentStatus.CANCELLED: "cancel"}


class FleetService:
    def __init__(self, store: EventStore, clock: Clock):
        self.store = store
        self.clock = clock

    async def register_unit(self, event: UnitRegistered, *, actor: str) -> None:
        """Append a unit's registration (new, or updated keeping its live status) in its own unit of work."""
        async with self.store.unit_of_work(actor) as uow:
            await uow.append(event)

    async def register_hospital(self, event: HospitalRegistered, *, actor: str) -> None:
        """Append a hospital's registration in its own unit of work."""
        async with self.store.unit_of_work(actor) as uow:
            await uow.append(event)

    async def change_unit_status(self, unit_id: str, status: str, *, actor: str, role: str,
                                 own_unit: str | None = None, reason=None, back_at=None,
                                 dispatcher: Identity | None = None):
        """A crew's status button. En route on an unacknowledged assignment also acknowledges it ("Respond").
        Out of service may say why (`reason`, at most 200 characters) and when the unit is expected back
        (`back_at`, an ISO 8601 time in the future; UTC when it has no offset).

        `dispatcher`: the dispatcher or admin changing it (None for a crew, judged by `own_unit`), whose agency
        must own the unit (`require_dispatchable_unit`, on the row the unit of work writes against)."""
        return await self.store.run(actor, self.unit_status_change(unit_id, status, role=role, own_unit=own_unit,
                                                                   reason=reason, back_at=back_at,
                                                                   dispatcher=dispatcher))

    def unit_status_change(self, unit_id: str, status: str, *, role: str, own_unit: str | None = None,
                           reason=None, back_at=None, dispatcher: Identity | None = None):
        """`change_unit_status` as a unit-of-work body, for a caller that runs it in its own unit (e.g. together
        with the claim of a WebSocket command id). Refusals that need no reading (role, status name, reason and
        return time) raise at once; another agency's unit (`dispatcher`) on the unit's row."""
        require(role, "crew_status")
        if role == "crew" and own_unit != unit_id:
            raise Forbidden(ErrorCode.CREW_OWN_UNIT_ONLY)
        try:
            new = U(status)
        except ValueError:
            raise Invalid(FieldError("status", ErrorCode.MUST_BE_ONE_OF, allowed=", ".join(s.value for s in U))) from None
        reason, back = self._out_of_service(new, reason, back_at)
        async def work(uow):
            unit = await get_or_not_found(uow, "units", unit_id, lock=True)
            if dispatcher is not None:
                require_dispatchable_unit(dispatcher, unit)
            if unit.status is new:
                return unit  # a repeated tap
            if new not in UNIT_NEXT[unit.status]:
                raise Conflict(ErrorCode.UNIT_TRANSITION, unit_id=unit_id, old=unit.status.value, new=new.value)
            now = self.clock.now()
            incident_id = unit.incident_id
            if unit.assignment_id is not None and new is U.EN_ROUTE:
                assignment = await uow.get("assignments", unit.assignment_id, lock=True)
                if assignment and assignment.status is AssignmentStatus.AWAITING_ACK:
                    await uow.append(AssignmentAcknowledged(at=now, assignment_id=assignment.id,
                                                            incident_id=assignment.incident_id, unit_id=unit_id,
                                                            late=bool(assignment.escalations)))
            await uow.append(UnitStatusChanged(at=now, unit_id=unit_id, status=new, incident_id=incident_id,
                                               reason=reason, back_at=back))
            if incident_id is not None and new in MIRRORED:
                incident = await uow.get("incidents", incident_id, lock=True)
                target = MIRRORED[new]
                if incident and incident.status is not target and can_move(incident.status, target):
                    await uow.append(IncidentStatusChanged(at=now, incident_id=incident_id, status=target,
                                                           unit_id=unit_id))
            return await uow.get("units", unit_id)

        return work

    def _out_of_service(self, new: U, reason, back_at) -> tuple[str | None, datetime | None]:
        """The checked reason and return time (UTC) of an out-of-service change; both None for other statuses."""
        if new is not U.OUT_OF_SERVICE or (reason is None and back_at is None):
            return None, None
        errors, back = [], None
        if reason is not None and (not isinstance(reason, str) or not reason.strip() or len(reason) > 200):
            errors.append(FieldError("reason", ErrorCode.TEXT_LENGTH, min=1, max=200))
        if back_at is not None:
            try:
                back = datetime.fromisoformat(back_at) if isinstance(back_at, str) and len(back_at) <= 40 else None
            except ValueError:
                back = None
            if back is not None and back.tzinfo is None:
                back = back.replace(tzinfo=UTC)
            if back is None or back <= self.clock.now():
                errors.append(FieldError("back_at", ErrorCode.MUST_BE_FUTURE_TIME))
        if errors:
            raise Invalid(errors)
        return (reason.strip() if reason else None), back

    async def update_capacity(self, hospital_id: str, ed_beds_free, diversion, *, actor: str, role: str,
                              own_hospital: str | None = None):
        """Set a hospital's free emergency beds (0 to 1000) and diversion flag; returns the hospital.

        Raises
        ------
        Forbidden
            The role may not, or hospital staff update another hospital.
        Invalid
            `ed_beds_free` is not a whole number from 0 to 1000, or `diversion` not a boolean (every field listed).
        NotFound
            No such hospital.
        """
        require(role, "hospital_capacity")
        if role == "hospital" and own_hospital != hospital_id:
            raise Forbidden(ErrorCode.HOSPITAL_OWN_ONLY)
        errors = []
        if isinstance(ed_beds_free, bool) or not isinstance(ed_beds_free, int) or not 0 <= ed_beds_free <= 1000:
            errors.append(FieldError("ed_beds_free", ErrorCode.MUST_BE_WHOLE_BETWEEN, low=0, high=1000))
        if not isinstance(diversion, bool):
            errors.append(FieldError("diversion", ErrorCode.MUST_BE_BOOLEAN))
        if errors:
            raise Invalid(errors)
        async def work(uow):
            await get_or_not_found(uow, "hospitals", hospital_id, lock=True)
            await uow.append(HospitalCapacityUpdated(at=self.clock.now(), hospital_id=hospital_id,
                                                     ed_beds_free=ed_beds_free, diversion=diversion))
            return await uow.get("hospitals", hospital_id)

        return await self.store.run(actor, work)

    async def change_incident_status(self, incident_id: int, status: str, *, actor: str, role: str,
                                     reason: str | None = None, disposition: str | None = None):
        """Dispatcher moves: close, cancel, or correct a step; illegal transitions are Conflict. A close or cancel
        may carry a disposition code (dispatch.lifecycle.DISPOSITIONS; another value is Invalid) and a reason
        (the dispatcher's note, at most 500 characters)."""
        try:
            new = IncidentStatus(status)
        except ValueError:
            raise Invalid(FieldError("status", ErrorCode.MUST_BE_ONE_OF,
                                     allowed=", ".join(s.value for s in IncidentStatus))) from None
        problem = disposition_problem(new, disposition)
        if problem:
            raise Invalid(problem)
        if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
            raise Invalid(FieldError("reason", ErrorCode.TEXT_AT_MOST, max=500))
        require(role, _STATUS_ACTION.get(new, "change_incident_status"))
        async def work(uow):
            incident = await get_or_not_found(uow, "incidents", incident_id, lock=True)
            if not can_move(incident.status, new):
                raise Conflict(ErrorCode.INCIDENT_TRANSITION, incident_id=incident_id, old=incident.status.value,
                               new=new.value)
            now = self.clock.now()
            await uow.append(IncidentStatusChanged(at=now, incident_id=incident_id, status=new, reason=reason,
                                                   disposition=disposition))
            if new in (IncidentStatus.CLOSED, IncidentStatus.CANCELLED):
                for assignment_id in incident.assignment_ids:  # stop ladders, free units still tied to it
                    assignment = await uow.get("assignments", assignment_id, lock=True)
                    if assignment.status is AssignmentStatus.AWAITING_ACK:
                        await uow.append(AssignmentCancelled(at=now, assignment_id=assignment_id,
                                                             incident_id=incident_id, unit_id=assignment.unit_id,
                                                             reason=f"incident {new.value}"))
                        continue
                    unit = await uow.get("units", assignment.unit_id, lock=True)
                    if unit and unit.incident_id == incident_id and unit.status in (U.ASSIGNED, U.EN_ROUTE, U.ON_SCENE):
                        await uow.append(UnitStatusChanged(at=now, unit_id=unit.id, status=U.AVAILABLE))
            return await uow.get("incidents", incident_id)

        return await self.store.run(actor, work)
