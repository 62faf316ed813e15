"""Citizen-app API: keys per app (stored hashed), per-key token-bucket limits, strict intake on channel `app`."""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from typing import Any

from dispatch.errors import DomainError, FieldError, Invalid, NotFound
from dispatch.model import Channel, Incident
from integrations.apps import store
from integrations.apps.bucket import TokenBuckets

log = logging.getLogger("ems.apps")

NAME = re.compile(r"^[^\x00-\x1f]{1,100}$")


class KeyRejected(DomainError):
    """No key, an unknown key or a revoked key (→ 401)."""


class OverLimit(DomainError):
    """The key's bucket is empty (→ 429 with Retry-After)."""

    def __init__(self, retry_after_s: float):
        super().__init__(f"this app is over its request rate; retry in {int(retry_after_s) + 1} s")
        self.retry_after_s = retry_after_s


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class AppKeys:
    def __init__(self, ctx: Any):
        self.ctx = ctx
        self.buckets = TokenBuckets(ctx.redis, ctx.config.redis_namespace)

    async def create(self, body: Any) -> dict[str, Any]:
        """A new key for an app; the key itself is returned only here."""
        body = body if isinstance(body, dict) else {}
        config = self.ctx.config
        name = body.get("name")
        rate, burst = body.get("rate_per_min", config.app_rate_per_min), body.get("burst", config.app_burst)
        errors = []
        if not isinstance(name, str) or not NAME.match(name):
            errors.append(FieldError("name", "must be 1-100 printable characters"))
        for field, value, high in (("rate_per_min", rate, 100_000), ("burst", burst, 10_000)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                errors.append(FieldError(field, f"must be an integer from 1 to {high}"))
        if errors:
            raise Invalid(errors)
        key_id, key = f"app_{secrets.token_hex(6)}", f"ems_{secrets.token_urlsafe(32)}"
        await store.add_key(self.ctx.pool, key_id, name, key_hash(key), rate, burst)
        return {"id": key_id, "name": name, "rate_per_min": rate, "burst": burst, "key": key}

    async def list(self) -> list[dict]:
        return await store.keys(self.ctx.pool)

    async def revoke(self, key_id: str) -> None:
        if not await store.revoke(self.ctx.pool, key_id):
            raise NotFound(f"no active key {key_id}")

    async def admit(self, raw_key: str | None):
        """The key's record if it is valid and has a token left; KeyRejected / OverLimit otherwise."""
        if not raw_key or len(raw_key) > 200:
            raise KeyRejected("an X-Api-Key header is required")
        key = await store.key_by_hash(self.ctx.pool, key_hash(raw_key))
        if key is None:
            log.warning("unknown or revoked app key")
            raise KeyRejected("unknown or revoked API key")
        retry_after = await self.buckets.take(f"app:{key['id']}", key["rate_per_min"], key["burst"])
        if retry_after is not None:
            await self._alert_once(key)
            raise OverLimit(retry_after)
        return key

    async def report(self, key, body: Any, idempotency_key: str | None) -> tuple[Incident, bool]:
        return await self.ctx.intake.report(body, actor=f"app:{key['id']}", idempotency_key=(
            f"app:{key['id']}:{idempotency_key}" if idempotency_key else None), strict=True,
            default_channel=Channel.APP)

    async def _alert_once(self, key) -> None:
        """One RateLimitTripped event per key and minute, so the dispatcher sees a flooding app."""
        window = int(time.time() // 60)
        try:
            first = await self.ctx.redis.set(f"{self.ctx.config.redis_namespace}:app-trip:{key['id']}:{window}", 1,
                                             nx=True, ex=120)
        except Exception:
            first = True
        if first:
            log.warning("app key over its rate", extra={"key": key["id"]})
            await self.ctx.access.rate_limit_tripped("app", key["id"], key["rate_per_min"])
