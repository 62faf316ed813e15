"""Domain errors. Each maps to exactly one HTTP/WebSocket response in the edge (api/base.py)."""
from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know that it does (→ 404)."""


class Conflict(DomainError):
    """The command is valid but clashes with the current state (→ 409)."""


class Forbidden(DomainError):
    """The caller's role may not do this (→ 403)."""


class Unavailable(DomainError):
    """A part the answer depends on is not ready or reachable (→ 503), e.g. the road graph still loading."""

    retry_after_s: float | None = None  # when set, the 503 carries Retry-After (whole seconds, rounded up)


class StoreBusy(Unavailable):
    """The event log could not be written within the configured wait (its append lock is held too long by
    someone else). Nothing was written; the same request (same idempotency key) may be retried after
    `retry_after_s` seconds (→ 503 with Retry-After)."""

    def __init__(self, message: str, retry_after_s: float):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class DatabaseFailingOver(Unavailable):
    """The primary database was lost and no new primary took over within the configured wait. Nothing was
    acknowledged; the same request (same idempotency key) may be repeated after `retry_after_s` (→ 503)."""

    def __init__(self, waited_s: float, retry_after_s: float = 2.0):
        super().__init__(f"the database is failing over to its standby (waited {waited_s:.0f} s); nothing was "
                         f"stored, retry in {retry_after_s:g} s with the same Idempotency-Key")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


class Invalid(DomainError):
    """One or more fields are invalid (→ 422 listing every field and reason)."""

    def __init__(self, errors: list[FieldError] | FieldError):
        self.errors = [errors] if isinstance(errors, FieldError) else list(errors)
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in self.errors))


class RoadsNotReady(Unavailable):
    """The road graph has not loaded yet (or failed to load): routing, recommendations and coverage answer 503
    with Retry-After until it has."""

    retry_after_s = 5.0

    def __init__(self) -> None:
        super().__init__("the road graph is still loading; try again in a few seconds")


class PlacesNotReady(Unavailable):
    """The gazetteer has not loaded yet (it is built after the road graph): place search answers 503 with
    Retry-After until it has."""

    retry_after_s = 5.0

    def __init__(self) -> None:
        super().__init__("the place index is still loading; try again in a few seconds")
