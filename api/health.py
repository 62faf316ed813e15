"""Liveness of the parts a dispatcher depends on, and Prometheus metrics."""
from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.base import BaseHandler
from telemetry.metrics import REDIS_MASTER

CHECK_TIMEOUT_S = 2.0


class HealthCheck:
    """PostgreSQL and Redis probed at most once per `cache_s`: concurrent callers share the probe in flight and
    later ones its result, so /healthz stays cheap when a load balancer (or a flood) asks often."""

    def __init__(self, ctx: Any, cache_s: float, redis_slow_ms: float):
        self.ctx = ctx
        self.cache_s = cache_s
        self.redis_slow_ms = redis_slow_ms
        self.redis_ping_ms: float | None = None  # the last probe's Redis round trip
        self.redis_master: str | None = None  # host:port of the Redis master (Sentinel's answer when configured)
        self._report: dict[str, str] | None = None
        self._checked_at = float("-inf")  # monotonic seconds
        self._running: asyncio.Task | None = None

    async def report(self) -> dict[str, str]:
        """{part: "ok" or what failed}; fresh within `cache_s`."""
        if self._report is not None and time.monotonic() - self._checked_at < self.cache_s:
            return self._report
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self._probe())
        return await asyncio.shield(self._running)  # one caller hanging up must not cancel the others' probe

    async def _probe(self) -> dict[str, str]:
        checks = {"postgresql": self._postgres(), "redis": self._redis()}
        results = await asyncio.gather(*(self._timed(c) for c in checks.values()))
        self._report, self._checked_at = dict(zip(checks, results)), time.monotonic()
        return self._report

    async def _timed(self, check) -> str:
        try:
            await asyncio.wait_for(check, CHECK_TIMEOUT_S)
            return "ok"
        except Exception as exc:  # any failure means "not usable now"; say what it was
            return f"{type(exc).__name__}: {exc}"[:200] or type(exc).__name__

    async def _postgres(self) -> None:
        await self.ctx.pool.fetchval("SELECT 1")

    async def _redis(self) -> None:
        started = time.perf_counter()
        await self.ctx.redis.ping()
        self.redis_ping_ms = (time.perf_counter() - started) * 1000
        master = await redis_master(self.ctx.redis)
        if master != self.redis_master:
            self.redis_master = master
            REDIS_MASTER.info({"address": master or ""})

    @property
    def redis_slow(self) -> bool:
        """Redis answers, but slower than fan-out can keep up with: live frames lag (RELIABILITY 9)."""
        return self.redis_ping_ms is not None and self.redis_ping_ms > self.redis_slow_ms


async def redis_master(redis) -> str | None:
    """host:port of the Redis master: asked of the Sentinels for a Sentinel-managed client, else its URL's."""
    pool = redis.connection_pool
    if hasattr(pool, "get_master_address"):
        host, port = await pool.get_master_address()
    else:
        host, port = pool.connection_kwargs.get("host"), pool.connection_kwargs.get("port")
    return f"{host}:{port}" if host else None


class HealthHandler(BaseHandler):
    """Not throttled: a load balancer polls it from one address, and a 429 would take a healthy node out."""

    agency_scope = "open"

    async def prepare(self) -> None:
        self.limit_body()  # no token and no rate budget; the check itself is cached (HealthCheck)

    async def get(self) -> None:
        health = self.ctx.health
        report = dict(await health.report())
        listener = self.ctx.mqtt_listener
        if listener is not None:  # panic-button intake: a crashed listener fails health until it runs again
            report["mqtt_listener"] = listener.health
        failing = [name for name, result in report.items() if result != "ok"]
        body = {
            "status": "ok" if not failing else "failing",
            "failing": failing,
            "checks": report,
            "realtime_degraded": self.ctx.realtime_degraded or health.redis_slow,
            "database_degraded": self.ctx.database.degraded,
            "database_primary": self.ctx.database.primary,
            "redis_master": health.redis_master,
            "redis_ping_ms": None if health.redis_ping_ms is None else round(health.redis_ping_ms, 1),
            "routing": "loaded" if self.ctx.roads.ready else "not loaded",
        }
        self.send_json(body, 503 if failing else 200)


class MetricsHandler(BaseHandler):
    agency_scope = "open"

    async def get(self) -> None:
        """GET Prometheus metrics in the text exposition format."""
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest())
