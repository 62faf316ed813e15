"""Per-source throttling with separate buckets, so a flood from one device, key or address cannot starve others.

Counts live in Redis (fixed one-minute windows shared by all processes); if Redis is unreachable each process
counts on its own rather than refusing emergencies. The first refusal per source and window raises an alert event.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

log = logging.getLogger("ems.ratelimit")

WINDOW_S = 60
REDIS_BUDGET_S = 0.05  # beyond this, count in-process instead of waiting for Redis
REDIS_BACKOFF_S = 5.0  # after Redis missed its budget, count in-process this long before asking it again
CHECK_CLAIM_MS = 10_000  # a password check's claim outlives a crashed request by at most this (scrypt takes ~50 ms)


class RateLimiter:
    """Counts requests per bucket and source. While Redis is slow or down, each request would wait out the budget
    once per bucket (an intake request passes two), so after a miss the counting stays in-process for
    `redis_backoff_s` before Redis is asked again."""

    def __init__(self, redis: aioredis.Redis, namespace: str, on_trip: Callable[[str, str, int], Awaitable[None]],
                 *, redis_backoff_s: float = REDIS_BACKOFF_S, redis_budget_s: float = REDIS_BUDGET_S):
        self.redis = redis
        self.prefix = f"{namespace}:rl"
        self.on_trip = on_trip
        self.redis_backoff_s = redis_backoff_s
        self.redis_budget_s = redis_budget_s
        self._redis_skipped_until = 0.0  # time.monotonic() before which Redis is not asked
        self._highest: dict[tuple[str, str, int], int] = {}  # per window: the highest count known, Redis's or ours
        self._owed: dict[tuple[str, str, int], int] = {}  # per window: requests counted here, not yet in Redis
        self._alerted: set[tuple[str, str, int]] = set()

    def _redis_resting(self) -> bool:
        """True for `redis_backoff_s` after Redis missed its budget or failed."""
        return time.monotonic() < self._redis_skipped_until

    async def _within_budget(self, command: Awaitable):
        """The command's answer; a miss of the budget or an error is raised and starts Redis's rest."""
        try:
            return await asyncio.wait_for(command, self.redis_budget_s)
        except Exception:
            self._redis_skipped_until = time.monotonic() + self.redis_backoff_s
            raise

    async def hit(self, bucket: str, source: str, per_minute: int) -> float | None:
        """Count one request; None when allowed, else the seconds until the window resets (Retry-After)."""
        window = int(time.time() // WINDOW_S)
        source_id = hashlib.sha256(source.encode()).hexdigest()[:16]  # no raw addresses or tokens in Redis
        marker = (bucket, source_id, window)
        self._prune(window)
        sent = False
        try:
            if self._redis_resting():
                raise TimeoutError("redis resting after a recent miss")
            key = f"{self.prefix}:{bucket}:{source_id}:{window}"
            pipe = self.redis.pipeline(transaction=False)
            pipe.incrby(key, 1 + self._owed.pop(marker, 0))  # with the requests counted here while Redis rested
            pipe.expire(key, WINDOW_S * 2)
            sent = True
            shared, _ = await self._within_budget(pipe.execute())
            count = int(shared)  # Redis's own count: exact, whatever order answers come back in
            self._highest[marker] = max(self._highest.get(marker, 0), count)
        except Exception:  # unreachable or slow Redis: never let throttling delay an emergency
            # Counted here from the highest count known for the window (Redis's or ours), so a switch between the
            # two never starts again from zero. A request not sent is owed to Redis for when it answers again; one
            # sent but not answered in time is taken to have landed (if it did not, one request too many gets
            # through — never one too few).
            if not sent:
                self._owed[marker] = self._owed.get(marker, 0) + 1
            count = self._highest[marker] = self._highest.get(marker, 0) + 1
        if count <= per_minute:
            return None
        if await self._first_refusal(bucket, source_id, window):
            log.warning("rate limit tripped", extra={"bucket": bucket, "source": source_id, "limit": per_minute})
            try:
                await self.on_trip(bucket, source_id, per_minute)
            except Exception:
                log.exception("rate limit alert failed")
        return WINDOW_S - time.time() % WINDOW_S

    def _prune(self, window: int) -> None:
        """Forget counts of windows that are over (at most every so many entries)."""
        if len(self._highest) > 100_000:
            self._highest = {k: v for k, v in self._highest.items() if k[2] >= window}
            self._owed = {k: v for k, v in self._owed.items() if k[2] >= window}

    async def _first_refusal(self, bucket: str, source_id: str, window: int) -> bool:
        """True once per source and window (so one alert), across processes through Redis, else per process.
        Not `count == limit + 1`: under load that count may have gone to a request that fell back to local counts."""
        marker = (bucket, source_id, window)
        if marker in self._alerted:
            return False
        if len(self._alerted) > 100_000:
            self._alerted = {m for m in self._alerted if m[2] >= window}
        self._alerted.add(marker)
        if self._redis_resting():
            return True
        try:
            first = self.redis.set(f"{self.prefix}:alerted:{bucket}:{source_id}:{window}", 1, nx=True, ex=WINDOW_S * 2)
            return bool(await self._within_budget(first))
        except Exception:
            return True  # Redis unreachable or slow: alert from this process rather than not at all


class LoginThrottle:
    """Failed logins counted per user id and per address, each locked out with backoff past its limit.

    The `limit`-th failure within `failure_window_s` locks that user (or address) for `lockout_s`, each further
    failure doubles it, up to `lockout_max_s`. While locked, attempts are refused before any password is hashed —
    even the right password. One password check per user runs at a time (`admit` claims it, `release` ends it), so
    parallel guesses cannot all slip in before the first failure is counted. A success clears the user's failures
    (not the address's: one's own valid account must not reset a guessing address). State lives in Redis so every
    process agrees; while Redis is unreachable each process counts on its own (logins keep working, still
    throttled). The first lockout of each source alerts.
    """

    def __init__(self, redis: aioredis.Redis, namespace: str, *, max_failures_per_user: int,
                 max_failures_per_address: int, lockout_s: float, lockout_max_s: float, failure_window_s: float,
                 redis_budget_s: float = 1.0, on_trip: Callable[[str, str, int], Awaitable[None]] | None = None):
        self.redis = redis
        self.prefix = f"{namespace}:login"
        self.limits = {"user": max_failures_per_user, "address": max_failures_per_address}
        self.lockout_s, self.lockout_max_s, self.failure_window_s = lockout_s, lockout_max_s, failure_window_s
        self.on_trip = on_trip
        self.redis_budget_s = redis_budget_s
        self._local: dict[str, tuple[int, float]] = {}  # key -> (value, expires at, monotonic) without Redis

    @classmethod
    def from_config(cls, redis: aioredis.Redis, config, on_trip=None) -> LoginThrottle:
        return cls(redis, config.redis_namespace, max_failures_per_user=config.login_max_failures_per_user,
                   max_failures_per_address=config.login_max_failures_per_address, lockout_s=config.login_lockout_s,
                   lockout_max_s=config.login_lockout_max_s, failure_window_s=config.login_failure_window_s,
                   redis_budget_s=config.login_redis_budget_s, on_trip=on_trip)

    def _key(self, what: str, kind: str, source: str) -> str:
        source_id = hashlib.sha256(source.encode()).hexdigest()[:16]  # no raw user ids or addresses in Redis
        return f"{self.prefix}:{what}:{kind}:{source_id}"

    async def admit(self, user_id: str, address: str) -> float | None:
        """Claim this user's one password check: None when it may go ahead (then `release` it), else the seconds
        to wait — a lockout of the user or the address, or 1 s while another check of this user is running."""
        locked_s = await self.locked_for(user_id, address)
        if locked_s is not None:
            return locked_s
        key = self._key("checking", "user", user_id)
        try:
            claimed = await asyncio.wait_for(self.redis.set(key, 1, nx=True, px=CHECK_CLAIM_MS), self.redis_budget_s)
        except Exception:
            claimed = self._local_value(key) is None
            if claimed:
                self._local_set(key, 1, CHECK_CLAIM_MS / 1000)
        return None if claimed else 1.0

    async def release(self, user_id: str) -> None:
        key = self._key("checking", "user", user_id)
        self._local.pop(key, None)
        try:
            await asyncio.wait_for(self.redis.delete(key), self.redis_budget_s)
        except Exception:
            pass  # expires by itself after CHECK_CLAIM_MS

    async def locked_for(self, user_id: str, address: str) -> float | None:
        """Seconds until this user and address may try again (the longer lock), or None when neither is locked."""
        keys = [self._key("lock", "user", user_id), self._key("lock", "address", address)]
        try:
            pipe = self.redis.pipeline(transaction=False)
            for key in keys:
                pipe.pttl(key)
            remaining_ms = await asyncio.wait_for(pipe.execute(), self.redis_budget_s)
            remaining_s = max(ms for ms in remaining_ms) / 1000  # -2: no key, -1: never (not set by us)
        except Exception:
            remaining_s = max(self._local_ttl(key) for key in keys)
        return remaining_s if remaining_s > 0 else None

    async def failed(self, user_id: str, address: str) -> None:
        """Count a wrong password for both; lock whichever reached its limit (backoff doubles per failure)."""
        for kind, source in (("user", user_id), ("address", address)):
            failures = await self._count(self._key("fail", kind, source))
            limit = self.limits[kind]
            if failures < limit:
                continue
            lock_s = min(self.lockout_s * 2 ** min(failures - limit, 30), self.lockout_max_s)
            await self._lock(self._key("lock", kind, source), lock_s)
            log.warning("login locked out", extra={"kind": kind, "failures": failures, "lock_s": lock_s})
            if failures == limit and self.on_trip is not None:
                try:
                    await self.on_trip(f"login-{kind}", self._key("", kind, source).rsplit(":", 1)[-1], limit)
                except Exception:
                    log.exception("login lockout alert failed")

    async def succeeded(self, user_id: str) -> None:
        keys = [self._key("fail", "user", user_id), self._key("lock", "user", user_id)]
        for key in keys:
            self._local.pop(key, None)
        try:
            await asyncio.wait_for(self.redis.delete(*keys), self.redis_budget_s)
        except Exception:
            pass  # forgotten when the failure window ends

    async def _count(self, key: str) -> int:
        window_ms = int(self.failure_window_s * 1000)
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.incr(key)
            pipe.pexpire(key, window_ms)
            count, _ = await asyncio.wait_for(pipe.execute(), self.redis_budget_s)
            return int(count)
        except Exception:
            count = (self._local_value(key) or 0) + 1
            self._local_set(key, count, self.failure_window_s)
            return count

    async def _lock(self, key: str, lock_s: float) -> None:
        self._local_set(key, 1, lock_s)  # also here: a Redis that fails on the next check must not unlock it
        try:
            await asyncio.wait_for(self.redis.set(key, 1, px=max(1, int(lock_s * 1000))), self.redis_budget_s)
        except Exception:
            pass

    def _local_set(self, key: str, value: int, ttl_s: float) -> None:
        if len(self._local) > 100_000:
            now = time.monotonic()
            self._local = {k: v for k, v in self._local.items() if v[1] > now}
        self._local[key] = (value, time.monotonic() + ttl_s)

    def _local_value(self, key: str) -> int | None:
        value = self._local.get(key)
        return value[0] if value and value[1] > time.monotonic() else None

    def _local_ttl(self, key: str) -> float:
        value = self._local.get(key)
        return value[1] - time.monotonic() if value else 0.0
