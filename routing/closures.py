"""Apply RoadClosed / RoadReopened event payloads to a RoutingService (idempotent: keyed by closure id)."""
from __future__ import annotations

from datetime import datetime

import shapely.geometry

from routing.service import RoutingService


def apply_road_event(routing: RoutingService, event_type: str, payload: dict) -> None:
    """Apply a logged RoadClosed/RoadReopened to the live graph's overrides (idempotent: a closure replaces its earlier
    self); other event types are ignored."""
    if event_type == "RoadReopened":
        routing.remove_override(payload["closure_id"])
    elif event_type == "RoadClosed":
        area = shapely.geometry.shape(payload["polygon"]) if payload.get("polygon") else payload.get("edge_ids", [])
        expires = datetime.fromisoformat(payload["expires_at"]) if payload.get("expires_at") else None
        routing.remove_override(payload["closure_id"])
        routing.add_closure(area, expires_at=expires, factor=payload.get("factor"), reason=payload.get("reason"),
                            closure_id=payload["closure_id"])
