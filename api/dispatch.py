"""Dispatch actions: triage, recommendations, assignment, status, units, hospitals, destinations. Thin: each
handler parses, authenticates, calls one service method and serialises."""
from __future__ import annotations

from typing import Any

import msgspec

from api.base import BaseHandler
from api.incidents import view_for
from api.registry import create_record
from dispatch.access import STAFF_ROLES, may_read_unit, unit_view
from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError, Invalid
from dispatch.triage import cards


def _object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise Invalid(FieldError("body", ErrorCode.MUST_BE_OBJECT))
    return body


def _id_field(body: dict, name: str) -> str:
    """A required string id of 1 to 200 characters (`json_body` has already refused NUL and invalid Unicode)."""
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise Invalid(FieldError(name, ErrorCode.REQUIRED))
    if len(value) > 200:
        raise Invalid(FieldError(name, ErrorCode.TEXT_TOO_LONG, max=200))
    return value


class DispatchHandler(BaseHandler):
    """Base of the dispatch handlers: each reads its service as a typed attribute (`self.ctx.assignments`)."""


class TriageCardsHandler(DispatchHandler):
    agency_scope = "open"

    async def get(self) -> None:
        """GET the Thai CBD triage cards (any signed-in role)."""
        self.require()
        self.send_json({"groups": list(cards().values())})


class TriageHandler(DispatchHandler):
    agency_scope = "incident"

    async def post(self, incident_id: str) -> None:
        """POST a triage (group, determinant or colour, reason); may auto-dispatch a red call. 422 on bad fields, 404
        no incident."""
        identity = self.require()
        body = _object(self.json_body())
        service = self.ctx.triage_dispatch
        if "colour" in body:
            triaged = await service.override_colour(int(incident_id), body.get("colour"), body.get("reason"),
                                                    actor=identity.actor, role=identity.role)
        else:
            triaged = await service.triage(int(incident_id), body.get("group"), body.get("determinant"),
                                           actor=identity.actor, role=identity.role)
        self.send_json(triaged.incident)


class RecommendationsHandler(DispatchHandler):
    agency_scope = "incident"

    async def get(self, incident_id: str) -> None:
        """GET units ranked by road ETA for the incident (staff); 503 while the road graph loads."""
        identity = self.require(*STAFF_ROLES)
        # an agency's dispatcher is offered its own units (another agency's through mutual aid)
        recommendations = await self.ctx.recommendations.recommend(
            int(incident_id), agency=None if identity.sees_all else identity.agency)
        await self.audit("read", f"incident:{incident_id}:recommendations", {"count": len(recommendations)})
        self.send_json({"recommendations": recommendations})


class AssignmentsHandler(DispatchHandler):
    agency_scope = "incident"

    async def get(self, incident_id: str) -> None:
        """GET the incident's assignments (staff)."""
        self.require(*STAFF_ROLES)
        assignments = await self.ctx.assignments.for_incident(int(incident_id))
        await self.audit("read", f"incident:{incident_id}:assignments")
        self.send_json(assignments)

    async def post(self, incident_id: str) -> None:
        """POST an assignment of `unit_id` to the incident; 201, 409 if the unit is taken, 422 on bad fields."""
        identity = self.require()
        body = _object(self.json_body())
        unit_id = _id_field(body, "unit_id")
        assignment = await self.ctx.assignments.assign(int(incident_id), unit_id, actor=identity.actor,
                                                       role=identity.role, dispatcher=identity.as_dispatcher)
        self.send_json(assignment, 201)


class AcknowledgeHandler(DispatchHandler):
    """HTTP fallback of the WebSocket `ack` frame."""

    async def post(self, assignment_id: str) -> None:
        """POST a crew's acknowledgement of its assignment; 403 for another unit's, 409 if no longer awaited."""
        identity = self.require()
        self.send_json(await self.ctx.assignments.acknowledge(
            int(assignment_id), actor=identity.actor, role=identity.role, unit_id=identity.unit_id))


