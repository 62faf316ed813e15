"""Client → server frames: `position`, `ack`, `status` (see docs/protocol.md).

Every command but `position` carries a client-generated `id`, claimed in the same unit of work that runs the
command: the claim, the command's events and the stored answer commit together or not at all. So a repeat of an
id already answered gets the first answer again without running the command twice (even when it arrives on
another socket at the same moment, or after the process was killed mid-way), and a command that failed leaves no
claim behind, so resending it runs it again. Tablets may therefore resend freely after a flaky connection.
Domain errors become error frames, never a closed socket.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from app_context import Core
from codec import to_json
from dispatch.access import Identity
from dispatch.error_codes import ErrorCode
from dispatch.errors import Conflict, DomainError, FieldError, Forbidden, Invalid, NotFound, Unavailable

log = logging.getLogger("ems.ws")

_STATUS = {Invalid: 422, NotFound: 404, Conflict: 409, Forbidden: 403, Unavailable: 503}

UnitOfWorkBody = Callable[[Any], Awaitable[Any]]


class WsCommands:
    def __init__(self, ctx: Core):
        self.ctx = ctx

    async def handle(self, identity: Identity, frame: dict) -> dict | None:
        kind, client_id = frame["type"], frame.get("id")
        if kind == "position":
            try:
                await self._position(identity, frame)
            except DomainError as exc:
                return _error_reply(client_id, exc)
            return None  # positions are answered only when refused
        command = getattr(self, f"_cmd_{kind}", None)
        if command is None:
            return {"type": "error", "id": client_id, "status": 400, "reason": f"unknown frame type {kind!r}"}
        if not (isinstance(client_id, str) and 1 <= len(client_id) <= 100):
            return {"type": "error", "id": client_id, "status": 422, "reason": "id: a client id string is required"}
        try:
            work = command(identity, frame)
            reply, result, first_time = await self.ctx.store.run(
                identity.actor, _once(f"ws:{identity.user_id}", client_id, work))
        except DomainError as exc:
            return _error_reply(client_id, exc)  # nothing was committed, the claim neither: a resend runs again
        if not first_time:
            return reply
        # The first answer is serialised again after the commit, which stamps the states' last_seq; the stored
        # copy (for repeats) was made before it and carries the versions they had then.
        return json.loads(to_json({"type": "ok", "id": client_id, "result": result}))

    def _own_unit(self, identity: Identity) -> str:
        if identity.role != "crew" or not identity.unit_id:
            raise Forbidden(ErrorCode.CREW_ONLY)
        return identity.unit_id

    async def _position(self, identity: Identity, frame: dict) -> None:
        await self.ctx.avl.report(self._own_unit(identity), frame)

    def _cmd_ack(self, identity: Identity, frame: dict) -> UnitOfWorkBody:
        unit_id = self._own_unit(identity)
        assignment_id = frame.get("assignment_id")
        if isinstance(assignment_id, bool) or not isinstance(assignment_id, int) or not 1 <= assignment_id < 2**63:
            raise Invalid(FieldError("assignment_id", ErrorCode.MUST_BE_INTEGER))
        return self.ctx.assignments.acknowledgement(assignment_id, role=identity.role, unit_id=unit_id)

    def _cmd_status(self, identity: Identity, frame: dict) -> UnitOfWorkBody:
        unit_id = self._own_unit(identity)
        return self.ctx.fleet.unit_status_change(unit_id, frame.get("status"), role=identity.role,
                                                             own_unit=unit_id)


def _once(scope: str, client_id: str, work: UnitOfWorkBody) -> UnitOfWorkBody:
    """`work` behind the claim of (scope, client_id), in one unit of work: returns (stored reply, result, whether
    it ran now). A concurrent claimer of the same id conflicts at commit and, run again, finds the stored reply."""
    async def body(uow) -> tuple[dict, Any, bool]:
        first = await uow.claim_idempotency(scope, client_id)
        if first is not None:
            return first, None, False
        result = await work(uow)
        reply = json.loads(to_json({"type": "ok", "id": client_id, "result": result}))
        await uow.remember(scope, client_id, reply)
        return reply, result, True

    return body


def _error_reply(client_id: Any, exc: DomainError) -> dict:
    status = next((code for error, code in _STATUS.items() if isinstance(exc, error)), 400)
    reply = {"type": "error", "id": client_id, "status": status, "code": exc.code.value, "reason": str(exc),
             **({"params": exc.params} if exc.params else {})}
    if isinstance(exc, Invalid):
        reply["fields"] = [e.to_json() for e in exc.errors]
    return reply
