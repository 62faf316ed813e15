"""Users and bearer tokens. Tokens are random; only their SHA-256 is stored, so a database leak reveals none.

A verified token is remembered for `VERIFY_CACHE_S` (never past its expiry), so a busy console does not cost a
database round trip per request. Revocation still takes effect at once: `revoke`/`revoke_user` forget the token
here, and every other process forgets it when the `AccessRevoked` event reaches it (see ws/hub.py).
"""
from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta

import asyncpg

from dispatch.access import ROLES, Identity
from dispatch.model import DEFAULT_AGENCY

# The type and the roles are domain ideas (dispatch/access.py); re-exported while callers move over.
__all__ = ["ROLES", "Identity", "IdentityStore", "token_sha256"]


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def token_sha256(token: str) -> str:
    """The token's SHA-256 as hex: how a token is stored and named in events (never the token itself)."""
    return _hash(token).hex()


_SCRYPT = (2**14, 8, 1)
# Checked against when the user is unknown or has no password, so that path costs one scrypt like a known user's
# (it used to hash a fresh password and then check it: two hashes, telling user ids apart by time). Matches nothing.
_NO_USER_HASH = f"scrypt${_SCRYPT[0]}${_SCRYPT[1]}${_SCRYPT[2]}${'00' * 16}${'00' * 64}"
VERIFY_CACHE_S = 5.0  # how long a verified token is trusted without asking the database again
VERIFY_CACHE_MAX = 50_000


def hash_password(password: str) -> str:
    """A salted scrypt hash (n=2^14, r=8, p=1) as `scrypt$n$r$p$salt$digest`; CPU-heavy (tens of ms), run it off the
    event loop."""
    salt = secrets.token_bytes(16)
    n, r, p = _SCRYPT
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    """True if `password` matches the stored scrypt hash (constant-time compare); False for a missing or unknown-format
    hash."""
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, n, r, p, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    return secrets.compare_digest(candidate.hex(), digest)


