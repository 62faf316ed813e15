"""The editable registry: create, edit and retire stations and posts, units, hospitals and user accounts, one
record at a time or by bulk import (with a dry run). Every change is an event (who: the unit of work's actor;
when: the event's `at`); a retired record keeps its row and history, is refused further edits, and is never
recommended (units) nor offered as a destination (hospitals).

Fields and how each is read: dispatch/resource_fields.py. Files to rows: dispatch/imports.py.
Agencies are plain ids here (default the 1669 centre); whether one is registered is checked by the agencies work.
User accounts live in the `users` table (db/identity.py, behind the `Accounts` port); their changes are events too
(UserRegistered, UserRetired). The account is written inside the unit of work, before it commits: a failed account
write appends nothing; should the commit then fail (StoreBusy), the account stands without its event, and the same
request, repeated, records it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from dispatch.access import AccessRevoked
from dispatch.agencies import CENTRE_AGENCY_ID
from dispatch.error_codes import ErrorCode
from dispatch.errors import Conflict, FieldError, Invalid, NotFound
from dispatch.imports import ImportRow
from dispatch.events import (
    Event, HospitalRegistered, HospitalRetired, StationRegistered, StationRetired, UnitRegistered, UnitRetired,
    UserRegistered, UserRetired,
)
from dispatch.model import UnitStatus
from dispatch.policies import require
from dispatch.ports import Accounts, Clock, EventStore
from dispatch.resource_fields import DEFAULTS, KINDS, Kind, changes, read_fields, record_of

IMPORT_KINDS = ("stations", "units", "hospitals")
MAX_IMPORT_ROWS = 5000
MAX_REASON = 500
# A unit on a call cannot be retired: it would vanish from the incident it serves.
RETIRABLE_UNIT_STATUSES = (UnitStatus.AVAILABLE, UnitStatus.OUT_OF_SERVICE, UnitStatus.RETURNING)
_RETIRED = {"stations": StationRetired, "units": UnitRetired, "hospitals": HospitalRetired}


@dataclass
class RowPlan:
    """What one input row would do: create, change, retire or nothing (unchanged), or why it cannot."""

    row: int | None  # 1-based line of a CSV file (the header is line 1) or feature number of a GeoJSON file
    id: str | None
    action: str | None = None  # create | change | retire | unchanged; None when the row has errors
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The row's plan as JSON (errors as in the one error shape; the events are not shown)."""
        return {"row": self.row, "id": self.id, "action": self.action, "changes": self.changes,
                "warnings": self.warnings, "errors": [e.to_json() for e in self.errors]}


@dataclass
class ImportPlan:
    kind: str
    rows: list[RowPlan]

    @property
    def ok(self) -> bool:
        """True when no row has an error (only then is anything written)."""
        return not any(r.errors for r in self.rows)

    def summary(self) -> dict[str, int]:
        """How many rows would be created, changed, retired, left unchanged, and how many are bad."""
        counts = dict.fromkeys(("create", "change", "retire", "unchanged"), 0)
        for r in self.rows:
            if r.action:
                counts[r.action] += 1
        return {**counts, "errors": sum(1 for r in self.rows if r.errors)}

    def errors(self) -> list[FieldError]:
        """Every row's errors, each field named `row <n>: <field>` (the one error shape's fields)."""
        return [e.at(f"row {r.row}: {e.field}") for r in self.rows for e in r.errors]

    def to_json(self, *, dry_run: bool, applied: bool) -> dict[str, Any]:
        """The plan as the import answer: summary, rows in order, and every error by row number and field."""
        return {"kind": self.kind, "dry_run": dry_run, "applied": applied, "summary": self.summary(),
                "rows": [r.to_json() for r in self.rows],
                "errors": [{"row": r.row, **e.to_json()} for r in self.rows for e in r.errors]}


def _kind(name: str) -> Kind:
    if name not in KINDS:
        raise NotFound(ErrorCode.RECORD_NOT_FOUND, kind="registry kind", record_id=name)
    return KINDS[name]


def _reason(reason: Any) -> str | None:
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON):
        raise Invalid(FieldError("reason", ErrorCode.TEXT_AT_MOST, max=MAX_REASON))
    return reason or None


