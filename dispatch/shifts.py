"""Shifts: a crew logs on to a unit (who is on board, their qualifications) and off again (issue #19 item 3).

A unit whose shift has ended and no new one started is not staffed: it is not recommended, not auto-dispatched
and cannot be assigned or lent (dispatch/recommendation.py, dispatch/assignment.py). A unit whose crews never
logged on through shifts keeps the crew it was registered with, so fleets from before shifts work as they did.
Out of service with a reason and an expected return time is a unit status (dispatch/fleet.py).
"""
from __future__ import annotations

from datetime import datetime

from dispatch.access import Identity, require_dispatchable_unit
from dispatch.error_codes import ErrorCode
from dispatch.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from dispatch.events import Event
from dispatch.model import CrewMember, Shift, Unit
from dispatch.policies import require
from dispatch.ports import Clock, EventStore, get_or_not_found

MAX_CREW = 12  # a bus-sized MCI unit at most; more is a typing error
_TEXT_MAX = 100


class ShiftStarted(Event, frozen=True):
    """A crew logged on to a unit; `crew`: everyone on board with their qualification."""

    unit_id: str
    shift_id: str
    crew: list[CrewMember]
    ends_at: datetime | None = None


class ShiftEnded(Event, frozen=True):
    """The crew logged off: the unit is not staffed until the next shift starts."""

    unit_id: str
    shift_id: str
    reason: str | None = None


def shift_started(unit: Unit, e: ShiftStarted) -> Unit:
    """Projection: the unit is staffed by this crew; `crew` (the names) follows the shift."""
    unit.shift = Shift(id=e.shift_id, crew=list(e.crew), started_at=e.at, ends_at=e.ends_at)
    unit.crew = [member.name for member in e.crew]
    unit.off_shift_since = None
    return unit


def shift_ended(unit: Unit, e: ShiftEnded) -> Unit:
    """Projection: nobody is on board since the event's time."""
    unit.shift, unit.crew, unit.off_shift_since = None, [], e.at
    return unit


