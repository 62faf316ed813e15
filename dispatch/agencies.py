"""Agencies: the organisations that own units, stations and users (issue #19).

Chonburi's ambulances belong to hospital ALS teams, the provincial administration (PAO), municipalities and
volunteer rescue foundations; the 1669 centre coordinates them all. An agency is event-sourced like everything
else (AgencyRegistered, AgencyUpdated, AgencyRetired on the stream `agency-<id>`); a retired agency keeps its
history and its row (is_open false).

Ids are short lowercase slugs (`AGENCY_ID_PATTERN`), e.g. "cb-pao" or "sawang-cb". The centre's id is
`CENTRE_AGENCY_ID`: its dispatchers and admins see and dispatch every unit and incident. A unit, station or user
without an agency belongs to the centre (`agency_of`), so records made before agencies existed keep working.
Who sees what by agency is dispatch/access.py.
"""
from __future__ import annotations

import re
from datetime import datetime

import msgspec

from dispatch.error_codes import ErrorCode
from dispatch.errors import Conflict, FieldError, Invalid, NotFound
from dispatch.events import Event
from dispatch.model import DEFAULT_AGENCY
from dispatch.policies import require
from dispatch.ports import Clock, EventStore

CENTRE_AGENCY_ID = DEFAULT_AGENCY  # the provincial 1669 command centre ("1669-cb"): sees and dispatches everything
AGENCY_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$"  # 1-40 characters: lowercase, digits, inner hyphens
AGENCY_KINDS = ("centre", "hospital", "pao", "municipality", "foundation", "private")
_AGENCY_ID = re.compile(AGENCY_ID_PATTERN)
_NAME_MAX = 200


def agency_of(agency_id: str | None) -> str:
    """The agency a record belongs to: its own, or the centre's when it has none (records from before agencies)."""
    return agency_id or CENTRE_AGENCY_ID


class Agency(msgspec.Struct, kw_only=True):
    """One agency as folded from its events; `retired_at` set once it is retired (it is then no longer open)."""

    id: str
    name_th: str
    name_en: str
    kind: str
    phone: str | None = None  # the agency's dispatch desk, for mutual-aid calls
    registered_at: datetime | None = None
    retired_at: datetime | None = None
    retired_reason: str | None = None
    last_seq: int = 0

    @property
    def is_open(self) -> bool:
        """False once retired: lists of current agencies leave it out."""
        return self.retired_at is None


class AgencyRegistered(Event, frozen=True):
    """A new agency."""

    agency_id: str
    name_th: str
    name_en: str
    kind: str
    phone: str | None = None


class AgencyUpdated(Event, frozen=True):
    """Changed fields of an agency; a field left None is unchanged."""

    agency_id: str
    name_th: str | None = None
    name_en: str | None = None
    kind: str | None = None
    phone: str | None = None


class AgencyRetired(Event, frozen=True):
    """The agency no longer operates; its history and its units' records stay."""

    agency_id: str
    reason: str | None = None


def agency_registered(_: Agency | None, e: AgencyRegistered) -> Agency:
    """Projection: a new agency row."""
    return Agency(id=e.agency_id, name_th=e.name_th, name_en=e.name_en, kind=e.kind, phone=e.phone,
                  registered_at=e.at)


def agency_updated(agency: Agency, e: AgencyUpdated) -> Agency:
    """Projection: the fields the event names replace the agency's."""
    for name in ("name_th", "name_en", "kind", "phone"):
        value = getattr(e, name)
        if value is not None:
            setattr(agency, name, value)
    return agency


def agency_retired(agency: Agency, e: AgencyRetired) -> Agency:
    """Projection: the agency is retired at the event's time."""
    agency.retired_at, agency.retired_reason = e.at, e.reason
    return agency


def _text(body: dict, name: str, errors: list[FieldError], *, required: bool, limit: int = _NAME_MAX) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        errors.append(FieldError(name, ErrorCode.REQUIRED))
        return None
    if len(value) > limit:
        errors.append(FieldError(name, ErrorCode.TEXT_TOO_LONG, max=limit))
        return None
    return value.strip()


