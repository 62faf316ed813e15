"""What the edges (HTTP handlers, WebSocket sockets, integration channels) may use: one typed attribute per service.

Built once, in one place (bootstrap.build), then read-only. Two layers, so that edge services that need "the
context" can be built before the full context exists without a half-built object ever being visible:

- `Core`: infrastructure (config, pool, redis, event store, identities, clock, fan-out) and the domain services.
- `AppContext(Core)`: the core plus the edge services built from it (WebSocket commands and snapshots, the
  Twilio/LINE/panic/app-key/hospital-alert channels).

Services that exist only once the road graph has loaded hang off `Roads`: reading them earlier raises
dispatch.errors.RoadsNotReady (→ 503 with Retry-After), never a missing key.

This module imports the types it names only for type checking, so every layer may import it without an import
cycle (tests/test_architecture.py checks both).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from dispatch.errors import PlacesNotReady, RoadsNotReady

if TYPE_CHECKING:
    import asyncpg
    import redis.asyncio as aioredis

    from api.health import HealthCheck
    from api.ratelimit import LoginThrottle, RateLimiter
    from config import Config
    from db.event_store import PostgresEventStore
    from db.identity import IdentityStore
    from db.pool import DatabaseWatch
    from dispatch.agencies import AgencyService
    from dispatch.assignment import AssignmentService
    from dispatch.autodispatch import TriageDispatchService
    from dispatch.coverage import CoverageService
    from dispatch.destination import DestinationService
    from dispatch.duplicates import DuplicateService
    from dispatch.fleet import FleetService
    from dispatch.intake import IntakeService
    from dispatch.interview import InterviewService
    from dispatch.mci import MciService
    from dispatch.mutual_aid import MutualAidService
    from dispatch.places import AutoLocator, LocationService, PlaceService
    from dispatch.ports import Clock, CrewNotifier
    from dispatch.recommendation import RecommendationService
    from dispatch.resources import ResourceService
    from dispatch.shifts import ShiftService
    from dispatch.triage import TriageService
    from dispatch.vitals import VitalsService
    from integrations.apps.service import AppKeys
    from integrations.fhir.service import HospitalAlerts
    from integrations.line.service import LineChannel
    from integrations.panic.mqtt import MqttListener
    from integrations.panic.service import PanicService
    from integrations.twilio.service import TwilioChannel
    from routing.service import RoutingService
    from ws.access import AccessControl
    from ws.avl import Avl
    from ws.commands import WsCommands
    from ws.fanout import EventFeed, Relay
    from ws.hub import Hub
    from ws.snapshots import Snapshots


class Roads:
    """The services that need the road graph. Empty at start; `loaded` fills both at once when the graph is ready."""

    def __init__(self) -> None:
        self._routing: RoutingService | None = None
        self._coverage: CoverageService | None = None

    @property
    def ready(self) -> bool:
        """True once the road graph has loaded (never goes back to False)."""
        return self._routing is not None

    @property
    def routing(self) -> RoutingService:
        """The road graph's routing service; raises RoadsNotReady until the graph has loaded."""
        if self._routing is None:
            raise RoadsNotReady()
        return self._routing

    @property
    def coverage(self) -> CoverageService:
        """The coverage service (it routes on the graph); raises RoadsNotReady until the graph has loaded."""
        if self._coverage is None:
            raise RoadsNotReady()
        return self._coverage

    def loaded(self, routing: RoutingService, coverage: CoverageService) -> None:
        """Publish both services together (coverage first, so `ready` implies both); called once by the server."""
        self._coverage = coverage
        self._routing = routing


class Places:
    """Place search over the gazetteer, built after the road graph. Empty at start; `loaded` fills it when ready."""

    def __init__(self) -> None:
        self._search: PlaceService | None = None
        self._locator: AutoLocator | None = None

    @property
    def ready(self) -> bool:
        return self._search is not None

    @property
    def search(self) -> PlaceService:
        """Geocoding and reverse geocoding; raises PlacesNotReady (503 with Retry-After) until loaded."""
        if self._search is None:
            raise PlacesNotReady()
        return self._search

    @property
    def locator(self) -> AutoLocator | None:
        """Places address-only reports by their best candidate; None until loaded (they are placed then)."""
        return self._locator

    async def describe(self, lat: float, lon: float) -> dict | None:
        """The reverse-geocoded description of a point, or None while place search is loading."""
        return await self._search.reverse(lat, lon) if self._search is not None else None

    def loaded(self, search: PlaceService, locator: AutoLocator) -> None:
        self._locator = locator
        self._search = search


@dataclass
class Core:
    """Infrastructure and domain services: everything an edge service may depend on."""

    config: Config
    pool: asyncpg.Pool
    database: DatabaseWatch  # which PostgreSQL node is primary; degraded while it fails over
    redis: aioredis.Redis
    store: PostgresEventStore
    identities: IdentityStore
    clock: Clock
    hub: Hub
    feed: EventFeed
    relay: Relay
    access: AccessControl
    avl: Avl
    rate_limiter: RateLimiter
    login_throttle: LoginThrottle
    notifier: CrewNotifier  # crew SMS/voice: Twilio when configured, else a recording notifier
    roads: Roads
    intake: IntakeService
    triage: TriageService
    triage_dispatch: TriageDispatchService
    fleet: FleetService
    recommendations: RecommendationService
    assignments: AssignmentService
    destinations: DestinationService
    duplicates: DuplicateService
    mci: MciService
    vitals: VitalsService
    interview: InterviewService
    places: Places
    locations: LocationService
    resources: ResourceService  # the editable registry: stations, units, hospitals, users (issue #19)
    agencies: AgencyService
    shifts: ShiftService
    mutual_aid: MutualAidService

    @property
    def routing(self) -> RoutingService:
        """The routing service; raises RoadsNotReady (→ 503) until the road graph has loaded."""
        return self.roads.routing

    @property
    def coverage(self) -> CoverageService:
        """The coverage service; raises RoadsNotReady (→ 503) until the road graph has loaded."""
        return self.roads.coverage

    @property
    def realtime_degraded(self) -> bool:
        """True while the Redis fan-out (feed or relay) is failing over to polling PostgreSQL."""
        return bool(self.feed.degraded or self.relay.degraded)


@dataclass
class AppContext(Core):
    """The core plus the edge services built from it; what handlers and sockets read as `self.ctx.<service>`."""

    ws_commands: WsCommands
    snapshots: Snapshots
    twilio: TwilioChannel
    panic: PanicService
    apps: AppKeys
    line: LineChannel
    hospital_alerts: HospitalAlerts
    health: HealthCheck
    mqtt_listener: MqttListener | None  # panic-button intake over MQTT: /healthz fails while it is down

    @classmethod
    def from_core(cls, core: Core, **edges: object) -> AppContext:
        """The context holding the same core objects as `core` plus `edges`; TypeError if an edge is missing."""
        return cls(**{f.name: getattr(core, f.name) for f in fields(Core)}, **edges)
