"""Automatic vehicle location: crew tablets report positions; the latest per unit lives in Redis (GEO set +
hash), a thinned track goes to PostgreSQL, and dispatcher consoles get every unit's movement about once a second.

Positions are not events: losing one ping is harmless, the next one replaces it.
"""
from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from db import tracks
from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError, Invalid
from dispatch.intake import ServiceArea, parse_location
from dispatch.model import LatLon, MovingFix, distance_m

log = logging.getLogger("ems.avl")

_WHOLE_WORLD = ServiceArea(-90, -180, 90, 180)
# Below this a GPS heading is noise (a unit creeping in a queue or parked): 2 m/s ≈ 7 km/h.
HEADING_MIN_SPEED_MPS = 2.0


def position_of(record: dict) -> LatLon | MovingFix:
    """A stored AVL record as a routing origin: with its heading when the unit is driving, else a plain point."""
    heading, speed = record.get("heading_deg"), record.get("speed_mps")
    if heading is not None and speed is not None and speed >= HEADING_MIN_SPEED_MPS:
        return MovingFix(record["lat"], record["lon"], float(heading))
    return LatLon(record["lat"], record["lon"])


def _optional(frame: dict, key: str, low: float, high: float, errors: list[FieldError]) -> float | None:
    value = frame.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or not low <= value <= high:
        errors.append(FieldError(key, ErrorCode.MUST_BE_BETWEEN, low=f"{low:g}", high=f"{high:g}"))
        return None
    return float(value)


class Avl:
    def __init__(
        self, redis: aioredis.Redis, pool: asyncpg.Pool, namespace: str, *, min_interval_s: float = 1.0,
        track_every_s: float = 15.0, track_min_move_m: float = 100.0,
    ):
        self.redis = redis
        self.pool = pool
        self.geo_key = f"{namespace}:units:geo"
        self.hash_prefix = f"{namespace}:unit:"
        self.channel = f"{namespace}:positions"
        self.min_interval_s = min_interval_s
        self.track_every_s = track_every_s
        self.track_min_move_m = track_min_move_m
        self._last_accepted: dict[str, float] = {}
        self._last_tracked: dict[str, tuple[float, tuple[float, float]]] = {}
        self._unsent: dict[str, dict] = {}  # latest position per unit, gathered since the last send to dispatchers

    def parse(self, frame: dict) -> dict[str, Any]:
        """Validate a position frame; raises Invalid naming each bad field."""
        errors: list[FieldError] = []
        location, _ = parse_location({"lat": frame.get("lat"), "lon": frame.get("lon")}, _WHOLE_WORLD, errors)
        speed = _optional(frame, "speed_mps", 0, 100, errors)
        heading = _optional(frame, "heading_deg", 0, 360, errors)
        accuracy = _optional(frame, "accuracy_m", 0, 100_000, errors)
        if errors or location is None:
            raise Invalid(errors or [FieldError("location", ErrorCode.REQUIRED)])
        return {"lat": location.lat, "lon": location.lon, "speed_mps": speed, "heading_deg": heading,
                "accuracy_m": accuracy}

    async def report(self, unit_id: str, frame: dict) -> bool:
        """Store a crew's position; returns False when dropped by the per-unit rate limit."""
        position = self.parse(frame)
        now = time.monotonic()
        if now - self._last_accepted.get(unit_id, -math.inf) < self.min_interval_s:
            return False
        self._last_accepted[unit_id] = now
        at = datetime.now(UTC)
        record = {"unit_id": unit_id, "at": at.isoformat(), **position}
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.geoadd(self.geo_key, (position["lon"], position["lat"], unit_id))
            pipe.hset(self.hash_prefix + unit_id, mapping={"json": json.dumps(record)})
            pipe.publish(self.channel, json.dumps(record))
            await pipe.execute()
        except Exception as exc:  # Redis down: the track below still keeps the unit findable
            log.warning("avl: redis unavailable: %s", exc)
            self._last_tracked.pop(unit_id, None)
        await self._maybe_track(unit_id, at, position, now)
        return True

    async def _maybe_track(self, unit_id: str, at: datetime, position: dict, now: float) -> None:
        point = LatLon(position["lat"], position["lon"])
        last = self._last_tracked.get(unit_id)
        if last and now - last[0] < self.track_every_s and distance_m(last[1], point) < self.track_min_move_m:
            return
        self._last_tracked[unit_id] = (now, point)
        await tracks.record_position(self.pool, unit_id, at, point.lat, point.lon, position["speed_mps"], position["heading_deg"],
                                     position["accuracy_m"])

    async def latest(self, unit_ids: list[str]) -> dict[str, LatLon | MovingFix]:
        """Latest known position per unit (Redis, else the PostgreSQL track); units never seen are absent. A unit
        driving with a known heading comes as a MovingFix (see `position_of`)."""
        return {unit_id: position for unit_id, (position, _) in (await self.fixes(unit_ids)).items()}

    async def fixes(self, unit_ids: list[str]) -> dict[str, tuple[LatLon | MovingFix, datetime | None]]:
        """`latest` with each position's time (UTC; None if the record has none): what the hospital board needs to
        count an ETA from the moment the unit was there, and to call a position stale."""
        found: dict[str, tuple[LatLon | MovingFix, datetime | None]] = {}
        try:
            pipe = self.redis.pipeline(transaction=False)
            for unit_id in unit_ids:
                pipe.hget(self.hash_prefix + unit_id, "json")
            for unit_id, raw in zip(unit_ids, await pipe.execute()):
                if raw:
                    record = json.loads(raw)
                    at = datetime.fromisoformat(record["at"]) if record.get("at") else None
                    found[unit_id] = (position_of(record), at)
        except Exception as exc:
            log.warning("avl: redis unavailable, reading the track: %s", exc)
        missing = [u for u in unit_ids if u not in found]
        if missing:
            for unit_id, (lat, lon, at) in (await tracks.last_positions(self.pool, missing)).items():
                found[unit_id] = (LatLon(lat, lon), at)
        return found

    async def fan_out_to_dispatchers(self, hub, interval_s: float = 1.0,
                                     on_subscribed: Callable[[], None] = lambda: None,
                                     on_positions: Callable[[list[dict]], None] = lambda records: None) -> None:
        """One subscription session: gather positions published by any process and send them to dispatchers at
        most once every `interval_s` seconds, until the Redis connection fails (raised). The server runs it in a
        dispatch.loops.BackgroundLoop that reconnects after 1 s; positions gathered but not sent are kept.
        `on_subscribed` is called once the subscription is up (the loop's `recovered`); `on_positions` with each
        batch sent (the server has routing snap them ahead of the next ranking)."""
        pubsub = self.redis.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            on_subscribed()
            next_flush = time.monotonic() + interval_s
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=interval_s)
                if message and message.get("type") == "message":
                    record = json.loads(message["data"])
                    self._unsent[record["unit_id"]] = record
                if time.monotonic() >= next_flush:
                    if self._unsent:
                        records = list(self._unsent.values())
                        hub.broadcast_alert({"units": records}, frame_type="positions")
                        self._unsent = {}
                        on_positions(records)
                    next_flush = time.monotonic() + interval_s
        finally:
            try:
                await pubsub.aclose()
            except Exception:
                pass
