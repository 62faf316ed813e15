"""Fixtures shared by the API tests: the demo province with its three agencies and a dispatcher of each."""
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
import pytest

from dispatch import demo
from dispatch.events import UnitRegistered
from tests.conftest import Api, make_user, routing_ready


@dataclass
class Province:
    """The demo city on a running server, and API clients acting for the 1669 centre and each demo agency."""

    server: object
    centre: Api  # a dispatcher without an agency: the centre's
    admin: Api  # the centre's admin
    hospital_team: Api  # dispatchers of cbh-als (CB-ALS-01..03, CB-BLS-01)
    pao: Api  # of cb-pao (CB-BLS-02..04)
    foundation: Api  # of sawang-cb (CB-FR-01..03)

    def api(self, token: str) -> Api:
        return Api(f"http://127.0.0.1:{self.server.config.port}", token)

    async def report(self, body: dict | None = None) -> int:
        """A new incident reported by the centre, at a place in the city; returns its id."""
        status, incident = await self.centre.post("/api/v1/incidents", body or {
            "channel": "phone", "location": {"lat": 13.3611, "lon": 100.9847}, "chief_complaint": "fall"})
        assert status == 201, incident
        return incident["id"]

    async def move_unit(self, unit_id: str, agency_id: str):
        """Register `unit_id` again under `agency_id`, as the registry does (its live status and shift kept);
        returns the unit's row as it was read just before the move."""
        ctx = self.server.ctx
        before = await ctx.store.get("units", unit_id)
        await ctx.fleet.register_unit(UnitRegistered(
            at=datetime.now(UTC), unit_id=before.id, capability=before.capability, station_id=before.station_id,
            station_name=before.station_name, base=msgspec.structs.asdict(before)["base"], crew=before.crew,
            phone=before.phone, agency_id=agency_id), actor="admin:test")
        return before


async def agency_tokens(server) -> dict[str, str]:
    """Tokens of a centre dispatcher, a centre admin and one dispatcher per demo agency."""
    pool = server.ctx.pool
    return {
        "centre": await make_user(pool, "disp-centre", "dispatcher"),
        "admin": await make_user(pool, "admin-centre", "admin"),
        demo.HOSPITAL_TEAM: await make_user(pool, "disp-cbh", "dispatcher", agency_id=demo.HOSPITAL_TEAM),
        demo.PAO: await make_user(pool, "disp-pao", "dispatcher", agency_id=demo.PAO),
        demo.FOUNDATION: await make_user(pool, "disp-sawang", "dispatcher", agency_id=demo.FOUNDATION),
    }


@pytest.fixture
async def province(server) -> Province:
    await demo.seed(server.ctx.store)
    await routing_ready(server)
    tokens = await agency_tokens(server)
    base = f"http://127.0.0.1:{server.config.port}"
    return Province(server, *(Api(base, tokens[k]) for k in ("centre", "admin", demo.HOSPITAL_TEAM, demo.PAO,
                                                             demo.FOUNDATION)))