class IncidentStatusHandler(DispatchHandler):
    agency_scope = "incident"

    async def post(self, incident_id: str) -> None:
        """POST an incident status change; 409 for a move the lifecycle does not allow."""
        identity = self.require()
        body = _object(self.json_body())
        self.send_json(await self.ctx.fleet.change_incident_status(
            int(incident_id), body.get("status"), actor=identity.actor, role=identity.role, reason=body.get("reason"),
            disposition=body.get("disposition")))


class UnitsHandler(DispatchHandler):
    agency_scope = {"GET": "open"}  # the list is filtered; registering units is the centre's

    async def get(self) -> None:
        """GET the units this role may see (retired ones only with retired=true), with their latest positions."""
        identity = self.require()
        units = [u for u in await self.ctx.store.list("units", open_only=not self.bool_argument("retired", False))
                 if may_read_unit(identity, u)]
        positions = await self.ctx.avl.latest([u.id for u in units])
        await self.audit("list", "units", {"count": len(units)})
        self.send_json({"units": [unit_view(identity, msgspec.to_builtins(u)) for u in units],
                        "positions": {k: {"lat": v.lat, "lon": v.lon} for k, v in positions.items()}})

    async def post(self) -> None:
        """POST a new unit (admins; api/registry.py)."""
        await create_record(self, "units")


class UnitStatusHandler(DispatchHandler):
    agency_scope = "unit"

    async def post(self, unit_id: str) -> None:
        """POST a unit status change (a crew only its own unit, an agency's dispatcher only its agency's); out of
        service may carry a `reason` and `back_at` (ISO 8601, when it is expected back); 409 for a move not
        allowed."""
        identity = self.require()
        body = _object(self.json_body())
        unit = await self.ctx.fleet.change_unit_status(
            unit_id, body.get("status"), actor=identity.actor, role=identity.role, own_unit=identity.unit_id,
            reason=body.get("reason"), back_at=body.get("back_at"), dispatcher=identity.as_dispatcher)
        self.send_json(unit_view(identity, msgspec.to_builtins(unit)))  # a crew: its role's fields of its unit


class HospitalsHandler(DispatchHandler):
    agency_scope = {"GET": "open"}

    async def get(self) -> None:
        """GET every hospital with its capabilities and free beds (retired ones only with retired=true)."""
        self.require()
        self.send_json({"hospitals": await self.ctx.store.list(
            "hospitals", open_only=not self.bool_argument("retired", False), limit=100_000)})

    async def post(self) -> None:
        """POST a new hospital (admins; api/registry.py)."""
        await create_record(self, "hospitals")


class HospitalCapacityHandler(DispatchHandler):
    async def post(self, hospital_id: str) -> None:
        """POST a hospital's free ED beds (0-1000) and diversion flag (its own staff or a dispatcher)."""
        identity = self.require()
        body = _object(self.json_body())
        self.send_json(await self.ctx.fleet.update_capacity(
            hospital_id, body.get("ed_beds_free"), body.get("diversion"), actor=identity.actor, role=identity.role,
            own_hospital=identity.hospital_id))


class InboundAckHandler(DispatchHandler):
    """The ED board's "seen": recorded as an event, so it survives reloads and shows on every screen."""

    async def post(self, hospital_id: str, incident_id: str) -> None:
        """POST a hospital's acknowledgement of an inbound patient's pre-arrival alert."""
        identity = self.require()
        incident = await self.ctx.destinations.acknowledge_inbound(
            int(incident_id), hospital_id, actor=identity.actor, role=identity.role, own_hospital=identity.hospital_id)
        self.send_json({"incident_id": incident.id, "hospital_id": hospital_id,
                        "acknowledged_at": incident.hospital_acknowledged_at})


