"""The live coverage service on the in-memory store: nearest suitable unit per cell, and move-ups as events."""
from datetime import UTC, datetime

import numpy as np
import pytest

from dispatch.coverage import CoverageService, demand_grid
from dispatch.errors import Conflict, NotFound
from dispatch.events import UnitRegistered, UnitStatusChanged
from dispatch.memory_store import MemoryEventStore
from dispatch.model import Capability, LatLon, UnitStatus
from dispatch.ports import NoPositions
from routing.service import RoutingService
from routing.synthetic import grid_point, river_grid

AT = datetime(2026, 1, 1, tzinfo=UTC)


class FixedClock:
    def now(self):
        return AT


@pytest.fixture
async def city():
    graph = river_grid(width_km=4, height_km=4, spacing_m=200, bridges_km=(3.8,))
    road = RoutingService(graph)
    store = MemoryEventStore()
    async with store.unit_of_work("test") as uow:
        for unit_id, capability, x, y in (("ALS-W", "ALS", 0.5, 0.5), ("ALS-E", "ALS", 3.5, 0.5),
                                          ("BLS-W", "BLS", 1.0, 3.0)):
            await uow.append(UnitRegistered(at=AT, unit_id=unit_id, capability=Capability(capability),
                                            station_id=f"st-{unit_id}", station_name=unit_id,
                                            base=LatLon(*grid_point(graph, x, y))))
    cells = demand_grid(graph.bounds, 500, graph.node_lat, graph.node_lon)
    return store, road, CoverageService(store, FixedClock(), road, NoPositions(), cells)


async def test_each_cell_gets_the_road_eta_of_the_nearest_suitable_available_unit(city):
    store, road, coverage = city
    snapshot = await coverage.snapshot(Capability.ALS)
    assert sorted(snapshot["unit_ids"]) == ["ALS-E", "ALS-W"]  # the BLS unit cannot take an ALS call
    units = {u.id: u for u in await store.list("units")}
    for cell in snapshot["cells"][::7]:
        etas = await road.etas_to(LatLon(cell["lat"], cell["lon"]), [units["ALS-E"].base, units["ALS-W"].base])
        assert cell["eta_s"] == pytest.approx(min(e.eta_s for e in etas), abs=0.1)
    async with store.unit_of_work("test") as uow:  # ALS-E goes out on a call
        await uow.append(UnitStatusChanged(at=AT, unit_id="ALS-E", status=UnitStatus.EN_ROUTE))
    after = await coverage.snapshot(Capability.ALS)
    assert after["unit_ids"] == ["ALS-W"] and after["covered_share"] < snapshot["covered_share"]


async def test_a_move_up_is_suggested_for_the_gap_and_accepting_it_is_an_event(city):
    store, _, coverage = city
    async with store.unit_of_work("test") as uow:
        await uow.append(UnitStatusChanged(at=AT, unit_id="ALS-E", status=UnitStatus.EN_ROUTE))
    [move, *_] = await coverage.suggestions()
    assert move.unit_id == "ALS-W" and move.post.id != "st-ALS-W" and move.gain >= coverage.min_gain
    unit = await coverage.accept("ALS-W", move.post.id, actor="dispatcher-1", role="dispatcher", gain=move.gain)
    assert unit.standby_post_id == move.post.id and store.log[-1].type == "UnitRelocated"
    with pytest.raises(Conflict):
        await coverage.accept("ALS-E", "st-ALS-W", actor="dispatcher-1", role="dispatcher")
    with pytest.raises(NotFound):
        await coverage.accept("nobody", "st-ALS-W", actor="dispatcher-1", role="dispatcher")
    assert not np.isnan(move.gain)
