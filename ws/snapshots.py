"""What each role sees in a `snapshot` frame: the current state it is allowed to know."""
from __future__ import annotations

from datetime import timedelta

import msgspec

from app_context import Core
from db.audience import audience_events
from dispatch.access import (
    HistoryFilter, Identity, event_view, incident_audience, may_read_incident, may_read_unit, readable_incidents,
    unit_view, view_for,
)
from dispatch.model import Unit
from dispatch.ports import StoredEvent

# The events the console lists as alerts (web/js/console/alerts.js, alertText). A console that connects gets the
# recent ones in its snapshot, so what was raised before (a silent panic button, a crew that never acknowledged,
# a call left waiting) still reaches the dispatcher who takes over the desk.
ALERT_EVENT_TYPES = ("RateLimitTripped", "AssignmentEscalated", "DispatchShortfall", "AutoDispatchWithheld",
                     "InboundAcknowledged", "OutboundMessageFailed", "EscalationMessageOutcome", "DeviceAlertRaised",
                     "CallAnswerOverdue", "MutualAidRequested", "MutualAidEscalated")


class Snapshots:
    def __init__(self, ctx: Core):
        self.ctx = ctx

    async def snapshot(self, identity: Identity, *, until_seq: int) -> dict:
        """What `identity` sees now; its alerts up to `until_seq` (the snapshot frame's seq: later ones come live)."""
        store = self.ctx.store
        if identity.sees_all:
            # open_only: open incidents; for units and hospitals, those not retired from the registry
            units = await store.list("units", open_only=True)
            return {"incidents": await store.list("incidents", open_only=True), "units": units,
                    "hospitals": await store.list("hospitals", open_only=True),
                    "alerts": await self.recent_alerts(identity, until_seq, units)}
        if identity.is_staff:  # an agency's dispatcher: its units and the incidents it may see
            units = await store.list("units", open_only=True, limit=100_000)
            return {"incidents": readable_incidents(identity, await store.list("incidents", open_only=True), units),
                    "units": [u for u in units if may_read_unit(identity, u)],
                    "hospitals": await store.list("hospitals", open_only=True),
                    "alerts": await self.recent_alerts(identity, until_seq, units)}
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

    async def recent_alerts(self, identity: Identity, until_seq: int, units: list[Unit]) -> list[dict]:
        """The alert events of the last `console_alerts_lookback_s` up to `until_seq` that this dispatcher
        could see when each happened, oldest first: {seq, type, occurred_at, payload}."""
        config = self.ctx.config
        if not config.console_alerts_max:
            return []
        since = self.ctx.clock.now() - timedelta(seconds=config.console_alerts_lookback_s)
        alerts = await self.ctx.store.recent_events(ALERT_EVENT_TYPES, since=since, until_seq=until_seq,
                                                    limit=config.console_alerts_max)
        if not identity.sees_all:
            alerts = await self._seen_then(identity, alerts, until_seq, units)
        return [{"seq": e.seq, "type": e.type, "occurred_at": e.occurred_at,
                 "payload": event_view(identity, e.type, e.payload)} for e in alerts]

    async def _seen_then(self, identity: Identity, alerts: list[StoredEvent], until_seq: int,
                         units: list[Unit]) -> list[StoredEvent]:
        """The alerts an agency's dispatcher was in the audience of when they happened (the rule of a replay)."""
        history = HistoryFilter(identity, {u.id: u.agency_id for u in units})
        incidents = {e.payload["incident_id"] for e in alerts if isinstance(e.payload.get("incident_id"), int)}
        earlier = await audience_events(self.ctx.pool, incidents, until_seq=until_seq)
        in_order = sorted({e.seq: e for e in [*earlier, *alerts]}.values(), key=lambda e: e.seq)
        wanted = {e.seq for e in alerts}
        return [e for e in history.admit(in_order) if e.seq in wanted]
