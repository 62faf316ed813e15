"""Issue #19 items 1 and 3 in the pure domain (in-memory store, straight-line ETAs, a clock the test moves):
agencies as events, who sees what by agency, mutual aid's answer and its escalation, and shifts."""
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.access import Identity, Visibility, may_dispatch_unit, may_read_incident, may_read_unit
from dispatch.agencies import CENTRE_AGENCY_ID, AgencyService
from dispatch.assignment import AssignmentService, DispatchPolicy
from dispatch.errors import Conflict, Forbidden, Invalid, NotFound
from dispatch.events import UnitRegistered
from dispatch.intake import IntakeService, ServiceArea
from dispatch.memory_store import MemoryEventStore
from dispatch.model import Capability, LatLon
from dispatch.mutual_aid import MutualAidService
from dispatch.ports import NoPositions
from dispatch.recommendation import RecommendationService
from dispatch.shifts import ShiftService
from dispatch.simulation import StraightLineEtas

SCENE = LatLon(13.3611, 100.9847)
PAO, FOUNDATION = "cb-pao", "sawang-cb"
CENTRE = Identity("d0", "Centre", "dispatcher")  # no agency: the 1669 centre's
PAO_DISPATCHER = Identity("d1", "PAO", "dispatcher", agency_id=PAO)
FOUNDATION_DISPATCHER = Identity("d2", "Foundation", "dispatcher", agency_id=FOUNDATION)


class SteppedClock:
    def __init__(self):
        self.at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


@pytest.fixture
async def domain():
    store, clock = MemoryEventStore(), SteppedClock()
    async with store.unit_of_work("test") as uow:
        for unit_id, agency, offset in (("PAO-1", PAO, 0.001), ("PAO-2", PAO, 0.01), ("FR-1", FOUNDATION, 0.002)):
            await uow.append(UnitRegistered(at=clock.now(), unit_id=unit_id, capability=Capability.BLS,
                                            station_id=unit_id, station_name=unit_id, agency_id=agency,
                                            base=LatLon(SCENE.lat + offset, SCENE.lon)))
    recommendations = RecommendationService(store, StraightLineEtas(40), NoPositions())
    assignments = AssignmentService(store, clock, recommendations, DispatchPolicy())
    mutual_aid = MutualAidService(store, clock, assignments, answer_timeout_s=60)
    intake = IntakeService(store, clock, ServiceArea(12.5, 100.8, 13.62, 101.75))
    incident, _ = await intake.report({"channel": "phone", "location": {"lat": SCENE.lat, "lon": SCENE.lon}},
                                      actor="test")
    return store, clock, assignments, mutual_aid, incident.id


async def test_agencies_are_registered_updated_and_retired_as_events():
    store, clock = MemoryEventStore(), SteppedClock()
    agencies = AgencyService(store, clock)
    created = await agencies.register({"id": PAO, "name_th": "อบจ.ชลบุรี", "name_en": "Chonburi PAO", "kind": "pao"},
                                      actor="admin:a", role="admin")
    assert created.id == PAO and created.is_open
    with pytest.raises(Conflict):
        await agencies.register({"id": PAO, "name_th": "x", "name_en": "x", "kind": "pao"}, actor="a", role="admin")
    with pytest.raises(Invalid) as bad:
        await agencies.register({"id": "Not A Slug", "name_th": "", "kind": "navy"}, actor="a", role="admin")
    assert {e.field for e in bad.value.errors} == {"id", "name_th", "name_en", "kind"}
    with pytest.raises(Forbidden):
        await agencies.register({"id": "x"}, actor="dispatcher:d", role="dispatcher")
    updated = await agencies.update(PAO, {"phone": "+6638000000"}, actor="admin:a", role="admin")
    assert updated.phone == "+6638000000" and updated.name_en == "Chonburi PAO"
    retired = await agencies.retire(PAO, "merged", actor="admin:a", role="admin")
    assert not retired.is_open and retired.retired_reason == "merged"
    assert await agencies.list() == [] and [a.id for a in await agencies.list(include_retired=True)] == [PAO]
    with pytest.raises(Conflict):
        await agencies.update(PAO, {"phone": "1"}, actor="admin:a", role="admin")
    with pytest.raises(Conflict):
        await agencies.retire(CENTRE_AGENCY_ID, None, actor="admin:a", role="admin")
    with pytest.raises(NotFound):
        await agencies.retire("nobody", None, actor="admin:a", role="admin")
    assert [e.stream for e in store.log] == [f"agency-{PAO}"] * 3


