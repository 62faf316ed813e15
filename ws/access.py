"""Login, logout and revocation. A revocation is also an event, so every server process closes the affected
sockets at once (the hub acts on `AccessRevoked`); a periodic re-check of live tokens covers expiry."""
from __future__ import annotations

from datetime import timedelta

from db.identity import IdentityStore, token_sha256
from dispatch.access import AccessRevoked, Identity, RateLimitTripped
from dispatch.error_codes import ErrorCode
from dispatch.errors import NotFound
from dispatch.ports import Clock, EventStore


class AccessControl:
    def __init__(self, identities: IdentityStore, store: EventStore, clock: Clock, *, token_ttl: timedelta):
        self.identities = identities
        self.store = store
        self.clock = clock
        self.token_ttl = token_ttl

    async def login(self, user_id: str, password: str) -> tuple[str, Identity] | None:
        return await self.identities.login(user_id, password, ttl=self.token_ttl)

    async def revoke_token(self, token: str, *, actor: str, reason: str = "logout") -> None:
        identity = await self.identities.verify(token)
        if identity is None or not await self.identities.revoke(token):
            return
        await self._announce(AccessRevoked(at=self.clock.now(), user_id=identity.user_id,
                                           token_sha256=token_sha256(token), reason=reason), actor)

    async def revoke_user(self, user_id: str, *, actor: str, reason: str = "revoked") -> int:
        count = await self.identities.revoke_user(user_id)
        if count == 0 and not await self.identities.exists(user_id):
            raise NotFound(ErrorCode.USER_NOT_FOUND, user_id=user_id)
        await self._announce(AccessRevoked(at=self.clock.now(), user_id=user_id, reason=reason), actor)
        return count

    async def rate_limit_tripped(self, bucket: str, source_id: str, limit_per_minute: int) -> None:
        await self._announce(RateLimitTripped(at=self.clock.now(), bucket=bucket, source_id=source_id,
                                              limit_per_minute=limit_per_minute), "system:ratelimit")

    async def _announce(self, event: AccessRevoked | RateLimitTripped, actor: str) -> None:
        async with self.store.unit_of_work(actor) as uow:
            await uow.append(event)
