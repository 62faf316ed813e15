"""Liveness of the parts a dispatcher depends on, and Prometheus metrics."""
from __future__ import annotations

import asyncio

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.base import BaseHandler

CHECK_TIMEOUT_S = 2.0


class HealthHandler(BaseHandler):
    async def get(self) -> None:
        """GET liveness: PostgreSQL and Redis checks with timings, road graph and realtime state; 503 if a store is
        down."""
        checks = {"postgresql": self._postgres(), "redis": self._redis()}
        results = await asyncio.gather(*(self._timed(c) for c in checks.values()))
        report = dict(zip(checks, results))
        failing = [name for name, result in report.items() if result != "ok"]
        body = {
            "status": "ok" if not failing else "failing",
            "failing": failing,
            "checks": report,
            "realtime_degraded": self.ctx.realtime_degraded,
            "routing": "loaded" if self.ctx.roads.ready else "not loaded",
        }
        self.send_json(body, 503 if failing else 200)

    async def _timed(self, check) -> str:
        try:
            await asyncio.wait_for(check, CHECK_TIMEOUT_S)
            return "ok"
        except Exception as exc:  # any failure means "not usable now"; say what it was
            return f"{type(exc).__name__}: {exc}"[:200] or type(exc).__name__

    async def _postgres(self) -> None:
        await self.ctx.pool.fetchval("SELECT 1")

    async def _redis(self) -> None:
        await self.ctx.redis.ping()


class MetricsHandler(BaseHandler):
    async def get(self) -> None:
        """GET Prometheus metrics in the text exposition format."""
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest())
