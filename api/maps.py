"""Map data and routing: the base-map road layer, routes, and road closures drawn by dispatchers."""
from __future__ import annotations

import secrets
from datetime import datetime

import shapely.geometry
from shapely.errors import GEOSException

from api.base import ApiError, BaseHandler
from codec import to_json
from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError, Invalid
from dispatch.model import LatLon
from dispatch.roads import RoadClosed, RoadReopened
from routing.errors import InvalidCoordinates
from routing.service import RoutingService

MAX_CLOSURE_AREA_DEG2 = 0.05  # about 25 km × 25 km: larger is almost certainly a drawing mistake


class RoutingHandler(BaseHandler):
    def routing(self) -> RoutingService:
        """The road graph's routing service; RoadsNotReady (→ 503, Retry-After 5) while it is still loading."""
        return self.ctx.routing


class RoadsLayerHandler(RoutingHandler):
    agency_scope = "open"

    _cache: dict[tuple[int, str], bytes] = {}

    async def get(self) -> None:
        """GET the road graph as GeoJSON (optionally only classes from `min_class` up); cached per graph."""
        self.require()
        min_class = self.get_query_argument("min_class", None)
        routing = self.routing()
        key = (id(routing), min_class or "")
        if key not in self._cache:
            self._cache[key] = to_json(routing.roads_geojson(min_class=min_class))
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "private, max-age=3600")
        self.finish(self._cache[key])


def _float_argument(handler: BaseHandler, name: str) -> float:
    raw = handler.get_query_argument(name, None)
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise Invalid(FieldError(name, ErrorCode.MUST_BE_NUMBER)) from None


class RouteHandler(RoutingHandler):
    agency_scope = "open"

    async def get(self) -> None:
        """GET the fastest road route between two points (degrees); 404 if unreachable, 503 while the graph loads."""
        self.require("dispatcher", "admin", "crew")
        names = ("from_lat", "from_lon", "to_lat", "to_lon")
        values = {n: _float_argument(self, n) for n in names}
        try:
            route = await self.routing().route(LatLon(values["from_lat"], values["from_lon"]),
                                               LatLon(values["to_lat"], values["to_lon"]))
        except InvalidCoordinates as exc:
            raise Invalid(FieldError(exc.field.replace("origin.", "from_").replace("destination.", "to_"), exc.reason)) from None
        if route is None:
            raise ApiError(404, ErrorCode.NO_ROUTE)
        self.send_json(route.to_json())  # its own shape: coverage flags and snap distances (msgspec alone would not)


class ClosuresHandler(RoutingHandler):
    agency_scope = {"GET": "open"}

    async def get(self) -> None:
        """GET the road closures and slowdowns in force, with their geometry."""
        self.require()
        routing = self.routing()
        self.send_json({"closures": [{**o.to_json(), "geometry": routing.edges_geojson(o.edges)}
                                     for o in routing.list_overrides()]})

    async def post(self) -> None:
        """POST a closure or slowdown (polygon, factor, expiry) as a logged RoadClosed event; 201."""
        identity = self.require("dispatcher", "admin")
        body = self.json_body()
        if not isinstance(body, dict):
            raise Invalid(FieldError("body", ErrorCode.MUST_BE_OBJECT))
        errors: list[FieldError] = []
        try:
            polygon = shapely.geometry.shape(body.get("polygon") or {})
            if polygon.geom_type != "Polygon" or not polygon.is_valid or polygon.is_empty:
                raise ValueError
            if polygon.area > MAX_CLOSURE_AREA_DEG2:
                errors.append(FieldError("polygon", ErrorCode.POLYGON_TOO_LARGE))
        except (ValueError, TypeError, AttributeError, KeyError, GEOSException):
            errors.append(FieldError("polygon", ErrorCode.POLYGON_INVALID))
        factor = body.get("factor")
        if factor is not None and (isinstance(factor, bool) or not isinstance(factor, int | float) or not 1 <= factor <= 100):
            errors.append(FieldError("factor", ErrorCode.CLOSURE_FACTOR))
        expires_at = None
        if body.get("expires_at") is not None:
            try:
                expires_at = datetime.fromisoformat(str(body["expires_at"]))
                if expires_at.tzinfo is None:
                    raise ValueError
            except ValueError:
                errors.append(FieldError("expires_at", ErrorCode.MUST_BE_ZONED_TIME))
        reason = body.get("reason")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 200):
            errors.append(FieldError("reason", ErrorCode.TEXT_AT_MOST, max=200))
        if errors:
            raise Invalid(errors)
        event = RoadClosed(at=self.ctx.clock.now(), closure_id=f"closure-{secrets.token_hex(6)}",
                           polygon=body["polygon"], factor=factor, expires_at=expires_at, reason=reason)
        async with self.ctx.store.unit_of_work(identity.actor) as uow:
            await uow.append(event)
        self.send_json({"closure_id": event.closure_id}, 201)


class ClosureHandler(RoutingHandler):
    async def delete(self, closure_id: str) -> None:
        """DELETE a closure (logged RoadReopened); answers its id and `reopened`."""
        identity = self.require("dispatcher", "admin")
        async with self.ctx.store.unit_of_work(identity.actor) as uow:
            await uow.append(RoadReopened(at=self.ctx.clock.now(), closure_id=closure_id))
        self.send_json({"closure_id": closure_id, "reopened": True})
