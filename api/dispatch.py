"""Dispatch actions: triage, recommendations, assignment, status, units, hospitals, destinations. Thin: each
handler parses, authenticates, calls one service method and serialises."""
from __future__ import annotations

from typing import Any

from api.base import ApiError, BaseHandler
from api.incidents import may_read
from dispatch.errors import FieldError, Invalid
from dispatch.triage import cards


def _object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise Invalid(FieldError("body", "must be a JSON object"))
    return body


def _id_field(body: dict, name: str) -> str:
    """A required string id of 1 to 200 characters (`json_body` has already refused NUL and invalid Unicode)."""
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise Invalid(FieldError(name, "is required"))
    if len(value) > 200:
        raise Invalid(FieldError(name, "must be at most 200 characters"))
    return value


class DispatchHandler(BaseHandler):
    def service(self, name: str):
        return self.ctx.services[name]


class TriageCardsHandler(DispatchHandler):
    async def get(self) -> None:
        self.require()
        self.send_json({"groups": list(cards().values())})


class TriageHandler(DispatchHandler):
    async def post(self, incident_id: str) -> None:
        identity = self.require()
        body = _object(self.json_body())
        service = self.service("triage_dispatch")
        if "colour" in body:
            triaged = await service.override_colour(int(incident_id), body.get("colour"), body.get("reason"),
                                                    actor=identity.actor, role=identity.role)
        else:
            triaged = await service.triage(int(incident_id), body.get("group"), body.get("determinant"),
                                           actor=identity.actor, role=identity.role)
        self.send_json(triaged.incident)


class RecommendationsHandler(DispatchHandler):
    async def get(self, incident_id: str) -> None:
        self.require("dispatcher", "admin")
        self.send_json({"recommendations": await self.service("recommendations").recommend(int(incident_id))})


class AssignmentsHandler(DispatchHandler):
    async def get(self, incident_id: str) -> None:
        self.require("dispatcher", "admin")
        self.send_json(await self.service("assignments").for_incident(int(incident_id)))

    async def post(self, incident_id: str) -> None:
        identity = self.require()
        body = _object(self.json_body())
        unit_id = _id_field(body, "unit_id")
        assignment = await self.service("assignments").assign(int(incident_id), unit_id, actor=identity.actor,
                                                              role=identity.role)
        self.send_json(assignment, 201)


class AcknowledgeHandler(DispatchHandler):
    """HTTP fallback of the WebSocket `ack` frame."""

    async def post(self, assignment_id: str) -> None:
        identity = self.require()
        self.send_json(await self.service("assignments").acknowledge(
            int(assignment_id), actor=identity.actor, role=identity.role, unit_id=identity.unit_id))


class IncidentStatusHandler(DispatchHandler):
    async def post(self, incident_id: str) -> None:
        identity = self.require()
        body = _object(self.json_body())
        self.send_json(await self.service("fleet").change_incident_status(
            int(incident_id), body.get("status"), actor=identity.actor, role=identity.role, reason=body.get("reason")))


class UnitsHandler(DispatchHandler):
    async def get(self) -> None:
        identity = self.require()
        units = await self.ctx.store.list("units")
        if identity.role == "crew":
            units = [u for u in units if u.id == identity.unit_id]
        positions = await self.ctx.avl.latest([u.id for u in units])
        self.send_json({"units": units, "positions": {k: {"lat": v.lat, "lon": v.lon} for k, v in positions.items()}})


class UnitStatusHandler(DispatchHandler):
    async def post(self, unit_id: str) -> None:
        identity = self.require()
        body = _object(self.json_body())
        self.send_json(await self.service("fleet").change_unit_status(
            unit_id, body.get("status"), actor=identity.actor, role=identity.role, own_unit=identity.unit_id))


class HospitalsHandler(DispatchHandler):
    async def get(self) -> None:
        self.require()
        self.send_json({"hospitals": await self.ctx.store.list("hospitals")})


