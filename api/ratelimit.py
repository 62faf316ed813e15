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


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, namespace: str, on_trip: Callable[[str, str, int], Awaitable[None]]):
        self.redis = redis
        self.prefix = f"{namespace}:rl"
        self.on_trip = on_trip
        self._local: dict[tuple[str, str, int], int] = {}
        self._alerted: set[tuple[str, str, int]] = set()

    async def hit(self, bucket: str, source: str, per_minute: int) -> float | None:
        """Count one request; None when allowed, else the seconds until the window resets (Retry-After)."""
        window = int(time.time() // WINDOW_S)
        source_id = hashlib.sha256(source.encode()).hexdigest()[:16]  # no raw addresses or tokens in Redis
        try:
            key = f"{self.prefix}:{bucket}:{source_id}:{window}"
            pipe = self.redis.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, WINDOW_S * 2)
            count, _ = await asyncio.wait_for(pipe.execute(), REDIS_BUDGET_S)
        except Exception:  # unreachable or slow Redis: never let throttling delay an emergency
            count = self._count_locally(bucket, source_id, window)
        if count <= per_minute:
            return None
        if await self._first_refusal(bucket, source_id, window):
            log.warning("rate limit tripped", extra={"bucket": bucket, "source": source_id, "limit": per_minute})
            try:
                await self.on_trip(bucket, source_id, per_minute)
            except Exception:
                log.exception("rate limit alert failed")
        return WINDOW_S - time.time() % WINDOW_S

    async def _first_refusal(self, bucket: str, source_id: str, window: int) -> bool:
        """True once per source and window (so one alert), across processes through Redis, else per process.
        Not `count == limit + 1`: under load that count may have gone to a request that fell back to local counts."""
        marker = (bucket, source_id, window)
        if marker in self._alerted:
            return False
        if len(self._alerted) > 100_000:
            self._alerted = {m for m in self._alerted if m[2] >= window}
        self._alerted.add(marker)
        try:
            first = self.redis.set(f"{self.prefix}:alerted:{bucket}:{source_id}:{window}", 1, nx=True, ex=WINDOW_S * 2)
            return bool(await asyncio.wait_for(first, REDIS_BUDGET_S))
        except Exception:
            return True  # Redis unreachable or slow: alert from this process rather than not at all

    def _count_locally(self, bucket: str, source_id: str, window: int) -> int:
        if len(self._local) > 100_000:
            self._local = {k: v for k, v in self._local.items() if k[2] >= window}
        key = (bucket, source_id, window)
        self._local[key] = self._local.get(key, 0) + 1
        return self._local[key]
