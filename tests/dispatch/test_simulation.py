"""The simulator: repeatable for a seed, driven by the live dispatch code, and policies that differ where roads
and straight lines disagree (a river with one bridge)."""
from datetime import UTC, datetime

import numpy as np
import pytest

from dispatch import recommendation
from dispatch.coverage import Post, demand_grid, marginal_coverage, suggest_moves, tier_demand
from dispatch.events import HospitalRegistered, UnitRegistered
from dispatch.model import Capability, LatLon
from dispatch.simulation import POLICIES, SimCall, SimParams, Simulation, generate_calls
from routing.service import RoutingService
from routing.synthetic import grid_point, river_grid

AT = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def river_town():
    """4 x 4 km of streets, a river down the middle (x = 2.1 km) and one bridge at the north edge."""
    graph = river_grid(width_km=4, height_km=4, spacing_m=200, bridges_km=(3.8,))
    return graph, None


def point(graph, x_km, y_km) -> LatLon:
    return LatLon(*grid_point(graph, x_km, y_km))


def fleet(graph, *units) -> list:
    events = [HospitalRegistered(at=AT, hospital_id="general", name_th="general", name_en="general",
                                 location=point(graph, 1.0, 2.0), capabilities=["trauma"], ed_beds_free=5)]
    for unit_id, capability, x, y in units:
        events.append(UnitRegistered(at=AT, unit_id=unit_id, capability=Capability(capability), station_id=unit_id,
                                     station_name=unit_id, base=point(graph, x, y)))
    return events


def red_call(location: LatLon, at_s: float = 60.0, group: int = 1, determinant: int = 1) -> SimCall:
    """A red call; by default 1R1, which sends one ALS unit (6R1 sends an ALS and a BLS unit)."""
    return SimCall(at_s=at_s, location=location, colour="red", group=group, determinant=determinant,
                   call_processing_s=60, turnout_s=60, on_scene_s=600, transport=True, handover_s=600)


async def run(graph, _, calls, events, policy, hourly=None, planning=None, **params):
    road = RoutingService(graph)  # fresh: its tree cache keeps float32 seconds, so reuse would shift ETAs by µs
    sim = Simulation(calls, events, road, POLICIES[policy], SimParams(**params),
                     cells=demand_grid(graph.bounds, 400, graph.node_lat, graph.node_lon),
                     hourly=hourly(road) if hourly else None, planning=planning)
    return sim, await sim.run()


def assigned_units(sim) -> list[str]:
    return [e.payload["unit_id"] for e in sim.store.log if e.type == "UnitAssigned"]


async def test_straight_line_sends_the_unit_across_the_river_road_eta_does_not(river_town):
    graph, road = river_town
    events = fleet(graph, ("ACROSS", "ALS", 2.3, 0.4), ("SAME-BANK", "ALS", 0.2, 0.4))
    scene = point(graph, 1.9, 0.4)  # 400 m from ACROSS as the crow flies, but the bridge is 3.4 km north
    results = {}
    for policy in ("straight_line", "road_eta"):
        sim, result = await run(graph, road, [red_call(scene)], events, policy, hours=1)
        results[policy] = (assigned_units(sim), result.summary)
    assert results["straight_line"][0] == ["ACROSS"] and results["road_eta"][0] == ["SAME-BANK"]
    assert results["straight_line"][1]["red_within_8min_pct"] == 0.0
    assert results["road_eta"][1]["red_within_8min_pct"] == 100.0


async def test_the_same_seed_gives_the_same_run_and_another_seed_does_not(river_town):
    graph, road = river_town
    events = fleet(graph, ("A1", "ALS", 0.5, 0.5), ("A2", "ALS", 3.5, 3.5), ("B1", "BLS", 1.0, 3.0),
                   ("B2", "BLS", 3.0, 1.0), ("F1", "FR", 2.0, 2.0))

    async def once(seed):
        params = SimParams(hours=3, seed=seed, calls_per_day=200)
        calls = generate_calls(params, graph.node_lat, graph.node_lon)
        sim, result = await run(graph, road, calls, events, "road_eta_moveup", hours=3, seed=seed, calls_per_day=200)
        return [(e.seq, e.type, e.payload) for e in sim.store.log], result.summary

    first, again, other = await once(7), await once(7), await once(8)
    assert first == again
    assert first[1]["incidents"] > 5 and first != other


