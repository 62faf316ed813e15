"""The composition root's one builder: the whole object graph, typed, built once; and the Tornado application.

server.py does the I/O around it (embedded services, pool, migrations, start/stop); this module only wires.
Nothing imports it except server.py and tests, so every other layer stays free of the others.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis
import tornado.web
import xstatic.pkg.leaflet

from api.base import NotFoundHandler
from api.health import HealthCheck, HealthHandler, MetricsHandler
from api.pages import PageHandler
from api.ratelimit import LoginThrottle, RateLimiter
from api.routes import API_ROUTES
from app_context import AppContext, Core, Places, Roads
from config import ESCALATION_STEPS, Config, ConfigError
from db.event_store import PostgresEventStore
from db.identity import IdentityStore
from db.pool import DatabaseWatch
from dispatch.access import Visibility
from dispatch.aed import AedPoint, read_aed_file
from dispatch.agencies import AgencyService
from dispatch.assignment import AssignmentService, DispatchPolicy, EscalationLadder
from dispatch.autodispatch import TriageDispatchService
from dispatch.destination import DestinationService
from dispatch.duplicates import DuplicateService
from dispatch.errors import Invalid
from dispatch.fleet import FleetService
from dispatch.intake import IntakeService, ServiceArea
from dispatch.interview import InterviewService
from dispatch.mci import MciService
from dispatch.mutual_aid import MutualAidService
from dispatch.places import LocationService
from dispatch.ports import SystemClock
from dispatch.recommendation import RecommendationService
from dispatch.resources import ResourceService
from dispatch.shifts import ShiftService
from dispatch.triage import TriageService
from dispatch.vitals import VitalsService
from integrations.wiring import Integrations, crew_notifier
from telemetry.logs import log_request
from ws.access import AccessControl
from ws.avl import Avl
from ws.commands import WsCommands
from ws.fanout import EventFeed, Relay
from ws.handler import EventSocket
from ws.hub import Hub
from ws.snapshots import Snapshots

WEB_DIR = Path(__file__).resolve().parent / "web"


@dataclass
class Wired:
    """What `build` returns: the context handlers read, plus the two parts the server starts and stops itself."""

    ctx: AppContext
    ladder: EscalationLadder
    integrations: Integrations


class RoadEtas:
    """The domain's EtaProvider: the road graph once it has loaded; RoadsNotReady (→ 503) until then."""

    def __init__(self, roads: Roads):
        self.roads = roads

    async def etas_to(self, target, origins):
        """Road ETAs from each origin to `target` (seconds; see RoutingService.etas_to); RoadsNotReady before the
        graph has loaded."""
        return await self.roads.routing.etas_to(target, origins)


def aed_points(config: Config) -> list[AedPoint]:
    """The public AED points of EMS_AED_FILE (none when unset); ConfigError lists every bad feature of a bad file."""
    if config.aed_file is None:
        return []
    try:
        return read_aed_file(config.aed_file)
    except Invalid as exc:
        raise ConfigError([f"EMS_AED_FILE: {e.field}: {e.reason}" for e in exc.errors]) from None


