"""Citizen-app keys (admins) and the app's intake endpoint (authenticated by X-Api-Key, not a bearer token)."""
from __future__ import annotations

from api.base import ApiError, BaseHandler
from dispatch.error_codes import ErrorCode
from integrations.apps.service import KeyRejected, OverLimit
from integrations.webhook_base import SignedWebhookHandler


class AppKeysHandler(BaseHandler):
    async def post(self) -> None:
        self.require("admin")
        self.send_json(await self.ctx.apps.create(self.json_body()), 201)

    async def get(self) -> None:
        self.require("admin")
        self.send_json({"keys": await self.ctx.apps.list()})


class AppKeyHandler(BaseHandler):
    async def delete(self, key_id: str) -> None:
        self.require("admin")
        await self.ctx.apps.revoke(key_id)
        self.send_json({"id": key_id, "revoked": True})


class AppIncidentsHandler(SignedWebhookHandler):
    async def post(self) -> None:
        apps = self.ctx.apps
        try:
            key = await apps.admit(self.request.headers.get("X-Api-Key"))
        except KeyRejected as exc:
            raise ApiError(401, str(exc)) from None
        except OverLimit as exc:
            raise ApiError(429, str(exc), headers={"Retry-After": str(max(1, round(exc.retry_after_s + 0.5)))}) from None
        idempotency_key = self.request.headers.get("Idempotency-Key")
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
            raise ApiError(400, ErrorCode.IDEMPOTENCY_KEY_LENGTH)
        incident, created = await apps.report(key, self.json_body(), idempotency_key)
        self.send_json({"id": incident.id, "status": incident.status, "reported_at": incident.reported_at,
                        "location_flags": incident.location_flags}, 201 if created else 200)
