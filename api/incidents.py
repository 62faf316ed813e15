"""Incident intake and reads."""
from __future__ import annotations

import logging

from api.base import ApiError, BaseHandler
from dispatch.access import STAFF_ROLES, incident_audience, readable_incidents, view_for
from dispatch.error_codes import ErrorCode
from dispatch.errors import DomainError

log = logging.getLogger("ems.api")

INTAKE_ROLES = ("dispatcher", "admin", "device")


class IncidentsHandler(BaseHandler):
    agency_scope = {"GET": "open"}  # the list is filtered; intake is the centre's

    async def post(self) -> None:
        """POST a new incident (staff or devices, with Idempotency-Key); 201 new, 200 repeat, 422 bad fields."""
        identity = self.require(*INTAKE_ROLES)
        if identity.role not in ("dispatcher", "admin"):
            await self.throttle("intake", self.ctx.config.rate_intake_per_min)
        key = self.request.headers.get("Idempotency-Key")
        if key is not None and not 1 <= len(key) <= 200:
            raise ApiError(400, ErrorCode.IDEMPOTENCY_KEY_LENGTH)
        incident, created = await self.ctx.intake.report(
            self.json_body(), actor=identity.actor, idempotency_key=key, strict=True,
            console_call=identity.role in ("dispatcher", "admin"))
        self.set_header("Location", f"/api/v1/incidents/{incident.id}")
        self.send_json(incident, 201 if created else 200)

    async def get(self) -> None:
        """GET incidents (open only by default, at most `limit`) for staff."""
        self.require(*STAFF_ROLES)
        open_only = self.bool_argument("open", True)
        limit = self.int_argument("limit", 500, low=1, high=5000)
        incidents = await self.ctx.store.list("incidents", open_only=open_only, limit=limit)
        identity = self.identity
        if not identity.sees_all:  # an agency's dispatcher: the incidents its units are on, or shared with it
            units = await self.ctx.store.list("units", limit=100_000)
            incidents = readable_incidents(identity, incidents, units)
        await self.audit("list", "incidents", {"count": len(incidents), "open_only": open_only})
        self.send_json({"incidents": incidents})


class IncidentHandler(BaseHandler):
    agency_scope = "incident"

    async def get(self, incident_id: str) -> None:
        """GET one incident as this role may see it; 404 when it may not (same as absent)."""
        identity = self.require()
        incident = await self.incident_if_readable(identity, int(incident_id))
        await self.audit("read", f"incident:{incident.id}")
        view = view_for(identity, incident)
        if incident.location is not None:  # where it is, in words (issue #16); None while places load
            view["place"] = await self.ctx.places.describe(incident.location.lat, incident.location.lon)
        self.send_json(view)

    async def patch(self, incident_id: str) -> None:
        """PATCH what was reported (caller's name and phone, chief complaint, address, channel; dispatchers and
        admins): one IncidentDetailsUpdated with only what changed, nothing when nothing did; 409 once closed."""
        identity = self.require(*STAFF_ROLES)
        incident = await self.ctx.intake.amend(int(incident_id), self.json_body(), actor=identity.actor)
        self.send_json(view_for(identity, incident))


class InboundHandler(BaseHandler):
    """A hospital board's inbound patients, with ETAs recomputed from the ambulances' positions."""

    async def get(self, hospital_id: str) -> None:
        """GET patients inbound to a hospital (its staff, or dispatchers), with ETAs."""
        identity = self.require("hospital", "dispatcher", "admin")
        if identity.role == "hospital" and identity.hospital_id != hospital_id:
            raise ApiError(404, ErrorCode.NO_SUCH_HOSPITAL)
        inbound = [i for i in await self.ctx.store.list("incidents", open_only=True)
                   if hospital_id in incident_audience(i, ()).hospital_ids]
        patients = []
        for incident in inbound:
            view = view_for(identity, incident)
            try:
                eta = await self.ctx.destinations.eta_update(incident.id)
            except DomainError:  # e.g. the road graph still loading
                eta = None
            if eta is None:  # the ETA given when the hospital was chosen, with its source
                view.update(eta_s=incident.destination_eta_s, eta_source=incident.destination_eta_source,
                            outside_coverage=incident.destination_eta_source == "straight_line", snap_distance_m=None)
            else:
                view.update(eta_s=eta.eta_s, eta_source=eta.eta_source, outside_coverage=eta.outside_coverage,
                            snap_distance_m=round(eta.snap_distance_m, 1))
            patients.append(view)
        await self.audit("list", f"hospital:{hospital_id}:inbound", {"count": len(patients)})
        self.send_json({"hospital_id": hospital_id, "inbound": patients})