def build(config: Config, pool: asyncpg.Pool, redis: aioredis.Redis, on_event, *,
          database_url: str | None = None, aeds: list[AedPoint] | None = None) -> Wired:
    """Build every service once, in dependency order, from connected resources. Starts nothing (no tasks, no I/O).

    Parameters
    ----------
    config : Config
        The validated settings.
    pool, redis
        The connected PostgreSQL pool (schema migrated) and Redis client.
    on_event : callable
        Called with every committed event, once, in seq order, by the EventFeed (the server's fan-out hook).
    database_url : str, optional
        The pool's URL (every node of a highly available cluster), for the database watch's own probes.
    aeds : list of AedPoint, optional
        The public AED points, already read (server.py reads them before anything opens); None reads EMS_AED_FILE.

    Returns
    -------
    Wired
        The typed context, the escalation ladder and the integrations (both still to be started).
    """
    database = DatabaseWatch(pool, database_url or config.database_url, connect_timeout_s=config.db_connect_timeout_s)
    store = PostgresEventStore(pool, lock_timeout_s=config.append_lock_timeout_s,
                               failover_wait_s=config.db_failover_wait_s, watch=database)
    stream = f"{config.redis_namespace}:events"
    relay = Relay(store, redis, stream=stream, idle_poll_s=config.relay_idle_poll_s)
    store.on_commit = relay.wake
    identities = IdentityStore(pool, verify_cache_s=config.token_verify_cache_s)
    hub = Hub(Visibility(), on_access_revoked=identities.forget)
    feed = EventFeed(store, redis, on_event, stream=stream, poll_s=config.feed_poll_s)
    feed.on_degraded_change = lambda degraded: hub.broadcast_alert({"kind": "realtime_degraded", "active": degraded})
    database.on_change = lambda degraded: hub.broadcast_alert({"kind": "database_degraded", "active": degraded})
    clock = SystemClock(config.clock_offset_s)
    access = AccessControl(identities, store, clock, token_ttl=timedelta(hours=config.token_ttl_hours))
    avl = Avl(redis, pool, config.redis_namespace, min_interval_s=config.avl_min_interval_s,
              track_every_s=config.avl_track_every_s, track_min_move_m=config.avl_track_min_move_m)
    policy = DispatchPolicy(ack_timeout_red_s=config.ack_timeout_red_s,
                            ack_timeout_other_s=config.ack_timeout_other_s,
                            auto_dispatch_red=config.auto_dispatch_red,
                            ladder=list(zip(config.escalation_steps_s, ESCALATION_STEPS)))
    roads = Roads()
    etas = RoadEtas(roads)
    notifier = crew_notifier(config, pool)
    recommendations = RecommendationService(store, etas, avl)
    triage = TriageService(store, clock)
    assignments = AssignmentService(store, clock, recommendations, policy)
    triage_dispatch = TriageDispatchService(triage, assignments)
    intake = IntakeService(store, clock, ServiceArea(*config.service_area))
    places = Places()
    core = Core(
        config=config, pool=pool, database=database, redis=redis, store=store, identities=identities, clock=clock,
        hub=hub, feed=feed, relay=relay, access=access, avl=avl,
        rate_limiter=RateLimiter(redis, config.redis_namespace, on_trip=access.rate_limit_tripped),
        login_throttle=LoginThrottle.from_config(redis, config, on_trip=access.rate_limit_tripped),
        notifier=notifier, roads=roads,
        intake=intake,
        triage=triage,
        triage_dispatch=triage_dispatch,
        fleet=FleetService(store, clock),
        recommendations=recommendations,
        assignments=assignments,
        destinations=DestinationService(store, clock, etas, avl),
        duplicates=DuplicateService(store, clock),
        mci=MciService(store, clock, etas),
        vitals=VitalsService(store, clock),
        interview=InterviewService(clock, triage_dispatch, store,
                                   aed_points=aed_points(config) if aeds is None else aeds,
                                   aed_search_m=config.aed_search_m),
        places=places,
        locations=LocationService(store, clock, intake.area, describe_point=places.describe),
        resources=ResourceService(store, clock, identities),
        agencies=AgencyService(store, clock),
        shifts=ShiftService(store, clock),
        mutual_aid=MutualAidService(store, clock, assignments, answer_timeout_s=config.mutual_aid_answer_timeout_s),
    )
    integrations = Integrations(core)
    ctx = AppContext.from_core(
        core, ws_commands=WsCommands(core), snapshots=Snapshots(core),
        twilio=integrations.twilio, panic=integrations.panic, apps=integrations.apps, line=integrations.line,
        hospital_alerts=integrations.hospital_alerts,
        health=HealthCheck(core, config.health_cache_s, config.health_redis_slow_ms),
        mqtt_listener=integrations.mqtt,
    )
    ladder = EscalationLadder(store, clock, policy, notifier, recommendations, poll_s=config.escalation_poll_s)
    return Wired(ctx=ctx, ladder=ladder, integrations=integrations)


def make_app(ctx: AppContext, extra_routes: list[tuple] | None = None) -> tornado.web.Application:
    """The Tornado application: every URL (health, the WebSocket, the API table, the integrations', pages)."""
    routes = [
        (r"/healthz", HealthHandler),
        (r"/metrics", MetricsHandler),
        (r"/ws", EventSocket),
        *API_ROUTES,
        *(extra_routes or []),
        (r"/api/.*", NotFoundHandler),
    ]
    routes.append((r"/static/leaflet/(.*)", PageHandler, {"path": xstatic.pkg.leaflet.BASE_DIR}))
    if WEB_DIR.exists():
        routes.append((r"/(.*)", PageHandler, {"path": str(WEB_DIR), "default_filename": "index.html"}))
    return tornado.web.Application(
        routes,
        ctx=ctx,
        default_handler_class=NotFoundHandler,
        log_function=log_request,
        websocket_max_message_size=ctx.config.ws_max_message_bytes,
        websocket_ping_interval=20,
        websocket_ping_timeout=20,
    )
