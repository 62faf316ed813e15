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


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


class Invalid(DomainError):
    """One or more fields are invalid (→ 422 listing every field and reason)."""

    def __init__(self, errors: list[FieldError] | FieldError):
        self.errors = [errors] if isinstance(errors, FieldError) else list(errors)
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in self.errors))