class IdentityStore:
    def __init__(self, pool: asyncpg.Pool, *, verify_cache_s: float = VERIFY_CACHE_S):
        self.pool = pool
        self.verify_cache_s = verify_cache_s
        # token SHA-256 -> (identity, trusted until on the monotonic clock, token expiry)
        self._verified: dict[bytes, tuple[Identity, float, datetime]] = {}
        self._last_revocation = 0.0  # monotonic; a lookup begun before it may have read a revoked token as live

    def forget(self, user_id: str, token_sha256_hex: str | None = None) -> None:
        """Drop remembered tokens of `user_id` (only the one with this SHA-256, if given)."""
        self._last_revocation = time.monotonic()
        if token_sha256_hex is not None:
            self._verified.pop(bytes.fromhex(token_sha256_hex), None)
            return
        for token_hash, (identity, _, _) in list(self._verified.items()):
            if identity.user_id == user_id:
                self._verified.pop(token_hash, None)

    async def upsert_user(
        self, user_id: str, name: str, role: str, *, unit_id: str | None = None, hospital_id: str | None = None,
        phone: str | None = None, password: str | None = None, agency_id: str | None = None,
    ) -> None:
        """Create or update a user (password hashed off the event loop when given). ValueError for an unknown role.
        `agency_id`: the user's agency (None: the centre for a new user, unchanged for an existing one)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        password_hash = await asyncio.to_thread(hash_password, password) if password else None
        await self.pool.execute(
            "INSERT INTO users (id, name, role, unit_id, hospital_id, phone, password_hash, agency_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8, $9))"
            " ON CONFLICT (id) DO UPDATE SET name = $2, role = $3, unit_id = $4, hospital_id = $5, phone = $6,"
            " password_hash = coalesce($7, users.password_hash), agency_id = coalesce($8, users.agency_id)",
            user_id, name, role, unit_id, hospital_id, phone, password_hash, agency_id, DEFAULT_AGENCY,
        )
        self.forget(user_id)  # role, unit or hospital may have changed

    async def login(self, user_id: str, password: str, *, ttl: timedelta) -> tuple[str, Identity] | None:
        """A fresh token for a correct password; None otherwise (same answer for unknown users)."""
        row = await self.pool.fetchrow(
            "SELECT password_hash FROM users WHERE id = $1 AND disabled_at IS NULL", user_id
        )
        stored = (row["password_hash"] if row else None) or _NO_USER_HASH  # one hash on every path
        if not await asyncio.to_thread(check_password, password, stored):
            return None
        token = await self.issue_token(user_id, ttl=ttl)
        return token, await self.verify(token)

    async def issue_token(self, user_id: str, *, ttl: timedelta = timedelta(hours=12), token: str | None = None) -> str:
        """A new bearer token for `user_id`, valid for `ttl`. `token` lets the demo print stable tokens."""
        token = token or secrets.token_urlsafe(32)
        self._verified.pop(_hash(token), None)
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
        token_hash = _hash(token)
        remembered = self._verified.get(token_hash)
        if remembered is not None:
            identity, trusted_until, expires_at = remembered
            if time.monotonic() < trusted_until and datetime.now(UTC) < expires_at:
                return identity
            self._verified.pop(token_hash, None)
        asked_at = time.monotonic()
        row = await self.pool.fetchrow(
            "SELECT u.id, u.name, u.role, u.unit_id, u.hospital_id, u.agency_id, t.expires_at FROM tokens t"
            " JOIN users u ON u.id = t.user_id"
            " WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now() AND u.disabled_at IS NULL",
            token_hash,
        )
        if row is None:
            return None
        identity = Identity(row["id"], row["name"], row["role"], row["unit_id"], row["hospital_id"], row["agency_id"])
        if self.verify_cache_s > 0 and asked_at > self._last_revocation:
            if len(self._verified) >= VERIFY_CACHE_MAX:
                self._verified.clear()
            self._verified[token_hash] = (identity, asked_at + self.verify_cache_s, row["expires_at"])
        return identity

    async def expires_at(self, token: str) -> datetime | None:
        """When a live token expires (UTC), from the verify cache when it is there; None if unknown or dead."""
        remembered = self._verified.get(_hash(token))
        if remembered is not None:
            return remembered[2]
        return await self.pool.fetchval(
            "SELECT expires_at FROM tokens WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()",
            _hash(token))

    async def revoke(self, token: str) -> bool:
        """Revoke one token now (and drop it from this process's verify cache); True if it was active."""
        status = await self.pool.execute(
            "UPDATE tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL", _hash(token)
        )
        self.forget("", token_sha256(token))  # the hash alone names the token
        return status.endswith(" 1")

    async def revoke_user(self, user_id: str) -> int:
        """Revoke every active token of a user; returns how many were revoked."""
        status = await self.pool.execute(
            "UPDATE tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", user_id
        )
        self.forget(user_id)
        return int(status.split()[-1])

    async def save_account(self, user_id: str, *, name: str, role: str, agency_id: str, unit_id: str | None,
                           hospital_id: str | None, phone: str | None, password: str | None) -> None:
        """The registry's account write (dispatch.ports.Accounts): `upsert_user` with the agency."""
        await self.upsert_user(user_id, name, role, unit_id=unit_id, hospital_id=hospital_id, phone=phone,
                               password=password, agency_id=agency_id)

    async def account(self, user_id: str) -> dict | None:
        """One account without its password hash (`has_password` instead), or None."""
        rows = await self._accounts(user_id)
        return rows[0] if rows else None

    async def accounts(self) -> list[dict]:
        """Every account by id, disabled ones with `retired_at` set; no password hashes."""
        return await self._accounts(None)

    async def _accounts(self, user_id: str | None) -> list[dict]:
        rows = await self.pool.fetch(
            "SELECT id, name, role, agency_id, unit_id, hospital_id, phone, password_hash IS NOT NULL AS has_password,"
            " disabled_at, created_at FROM users WHERE $1::text IS NULL OR id = $1 ORDER BY id LIMIT 100000", user_id)
        return [{"user_id": r["id"], "name": r["name"], "role": r["role"], "agency_id": r["agency_id"],
                 "unit_id": r["unit_id"], "hospital_id": r["hospital_id"], "phone": r["phone"],
                 "has_password": r["has_password"], "retired_at": r["disabled_at"], "created_at": r["created_at"]}
                for r in rows]

    async def disable_account(self, user_id: str) -> int:
        """Disable the account (it can no longer log in) and revoke every token it holds; returns the count."""
        await self.pool.execute("UPDATE users SET disabled_at = coalesce(disabled_at, now()) WHERE id = $1", user_id)
        return await self.revoke_user(user_id)

    async def exists(self, user_id: str) -> bool:
        """True if a user with this id exists."""
        return bool(await self.pool.fetchval("SELECT true FROM users WHERE id = $1", user_id))

    async def desk_line(self, user_id: str) -> str | None:
        """Where calls this dispatcher answers ring (E.164 number or sip: address), or None (migration 0030)."""
        return await self.pool.fetchval("SELECT desk_line FROM users WHERE id = $1", user_id)

    async def set_desk_line(self, user_id: str, line: str | None) -> None:
        """Set or clear (None) the desk line; the caller validates it (dispatch.calls.parse_desk_line)."""
        await self.pool.execute("UPDATE users SET desk_line = $2 WHERE id = $1", user_id, line)