class ResourceService:
    """Registry writes (admins only) and reads (dispatchers and admins)."""

    def __init__(self, store: EventStore, clock: Clock, accounts: Accounts):
        self.store = store
        self.clock = clock
        self.accounts = accounts

    # ---- reads ----------------------------------------------------------------------------------------------
    async def list(self, kind_name: str, *, role: str, include_retired: bool = False) -> list[Any]:
        """Every record of a kind, by id (retired ones only when asked); users without password hashes."""
        require(role, "read_registry")
        kind = _kind(kind_name)
        if kind.projection is None:
            return [a for a in await self.accounts.accounts() if include_retired or not a.get("retired_at")]
        return await self.store.list(kind.projection, open_only=not include_retired, limit=100_000)

    # ---- one record -----------------------------------------------------------------------------------------
    async def create(self, kind_name: str, raw: Any, *, actor: str, role: str) -> Any:
        """Register a new record from `raw` (JSON fields); Invalid lists every bad field, Conflict if the id is
        taken (retired ids are not reused)."""
        return await self._save(kind_name, raw, None, actor=actor, role=role)

    async def edit(self, kind_name: str, record_id: str, raw: Any, *, actor: str, role: str) -> Any:
        """Change some fields of a record (absent fields stay, null clears an optional one); NotFound, Conflict
        for a retired record, Invalid lists every bad field."""
        return await self._save(kind_name, raw, record_id, actor=actor, role=role)

    async def _save(self, kind_name: str, raw: Any, record_id: str | None, *, actor: str, role: str) -> Any:
        require(role, "manage_registry")
        kind = _kind(kind_name)
        if not isinstance(raw, dict):
            raise Invalid(FieldError("body", ErrorCode.MUST_BE_OBJECT))
        if record_id is not None:
            if raw.get(kind.id_field) not in (None, record_id):
                raise Invalid(FieldError(kind.id_field, ErrorCode.ID_UNCHANGEABLE))
            raw = {**raw, kind.id_field: record_id}
        async with self.store.unit_of_work(actor) as uow:
            plan = await self._plan_row(kind, raw, uow, row=None, mode="create" if record_id is None else "edit")
            if plan.errors:
                raise Invalid(plan.errors)
            for event in plan.events:
                await uow.append(event)
            if kind.projection is None:
                await self._write_account(plan, raw.get("password"))
                return await self.accounts.account(plan.id)
            return await uow.get(kind.projection, plan.id)

    async def retire(self, kind_name: str, record_id: str, reason: Any = None, *, actor: str, role: str) -> Any:
        """Retire a record: it stays in the log and in lists of retired records. Conflict if already retired or
        (a unit) still on a call; NotFound if absent."""
        require(role, "manage_registry")
        kind = _kind(kind_name)
        reason = _reason(reason)
        async with self.store.unit_of_work(actor) as uow:
            plan = await self._plan_row(kind, {kind.id_field: record_id, "retire": True}, uow, row=None,
                                        mode="edit", reason=reason)
            if plan.errors:
                raise Invalid(plan.errors)
            for event in plan.events:
                await uow.append(event)
            if kind.projection is None:
                await self.accounts.disable_account(record_id)
                return await self.accounts.account(record_id)
            return await uow.get(kind.projection, record_id)

    async def _write_account(self, plan: RowPlan, password: str | None) -> None:
        if not plan.events:  # an edit that changes nothing (no password either): the account stays as it is
            return
        [event] = plan.events
        await self.accounts.save_account(event.user_id, name=event.name, role=event.role, agency_id=event.agency_id,
                                         unit_id=event.unit_id, hospital_id=event.hospital_id, phone=event.phone,
                                         password=password)

    # ---- bulk import ----------------------------------------------------------------------------------------
    async def plan_import(self, kind_name: str, rows: list[ImportRow], *, role: str) -> ImportPlan:
        """What importing `rows` would do, from committed state; writes nothing."""
        require(role, "manage_registry")
        return await self._plan_import(_import_kind(kind_name), rows, self.store)

    async def apply_import(self, kind_name: str, rows: list[ImportRow], *, actor: str,
                           role: str) -> ImportPlan:
        """Import `rows` in one unit of work, planned again under the log's lock: all rows or, when any row is
        bad, nothing (the plan is returned with its errors either way)."""
        require(role, "manage_registry")
        kind = _import_kind(kind_name)
        async with self.store.unit_of_work(actor) as uow:
            plan = await self._plan_import(kind, rows, uow)
            if plan.ok:
                for row in plan.rows:
                    for event in row.events:
                        await uow.append(event)
        return plan

    async def _plan_import(self, kind: Kind, rows: list[ImportRow], reader) -> ImportPlan:
        if len(rows) > MAX_IMPORT_ROWS:
            raise Invalid(FieldError("body", ErrorCode.IMPORT_ROWS, max=MAX_IMPORT_ROWS))
        plans, first_row = [], {}
        for source in rows:
            number = source.number
            plan = await self._plan_row(kind, source.values, reader, row=number, mode="upsert")
            plan.warnings = [*source.warnings, *plan.warnings]
            if plan.id is not None and plan.id in first_row:
                plan.errors.append(FieldError(kind.id_field, ErrorCode.ID_ON_TWO_ROWS, record_id=plan.id,
                                              row=first_row[plan.id]))
                plan.action, plan.events = None, []
            elif plan.id is not None:
                first_row[plan.id] = number
            plans.append(plan)
        return ImportPlan(kind.name, plans)

    # ---- one row, the heart of every write ------------------------------------------------------------------
    async def _plan_row(self, kind: Kind, raw: dict[str, Any], reader, *, row: int | None, mode: str,
                        reason: str | None = None) -> RowPlan:
        """Read and check one record against stored state; mode create (must be new), edit (must exist) or
        upsert (either). `retire` in `raw` (true/yes/1) asks for a retirement instead."""
        retiring = str(raw.get("retire", "")).strip().lower() in ("true", "yes", "y", "1", "x")
        given_id = raw.get(kind.id_field)
        values, errors = read_fields(kind, raw, creating=mode != "edit" and not retiring)
        record_id = values.get(kind.id_field) if isinstance(given_id, str) else None
        plan = RowPlan(row=row, id=record_id or (given_id if isinstance(given_id, str) else None), errors=errors)
        if record_id is None:
            if not errors:
                plan.errors.append(FieldError(kind.id_field, ErrorCode.REQUIRED))
            return plan
        current = await self._current(kind, record_id, reader)
        named = {"kind": kind.name.rstrip("s"), "record_id": record_id}
        if current is None and (mode == "edit" or retiring):
            if mode == "edit" and row is None:
                raise NotFound(ErrorCode.RECORD_NOT_FOUND, **named)
            plan.errors.append(FieldError(kind.id_field, ErrorCode.NOTHING_TO_RETIRE, **named))
            return plan
        if current is not None and mode == "create":
            raise Conflict(ErrorCode.RECORD_EXISTS, **named)
        if current is not None and _retired_at(current):
            if row is None:
                raise Conflict(ErrorCode.RECORD_RETIRED, **named)
            plan.errors.append(FieldError(kind.id_field, ErrorCode.ID_RETIRED, record_id=record_id))
            return plan
        if retiring:
            await self._plan_retirement(kind, current, plan, reason)
            return plan
        if errors:
            return plan
        before = _record(current) if current is not None else {}
        record = {**DEFAULTS, **before, **values} if current is None else {**before, **values}
        record = {name: value for name, value in record.items() if name in kind.field_names}
        await self._complete(kind, record, current, reader, plan)
        if plan.errors:
            return plan
        shown = {k: v for k, v in record.items() if k != "password" or "password" in values}
        plan.changes = changes(before, shown)
        plan.action = "create" if current is None else ("change" if plan.changes else "unchanged")
        if plan.action != "unchanged":
            plan.events = [_registration(kind, record, self.clock.now(), password_set="password" in values)]
        return plan

    async def _current(self, kind: Kind, record_id: str, reader) -> Any | None:
        if kind.projection is None:
            return await self.accounts.account(record_id)
        return await reader.get(kind.projection, record_id)

    async def _plan_retirement(self, kind: Kind, current: Any, plan: RowPlan, reason: str | None) -> None:
        at = self.clock.now()
        if kind.name == "units" and (current.status not in RETIRABLE_UNIT_STATUSES or current.incident_id):
            busy = {"unit_id": current.id, "status": current.status.value}
            if plan.row is None:
                raise Conflict(ErrorCode.UNIT_BUSY_NOT_RETIRED, **busy)
            plan.errors.append(FieldError("unit_id", ErrorCode.UNIT_BUSY_NOT_RETIRED, **busy))
            return
        plan.action, plan.changes = "retire", {"retired_at": {"from": None, "to": at.isoformat()}}
        if kind.projection is None:
            plan.events = [UserRetired(at=at, user_id=plan.id, reason=reason),
                           AccessRevoked(at=at, user_id=plan.id, reason="account retired")]
        else:
            plan.events = [_RETIRED[kind.name](at=at, reason=reason, **{kind.id_field: plan.id})]

    async def _complete(self, kind: Kind, record: dict[str, Any], current: Any, reader, plan: RowPlan) -> None:
        """Fill what comes from other records and check references: a registered, active agency (the centre needs
        no registration), a unit's home station (its name, and its location when the unit has none), a user's unit
        or hospital; name_en defaults to name_th."""
        if "name_th" in record and not record.get("name_en"):
            record["name_en"] = record["name_th"]
        agency_id = record.get("agency_id")
        if agency_id and agency_id != CENTRE_AGENCY_ID:
            agency = await reader.get("agencies", agency_id)
            if agency is None or not agency.is_open:
                plan.errors.append(FieldError("agency_id", ErrorCode.NO_ACTIVE_AGENCY, agency_id=agency_id))
        if kind.name == "units":
            station = await reader.get("stations", record["station_id"])
            if station is not None and _retired_at(station) and (current is None
                                                                 or current.station_id != record["station_id"]):
                plan.errors.append(FieldError("station_id", ErrorCode.STATION_RETIRED, station_id=station.id))
            elif station is not None:
                record["station_name"] = station.name_th
                if record.get("location") is None or (current is not None and current.station_id != station.id
                                                      and record["location"] == current.base):
                    record["location"] = station.location
            elif current is not None and current.station_id == record["station_id"]:
                record["station_name"] = current.station_name
            else:
                record["station_name"] = record["station_id"]
                if record.get("location") is None:
                    plan.errors.append(FieldError("location", ErrorCode.LOCATION_WITHOUT_STATION))
        if kind.name == "users":
            await self._check_account_links(record, reader, plan)

    async def _check_account_links(self, record: dict[str, Any], reader, plan: RowPlan) -> None:
        for role, link, projection in (("crew", "unit_id", "units"), ("hospital", "hospital_id", "hospitals")):
            if record["role"] != role:
                record[link] = None  # only crews belong to a unit, only hospital staff to a hospital
                continue
            if not record.get(link):
                plan.errors.append(FieldError(link, ErrorCode.REQUIRED_FOR_ROLE, role=role))
                continue
            linked = await reader.get(projection, record[link])
            if linked is None or _retired_at(linked):
                plan.errors.append(FieldError(link, ErrorCode.NO_ACTIVE_RECORD, kind=projection.rstrip("s"),
                                              record_id=record[link]))


