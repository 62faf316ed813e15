"""Domain errors. Each maps to exactly one HTTP/WebSocket response in the edge (http_errors.py).

Raise them with a code from dispatch/error_codes.py and its params (`Conflict(ErrorCode.UNIT_RETIRED,
unit_id="CB-ALS-01")`): the English text is the code's template, and browsers show the code's label in Thai or
English. Free text (`Conflict("...")`) still works and is sent under the class's generic code.
"""
from __future__ import annotations

from typing import Any

from dispatch.error_codes import ErrorCode


class DomainError(Exception):
    """Base of every error the domain raises on purpose; `code` and `params` say it without words."""

    generic_code = ErrorCode.CONFLICT

    def __init__(self, message: str | ErrorCode = "", **params: Any):
        if isinstance(message, ErrorCode):
            self.code, self.params = message, params
            message = message.text(**params)
        else:
            self.code, self.params = self.generic_code, {}
        super().__init__(message)


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know that it does (→ 404)."""

    generic_code = ErrorCode.NOT_FOUND


class Conflict(DomainError):
    """The command is valid but clashes with the current state (→ 409)."""

    generic_code = ErrorCode.CONFLICT


class Forbidden(DomainError):
    """The caller's role may not do this (→ 403)."""

    generic_code = ErrorCode.FORBIDDEN


class Unavailable(DomainError):
    """A part the answer depends on is not ready or reachable (→ 503), e.g. the road graph still loading."""

    generic_code = ErrorCode.UNAVAILABLE
    retry_after_s: float | None = None  # when set, the 503 carries Retry-After (whole seconds, rounded up)


class StoreBusy(Unavailable):
    """The event log could not be written within the configured wait (its append lock is held too long by
    someone else). Nothing was written; the same request (same idempotency key) may be retried after
    `retry_after_s` seconds (→ 503 with Retry-After)."""

    def __init__(self, waited_s: float, retry_after_s: float):
        super().__init__(ErrorCode.STORE_BUSY, wait_s=f"{waited_s:g}", retry_s=f"{retry_after_s:g}")
        self.retry_after_s = retry_after_s


class DatabaseFailingOver(Unavailable):
    """The primary database was lost and no new primary took over within the configured wait. Nothing was
    acknowledged; the same request (same idempotency key) may be repeated after `retry_after_s` (→ 503)."""

    def __init__(self, waited_s: float, retry_after_s: float = 2.0):
        super().__init__(ErrorCode.DATABASE_FAILING_OVER, waited_s=round(waited_s), retry_s=f"{retry_after_s:g}")
        self.retry_after_s = retry_after_s


class FieldError:
    """Why one field is refused: `reason` in English, `code` and `params` for a label in the reader's language.
    `FieldError("lat", ErrorCode.MUST_BE_BETWEEN, low=-90, high=90)`; free text gets the code `invalid_value`."""

    __slots__ = ("field", "reason", "code", "params")

    def __init__(self, field: str, reason: str | ErrorCode, **params: Any):
        self.field = field
        if isinstance(reason, ErrorCode):
            self.code, self.reason, self.params = reason, reason.text(**params), params
        else:
            self.code, self.reason, self.params = ErrorCode.INVALID_VALUE, reason, {}

    def to_json(self) -> dict[str, Any]:
        """The field's entry in an error answer: field, code, English reason, and params when there are any."""
        return {"field": self.field, "code": self.code.value, "reason": self.reason,
                **({"params": self.params} if self.params else {})}

    def at(self, field: str) -> FieldError:
        """The same reason for another field name (e.g. prefixed with its CSV row)."""
        moved = FieldError(field, self.reason)
        moved.code, moved.params = self.code, self.params
        return moved

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldError) and (self.field, self.reason, self.code, self.params) == (
            other.field, other.reason, other.code, other.params)

    def __hash__(self) -> int:
        return hash((self.field, self.reason))

    def __repr__(self) -> str:
        return f"FieldError({self.field!r}, {self.reason!r}, code={self.code.value!r})"


class Invalid(DomainError):
    """One or more fields are invalid (→ 422 listing every field and reason)."""

    generic_code = ErrorCode.INVALID_FIELDS

    def __init__(self, errors: list[FieldError] | FieldError):
        self.errors = [errors] if isinstance(errors, FieldError) else list(errors)
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in self.errors))


class RoadsNotReady(Unavailable):
    """The road graph has not loaded yet (or failed to load): routing, recommendations and coverage answer 503
    with Retry-After until it has."""

    retry_after_s = 5.0

    def __init__(self) -> None:
        super().__init__(ErrorCode.ROADS_NOT_READY)


class PlacesNotReady(Unavailable):
    """The gazetteer has not loaded yet (it is built after the road graph): place search answers 503 with
    Retry-After until it has."""

    retry_after_s = 5.0

    def __init__(self) -> None:
        super().__init__(ErrorCode.PLACES_NOT_READY)
