"""The one HTTP error shape, shared by the API handlers and the WebSocket upgrade (neither edge imports the other).

Every domain error becomes exactly one response shape:
    {"error": {"status": 422, "message": "...", "fields": [{"field": "location.lat", "reason": "..."}]}}
"""
from __future__ import annotations

import math
from typing import Any

import tornado.httputil
import tornado.web

from codec import to_json
from dispatch.errors import Conflict, FieldError, Forbidden, Invalid, NotFound, Unavailable
from telemetry.logs import printable

_STATUS_BY_ERROR = ((Invalid, 422), (NotFound, 404), (Conflict, 409), (Forbidden, 403), (Unavailable, 503))


class ApiError(tornado.web.HTTPError):
    def __init__(self, status: int, message: str, fields: list[FieldError] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(status, reason=None)
        self.message = message
        self.fields = fields or []
        self.headers = headers or {}


def describe_error(exc: BaseException | None, status: int) -> tuple[int, str, list[FieldError]]:
    """(status, message, fields) of the answer to `exc`; `status` is what Tornado chose (500 when uncaught)."""
    for error_type, mapped in _STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            return mapped, str(exc), exc.errors if isinstance(exc, Invalid) else []
    if isinstance(exc, ApiError):
        return status, exc.message, exc.fields
    if isinstance(exc, tornado.web.MissingArgumentError):
        return status, f"{exc.arg_name} is required", [FieldError(exc.arg_name, "is required")]
    if isinstance(exc, tornado.web.HTTPError) and status < 500 and (exc.reason or exc.log_message):
        return status, exc.reason or exc.get_message(), []  # a client error Tornado found (e.g. bad UTF-8)
    return status, tornado.httputil.responses.get(status, "Error"), []


def error_body(status: int, message: str, fields: list[FieldError] | None = None) -> bytes:
    """The one error shape, encoded. Never raises: text that is not valid Unicode (a lone surrogate from a
    JSON escape, echoed back in a field name) is escaped, so an error about bad input can always be sent."""
    body: dict[str, Any] = {"status": status, "message": printable(str(message))}
    if fields:
        body["fields"] = [{"field": printable(str(f.field)), "reason": printable(str(f.reason))} for f in fields]
    try:
        return to_json({"error": body})
    except Exception:  # belt and braces: an answer without detail beats no answer
        return b'{"error":{"status":%d,"message":"error"}}' % status


def write_json_error(handler: tornado.web.RequestHandler, status_code: int, exc: BaseException | None) -> None:
    """Finish `handler`'s response as the error answer to `exc` (from a `write_error` override). Tornado sends an
    uncaught domain error there as a 500; its mapped status (422, 404, ...) replaces that. Never raises."""
    status, message, fields = describe_error(exc, status_code)
    handler.set_status(status)
    handler.set_header("Content-Type", "application/json; charset=utf-8")
    for name, value in getattr(exc, "headers", {}).items():
        handler.set_header(name, value)
    retry_after_s = getattr(exc, "retry_after_s", None)  # e.g. StoreBusy: nothing stored, safe to repeat
    if retry_after_s is not None:
        handler.set_header("Retry-After", str(math.ceil(retry_after_s)))
    handler.finish(error_body(status, message, fields))


def text_fault(text: str) -> str | None:
    """Why PostgreSQL text cannot hold `text` (a NUL, or a lone surrogate from a JSON escape), or None."""
    if "\x00" in text:
        return "must not contain NUL characters"
    try:
        text.encode()
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    return None


def unstorable_text(value: Any, path: str = "body") -> list[tuple[str, str]]:
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