class DestinationsHandler(DispatchHandler):
    agency_scope = "incident"

    async def get(self, incident_id: str) -> None:
        """GET hospitals ranked by road ETA for the incident (staff, or the crew on it)."""
        identity = self.require(*STAFF_ROLES, "crew")
        await self.ensure_crew_may_see(identity, int(incident_id))
        destinations = await self.ctx.destinations.recommend(int(incident_id))
        await self.audit("read", f"incident:{incident_id}:destinations", {"count": len(destinations)})
        self.send_json({"destinations": destinations})

    async def post(self, incident_id: str) -> None:
        """POST the chosen destination hospital; alerts it. 422 unknown hospital, 409 closed incident."""
        identity = self.require()
        await self.ensure_crew_may_see(identity, int(incident_id))
        body = _object(self.json_body())
        hospital_id = _id_field(body, "hospital_id")
        incident = await self.ctx.destinations.choose(int(incident_id), hospital_id, actor=identity.actor,
                                                             role=identity.role)
        self.send_json(view_for(identity, incident))

    async def ensure_crew_may_see(self, identity, incident_id: int) -> None:
        """A crew acts only on the incident its unit is on now (the one read rule); others are checked by the
        service's role policy."""
        if identity.role == "crew":
            await self.incident_if_readable(identity, incident_id)


def _int_field(body: dict, name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**63:
        raise Invalid(FieldError(name, ErrorCode.MUST_BE_INCIDENT_ID))
    return value


class DuplicatesHandler(DispatchHandler):
    async def get(self, incident_id: str) -> None:
        """GET open incidents that may be the same emergency (staff)."""
        self.require(*STAFF_ROLES)
        duplicates = await self.ctx.duplicates.suggest(int(incident_id))
        await self.audit("read", f"incident:{incident_id}:duplicates", {"count": len(duplicates)})
        self.send_json({"duplicates": duplicates})


class MergeHandler(DispatchHandler):
    """This incident was a repeat call: merge it into `into_incident_id` (its callers move there)."""

    async def post(self, incident_id: str) -> None:
        """POST a merge of this incident into `into_incident_id`; returns the surviving incident."""
        identity = self.require()
        body = _object(self.json_body())
        self.send_json(await self.ctx.duplicates.merge(int(incident_id), _int_field(body, "into_incident_id"),
                                                              actor=identity.actor, role=identity.role))


class KeepApartHandler(DispatchHandler):
    async def post(self, incident_id: str) -> None:
        """POST that this incident and `other_incident_id` are different emergencies."""
        identity = self.require()
        body = _object(self.json_body())
        await self.ctx.duplicates.keep_apart(int(incident_id), _int_field(body, "other_incident_id"),
                                                    actor=identity.actor, role=identity.role)
        self.send_json({"kept_apart": True})


class MciHandler(DispatchHandler):
    agency_scope = "incident"

    async def post(self, incident_id: str) -> None:
        """POST a mass-casualty declaration for the incident (idempotent)."""
        identity = self.require()
        self.send_json(await self.ctx.mci.declare(int(incident_id), actor=identity.actor, role=identity.role))


class PatientsHandler(DispatchHandler):
    agency_scope = "incident"

    async def post(self, incident_id: str) -> None:
        """POST triage tag colours of patients at a declared MCI."""
        identity = self.require()
        body = _object(self.json_body())
        self.send_json(await self.ctx.mci.tag(int(incident_id), body.get("colours"), actor=identity.actor,
                                                     role=identity.role))


class DistributeHandler(DispatchHandler):
    agency_scope = "incident"

    async def post(self, incident_id: str) -> None:
        """POST: spread the MCI's tagged patients over hospitals by ETA and free beds."""
        identity = self.require()
        self.send_json(await self.ctx.mci.distribute(int(incident_id), actor=identity.actor, role=identity.role))


class VitalsHandler(DispatchHandler):
    """A set of vital signs from the incident's crew (tablet) or a dispatcher."""

    agency_scope = "incident"

    async def post(self, incident_id: str) -> None:
        """POST a vitals reading for the incident's patient (the crew on it, or staff); 422 on out-of-range values."""
        identity = self.require()
        vitals = await self.ctx.vitals.record(int(incident_id), self.json_body(), actor=identity.actor,
                                                     role=identity.role, own_unit=identity.unit_id)
        self.send_json({"incident_id": int(incident_id), "vitals": vitals}, 201)
