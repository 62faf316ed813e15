"""Fixtures shared by the WebSocket tests."""
import pytest

from dispatch import demo
from tests.conftest import Api, make_user, routing_ready


@pytest.fixture
async def city(server):
    """The demo city (hospitals, fleet, road graph) on a fresh server, and a dispatcher's API client."""
    await demo.seed(server.ctx.store)
    await routing_ready(server)
    base = f"http://127.0.0.1:{server.config.port}"
    return server, Api(base, await make_user(server.ctx.pool, "disp-abuse", "dispatcher"))
