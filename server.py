"""Composition root: read the config, build pools, graph, services and the Tornado app; run until signalled.

    python server.py [--port 8888]      or      ems [--port 8888]
"""
from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import logging
import signal
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
import tornado.httpserver
from redis.asyncio.sentinel import Sentinel

from api.proxies import TrustedProxies, parse_networks
from app_context import AppContext
from bootstrap import aed_points, build, make_app
from config import Config, ConfigError
from db.gazetteer import Gazetteer
from db.migrate import migrate
from db.pool import create_pool, ensure_database
from dispatch.coverage import CoverageService, demand_grid
from dispatch.assignment import EscalationLadder
from dispatch.loops import BackgroundLoop
from dispatch.places import AutoLocator, PlaceService, RankingSettings
from integrations.wiring import Integrations
from routing.build import load_graph
from routing.closures import apply_road_event
from routing.eta import StraightLine
from routing.places import build_records, fleet_records, nearest_named_road, poi_files, source_key
from routing.profile import ProfileError, ProfileHours, load_profile
from routing.search import measure_search_cost_ms, search_engine
from routing.service import RoutingService
from runtime import local_services
from runtime.event_loop import install_fast_loop
from telemetry import logs, metrics
from ws.avl import position_of

log = logging.getLogger("ems.server")


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@dataclass
class Server:
    """A running server process; `start` then `stop`. Tests start it in-process on a free port."""

    config: Config
    ctx: AppContext | None = None
    http: tornado.httpserver.HTTPServer | None = None
    local: list[local_services.LocalService] = field(default_factory=list)
    background: list[asyncio.Task] = field(default_factory=list)
    loops: list[BackgroundLoop] = field(default_factory=list)
    integrations: Integrations | None = None
    ladder: EscalationLadder | None = None
    chores: set[asyncio.Task] = field(default_factory=set)  # short tasks started by events (geocoding, fleet sites)
    # the process serves only this server (`serve`): its road graph is frozen out of the collector once loaded;
    # tests start many servers in one process, whose garbage a freeze would keep
    sole_server: bool = False
    _fleet_refresh_running: bool = False  # see _refresh_fleet_sites
    _fleet_refresh_again: bool = False

    async def start(self) -> None:
        config = self.config
        started = time.monotonic()
        trusted_proxies = parse_networks(config.trusted_proxies)  # a bad EMS_TRUSTED_PROXIES fails before anything opens
        aeds = aed_points(config)  # so does a bad EMS_AED_FILE (ConfigError naming each bad feature)
        database_url, redis_url = config.database_url, config.redis_url
        if database_url is None:
            service = local_services.postgres(config.var_dir)
            self.local.append(service)
            database_url = _with_database(service.url, "ems")
        if redis_url is None and not config.redis_sentinels:
            service = local_services.redis(config.var_dir)
            self.local.append(service)
            redis_url = service.url
        await ensure_database(database_url, connect_timeout_s=config.db_connect_timeout_s)
        pool = await create_pool(database_url, connect_timeout_s=config.db_connect_timeout_s,
                                 command_timeout_s=config.db_command_timeout_s, idle_close_s=config.db_idle_close_s)
        applied = await migrate(pool)
        redis = connect_redis(config, redis_url)
        wired = build(config, pool, redis, self._on_event, database_url=database_url, aeds=aeds)
        self.ctx = ctx = wired.ctx
        self.ladder, self.integrations = wired.ladder, wired.integrations
        store, hub = ctx.store, ctx.hub
        hub.visibility.load(await store.list("incidents", open_only=True, limit=100_000),
                            await store.list("units", limit=100_000))
        self.loops.append(BackgroundLoop("token recheck", lambda: hub.recheck_tokens(ctx.identities.verify),
                                         interval_s=config.ws_token_recheck_s, logger=log, delay_first=True))
        fan_out = BackgroundLoop("position fan-out", lambda: ctx.avl.fan_out_to_dispatchers(
            hub, config.avl_fanout_interval_s, on_subscribed=fan_out.recovered, on_positions=self._snap_positions),
            interval_s=1.0, logger=log)
        self.loops.append(fan_out)
        self.loops.append(BackgroundLoop("database watch", ctx.database.check, interval_s=1.0, logger=log))
        self.loops.append(BackgroundLoop("mutual-aid timeouts", ctx.mutual_aid.expire_due,
                                         interval_s=config.mutual_aid_poll_s, logger=log))
        for loop in self.loops:
            loop.start()
        await ctx.relay.start()
        await ctx.feed.start(from_seq=await store.last_seq())
        await self.ladder.start()
        self.background.append(asyncio.create_task(self._load_routing()))
        await self.integrations.start()  # before the first request: alert delivery knows where it starts
        # forwarding headers are believed from EMS_TRUSTED_PROXIES only (not Tornado's xheaders: from anyone)
        self.http = tornado.httpserver.HTTPServer(
            TrustedProxies(make_app(ctx, self.integrations.routes()), trusted_proxies),
            max_body_size=max(config.max_body_bytes * 16, 16 << 20), xheaders=False,
            idle_connection_timeout=config.http_idle_timeout_s, body_timeout=config.http_body_timeout_s,
        )
        self.http.listen(config.port, address=config.host)
        log.info("listening", extra={"url": config.base_url, "migrations_applied": applied,
                                     "startup_s": round(time.monotonic() - started, 2),
                                     "database": urlsplit(database_url).netloc.rsplit("@", 1)[-1],
                                     "redis": ",".join(config.redis_sentinels) or urlsplit(redis_url).netloc})
        if config.demo:
            from runtime.demo import seed_demo

            await seed_demo(ctx)

    def _on_event(self, event) -> None:
        """Every committed event, once, in seq order (from the EventFeed)."""
        self.ctx.hub.deliver(event)
        if event.stream == "roads" and self.ctx.roads.ready:
            apply_road_event(self.ctx.routing, event.type, event.payload)
        if event.type == "IncidentReported" and event.payload.get("location") is None:
            text = event.payload.get("address") or (  # a text message is often where the caller is
                event.payload.get("chief_complaint") if event.payload.get("channel") == "sms" else None)
            if text:
                self._chore(self._locate(event.payload["incident_id"], text))
        elif event.type in ("HospitalRegistered", "UnitRegistered") and self.ctx.places.ready:
            self._chore(self._refresh_fleet_sites(self.ctx.places.search.gazetteer))

    def _snap_positions(self, records: list[dict]) -> None:
        """Have routing snap the units' new positions (and make their walks) on its background thread, so a
        ranking finds them ready (docs/routing.md, issue #20); nothing before the graph has loaded."""
        if not self.ctx.roads.ready:
            return
        self.ctx.roads.routing.note_positions_soon([position_of(record) for record in records])

    def _chore(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self.chores.add(task)
        task.add_done_callback(self.chores.discard)

    async def _locate(self, incident_id: int, address: str) -> None:
        """Place an address-only report by its best geocoder candidate (after intake committed; never fatal)."""
        locator = self.ctx.places.locator
        if locator is None:
            return  # the gazetteer is still loading: _load_places looks at open incidents when it is ready
        try:
            await locator.locate(incident_id, address)
        except Exception:
            log.exception("automatic geocoding failed", extra={"incident": incident_id})

    async def _refresh_fleet_sites(self, gazetteer: Gazetteer) -> None:
        """The fleet's stations and hospitals into the gazetteer. One refresh at a time, and registrations that come
        meanwhile share one more: each refresh holds a pooled connection while it waits for the gazetteer's lock,
        and a burst of registrations (the demo seed, an import) queued one each and emptied the pool — a crew's
        tablet then waited seconds for its snapshot."""
        if self._fleet_refresh_running:
            self._fleet_refresh_again = True
            return
        self._fleet_refresh_running = True
        try:
            while True:
                self._fleet_refresh_again = False
                try:
                    await gazetteer.replace_fleet(fleet_records(await self.ctx.store.list("hospitals", limit=100_000),
                                                                await self.ctx.store.list("units", limit=100_000)))
                except Exception:
                    log.exception("gazetteer: fleet sites not refreshed")
                if not self._fleet_refresh_again:
                    return
        finally:
            self._fleet_refresh_running = False

    async def _load_places(self, graph, routing: RoutingService) -> None:
        """Build the gazetteer when the extract or POI files changed (keyed by their hash), then serve places."""
        config, ctx = self.config, self.ctx
        loop = asyncio.get_running_loop()
        try:
            gazetteer = Gazetteer(ctx.pool, threshold=config.geocode_similarity_threshold)
            pois = poi_files(config.osm_file, config.places_poi_files)
            key = await loop.run_in_executor(None, source_key, config.osm_file, pois)
            if await gazetteer.loaded_key() != key:
                records = await loop.run_in_executor(None, functools.partial(
                    build_records, config.osm_file, pois, graph, reachable_m=config.max_snap_distance_m))
                if await gazetteer.replace(key, records, {"osm_file": config.osm_file.name,
                                                          "poi_files": [p.name for p in pois]}):
                    log.info("gazetteer built", extra={"places": len(records), "key": key[:12]})
            settings = RankingSettings(near_weight=config.geocode_near_weight, near_scale_m=config.geocode_near_scale_m,
                                       min_score=config.geocode_min_score)
            places = PlaceService(gazetteer, settings, candidates=config.geocode_candidates,
                                  landmark_max_m=config.reverse_landmark_max_m,
                                  nearest_road=lambda lat, lon: nearest_named_road(routing, lat, lon,
                                                                                   config.reverse_road_max_m))
            await self._refresh_fleet_sites(gazetteer)
            ctx.places.loaded(places, AutoLocator(ctx.store, ctx.clock, places, config.geocode_auto_min_confidence,
                                                  area=ctx.intake.area))
            for incident in await ctx.store.list("incidents", open_only=True, limit=100_000):
                if incident.location is None and incident.address:  # reported while the gazetteer was loading
                    self._chore(self._locate(incident.id, incident.address))
        except Exception:
            log.exception("gazetteer failed to load; place search will be unavailable")

    async def _load_routing(self) -> None:
        """Build or load the road graph off the event loop; the API answers 503 for routing until it is ready."""
        config, ctx = self.config, self.ctx
        try:
            graph = await asyncio.get_running_loop().run_in_executor(
                None, lambda: load_graph(config.osm_file, Path(config.var_dir) / "cache",
                                         speed_factor=config.speed_factor, progress=sys.stderr.isatty()))
            # Off the event loop too: the CCH orders and customizes the graph (seconds on a province).
            routing = await asyncio.get_running_loop().run_in_executor(None, lambda: RoutingService(
                graph, max_eta_s=config.max_eta_s, max_snap_distance_m=config.max_snap_distance_m,
                straight_line=StraightLine(config.straight_line_speed_kmh, config.straight_line_detour_factor),
                engine=config.routing_engine, uturn_penalty_s=config.uturn_penalty_s))
            for event in await ctx.store.stream_events("roads"):
                apply_road_event(routing, event.type, event.payload)
            await self._speed_profile(routing)
            nodes = graph.usable_nodes()  # demand where the roads are: road density as the population proxy
            ctx.roads.loaded(routing, CoverageService(ctx.store, ctx.clock, routing, ctx.avl, demand_grid(
                graph.bounds, config.coverage_cell_m, graph.node_lat[nodes], graph.node_lon[nodes]),
                post_rows_ttl_s=config.coverage_post_rows_ttl_s))
            if self.sole_server:  # the graph and hierarchy live as long as the process: out of the collector's
                gc.freeze()  # reach, so a full collection (187-430 ms over ~820,000 objects on a province-sized
                # graph) does not stall whatever request runs then
            log.info("road graph ready", extra={"nodes": graph.node_count, "edges": graph.edge_count})
            self.background.append(asyncio.create_task(self._load_places(graph, routing)))
            said = await asyncio.get_running_loop().run_in_executor(None, _search_engine_and_cost, routing,
                                                                     config.max_eta_s)
            log.info("routing search engine", extra=said)
        except Exception:
            log.exception("road graph failed to load; recommendations will be unavailable")

    async def _speed_profile(self, routing: RoutingService) -> None:
        """Load the learned time-of-day profile, if any, apply the current hour and follow the clock."""
        config = self.config
        try:
            profile = load_profile(config.speed_profile_file, Path(config.var_dir) / "speed-profile.json",
                                   config.speed_factor)
        except (OSError, ProfileError) as exc:  # routing goes on with the defaults: a bad file must not stop it
            log.error("speed profile not used: %s", exc)
            return
        if profile is None:
            log.info("speed profile: none, the calibrated defaults all day")
            return
        hours = ProfileHours(routing, profile)

        async def follow_the_hour():
            await asyncio.get_running_loop().run_in_executor(None, hours.apply, self.ctx.clock.now())

        try:
            await follow_the_hour()
        except ValueError as exc:  # as for a bad file: routing goes on with the defaults
            log.error("speed profile not used: %s", exc)
            return
        log.info("speed profile loaded", extra={"speed_profile": profile.version, "source": profile.source,
                                                "classes": sorted(profile.factors)})
        loop = BackgroundLoop("speed profile hours", follow_the_hour, interval_s=60, logger=log, delay_first=True)
        self.loops.append(loop)
        loop.start()

    async def stop(self) -> None:
        """Stop serving, then close everything; a part that does not stop within 5 s is abandoned and logged."""
        if self.http:
            self.http.stop()
        for task in [*self.background, *self.chores]:
            task.cancel()
        for loop in self.loops:
            await loop.stop()
        if self.ctx:
            self.ctx.database.close()  # its probe connection, after the watch loop has stopped
        steps = []
        if self.integrations:
            steps.append(("integrations", self.integrations.stop()))
        if self.ladder:
            steps.append(("ladder", self.ladder.stop()))
        if self.ctx:
            steps += [("feed", self.ctx.feed.stop()), ("relay", self.ctx.relay.stop()),
                      ("redis", self.ctx.redis.aclose()), ("pool", self.ctx.pool.close())]
        for name, step in steps:
            try:
                await asyncio.wait_for(step, 5)
            except Exception as exc:
                log.error("stop: %s did not stop cleanly: %r", name, exc)
                if name == "pool":
                    self.ctx.pool.terminate()
        for service in reversed(self.local):
            service.stop()


def connect_redis(config: Config, url: str | None) -> aioredis.Redis:
    """The one Redis client of the process: the master named by the Sentinels when EMS_REDIS_SENTINELS is set
    (after a failover its connections find the new master by themselves), else the one at `url`."""
    options = dict(socket_timeout=5, socket_connect_timeout=2, health_check_interval=10)
    if config.redis_sentinels:
        sentinels = [(host, int(port)) for host, _, port in (s.rpartition(":") for s in config.redis_sentinels)]
        sentinel = Sentinel(sentinels, sentinel_kwargs={"socket_timeout": 1, "socket_connect_timeout": 1})
        return sentinel.master_for(config.redis_service, **options)
    return aioredis.from_url(url, **options)


def _search_engine_and_cost(routing: RoutingService, max_eta_s: float) -> dict:
    """Which searches run and what they cost (ms), for the start-up log and /metrics: the Dijkstra (native C or
    the Python fallback) that searches routes, and ETAs too without the CCH; the engine that ranks units
    (`cch`, or that Dijkstra); one full bounded Dijkstra, and one uncached ranking of 50 units."""
    graph = routing.graph
    said = {"routing_search_engine": search_engine(), "routing_eta_engine": routing.engine,
            "search_cost_ms": round(measure_search_cost_ms(graph.rev_offsets, graph.rev_targets, graph.rev_edges,
                                                           graph.edge_time_s, graph.edge_length_m, max_eta_s,
                                                           samples=10), 2),
            "eta_cost_ms": round(routing.measure_eta_cost_ms(), 2)}
    metrics.ROUTING_SEARCH_ENGINE.info({"engine": said["routing_search_engine"],
                                        "eta_engine": said["routing_eta_engine"]})
    metrics.ROUTING_SEARCH_COST.set(said["search_cost_ms"])
    metrics.ROUTING_ETA_COST.set(said["eta_cost_ms"])
    return said


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ems", description="Chonburi EMS dispatch server")
    parser.add_argument("--port", type=int, help="HTTP port (default 8888, or EMS_PORT)")
    parser.add_argument("--host", help="listen address (default 127.0.0.1, or EMS_HOST)")
    parser.add_argument("--no-demo", action="store_true", help="do not load the Chonburi demo data")
    return parser.parse_args(argv)


async def serve(config: Config) -> None:
    server = Server(config, sole_server=True)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    await server.stop()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        config = Config.from_env(port=args.port, host=args.host)
    except ConfigError as exc:  # every bad variable at once, before anything starts
        print(exc, file=sys.stderr)
        sys.exit(2)
    if args.no_demo:
        config = replace(config, demo=False)
    logs.configure(config.log_level)
    Path(config.var_dir).mkdir(parents=True, exist_ok=True)
    install_fast_loop()
    try:
        asyncio.run(serve(config))
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