def _fields(body: dict, *, new: bool) -> tuple[dict, list[FieldError]]:
    """The agency fields of a request body, checked; every problem listed."""
    errors: list[FieldError] = []
    fields = {name: _text(body, name, errors, required=new) for name in ("name_th", "name_en", "kind")}
    fields["phone"] = _text(body, "phone", errors, required=False, limit=32)
    if fields["kind"] is not None and fields["kind"] not in AGENCY_KINDS:
        errors.append(FieldError("kind", ErrorCode.MUST_BE_ONE_OF, allowed=", ".join(AGENCY_KINDS)))
    return fields, errors


class AgencyService:
    """Register, update and retire agencies (admins of the centre; the edge checks the agency)."""

    def __init__(self, store: EventStore, clock: Clock):
        self.store = store
        self.clock = clock

    async def register(self, body: dict, *, actor: str, role: str) -> Agency:
        """Register a new agency from `{"id", "name_th", "name_en", "kind", "phone"?}`.

        Raises
        ------
        Forbidden
            The role may not manage agencies.
        Invalid
            A field is missing or malformed (every problem listed).
        Conflict
            An agency with that id exists (retired ones too: ids are never reused).
        """
        require(role, "manage_agencies")
        agency_id = body.get("id")
        fields, errors = _fields(body, new=True)
        if not isinstance(agency_id, str) or not _AGENCY_ID.match(agency_id):
            errors.insert(0, FieldError("id", ErrorCode.AGENCY_ID))
        if errors:
            raise Invalid(errors)

        async def work(uow):
            if await uow.get("agencies", agency_id) is not None:
                raise Conflict(ErrorCode.AGENCY_EXISTS, agency_id=agency_id)
            await uow.append(AgencyRegistered(at=self.clock.now(), agency_id=agency_id, **fields))
            return await uow.get("agencies", agency_id)

        return await self.store.run(actor, work)

    async def update(self, agency_id: str, body: dict, *, actor: str, role: str) -> Agency:
        """Change an agency's names, kind or phone (only the fields given). NotFound for an unknown id, Conflict
        for a retired agency, Invalid for a bad field."""
        require(role, "manage_agencies")
        fields, errors = _fields(body, new=False)
        if errors:
            raise Invalid(errors)

        async def work(uow):
            agency = await self._current(uow, agency_id)
            await uow.append(AgencyUpdated(at=self.clock.now(), agency_id=agency.id, **fields))
            return await uow.get("agencies", agency_id)

        return await self.store.run(actor, work)

    async def retire(self, agency_id: str, reason: str | None, *, actor: str, role: str) -> Agency:
        """Retire an agency (its history stays). The centre cannot be retired (Conflict), nor an agency twice."""
        require(role, "manage_agencies")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
            raise Invalid(FieldError("reason", ErrorCode.TEXT_AT_MOST, max=500))
        if agency_id == CENTRE_AGENCY_ID:
            raise Conflict(ErrorCode.CENTRE_NOT_RETIRED)

        async def work(uow):
            agency = await self._current(uow, agency_id)
            await uow.append(AgencyRetired(at=self.clock.now(), agency_id=agency.id, reason=reason))
            return await uow.get("agencies", agency_id)

        return await self.store.run(actor, work)

    @staticmethod
    async def _current(uow, agency_id: str) -> Agency:
        agency = await uow.get("agencies", agency_id, lock=True)
        if agency is None:
            raise NotFound(ErrorCode.AGENCY_NOT_FOUND, agency_id=agency_id)
        if not agency.is_open:
            raise Conflict(ErrorCode.AGENCY_RETIRED, agency_id=agency_id)
        return agency

    async def list(self, *, include_retired: bool = False) -> list[Agency]:
        """Every agency (current ones only unless `include_retired`), by id."""
        return await self.store.list("agencies", open_only=not include_retired)
