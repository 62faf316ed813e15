"""What each role sees in a `snapshot` frame: the current state it is allowed to know."""
from __future__ import annotations

import msgspec

from app_context import Core
from dispatch.access import (
    Identity, incident_audience, may_read_incident, may_read_unit, readable_incidents, unit_view, view_for,
)


class Snapshots:
    def __init__(self, ctx: Core):
        self.ctx = ctx

    async def snapshot(self, identity: Identity) -> dict:
        store = self.ctx.store
        if identity.sees_all:
            # open_only: open incidents; for units and hospitals, those not retired from the registry
            return {"incidents": await store.list("incidents", open_only=True),
                    "units": await store.list("units", open_only=True),
                    "hospitals": await store.list("hospitals", open_only=True)}
        if identity.is_staff:  # an agency's dispatcher: its units and the incidents it may see
            units = await store.list("units", open_only=True, limit=100_000)
            return {"incidents": readable_incidents(identity, await store.list("incidents", open_only=True), units),
                    "units": [u for u in units if may_read_unit(identity, u)],
                    "hospitals": await store.list("hospitals", open_only=True)}
        if identity.role == "crew":
            unit = await store.get("units", identity.unit_id) if identity.unit_id else None
            incident = await store.get("incidents", unit.incident_id) if unit and unit.incident_id else None
            if incident is not None and not may_read_incident(identity, incident, unit):
                incident = None
            assignment = await store.get("assignments", unit.assignment_id) if unit and unit.assignment_id else None
            return {"unit": unit_view(identity, msgspec.to_builtins(unit)) if unit else None,
                    "incident": view_for(identity, incident) if incident else None,
                    "assignment": assignment, "incidents": [view_for(identity, incident)] if incident else []}
        if identity.role == "hospital":
            inbound = [view_for(identity, i) for i in await store.list("incidents", open_only=True)
                       if identity.hospital_id in incident_audience(i, ()).hospital_ids]
            return {"hospital": await store.get("hospitals", identity.hospital_id), "incidents": inbound}
        return {"incidents": []}
