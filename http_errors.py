"""The one HTTP error shape, shared by the API handlers and the WebSocket upgrade (neither edge imports the other).

Every domain error becomes exactly one response shape:
    {"error": {"status": 422, "code": "invalid_fields", "message": "...",
               "fields": [{"field": "location.lat", "code": "must_be_between", "params": {"low": -90, "high": 90},
                           "reason": "must be between -90 and 90"}]}}
`code` (dispatch/error_codes.py) is stable and machine-readable, `params` (only when the text has variable parts)
fill its label in the browser's language; `message` and `reason` are the English texts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import tornado.httputil
import tornado.web

from codec import to_json
from dispatch.error_codes import ErrorCode
from dispatch.errors import Conflict, DomainError, FieldError, Forbidden, Invalid, NotFound, Unavailable
from telemetry.logs import printable

_STATUS_BY_ERROR = ((Invalid, 422), (NotFound, 404), (Conflict, 409), (Forbidden, 403), (Unavailable, 503))
_CODE_BY_STATUS = {400: ErrorCode.BAD_REQUEST, 401: ErrorCode.UNAUTHORIZED, 403: ErrorCode.FORBIDDEN,
                   404: ErrorCode.NOT_FOUND, 409: ErrorCode.CONFLICT, 422: ErrorCode.INVALID_FIELDS,
                   429: ErrorCode.TOO_MANY_REQUESTS, 503: ErrorCode.UNAVAILABLE}


def code_for_status(status: int) -> ErrorCode:
    """The generic code of an error that has none of its own, by its HTTP status."""
    return _CODE_BY_STATUS.get(status, ErrorCode.INTERNAL_ERROR if status >= 500 else ErrorCode.HTTP_ERROR)


class ApiError(tornado.web.HTTPError):
    """An HTTP-level refusal raised by a handler: `ApiError(404, ErrorCode.NO_SUCH_HOSPITAL)`, or with params
    `ApiError(413, ErrorCode.BODY_TOO_LARGE, limit=1048576)`; free text gets the status's generic code."""

    def __init__(self, status: int, message: str | ErrorCode, fields: list[FieldError] | None = None,
                 headers: dict[str, str] | None = None, **params: Any):
        super().__init__(status, reason=None)
        if isinstance(message, ErrorCode):
            self.code, self.params, self.message = message, params, message.text(**params)
        else:
            self.code, self.params, self.message = code_for_status(status), {}, message
        self.fields = fields or []
        self.headers = headers or {}


@dataclass(frozen=True)
class ErrorAnswer:
    """What an error response says: its status, code, English message, the code's params, and per-field reasons."""

    status: int
    code: ErrorCode
    message: str
    params: dict[str, Any] = field(default_factory=dict)
    fields: list[FieldError] = field(default_factory=list)

    @classmethod
    def of(cls, status: int, code: ErrorCode, fields: list[FieldError] | None = None, **params: Any) -> ErrorAnswer:
        """The answer saying `code` with `params` (its English message from the code's template)."""
        return cls(status, code, code.text(**params), params, fields or [])


def describe_error(exc: BaseException | None, status: int) -> ErrorAnswer:
    """The answer to `exc`; `status` is what Tornado chose (500 when uncaught)."""
    for error_type, mapped in _STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            assert isinstance(exc, DomainError)
            return ErrorAnswer(mapped, exc.code, str(exc), exc.params, exc.errors if isinstance(exc, Invalid) else [])
    if isinstance(exc, ApiError):
        return ErrorAnswer(status, exc.code, exc.message, exc.params, exc.fields)
    if isinstance(exc, tornado.web.MissingArgumentError):
        return ErrorAnswer(status, ErrorCode.INVALID_FIELDS, f"{exc.arg_name} is required",
                           fields=[FieldError(exc.arg_name, ErrorCode.REQUIRED)])
    if isinstance(exc, tornado.web.HTTPError) and status < 500 and (exc.reason or exc.log_message):
        # a client error Tornado found (e.g. bad UTF-8)
        return ErrorAnswer(status, code_for_status(status), exc.reason or exc.get_message())
    return ErrorAnswer(status, code_for_status(status), tornado.httputil.responses.get(status, "Error"))


def _printable(value: Any) -> Any:
    """`value` (a JSON dict, list, number or text) with every text made encodable."""
    if isinstance(value, dict):
        return {printable(str(key)): _printable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_printable(item) for item in value]
    return value if isinstance(value, int | float) else printable(str(value))


def error_json(answer: ErrorAnswer) -> dict[str, Any]:
    """The one error shape as a JSON value: {"error": {status, code, message, params?, fields?}}."""
    body: dict[str, Any] = {"status": answer.status, "code": answer.code.value, "message": answer.message}
    if answer.params:
        body["params"] = answer.params
    if answer.fields:
        body["fields"] = [f.to_json() for f in answer.fields]
    return {"error": _printable(body)}


def error_body(answer: ErrorAnswer) -> bytes:
    """The one error shape, encoded. Never raises: text that is not valid Unicode (a lone surrogate from a
    JSON escape, echoed back in a field name) is escaped, so an error about bad input can always be sent."""
    try:
        return to_json(error_json(answer))
    except Exception:  # belt and braces: an answer without detail beats no answer
        return b'{"error":{"status":%d,"code":"%s","message":"error"}}' % (answer.status, answer.code.value.encode())


def write_json_error(handler: tornado.web.RequestHandler, status_code: int, exc: BaseException | None) -> None:
    """Finish `handler`'s response as the error answer to `exc` (from a `write_error` override). Tornado sends an
    uncaught domain error there as a 500; its mapped status (422, 404, ...) replaces that. Never raises."""
    answer = describe_error(exc, status_code)
    handler.set_status(answer.status)
    handler.set_header("Content-Type", "application/json; charset=utf-8")
    for name, value in getattr(exc, "headers", {}).items():
        handler.set_header(name, value)
    retry_after_s = getattr(exc, "retry_after_s", None)  # e.g. StoreBusy: nothing stored, safe to repeat
    if retry_after_s is not None:
        handler.set_header("Retry-After", str(math.ceil(retry_after_s)))
    handler.finish(error_body(answer))


def text_fault(text: str) -> ErrorCode | None:
    """Why PostgreSQL text cannot hold `text` (a NUL, or a lone surrogate from a JSON escape), or None."""
    if "\x00" in text:
        return ErrorCode.NO_NUL
    try:
        text.encode()
    except UnicodeEncodeError:
        return ErrorCode.NOT_UNICODE
    return None


def unstorable_text(value: Any, path: str = "body") -> list[tuple[str, ErrorCode]]:
    """(dotted path, reason) of every string (key or value) in a parsed JSON document PostgreSQL cannot store."""
    if isinstance(value, str):
        reason = text_fault(value)
        return [(path, reason)] if reason else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            child = f"{path}.{key}" if path != "body" else key
            reason = text_fault(key)
            found += [(child, reason)] if reason else unstorable_text(item, child)
        return found
    if isinstance(value, list):
        return [bad for index, item in enumerate(value) for bad in unstorable_text(item, f"{path}[{index}]")]
    return []
