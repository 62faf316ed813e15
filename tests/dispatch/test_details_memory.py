"""IncidentDetailsUpdated in the domain (no server): only changed fields are stored, and replaying the stored log
rebuilds the same incident (a field left out and a field cleared stay different through JSON)."""
import pytest

from dispatch.errors import Conflict, Invalid
from dispatch.events import IncidentStatusChanged
from dispatch.intake import IntakeService
from dispatch.memory_store import MemoryEventStore
from dispatch.model import IncidentStatus
from dispatch.ports import SystemClock
from dispatch.projections import project
from dispatch.registry import INCIDENTS, decode_event

REPORT = {"channel": "phone", "location": {"lat": 13.36, "lon": 100.98}, "address": "ซ.5",
          "caller": {"phone": "0811111111", "name": "นิด"}}


@pytest.fixture
def intake():
    return IntakeService(MemoryEventStore(), SystemClock())


async def test_replaying_the_log_rebuilds_the_edited_incident(intake):
    incident, _ = await intake.report(REPORT, actor="t")
    await intake.amend(incident.id, {"address": None, "caller": {"phone": "0822222222"}}, actor="dispatcher:a")
    live = await intake.amend(incident.id, {"chief_complaint": "ชัก", "channel": "sms"}, actor="dispatcher:b")
    assert (live.address, live.chief_complaint, live.channel.value) == (None, "ชัก", "sms")
    assert (live.callers[0].phone, live.callers[0].name) == ("0822222222", "นิด")  # the name was not touched
    state = None
    for stored in intake.store.log:
        state = project(INCIDENTS, state, decode_event(stored.type, stored.payload), stored.seq)
    assert state == live
    assert [e.payload.keys() - {"at", "v", "incident_id"} for e in intake.store.log[1:]] == [
        {"address", "caller_phone"}, {"chief_complaint", "channel"}]
    assert [e.actor for e in intake.store.log[1:]] == ["dispatcher:a", "dispatcher:b"]


async def test_nothing_new_writes_nothing_and_bad_fields_raise_before_any_write(intake):
    incident, _ = await intake.report(REPORT, actor="t")
    await intake.amend(incident.id, {"address": "ซ.5", "caller": {"name": "นิด"}}, actor="t")
    with pytest.raises(Invalid) as err:
        await intake.amend(incident.id, {"caller": {"phone": "x" * 40}, "address": "y" * 501}, actor="t")
    assert {e.field for e in err.value.errors} == {"caller.phone", "address"}
    assert len(intake.store.log) == 1


async def test_a_cancelled_incident_cannot_change(intake):
    incident, _ = await intake.report(REPORT, actor="t")
    await intake.store.run("t", lambda uow: uow.append(IncidentStatusChanged(
        at=SystemClock().now(), incident_id=incident.id, status=IncidentStatus.CANCELLED)))
    with pytest.raises(Conflict):
        await intake.amend(incident.id, {"chief_complaint": "ล้ม"}, actor="t")
