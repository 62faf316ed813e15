"""Incident intake and reads."""
from __future__ import annotations

import logging
from datetime import datetime

from api.base import ApiError, BaseHandler
from dispatch.access import STAFF_ROLES, incident_audience, readable_incidents, view_for
from dispatch.destination import STAGES, InboundEta
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
    """A hospital board's inbound patients: where each crew is in the job, and while it transports an arrival time
    computed from the ambulance's latest position (an absolute time, so every board counts down alike)."""

    async def get(self, hospital_id: str) -> None:
        """GET patients inbound to a hospital (its staff, or dispatchers), with their stage and arrival times."""
        identity = self.require("hospital", "dispatcher", "admin")
        if identity.role == "hospital" and identity.hospital_id != hospital_id:
            raise ApiError(404, ErrorCode.NO_SUCH_HOSPITAL)
        inbound = [i for i in await self.ctx.store.list("incidents", open_only=True)
                   if hospital_id in incident_audience(i, ()).hospital_ids]
        now = self.ctx.clock.now()
        stale_after_s = self.ctx.config.page_stale_position_s
        patients = []
        for incident in inbound:
            view = view_for(identity, incident)
            view.update(inbound_view(incident, await self._inbound_eta(incident), now, stale_after_s))
            patients.append(view)
        await self.audit("list", f"hospital:{hospital_id}:inbound", {"count": len(patients)})
        self.send_json({"hospital_id": hospital_id, "server_time": iso(now), "inbound": patients})

    async def _inbound_eta(self, incident) -> InboundEta | None:
        try:
            return await self.ctx.destinations.inbound_eta(incident)
        except DomainError:  # e.g. the road graph still loading
            return None


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def inbound_view(incident, inbound: InboundEta | None, now: datetime, stale_after_s: float) -> dict:
    """The board's fields for one patient. `stage`; while transporting `arrival_at` (absolute), `eta_s` (from
    `eta_computed_at`), `eta_from` ("unit_position" or "scene"), `position_at` and `position_stale`; before transport
    `transport_estimate_s` (scene to hospital, no countdown); at hospital `arrived_at`. `eta_source`,
    `outside_coverage` and `snap_distance_m` describe whichever ETA is given (None while the graph loads)."""
    stage = inbound.stage if inbound else STAGES.get(incident.status, "waiting")
    eta = inbound.eta if inbound else None
    estimate = inbound.transport_estimate if inbound else None
    shown = eta or estimate
    view = {"stage": stage, "arrival_at": None, "eta_s": None, "eta_computed_at": None, "eta_from": None,
            "eta_unit_id": None, "position_at": None, "position_stale": None, "transport_estimate_s": None,
            "arrived_at": iso(inbound.arrived_at if inbound else incident.status_times.get("at_hospital"))
            if stage == "arrived" else None,
            "eta_source": shown.eta_source if shown else incident.destination_eta_source,
            "outside_coverage": shown.outside_coverage if shown else incident.destination_eta_source == "straight_line",
            "snap_distance_m": round(shown.snap_distance_m, 1) if shown else None}
    if estimate is not None:
        view["transport_estimate_s"] = estimate.eta_s
    elif inbound is None and stage not in ("transporting", "arrived"):
        view["transport_estimate_s"] = incident.destination_eta_s  # the graph loading: the one given at the choice
    if eta is not None:
        view.update(arrival_at=iso(inbound.arrival_at), eta_s=eta.eta_s, eta_computed_at=iso(inbound.computed_at),
                    eta_from="unit_position" if inbound.from_position else "scene", eta_unit_id=inbound.unit_id,
                    position_at=iso(inbound.position_at),
                    position_stale=inbound.position_at is None
                    or (now - inbound.position_at).total_seconds() > stale_after_s)
    return view
