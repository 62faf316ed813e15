"""Road closures and slow-downs (floods, crashes, works) as events, so every server process applies them."""
from __future__ import annotations

from datetime import datetime

from dispatch.events import Event


class RoadClosed(Event, frozen=True):
    """`polygon` is a GeoJSON Polygon (WGS84); factor None closes the roads, a factor ≥ 1 slows them."""

    closure_id: str
    polygon: dict | None = None
    edge_ids: list[int] = []
    factor: float | None = None
    expires_at: datetime | None = None
    reason: str | None = None

    @property
    def stream(self) -> str:
        """Every road event goes to the `roads` stream (replayed into the graph at start)."""
        return "roads"


class RoadReopened(Event, frozen=True):
    closure_id: str

    @property
    def stream(self) -> str:
        """Every road event goes to the `roads` stream (replayed into the graph at start)."""
        return "roads"