async def test_an_agency_sees_and_dispatches_only_its_own_units(domain):
    store, *_ = domain
    pao_unit, foundation_unit = await store.get("units", "PAO-1"), await store.get("units", "FR-1")
    assert may_read_unit(PAO_DISPATCHER, pao_unit) and may_dispatch_unit(PAO_DISPATCHER, pao_unit)
    assert not may_read_unit(PAO_DISPATCHER, foundation_unit)
    assert not may_dispatch_unit(PAO_DISPATCHER, foundation_unit)
    assert may_dispatch_unit(CENTRE, foundation_unit) and may_read_unit(CENTRE, foundation_unit)


async def test_an_agency_sees_an_incident_while_its_unit_is_on_it(domain):
    store, clock, assignments, _, incident_id = domain
    units = await store.list("units")
    incident = await store.get("incidents", incident_id)
    assert may_read_incident(CENTRE, incident, units)
    assert not may_read_incident(PAO_DISPATCHER, incident, units)
    await assignments.assign(incident_id, "PAO-1", actor="test", role="dispatcher")
    incident, units = await store.get("incidents", incident_id), await store.list("units")
    assert may_read_incident(PAO_DISPATCHER, incident, units)
    assert not may_read_incident(FOUNDATION_DISPATCHER, incident, units)


async def test_an_accepted_mutual_aid_request_shares_the_incident_and_dispatches_the_unit(domain):
    store, clock, _, mutual_aid, incident_id = domain
    request = await mutual_aid.request(incident_id, "FR-1", requesting_agency=CENTRE_AGENCY_ID, actor="c",
                                       role="dispatcher", note="nearest first responder")
    assert request.status == "requested" and request.agency_id == FOUNDATION
    incident = await store.get("incidents", incident_id)
    assert incident.shared_with == [FOUNDATION]
    assert may_read_incident(FOUNDATION_DISPATCHER, incident, [])  # shared before any unit is on it
    with pytest.raises(NotFound):  # only the asked agency answers
        await mutual_aid.accept(request.id, agency=PAO, actor="p", role="dispatcher")
    answer = await mutual_aid.accept(request.id, agency=FOUNDATION, actor="f", role="dispatcher")
    assert answer["request"].status == "accepted"
    assert answer["assignment"].unit_id == "FR-1" and answer["assignment"].incident_id == incident_id
    assert (await store.get("units", "FR-1")).incident_id == incident_id
    with pytest.raises(Conflict):
        await mutual_aid.accept(request.id, agency=FOUNDATION, actor="f", role="dispatcher")
    types = [e.type for e in store.log]
    assert types[-2:] == ["UnitAssigned", "MutualAidAccepted"]


async def test_a_declined_request_escalates_to_the_centre_and_withdraws_the_share(domain):
    store, clock, _, mutual_aid, incident_id = domain
    request = await mutual_aid.request(incident_id, "FR-1", requesting_agency=CENTRE_AGENCY_ID, actor="c",
                                       role="dispatcher")
    with pytest.raises(Invalid):
        await mutual_aid.decline(request.id, "", agency=FOUNDATION, actor="f", role="dispatcher")
    declined = await mutual_aid.decline(request.id, "crew at a training", agency=FOUNDATION, actor="f",
                                        role="dispatcher")
    assert declined.status == "declined" and declined.escalated
    escalation = store.log[-1]
    assert escalation.type == "MutualAidEscalated" and escalation.payload["cause"] == "declined"
    assert (await store.get("incidents", incident_id)).shared_with == []
    assert (await store.get("units", "FR-1")).incident_id is None


