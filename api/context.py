"""What the edge handlers may call: built once by server.py and put in the Tornado application settings."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from config import Config
from db.event_store import PostgresEventStore
from db.identity import IdentityStore
from dispatch.intake import IntakeService


@dataclass
class AppContext:
    config: Config
    pool: asyncpg.Pool
    redis: aioredis.Redis
    store: PostgresEventStore
    identities: IdentityStore
    intake: IntakeService
    clock: Any = None  # dispatch.ports.Clock
    access: Any = None  # ws.access.AccessControl
    avl: Any = None  # ws.avl.Avl
    rate_limiter: Any = None  # api.ratelimit.RateLimiter
    hub: Any = None  # ws.hub.Hub
    feed: Any = None  # ws.fanout.EventFeed
    relay: Any = None  # ws.fanout.Relay
    routing: Any = None  # routing.service.RoutingService, once the graph is loaded
    services: dict[str, Any] = field(default_factory=dict)  # domain services by name, added as they land

    @property
    def realtime_degraded(self) -> bool:
        return bool((self.feed and self.feed.degraded) or (self.relay and self.relay.degraded))