async def test_the_simulator_ranks_with_the_live_recommendation_code(river_town, monkeypatch):
    graph, road = river_town
    events = fleet(graph, ("ACROSS", "ALS", 2.3, 0.4), ("SAME-BANK", "ALS", 0.2, 0.4))
    scene = point(graph, 1.9, 0.4)
    sim, _ = await run(graph, road, [red_call(scene)], events, "road_eta", hours=1)
    assert assigned_units(sim) == ["SAME-BANK"]
    live = recommendation.RecommendationService.recommend

    async def worst_first(self, incident_id, **kwargs):
        return list(reversed(await live(self, incident_id, **kwargs)))

    monkeypatch.setattr(recommendation.RecommendationService, "recommend", worst_first)
    sim, result = await run(graph, road, [red_call(scene)], events, "road_eta", hours=1)
    assert assigned_units(sim) == ["ACROSS"] and result.summary["red_within_8min_pct"] == 0.0


async def test_a_call_waits_for_a_free_unit_and_is_still_counted(river_town):
    graph, road = river_town
    events = fleet(graph, ("ONLY", "ALS", 0.2, 0.4))
    calls = [red_call(point(graph, 0.4, 0.4), 60), red_call(point(graph, 0.6, 0.4), 120)]
    sim, result = await run(graph, road, calls, events, "road_eta", hours=1)
    assert assigned_units(sim) == ["ONLY", "ONLY"]
    red = result.summary["by_colour"]["red"]
    assert red["incidents"] == 2 and red["n"] == 2 and result.summary["red_within_8min_pct"] == 50.0


async def test_the_simulator_triages_and_auto_dispatches_through_the_live_service(river_town, monkeypatch):
    """Issue #15 item 4: the simulator runs the production path (TriageDispatchService), so a 6R1 call gets the
    two units its card asks for, the ALS one transports and the BLS one goes back after the scene."""
    from dispatch import autodispatch

    graph, road = river_town
    events = fleet(graph, ("ALS-1", "ALS", 0.2, 0.4), ("BLS-1", "BLS", 0.4, 0.6), ("FR-1", "FR", 0.5, 0.4))
    calls = [red_call(point(graph, 0.6, 0.4), group=6, determinant=1)]
    seen = []
    live = autodispatch.TriageDispatchService.triage

    async def recorded(self, incident_id, *args, **kwargs):
        seen.append(incident_id)
        return await live(self, incident_id, *args, **kwargs)

    monkeypatch.setattr(autodispatch.TriageDispatchService, "triage", recorded)
    sim, result = await run(graph, road, calls, events, "road_eta", hours=2)
    assert seen == [1]
    assert sorted(assigned_units(sim)) == ["ALS-1", "BLS-1"]
    assert not [e for e in sim.store.log if e.type == "DispatchShortfall"]
    transports = [e.payload["unit_id"] for e in sim.store.log
                  if e.type == "UnitStatusChanged" and e.payload["status"] == "transporting"]
    assert transports == ["ALS-1"]
    units = {u.id: u.status.value for u in await sim.store.list("units")}
    assert units == {"ALS-1": "available", "BLS-1": "available", "FR-1": "available"}
    assert result.summary["by_colour"]["red"]["incidents"] == 1


def test_dmexclp_prefers_the_uncovered_cell_and_suggests_moving_a_doubled_up_unit():
    cells = demand_grid((0.0, 0.0, 0.01, 0.02), 1000, np.array([0.005, 0.005]), np.array([0.004, 0.015]))
    assert len(cells) == 2 and cells[0].weight == pytest.approx(0.5)
    demand = tier_demand(cells, {Capability.ALS: 1.0})
    posts = [Post("west", "west", LatLon(0.005, 0.004)), Post("east", "east", LatLon(0.005, 0.015))]
    post_rows = np.array([[True, False], [False, True]])
    gains = marginal_coverage(post_rows[:1], np.array([3]), demand, 0.5, post_rows, 3)
    assert gains[1] > gains[0]  # a second unit helps more where nobody covers yet
    moves = suggest_moves(["a", "b"], np.array([[True, False], [True, False]]), np.array([3, 3]), posts,
                          post_rows, demand, 0.5)
    assert [m.post.id for m in moves] == ["east", "east"] and moves[0].gain == pytest.approx(0.5 * 0.5 - 0.5 * 0.25)
    assert suggest_moves(["a", "b"], post_rows, np.array([3, 3]), posts, post_rows, demand, 0.5) == []


