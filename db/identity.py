"""Users and bearer tokens. Tokens are random; only their SHA-256 is stored, so a database leak reveals none."""
from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

ROLES = ("dispatcher", "crew", "hospital", "admin", "device")


@dataclass(frozen=True)
class Identity:
    user_id: str
    name: str
    role: str
    unit_id: str | None = None
    hospital_id: str | None = None

    @property
    def actor(self) -> str:
        """How this identity is written into the event log's `actor` column."""
        return f"{self.role}:{self.user_id}"


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def token_sha256(token: str) -> str:
    return _hash(token).hex()


_SCRYPT = (2**14, 8, 1)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    n, r, p = _SCRYPT
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, n, r, p, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    return secrets.compare_digest(candidate.hex(), digest)


class IdentityStore:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def upsert_user(
        self, user_id: str, name: str, role: str, *, unit_id: str | None = None, hospital_id: str | None = None,
        phone: str | None = None, password: str | None = None,
    ) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        password_hash = await asyncio.to_thread(hash_password, password) if password else None
        await self.pool.execute(
            "INSERT INTO users (id, name, role, unit_id, hospital_id, phone, password_hash)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (id) DO UPDATE SET name = $2, role = $3, unit_id = $4, hospital_id = $5, phone = $6,"
            " password_hash = coalesce($7, users.password_hash)",
            user_id, name, role, unit_id, hospital_id, phone, password_hash,
        )

    async def login(self, user_id: str, password: str, *, ttl: timedelta) -> tuple[str, Identity] | None:
        """A fresh token for a correct password; None otherwise (same answer for unknown users)."""
        row = await self.pool.fetchrow(
            "SELECT password_hash FROM users WHERE id = $1 AND disabled_at IS NULL", user_id
        )
        stored = row["password_hash"] if row else await asyncio.to_thread(hash_password, "x")  # same cost either way
        if not await asyncio.to_thread(check_password, password, stored):
            return None
        token = await self.issue_token(user_id, ttl=ttl)
        return token, await self.verify(token)

    async def issue_token(self, user_id: str, *, ttl: timedelta = timedelta(hours=12), token: str | None = None) -> str:
        """A new bearer token for `user_id`, valid for `ttl`. `token` lets the demo print stable tokens."""
        token = token or secrets.token_urlsafe(32)
        await self.pool.execute(
            "INSERT INTO tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (token_hash) DO UPDATE SET expires_at = $3, revoked_at = NULL",
            _hash(token), user_id, datetime.now(UTC) + ttl,
        )
        return token

    async def verify(self, token: str | None) -> Identity | None:
        """The identity behind a live token; None if unknown, expired or revoked."""
        if not token or len(token) > 256:
            return None
        row = await self.pool.fetchrow(
            "SELECT u.id, u.name, u.role, u.unit_id, u.hospital_id FROM tokens t JOIN users u ON u.id = t.user_id"
            " WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now() AND u.disabled_at IS NULL",
            _hash(token),
        )
        return None if row is None else Identity(row["id"], row["name"], row["role"], row["unit_id"], row["hospital_id"])

    async def revoke(self, token: str) -> bool:
        status = await self.pool.execute(
            "UPDATE tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL", _hash(token)
        )
        return status.endswith(" 1")

    async def revoke_user(self, user_id: str) -> int:
        status = await self.pool.execute(
            "UPDATE tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", user_id
        )
        return int(status.split()[-1])

    async def exists(self, user_id: str) -> bool:
        return bool(await self.pool.fetchval("SELECT true FROM users WHERE id = $1", user_id))