class HospitalCapacityHandler(DispatchHandler):
    async def post(self, hospital_id: str) -> None:
        identity = self.require()
        body = _object(self.json_body())
        self.send_json(await self.service("fleet").update_capacity(
            hospital_id, body.get("ed_beds_free"), body.get("diversion"), actor=identity.actor, role=identity.role,
            own_hospital=identity.hospital_id))


class InboundAckHandler(DispatchHandler):
    """The ED board's "seen": recorded as an event, so it survives reloads and shows on every screen."""

    async def post(self, hospital_id: str, incident_id: str) -> None:
        identity = self.require()
        incident = await self.service("destinations").acknowledge_inbound(
            int(incident_id), hospital_id, actor=identity.actor, role=identity.role, own_hospital=identity.hospital_id)
        self.send_json({"incident_id": incident.id, "hospital_id": hospital_id,
                        "acknowledged_at": incident.hospital_acknowledged_at})


class DestinationsHandler(DispatchHandler):
    async def get(self, incident_id: str) -> None:
        identity = self.require("dispatcher", "admin", "crew")
        await self.ensure_crew_may_see(identity, int(incident_id))
        self.send_json({"destinations": await self.service("destinations").recommend(int(incident_id))})

    async def post(self, incident_id: str) -> None:
        identity = self.require()
        await self.ensure_crew_may_see(identity, int(incident_id))
        body = _object(self.json_body())
        hospital_id = _id_field(body, "hospital_id")
        self.send_json(await self.service("destinations").choose(int(incident_id), hospital_id, actor=identity.actor,
                                                                 role=identity.role))

    async def ensure_crew_may_see(self, identity, incident_id: int) -> None:
        if identity.role != "crew":
            return
        incident = await self.ctx.store.get("incidents", incident_id)
        if incident is None or not may_read(identity, incident):
            raise ApiError(404, "no such incident")


def _int_field(body: dict, name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**63:
        raise Invalid(FieldError(name, "must be an incident id"))
    return value


class DuplicatesHandler(DispatchHandler):
    async def get(self, incident_id: str) -> None:
        self.require("dispatcher", "admin")
        self.send_json({"duplicates": await self.service("duplicates").suggest(int(incident_id))})


class MergeHandler(DispatchHandler):
    """This incident was a repeat call: merge it into `into_incident_id` (its callers move there)."""

    async def post(self, incident_id: str) -> None:
        identity = self.require()
        body = _object(self.json_body())
        self.send_json(await self.service("duplicates").merge(int(incident_id), _int_field(body, "into_incident_id"),
                                                              actor=identity.actor, role=identity.role))


class KeepApartHandler(DispatchHandler):
    async def post(self, incident_id: str) -> None:
        identity = self.require()
        body = _object(self.json_body())
        await self.service("duplicates").keep_apart(int(incident_id), _int_field(body, "other_incident_id"),
                                                    actor=identity.actor, role=identity.role)
        self.send_json({"kept_apart": True})


class MciHandler(DispatchHandler):
    async def post(self, incident_id: str) -> None:
        identity = self.require()
        self.send_json(await self.service("mci").declare(int(incident_id), actor=identity.actor, role=identity.role))


class PatientsHandler(DispatchHandler):
    async def post(self, incident_id: str) -> None:
        identity = self.require()
        body = _object(self.json_body())
        self.send_json(await self.service("mci").tag(int(incident_id), body.get("colours"), actor=identity.actor,
                                                     role=identity.role))


class DistributeHandler(DispatchHandler):
    async def post(self, incident_id: str) -> None:
        identity = self.require()
        self.send_json(await self.service("mci").distribute(int(incident_id), actor=identity.actor, role=identity.role))


class VitalsHandler(DispatchHandler):
    """A set of vital signs from the incident's crew (tablet) or a dispatcher."""

    async def post(self, incident_id: str) -> None:
        identity = self.require()
        vitals = await self.service("vitals").record(int(incident_id), self.json_body(), actor=identity.actor,
                                                     role=identity.role, own_unit=identity.unit_id)
        self.send_json({"incident_id": int(incident_id), "vitals": vitals}, 201)
