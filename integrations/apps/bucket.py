"""Token buckets per API key in Redis (shared by every server process), with an in-process fallback.

A bucket holds up to `burst` tokens and refills at `rate_per_min / 60` tokens a second; each request takes one.
If Redis is slow or down each process keeps its own buckets, rather than refusing emergencies.
"""
from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

REDIS_BUDGET_S = 0.05

# KEYS[1] bucket hash; ARGV: now (s), refill per s, burst. Returns {allowed 0/1, seconds until a token (x1000)}.
_TAKE = """
local now, rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]) or burst, tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed, wait = 0, 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return {allowed, math.ceil(wait * 1000)}
"""


class TokenBuckets:
    def __init__(self, redis: aioredis.Redis, namespace: str):
        self.redis = redis
        self.prefix = f"{namespace}:tb"
        self._script = redis.register_script(_TAKE)
        self._local: dict[str, tuple[float, float]] = {}

    async def take(self, source: str, rate_per_min: int, burst: int) -> float | None:
        """Take one token for `source`: None if allowed, else seconds until the next token (for Retry-After)."""
        rate = max(rate_per_min, 1) / 60.0
        now = time.time()
        try:
            allowed, wait_ms = await asyncio.wait_for(
                self._script(keys=[f"{self.prefix}:{source}"], args=[now, rate, burst]), REDIS_BUDGET_S)
            return None if allowed else wait_ms / 1000.0
        except Exception:
            return self._take_locally(source, now, rate, burst)

    def _take_locally(self, source: str, now: float, rate: float, burst: int) -> float | None:
        tokens, at = self._local.get(source, (float(burst), now))
        tokens = min(burst, tokens + max(0.0, now - at) * rate)
        if tokens >= 1:
            self._local[source] = (tokens - 1, now)
            return None
        self._local[source] = (tokens, now)
        return (1 - tokens) / rate