async def test_an_unanswered_request_escalates_once_when_its_time_is_up(domain):
    store, clock, _, mutual_aid, incident_id = domain
    request = await mutual_aid.request(incident_id, "FR-1", requesting_agency=PAO, actor="p", role="dispatcher")
    assert await mutual_aid.expire_due() == 0
    clock.at += timedelta(seconds=61)
    assert await mutual_aid.expire_due() == 1
    assert await mutual_aid.expire_due() == 0  # exactly once
    expired = await store.get("mutual_aid", request.id)
    assert expired.status == "expired" and expired.escalated
    assert store.log[-1].payload["cause"] == "timeout"
    with pytest.raises(Conflict):
        await mutual_aid.accept(request.id, agency=FOUNDATION, actor="f", role="dispatcher")


async def test_a_request_for_ones_own_unit_or_a_busy_one_is_refused(domain):
    store, clock, assignments, mutual_aid, incident_id = domain
    with pytest.raises(Invalid):
        await mutual_aid.request(incident_id, "PAO-1", requesting_agency=PAO, actor="p", role="dispatcher")
    await assignments.assign(incident_id, "FR-1", actor="c", role="dispatcher")
    with pytest.raises(Conflict):
        await mutual_aid.request(incident_id, "FR-1", requesting_agency=PAO, actor="p", role="dispatcher")
    with pytest.raises(Forbidden):
        await mutual_aid.request(incident_id, "PAO-2", requesting_agency=FOUNDATION, actor="c", role="crew")


async def test_a_unit_whose_crew_logged_off_is_neither_recommended_nor_assignable(domain):
    store, clock, assignments, _, incident_id = domain
    shifts = ShiftService(store, clock)
    recommendations = assignments.recommendations
    assert "PAO-1" in [r.unit_id for r in await recommendations.recommend(incident_id)]
    on = await shifts.log_on("PAO-1", [{"name": "Somchai", "qualification": "EMT-B"},
                                       {"name": "Malee", "qualification": "driver"}], None, actor="c", role="dispatcher")
    assert on.staffed and [m.qualification for m in on.shift.crew] == ["EMT-B", "driver"]
    with pytest.raises(Conflict):
        await shifts.log_on("PAO-1", [{"name": "x", "qualification": "y"}], None, actor="c", role="dispatcher")
    off = await shifts.log_off("PAO-1", "end of shift", actor="c", role="dispatcher")
    assert not off.staffed and off.crew == []
    ranked = [r.unit_id for r in await recommendations.recommend(incident_id)]
    assert "PAO-1" not in ranked and "PAO-2" in ranked
    assert "PAO-2" in [r.unit_id for r in await recommendations.recommend(incident_id, agency=PAO)]
    assert [r.unit_id for r in await recommendations.recommend(incident_id, agency=PAO)] == ["PAO-2"]
    with pytest.raises(Conflict):
        await assignments.assign(incident_id, "PAO-1", actor="c", role="dispatcher")
    with pytest.raises(Invalid) as bad:
        await shifts.log_on("PAO-1", [{"name": "x"}], None, actor="c", role="dispatcher")
    assert bad.value.errors[0].field == "crew[0].qualification"
    with pytest.raises(Forbidden):
        await shifts.log_on("PAO-1", [{"name": "x", "qualification": "y"}], None, actor="c", role="crew",
                            own_unit="PAO-2")


async def test_visibility_follows_unit_agencies_and_mutual_aid_shares(domain):
    store, clock, assignments, mutual_aid, incident_id = domain
    visibility = Visibility()
    for event in store.log:
        visibility.observe(event)
    await mutual_aid.request(incident_id, "FR-1", requesting_agency=PAO, actor="p", role="dispatcher")
    requested = store.log[-1]
    assert visibility.audience(requested).agency_ids >= {FOUNDATION, PAO}
    visibility.observe(requested)
    await assignments.assign(incident_id, "PAO-1", actor="c", role="dispatcher")
    assigned = store.log[-1]
    visibility.observe(assigned)
    assert visibility.can_see(PAO_DISPATCHER, assigned) and visibility.can_see(FOUNDATION_DISPATCHER, assigned)
    assert not visibility.can_see(Identity("d3", "Other", "dispatcher", agency_id="cbh-als"), assigned)
