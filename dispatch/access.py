"""Access facts that every server process must act on at once (e.g. closing a revoked user's sockets)."""
from __future__ import annotations

from dispatch.events import Event


class AccessRevoked(Event, frozen=True):
    """One token (token_sha256 given) or every token of a user was revoked."""

    user_id: str
    token_sha256: str | None = None
    reason: str | None = None

    @property
    def stream(self) -> str:
        return f"user-{self.user_id}"


class RateLimitTripped(Event, frozen=True):
    """A source exceeded its request budget; dispatchers are alerted (one event per source and window)."""

    bucket: str
    source_id: str
    limit_per_minute: int

    @property
    def stream(self) -> str:
        return "system-ratelimit"
