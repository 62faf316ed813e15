"""The typed composition root (bootstrap.build → app_context.AppContext): services as attributes, and the road-graph
services' explicit "not ready yet" (RoadsNotReady → 503 with Retry-After) instead of a dict entry appearing later."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import tornado.httpclient

from app_context import AppContext, Core, Roads
from dispatch.errors import RoadsNotReady
from tests.conftest import routing_ready

REPO = Path(__file__).resolve().parents[2]


def test_roads_raise_not_ready_until_both_services_are_loaded():
    roads = Roads()
    assert not roads.ready
    with pytest.raises(RoadsNotReady) as caught:
        roads.routing
    assert caught.value.retry_after_s == 5 and "still loading" in str(caught.value)
    with pytest.raises(RoadsNotReady):
        roads.coverage
    routing, coverage = object(), object()
    roads.loaded(routing, coverage)
    assert roads.ready and roads.routing is routing and roads.coverage is coverage


def test_every_context_attribute_is_typed_and_there_is_no_service_dict():
    tree = ast.parse((REPO / "app_context.py").read_text())
    annotations = {node.target.id: ast.unparse(node.annotation)
                   for cls in tree.body if isinstance(cls, ast.ClassDef) and cls.name in ("Core", "AppContext")
                   for node in cls.body if isinstance(node, ast.AnnAssign)}
    assert {"assignments", "roads", "notifier", "twilio", "ws_commands"} <= set(annotations)
    assert [name for name, annotation in annotations.items() if "Any" in annotation or "dict" in annotation] == []
    assert "services" not in annotations and issubclass(AppContext, Core)


async def test_a_running_server_exposes_its_services_by_attribute(server):
    ctx = server.ctx
    assert ctx.assignments.store is ctx.store and ctx.ws_commands.ctx.assignments is ctx.assignments
    assert ctx.twilio.ctx.store is ctx.store  # the channels share the core built once
    await routing_ready(server)
    assert ctx.roads.ready and ctx.routing is ctx.roads.routing


async def test_routing_and_coverage_answer_503_with_retry_after_while_the_graph_is_not_loaded(server, dispatcher_api):
    await routing_ready(server)
    loaded = server.ctx.roads
    server.ctx.roads = Roads()  # as at start-up, before the graph has loaded
    try:
        client = tornado.httpclient.AsyncHTTPClient()
        for path in ("/api/v1/route?from_lat=13.34&from_lon=100.97&to_lat=13.38&to_lon=100.99", "/api/v1/coverage"):
            response = await client.fetch(dispatcher_api.base_url + path, raise_error=False,
                                          headers={"Authorization": f"Bearer {dispatcher_api.token}"})
            assert response.code == 503, (path, response.body)
            assert response.headers["Retry-After"] == "5"
            assert b"the road graph is still loading" in response.body
        status, health = await dispatcher_api.get("/healthz")
        assert health["routing"] == "not loaded"
    finally:
        server.ctx.roads = loaded
