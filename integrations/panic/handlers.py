"""Device registry (dispatchers, admins) and the signed device webhook (presses and heartbeats)."""
from __future__ import annotations

import json

from api.base import ApiError, BaseHandler, unstorable_text
from dispatch.errors import FieldError
from integrations.panic.service import Throttled, Unauthenticated
from integrations.webhook_base import SignedWebhookHandler

REGISTRY_ROLES = ("dispatcher", "admin")


def check_storable(body: bytes) -> None:
    """400 for a device body that could never be handled: nested too deeply to parse, or with text PostgreSQL
    cannot store (a NUL or lone surrogate, e.g. in `nonce` or `message_id`, which are stored as keys). Anything
    else, even malformed JSON, is left to the signature check (401)."""
    try:
        payload = json.loads(body)
    except RecursionError:
        raise ApiError(400, "JSON nested too deeply") from None
    except ValueError:
        return
    try:
        bad = unstorable_text(payload)
    except RecursionError:
        raise ApiError(400, "JSON nested too deeply") from None
    if bad:
        raise ApiError(400, "the body has text that cannot be stored",
                       fields=[FieldError(field, reason) for field, reason in bad[:20]])


class DevicesHandler(BaseHandler):
    async def post(self) -> None:
        self.require(*REGISTRY_ROLES)
        device = await self.ctx.panic.register(self.json_body())
        await self.audit("create", f"device:{device['id']}")
        self.send_json(device, 201)

    async def get(self) -> None:
        self.require(*REGISTRY_ROLES)
        devices = await self.ctx.panic.list()
        await self.audit("list", "devices", {"count": len(devices)})
        self.send_json({"devices": devices})


class DeviceWebhookHandler(SignedWebhookHandler):
    """POST /api/v1/devices/<id>/press|heartbeat, signed with the device secret (see integrations/panic/signing.py)."""

    async def post(self, device_id: str, kind: str) -> None:
        panic = self.ctx.panic
        if not self.request.headers.get("X-EMS-Timestamp") or not self.request.headers.get("X-EMS-Signature"):
            raise ApiError(401, "X-EMS-Timestamp and X-EMS-Signature are required")  # unsigned: no budget spent
        check_storable(self.raw_body())
        try:
            payload = await panic.authenticate(device_id, self.request.headers.get("X-EMS-Timestamp"),
                                               self.request.headers.get("X-EMS-Signature"), self.raw_body())
            if kind == "press":
                result = await panic.press(device_id, payload, via="webhook")
                self.send_json({"incident_id": result.incident_id, "repeat": result.repeat,
                                "duplicate": result.duplicate}, 200 if result.duplicate else 201)
            else:
                await panic.heartbeat(device_id, payload)
                self.send_json({"ok": True})
        except Unauthenticated:
            await self.refuse(401, "signature, timestamp or nonce not accepted")
        except Throttled as exc:
            raise ApiError(429, str(exc), headers={"Retry-After": str(max(1, int(exc.retry_after_s)))}) from None