def parse_crew(value) -> list[CrewMember]:
    """The `crew` of a log-on: 1 to MAX_CREW objects with a `name` and a `qualification` (and optional
    `user_id`), each text of at most 100 characters. Invalid naming each bad item otherwise."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_CREW:
        raise Invalid(FieldError("crew", ErrorCode.CREW_LIST, max=MAX_CREW))
    errors, crew = [], []
    for n, item in enumerate(value):
        if not isinstance(item, dict):
            errors.append(FieldError(f"crew[{n}]", ErrorCode.CREW_MEMBER_OBJECT))
            continue
        fields = {}
        for name in ("name", "qualification", "user_id"):
            text = item.get(name)
            if text is None and name == "user_id":
                continue
            if not isinstance(text, str) or not text.strip() or len(text) > _TEXT_MAX:
                errors.append(FieldError(f"crew[{n}].{name}", ErrorCode.TEXT_LENGTH, min=1, max=_TEXT_MAX))
            else:
                fields[name] = text.strip()
        if len(fields) >= 2:
            crew.append(CrewMember(**fields))
    if errors:
        raise Invalid(errors)
    return crew


def _check_actor(role: str, own_unit: str | None, unit_id: str) -> None:
    require(role, "log_shift")
    if role == "crew" and own_unit != unit_id:
        raise Forbidden(ErrorCode.CREW_OWN_UNIT_SHIFT)


class ShiftService:
    """Log crews on and off units. A crew only its own unit; a dispatcher's agency is judged in the unit of work
    on the unit's row (dispatch/access.py)."""

    def __init__(self, store: EventStore, clock: Clock):
        self.store = store
        self.clock = clock

    async def log_on(self, unit_id: str, crew, ends_at: datetime | None, *, actor: str, role: str,
                     own_unit: str | None = None, dispatcher: Identity | None = None) -> Unit:
        """Start a shift on `unit_id` with `crew` (see `parse_crew`); `ends_at` the planned end (UTC, future).
        `dispatcher`: the dispatcher or admin logging the crew on (None for a crew, judged by `own_unit`).

        Raises
        ------
        Forbidden
            The role may not, a crew logs on another unit, or the unit is not `dispatcher`'s agency's.
        Invalid
            The crew list or `ends_at` is malformed (every problem named); for a `dispatcher`, no such unit
            (field unit_id).
        NotFound
            No such unit (a crew's).
        Conflict
            A shift is already open on the unit (log it off first).
        """
        return await self.store.run(actor, self.shift_start(unit_id, crew, ends_at, role=role, own_unit=own_unit,
                                                            dispatcher=dispatcher))

    def shift_start(self, unit_id: str, crew, ends_at: datetime | None, *, role: str, own_unit: str | None = None,
                    dispatcher: Identity | None = None):
        """`log_on` as a unit-of-work body. Refusals that need no reading (role, crew list, end time) raise at
        once; the unit's agency and an open shift on the unit's row."""
        _check_actor(role, own_unit, unit_id)
        members = parse_crew(crew)
        now = self.clock.now()
        if ends_at is not None and ends_at <= now:
            raise Invalid(FieldError("ends_at", ErrorCode.MUST_BE_FUTURE))

        async def work(uow):
            unit = await uow.get("units", unit_id, lock=True)
            if unit is None and dispatcher is not None:  # the unit was named in the body
                raise Invalid(FieldError("unit_id", ErrorCode.NO_SUCH_UNIT))
            if unit is None:
                raise NotFound(ErrorCode.UNIT_NOT_FOUND, unit_id=unit_id)
            if dispatcher is not None:
                require_dispatchable_unit(dispatcher, unit)
            if unit.shift is not None:
                raise Conflict(ErrorCode.UNIT_ALREADY_ON_SHIFT, unit_id=unit_id, since=f"{unit.shift.started_at:%H:%M}")
            await uow.append(ShiftStarted(at=now, unit_id=unit_id, shift_id=f"{unit_id}@{now:%Y%m%dT%H%M%S}",
                                          crew=members, ends_at=ends_at))
            return await uow.get("units", unit_id)

        return work

    async def log_off(self, unit_id: str, reason: str | None, *, actor: str, role: str,
                      own_unit: str | None = None, dispatcher: Identity | None = None) -> Unit:
        """End the unit's shift. Conflict when none is open, or while the unit is on an incident (release it
        first: a crew cannot leave a patient); Invalid for a reason over 500 characters; NotFound for no such unit;
        Forbidden for a unit not of `dispatcher`'s agency (None for a crew, judged by `own_unit`)."""
        return await self.store.run(actor, self.shift_end(unit_id, reason, role=role, own_unit=own_unit,
                                                          dispatcher=dispatcher))

    def shift_end(self, unit_id: str, reason: str | None, *, role: str, own_unit: str | None = None,
                  dispatcher: Identity | None = None):
        """`log_off` as a unit-of-work body. Refusals that need no reading (role, reason) raise at once; the unit's
        agency, its shift and its incident on the unit's row."""
        _check_actor(role, own_unit, unit_id)
        if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
            raise Invalid(FieldError("reason", ErrorCode.TEXT_AT_MOST, max=500))

        async def work(uow):
            unit = await get_or_not_found(uow, "units", unit_id, lock=True)
            if dispatcher is not None:
                require_dispatchable_unit(dispatcher, unit)
            if unit.shift is None:
                raise Conflict(ErrorCode.UNIT_NO_CREW, unit_id=unit_id)
            if unit.incident_id is not None:
                raise Conflict(ErrorCode.UNIT_ON_INCIDENT_LOG_OFF, unit_id=unit_id, incident_id=unit.incident_id)
            await uow.append(ShiftEnded(at=self.clock.now(), unit_id=unit_id, shift_id=unit.shift.id, reason=reason))
            return await uow.get("units", unit_id)

        return work
