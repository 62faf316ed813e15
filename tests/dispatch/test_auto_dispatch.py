"""Auto-dispatch and the ladder's re-assignment in the pure domain (in-memory store, straight-line ETAs, a clock
the test moves): what is never auto-dispatched, and what the dispatcher is told when the fleet cannot help."""
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.assignment import AssignmentService, DispatchPolicy, EscalationLadder
from dispatch.autodispatch import TriageDispatchService
from dispatch.events import UnitRegistered, UnitStatusChanged
from dispatch.intake import IntakeService, ServiceArea
from dispatch.memory_store import MemoryEventStore
from dispatch.model import Capability, LatLon, UnitStatus
from dispatch.ports import NoPositions, RecordingNotifier
from dispatch.recommendation import RecommendationService
from dispatch.simulation import StraightLineEtas
from dispatch.triage import TriageService

SCENE = LatLon(13.3611, 100.9847)


class SteppedClock:
    def __init__(self):
        self.at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


class CoverageAwareRecommendations(RecommendationService):
    """The live ranking, with the units named in `uncovered` marked outside the road graph's coverage."""

    uncovered: frozenset[str] = frozenset()

    async def recommend(self, incident_id, **kwargs):
        ranked = await super().recommend(incident_id, **kwargs)
        return [replace(r, outside_coverage=r.unit_id in self.uncovered) for r in ranked]


@pytest.fixture
async def domain():
    store, clock = MemoryEventStore(), SteppedClock()
    units = [("ALS-NEAR", "ALS", 0.001), ("ALS-FAR", "ALS", 0.02), ("BLS-NEAR", "BLS", 0.002)]
    async with store.unit_of_work("test") as uow:
        for unit_id, capability, offset in units:
            await uow.append(UnitRegistered(at=clock.now(), unit_id=unit_id, capability=Capability(capability),
                                            station_id=unit_id, station_name=unit_id,
                                            base=LatLon(SCENE.lat + offset, SCENE.lon), phone="+66800000000"))
    recommendations = CoverageAwareRecommendations(store, StraightLineEtas(40), NoPositions())
    policy = DispatchPolicy(ack_timeout_red_s=30, ladder=[(0.0, "repush"), (10.0, "sms"), (20.0, "voice"),
                                                          (30.0, "next_unit")])
    assignments = AssignmentService(store, clock, recommendations, policy)
    service = TriageDispatchService(TriageService(store, clock), assignments)
    intake = IntakeService(store, clock, ServiceArea(12.5, 100.8, 13.62, 101.75))
    ladder = EscalationLadder(store, clock, policy, RecordingNotifier(), recommendations)
    return store, clock, recommendations, service, intake, ladder


async def new_incident(intake) -> int:
    incident, _ = await intake.report({"channel": "phone", "location": {"lat": SCENE.lat, "lon": SCENE.lon}},
                                      actor="test")
    return incident.id


async def test_never_auto_dispatches_a_unit_whose_recommendation_is_outside_coverage(domain):
    store, _, recommendations, service, intake, _ = domain
    recommendations.uncovered = {"ALS-NEAR"}
    triaged = await service.triage(await new_incident(intake), 1, 1, actor="d", role="dispatcher")  # 1R1: one ALS
    assert [a.unit_id for a in triaged.assignments] == ["ALS-FAR"]
    assert triaged.incident.unit_ids == ["ALS-FAR"]
    [advice] = [e for e in store.log if e.type == "AutoDispatchWithheld"]  # the dispatcher hears of the nearer one
    assert advice.payload["unit_id"] == "ALS-NEAR" and advice.payload["reason"] == "unit_outside_road_coverage"


async def test_nothing_covered_means_nothing_sent_and_the_dispatcher_alerted(domain):
    store, _, recommendations, service, intake, _ = domain
    recommendations.uncovered = {"ALS-NEAR", "ALS-FAR", "BLS-NEAR"}
    incident_id = await new_incident(intake)
    triaged = await service.triage(incident_id, 6, 1, actor="d", role="dispatcher")  # 6R1: ALS and BLS
    assert triaged.assignments == [] and triaged.incident.unit_ids == []
    [alert] = [e for e in store.log if e.type == "AutoDispatchWithheld"]
    assert alert.payload["incident_id"] == incident_id and alert.payload["reason"] == "incident_outside_road_coverage"


async def test_the_last_ladder_step_with_no_unit_free_keeps_the_assignment_and_alerts(domain):
    store, clock, _, service, intake, ladder = domain
    triaged = await service.triage(await new_incident(intake), 6, 1, actor="d", role="dispatcher")
    assert sorted(a.unit_id for a in triaged.assignments) == ["ALS-NEAR", "BLS-NEAR"]
    first, second = triaged.assignments
    await service.assignments.acknowledge(second.id, actor="crew", role="crew", unit_id=second.unit_id)
    async with store.unit_of_work("test") as uow:  # the only other unit goes out of service
        await uow.append(UnitStatusChanged(at=clock.now(), unit_id="ALS-FAR", status=UnitStatus.OUT_OF_SERVICE))
    clock.at += timedelta(seconds=30)  # the ack is due: the first step; then one step every 10 s
    for _ in range(4):
        assert await ladder.tick() == 1
        clock.at += timedelta(seconds=10)
    silent = await store.get("assignments", first.id)
    assert silent.escalations == ["repush", "sms", "voice", "next_unit"]
    assert silent.status.value == "awaiting_ack"  # nobody to hand it to: a late ack still counts
    [alert] = [e for e in store.log if e.type == "DispatchShortfall"]
    assert alert.payload["cause"] == "escalation" and alert.payload["missing"] == ["ALS"]


async def test_the_last_ladder_step_never_swaps_a_silent_als_crew_for_a_lower_level_unit(domain):
    """A 6R1's silent ALS crew with only a first-responder unit free: the FR unit is not sent in its place (the
    user walk saw CB-FR-01 replace CB-ALS-03 with no alert); the dispatcher gets the shortfall and decides."""
    store, clock, _, service, intake, ladder = domain
    async with store.unit_of_work("test") as uow:
        await uow.append(UnitRegistered(at=clock.now(), unit_id="FR-NEAR", capability=Capability.FR,
                                        station_id="FR-NEAR", station_name="FR-NEAR",
                                        base=LatLon(SCENE.lat + 0.0005, SCENE.lon), phone="+66800000001"))
        await uow.append(UnitStatusChanged(at=clock.now(), unit_id="ALS-FAR", status=UnitStatus.OUT_OF_SERVICE))
    triaged = await service.triage(await new_incident(intake), 6, 1, actor="d", role="dispatcher")
    silent = next(a for a in triaged.assignments if a.unit_id == "ALS-NEAR")
    other = next(a for a in triaged.assignments if a.unit_id != "ALS-NEAR")
    await service.assignments.acknowledge(other.id, actor="crew", role="crew", unit_id=other.unit_id)
    clock.at += timedelta(seconds=30)
    for _ in range(4):
        await ladder.tick()
        clock.at += timedelta(seconds=10)
    incident = await store.get("incidents", triaged.incident.id)
    assert "FR-NEAR" not in incident.unit_ids
    assert (await store.get("assignments", silent.id)).status.value == "awaiting_ack"
    [alert] = [e for e in store.log if e.type == "DispatchShortfall"]
    assert alert.payload["cause"] == "escalation" and alert.payload["missing"] == ["ALS"]
