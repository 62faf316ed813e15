"""Incident intake and reads."""
from __future__ import annotations

import logging

import msgspec

from api.base import ApiError, BaseHandler
from dispatch.errors import DomainError
from dispatch.lifecycle import intervals
from ws.visibility import Visibility, strip_private

log = logging.getLogger("ems.api")

INTAKE_ROLES = ("dispatcher", "admin", "device")
READ_ROLES = ("dispatcher", "admin")


class IncidentsHandler(BaseHandler):
    async def post(self) -> None:
        identity = self.require(*INTAKE_ROLES)
        if identity.role not in ("dispatcher", "admin"):
            await self.throttle("intake", self.ctx.config.rate_intake_per_min)
        key = self.request.headers.get("Idempotency-Key")
        if key is not None and not 1 <= len(key) <= 200:
            raise ApiError(400, "Idempotency-Key must be 1 to 200 characters")
        incident, created = await self.ctx.intake.report(
            self.json_body(), actor=identity.actor, idempotency_key=key, strict=True
        )
        self.set_header("Location", f"/api/v1/incidents/{incident.id}")
        self.send_json(incident, 201 if created else 200)

    async def get(self) -> None:
        self.require(*READ_ROLES)
        open_only = self.bool_argument("open", True)
        limit = self.int_argument("limit", 500, low=1, high=5000)
        incidents = await self.ctx.store.list("incidents", open_only=open_only, limit=limit)
        await self.audit("list", "incidents", {"count": len(incidents), "open_only": open_only})
        self.send_json({"incidents": incidents})


def may_read(identity, incident) -> bool:
    return Visibility.may_see(identity, incident.unit_ids, (incident.destination_hospital_id,))


def view_for(identity, incident) -> dict:
    """The incident as this identity may see it (hospitals never get caller phone numbers)."""
    data = msgspec.to_builtins(incident)
    data["intervals"] = intervals(incident)
    return strip_private(data) if Visibility.redacts(identity) else data


class IncidentHandler(BaseHandler):
    async def get(self, incident_id: str) -> None:
        identity = self.require()
        incident = await self.ctx.store.get("incidents", int(incident_id))
        if incident is None or not may_read(identity, incident):
            if incident is not None:
                log.warning("forbidden incident read", extra={"user": identity.user_id, "incident": incident.id})
            raise ApiError(404, "no such incident")  # the same answer whether it exists or not
        await self.audit("read", f"incident:{incident.id}")
        view = view_for(identity, incident)
        places = self.ctx.services.get("places")
        if places is not None and incident.location is not None:  # where it is, in words (issue #16)
            view["place"] = await places.reverse(incident.location.lat, incident.location.lon)
        self.send_json(view)


class InboundHandler(BaseHandler):
    """A hospital board's inbound patients, with ETAs recomputed from the ambulances' positions."""

    async def get(self, hospital_id: str) -> None:
        identity = self.require("hospital", "dispatcher", "admin")
        if identity.role == "hospital" and identity.hospital_id != hospital_id:
            raise ApiError(404, "no such hospital")
        inbound = [i for i in await self.ctx.store.list("incidents", open_only=True)
                   if i.destination_hospital_id == hospital_id]
        patients = []
        for incident in inbound:
            view = view_for(identity, incident)
            try:
                view["eta_s"] = await self.ctx.services["destinations"].eta_update(incident.id)
            except DomainError:
                view["eta_s"] = incident.destination_eta_s
            patients.append(view)
        await self.audit("list", f"hospital:{hospital_id}:inbound", {"count": len(patients)})
        self.send_json({"hospital_id": hospital_id, "inbound": patients})