async def test_a_silent_crew_makes_the_live_ladder_hand_the_call_on(river_town):
    """Issue #20 item 5: a crew that misses its acknowledgement gets the ladder's steps on the simulated clock;
    the call goes to the next unit, the silent unit is out of service and reports back later. When nobody is left
    to hand it to, the silent crew answers late and still goes."""
    graph, road = river_town
    events = fleet(graph, ("ALS-1", "ALS", 0.2, 0.4), ("ALS-2", "ALS", 0.4, 1.0))
    calls = [red_call(point(graph, 0.6, 0.4))]
    sim, result = await run(graph, road, calls, events, "road_eta", hours=2, missed_ack_share=1.0)
    steps = [(e.payload["unit_id"], e.payload["step"]) for e in sim.store.log if e.type == "AssignmentEscalated"]
    assert steps[:4] == [("ALS-1", "repush"), ("ALS-1", "sms"), ("ALS-1", "voice"), ("ALS-1", "next_unit")]
    assert assigned_units(sim) == ["ALS-1", "ALS-2"]
    assert ("ALS-2", "next_unit") in steps  # silent too, and nobody left: the ladder raises a shortfall ...
    assert [e for e in sim.store.log if e.type == "DispatchShortfall"]
    late = [e for e in sim.store.log if e.type == "AssignmentAcknowledged"]
    assert [(e.payload["unit_id"], e.payload["late"]) for e in late] == [("ALS-2", True)]  # ... and ALS-2 goes late
    statuses = [e.payload["status"] for e in sim.store.log
                if e.type == "UnitStatusChanged" and e.payload["unit_id"] == "ALS-1"]
    assert statuses == ["out_of_service", "available"]
    assert result.missed_acks == 2 and result.reassigned == 1
    assert result.summary["by_colour"]["red"]["n"] == 1  # the patient is reached all the same

    _, prompt = await run(graph, road, calls, events, "road_eta", hours=2, missed_ack_share=0.0)
    assert prompt.missed_acks == 0 and prompt.summary["mean_response_s"] < result.summary["mean_response_s"]


async def test_time_of_day_speeds_drive_the_simulated_units(river_town):
    """Issue #20 item 5: with `hourly` the units drive at the hour's speeds (here all roads at half speed from
    01:00 local, when the call comes), so the same call takes longer to reach."""
    from routing.profile import HOURS, ProfileHours, SpeedProfile

    graph, road = river_town
    events = fleet(graph, ("ALS-1", "ALS", 0.2, 0.4))
    calls = [red_call(point(graph, 1.8, 3.0), at_s=3600 + 60)]
    half = SpeedProfile({h: [1.0] + [0.5] * (HOURS - 1) for h in graph.highways})
    _, normal = await run(graph, road, calls, events, "road_eta", hours=3, missed_ack_share=0.0)
    _, slow = await run(graph, road, calls, events, "road_eta", hours=3, missed_ack_share=0.0,
                        hourly=lambda service: ProfileHours(service, half).apply)
    travel = normal.summary["mean_response_s"] - 60 - 60  # call processing and turnout are 60 s each
    assert slow.summary["mean_response_s"] - 120 == pytest.approx(2 * travel, rel=0.02)


async def test_a_supporting_unit_still_on_scene_when_the_lead_closes_the_call_goes_home(river_town):
    """The lead unit closes a call it does not transport while the supporting unit is still on scene; closing
    freed that unit already, so it heads back without a second status change (this used to stop the run with
    'cannot go from available to returning')."""
    graph, road = river_town
    events = fleet(graph, ("ALS-1", "ALS", 0.6, 0.6), ("BLS-1", "BLS", 1.6, 1.6))
    call = SimCall(at_s=60, location=point(graph, 0.6, 0.4), colour="red", group=6, determinant=1,
                   call_processing_s=60, turnout_s=60, on_scene_s=300, transport=False, handover_s=600)
    sim, result = await run(graph, road, [call], events, "road_eta", hours=2, missed_ack_share=0.0)
    assert sorted(assigned_units(sim)) == ["ALS-1", "BLS-1"]
    units = {u.id: u.status.value for u in await sim.store.list("units")}
    assert units == {"ALS-1": "available", "BLS-1": "available"}
    assert sim.units["BLS-1"].post == sim.units["BLS-1"].home  # it drove back to its station


async def test_the_dispatch_ranks_by_what_it_believes_and_units_drive_the_truth(river_town):
    """`planning` is the dispatch's view of travel (here a straight line at 30 km/h, as a badly calibrated
    model would be): it sends the unit across the river, which then drives the true roads round by the bridge."""
    from dispatch.simulation import StraightLineEtas

    graph, road = river_town
    events = fleet(graph, ("ACROSS", "ALS", 2.3, 0.4), ("SAME-BANK", "ALS", 0.2, 0.4))
    scene = point(graph, 1.9, 0.4)
    sim, result = await run(graph, road, [red_call(scene)], events, "road_eta", hours=1,
                            planning=StraightLineEtas(30.0))
    assert assigned_units(sim) == ["ACROSS"] and result.summary["red_within_8min_pct"] == 0.0
