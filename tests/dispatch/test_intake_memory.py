import math

import pytest

from dispatch.errors import Invalid
from dispatch.intake import IntakeService
from dispatch.memory_store import MemoryEventStore
from dispatch.model import Channel, IncidentStatus, LocationFlag
from dispatch.ports import SystemClock


@pytest.fixture
def intake():
    return IntakeService(MemoryEventStore(), SystemClock())


async def test_report_creates_incident_once_per_key(intake):
    body = {"channel": "app", "location": {"lat": 13.36, "lon": 100.98}, "chief_complaint": "เจ็บหน้าอก"}
    first, created = await intake.report(body, actor="t", idempotency_key="k1")
    again, created_again = await intake.report(body, actor="t", idempotency_key="k1")
    assert created and not created_again
    assert again.id == first.id
    assert first.status is IncidentStatus.RECEIVED
    assert len(intake.store.log) == 1


async def test_strict_lists_every_bad_field(intake):
    with pytest.raises(Invalid) as err:
        await intake.report({"channel": "fax", "location": {"lat": math.nan, "lon": 200}}, actor="t")
    fields = {e.field for e in err.value.errors}
    assert fields == {"channel", "location.lat", "location.lon"}
    assert intake.store.log == []


async def test_lenient_keeps_call_with_unverified_location(intake):
    incident, _ = await intake.report(
        {"location": {"lat": "north", "lon": 101}}, actor="t", strict=False, default_channel=Channel.PHONE
    )
    assert LocationFlag.UNVERIFIED in incident.location_flags
    assert incident.location is None
    assert "location.lat" in incident.location_note


async def test_swapped_coordinates_are_named(intake):
    with pytest.raises(Invalid) as err:
        await intake.report({"channel": "app", "location": {"lat": 100.98, "lon": 13.36}}, actor="t")
    assert [e.reason for e in err.value.errors] == ["lat and lon look swapped"]


async def test_outside_service_area_is_flagged_not_rejected(intake):
    incident, _ = await intake.report({"channel": "app", "location": {"lat": 13.75, "lon": 100.5}}, actor="t")
    assert incident.location_flags == [LocationFlag.OUTSIDE_SERVICE_AREA]
