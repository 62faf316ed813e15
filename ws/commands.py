"""Client → server frames: `position`, `ack`, `status` (see docs/protocol.md).

Every command carries a client-generated `id`; a repeat of an id already answered gets the first answer again,
so tablets can resend freely after a flaky connection. Domain errors become error frames, never a closed socket.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from api.base import to_json
from db.identity import Identity
from dispatch.errors import Conflict, DomainError, FieldError, Forbidden, Invalid, NotFound, Unavailable

log = logging.getLogger("ems.ws")

_STATUS = {Invalid: 422, NotFound: 404, Conflict: 409, Forbidden: 403, Unavailable: 503}


class WsCommands:
    def __init__(self, ctx: Any):
        self.ctx = ctx

    async def handle(self, identity: Identity, frame: dict) -> dict | None:
        kind, client_id = frame["type"], frame.get("id")
        handler = getattr(self, f"_cmd_{kind}", None)
        if handler is None:
            return {"type": "error", "id": client_id, "status": 400, "reason": f"unknown frame type {kind!r}"}
        if kind != "position" and not (isinstance(client_id, str) and 1 <= len(client_id) <= 100):
            return {"type": "error", "id": client_id, "status": 422, "reason": "id: a client id string is required"}
        scope = f"ws:{identity.user_id}"
        if kind != "position":
            async with self.ctx.store.unit_of_work(identity.actor) as uow:
                first = await uow.claim_idempotency(scope, client_id)
            if first is not None:
                return first
        try:
            result = await handler(identity, frame)
            reply = {"type": "ok", "id": client_id, "result": result}
        except DomainError as exc:
            status = next((code for error, code in _STATUS.items() if isinstance(exc, error)), 400)
            reply = {"type": "error", "id": client_id, "status": status, "reason": str(exc)}
            if isinstance(exc, Invalid):
                reply["fields"] = [{"field": e.field, "reason": e.reason} for e in exc.errors]
        if kind != "position":
            stored = json.loads(to_json(reply))
            async with self.ctx.store.unit_of_work(identity.actor) as uow:
                await uow.remember(scope, client_id, stored)
            return stored
        return reply if reply["type"] == "error" else None

    def _own_unit(self, identity: Identity) -> str:
        if identity.role != "crew" or not identity.unit_id:
            raise Forbidden("only a crew member of a unit may do this")
        return identity.unit_id

    async def _cmd_position(self, identity: Identity, frame: dict) -> dict:
        accepted = await self.ctx.avl.report(self._own_unit(identity), frame)
        return {"accepted": accepted}

    async def _cmd_ack(self, identity: Identity, frame: dict) -> Any:
        unit_id = self._own_unit(identity)
        assignment_id = frame.get("assignment_id")
        if isinstance(assignment_id, bool) or not isinstance(assignment_id, int) or not 1 <= assignment_id < 2**63:
            raise Invalid(FieldError("assignment_id", "must be an integer"))
        return await self.ctx.services["assignments"].acknowledge(assignment_id, actor=identity.actor,
                                                                  role=identity.role, unit_id=unit_id)

    async def _cmd_status(self, identity: Identity, frame: dict) -> Any:
        unit_id = self._own_unit(identity)
        return await self.ctx.services["fleet"].change_unit_status(unit_id, frame.get("status"), actor=identity.actor,
                                                                   role=identity.role, own_unit=unit_id)