def _import_kind(name: str) -> Kind:
    if name not in IMPORT_KINDS:
        raise Invalid(FieldError("kind", ErrorCode.MUST_BE_ONE_OF, allowed=", ".join(IMPORT_KINDS)))
    return KINDS[name]


def _retired_at(state: Any) -> Any:
    return state.get("retired_at") if isinstance(state, dict) else state.retired_at


def _record(current: Any) -> dict[str, Any]:
    if isinstance(current, dict):  # a user account
        return {k: current.get(k) for k in ("user_id", "name", "role", "agency_id", "unit_id", "hospital_id",
                                            "phone")}
    return record_of(current)


def _registration(kind: Kind, record: dict[str, Any], at, *, password_set: bool) -> Event:
    """The registration event carrying the whole record (an edit repeats every field: the latest one wins)."""
    fields = {k: v for k, v in record.items() if k != "password"}
    if kind.name == "users":
        return UserRegistered(at=at, password_set=password_set, **fields)
    if kind.name == "units":
        fields["base"] = fields.pop("location")
        return msgspec.convert({**fields, "at": at}, UnitRegistered, from_attributes=True)
    event_type = {"stations": StationRegistered, "hospitals": HospitalRegistered}[kind.name]
    return msgspec.convert({**fields, "at": at}, event_type, from_attributes=True)
