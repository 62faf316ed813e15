"""The one base handler: authentication, JSON in and out, body limits, error mapping, metrics.

Every domain error becomes exactly one response shape:
    {"error": {"status": 422, "message": "...", "fields": [{"field": "location.lat", "reason": "..."}]}}
"""
from __future__ import annotations

import json
import logging
import time
from datetime import date
from typing import Any

import tornado.web

from app_context import AppContext
from codec import to_json
from db import audit
from db.identity import Identity
from db.pool import is_connection_loss
from dispatch.access import may_read_incident
from dispatch.error_codes import ErrorCode
from dispatch.errors import DatabaseFailingOver, DomainError, FieldError, Invalid
from dispatch.model import Incident
from http_errors import ApiError, text_fault, unstorable_text, write_json_error  # noqa: F401 - the API's names
from telemetry.logs import log_uncaught
from telemetry.metrics import REQUEST_SECONDS

log = logging.getLogger("ems.api")
audit_log = logging.getLogger("ems.audit")

@tornado.web.stream_request_body
class BaseHandler(tornado.web.RequestHandler):
    """Reads at most `config.max_body_bytes` of body (413 beyond), parses JSON on demand (400 if malformed)."""

    identity: Identity | None = None
    # What another agency's dispatchers and admins (not the 1669 centre's) may reach here, per HTTP method or for all
    # (dispatch/access.py has the rule): "centre": nothing (the default, so a new route stays the centre's until
    # somebody decides), "open": the handler filters what it returns (or it is no agency's data), "incident": the
    # first path argument is an incident it may see (404 otherwise, as if absent), "unit": the handler passes the
    # identity to its service as `dispatcher`, whose unit of work refuses another agency's unit (403) on the row it
    # writes (dispatch.access.require_dispatchable_unit; a check here would judge a row read before that).
    agency_scope: str | dict[str, str] = "centre"

    @property
    def ctx(self) -> AppContext:
        return self.application.settings["ctx"]

    def initialize(self, **_: Any) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self._started = time.perf_counter()
        self._readable_incident: Incident | None = None  # read once per request (see `incident_if_readable`)

    def limit_body(self) -> None:
        """413 before reading a body declared too large; cap what the connection will read."""
        limit = self.ctx.config.max_body_bytes
        declared = self.request.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise ApiError(413, ErrorCode.BODY_TOO_LARGE, limit=limit)
        self.request.connection.set_max_body_size(limit + 1)

    def raw_body(self) -> bytes:
        if self._size > self.ctx.config.max_body_bytes:
            raise ApiError(413, ErrorCode.BODY_TOO_LARGE, limit=self.ctx.config.max_body_bytes)
        return b"".join(self._chunks)

    async def prepare(self) -> None:
        self.limit_body()
        token = self._bearer_token()
        self.identity = await self.ctx.identities.verify(token) if token else None
        if self.identity is None or self.identity.role not in ("dispatcher", "admin"):
            await self.throttle("api", self.ctx.config.rate_api_per_min)
        if self.identity is not None and self.identity.is_staff and not self.identity.sees_all:
            await self.check_agency_scope(self.identity)

    async def check_agency_scope(self, identity: Identity) -> None:
        """Refuse an agency's dispatcher what its agency may not reach here (see `agency_scope`)."""
        scope = self.agency_scope
        if isinstance(scope, dict):
            scope = scope.get(self.request.method, "centre")
        if scope in ("open", "unit"):
            return
        if scope == "incident" and self.path_args:
            await self.incident_if_readable(identity, int(self.path_args[0]))
            return
        log.warning("forbidden outside the agency", extra={"user": identity.user_id, "path": self.request.path})
        raise ApiError(403, ErrorCode.CENTRE_ONLY)  # the agency is in the log, not in the text people see

    async def incident_if_readable(self, identity: Identity, incident_id: int) -> Incident:
        """`readable_incident`, read once per request: the agency scope check in `prepare` and the handler ask
        for the same incident."""
        if self._readable_incident is None or self._readable_incident.id != incident_id:
            self._readable_incident = await readable_incident(self.ctx, identity, incident_id)
        return self._readable_incident

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= self.ctx.config.max_body_bytes:
            self._chunks.append(chunk)

    def _bearer_token(self) -> str | None:
        header = self.request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return None

    async def throttle(self, bucket: str, per_minute: int) -> None:
        """429 with Retry-After when this caller (identity, else address) is over its budget in `bucket`."""
        source = self.identity.user_id if self.identity else f"ip:{self.request.remote_ip}"
        retry_after = await self.ctx.rate_limiter.hit(bucket, source, per_minute)
        if retry_after is not None:
            raise ApiError(429, ErrorCode.RATE_LIMITED, retry_s=int(retry_after) + 1,
                           headers={"Retry-After": str(max(1, int(retry_after)))})

    def require(self, *roles: str) -> Identity:
        """The caller's identity if its role is one of `roles`; 401 without a valid token, 403 otherwise."""
        if self.identity is None:
            raise ApiError(401, ErrorCode.TOKEN_REQUIRED)
        if roles and self.identity.role not in roles:
            log.warning("forbidden", extra={"user": self.identity.user_id, "path": self.request.path})
            raise ApiError(403, ErrorCode.ROLE_FORBIDDEN)
        return self.identity

    async def audit(self, action: str, subject: str, detail: dict | None = None) -> None:
        """Record a read or change of patient data by the current identity."""
        actor = self.identity.actor if self.identity else "anonymous"
        await audit.record(self.ctx.pool, actor, action, subject, detail=detail, remote_addr=self.request.remote_ip)

    def json_body(self) -> Any:
        raw = self.raw_body()
        if not raw.strip():
            raise ApiError(400, ErrorCode.BODY_NOT_JSON)
        try:
            body = json.loads(raw)  # NaN/Infinity parse to floats; intake validation names them
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, ErrorCode.MALFORMED_JSON, detail=str(exc)[:280]) from None
        try:
            bad_text = unstorable_text(body)
        except RecursionError:
            raise ApiError(400, ErrorCode.JSON_TOO_DEEP) from None
        if bad_text:  # PostgreSQL text cannot hold these: name the fields instead of failing at the store
            raise Invalid([FieldError(field, reason) for field, reason in bad_text[:20]])
        return body

    def int_argument(self, name: str, default: int, *, low: int = 0, high: int = 2**62) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise Invalid(FieldError(name, ErrorCode.MUST_BE_INTEGER)) from None
        if not low <= value <= high:
            raise Invalid(FieldError(name, ErrorCode.MUST_BE_BETWEEN, low=low, high=high))
        return value

    def date_argument(self, name: str, default: date, *, low: date = date(2000, 1, 1),
                      high: date = date(2099, 12, 31)) -> date:
        """A calendar day given as YYYY-MM-DD (422 otherwise, or outside low..high)."""
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        try:
            if len(raw) != 10:
                raise ValueError
            day = date.fromisoformat(raw)
        except ValueError:
            raise Invalid(FieldError(name, ErrorCode.MUST_BE_DATE)) from None
        if not low <= day <= high:
            raise Invalid(FieldError(name, ErrorCode.DATE_BETWEEN, low=low.isoformat(), high=high.isoformat()))
        return day

    def allowed_methods(self) -> list[str]:
        base = tornado.web.RequestHandler
        return [m for m in ("GET", "POST", "PUT", "PATCH", "DELETE") if getattr(type(self), m.lower()) is not getattr(base, m.lower())]

    def bool_argument(self, name: str, default: bool) -> bool:
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        if raw not in ("true", "false"):
            raise Invalid(FieldError(name, ErrorCode.MUST_BE_BOOLEAN))
        return raw == "true"

    def send_json(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(to_json(value))

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def log_exception(self, typ: type[BaseException] | None, value: BaseException | None, tb: Any) -> None:
        """Domain errors are answers, not faults: not logged. Anything else is logged with the request summary
        (tokens redacted), never the raw URL."""
        if isinstance(value, DomainError):
            return
        if value is not None and is_connection_loss(value):  # a read cut by a failover: answered 503, not a bug
            log.warning("request cut by a database failover", extra={"path": self.request.path, "error": repr(value)[:200]})
            return
        log_uncaught(self.request, value, (typ, value, tb))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error answer, in the one JSON shape (see `write_json_error`)."""
        if status_code == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if exc is not None and not isinstance(exc, DomainError) and is_connection_loss(exc):
            self.ctx.database.lost(exc)
            exc = DatabaseFailingOver(0)
        write_json_error(self, status_code, exc)

    def on_finish(self) -> None:
        REQUEST_SECONDS.labels(self.request.method, type(self).__name__, str(self.get_status())).observe(
            time.perf_counter() - self._started
        )


async def readable_incident(ctx: AppContext, identity: Identity, incident_id: int) -> Incident:
    """The incident if `identity` may read it now (dispatch.access: a crew only while its unit is on it, a hospital
    only while its patient is bound for it, an agency while its unit is on it or it is shared with it); 404
    otherwise, the same answer whether it exists or not."""
    incident = await ctx.store.get("incidents", incident_id)
    units = None
    if incident is not None and identity.role == "crew" and identity.unit_id:
        units = await ctx.store.get("units", identity.unit_id)
    elif incident is not None and identity.is_staff and not identity.sees_all:
        units = await ctx.store.get_many("units", incident.unit_ids)
    if incident is None or not may_read_incident(identity, incident, units):
        if incident is not None:
            log.warning("forbidden incident read", extra={"user": identity.user_id, "incident": incident.id})
        raise ApiError(404, ErrorCode.NO_SUCH_INCIDENT)
    return incident


class NotFoundHandler(BaseHandler):
    async def prepare(self) -> None:
        raise ApiError(404, ErrorCode.NO_SUCH_RESOURCE)
