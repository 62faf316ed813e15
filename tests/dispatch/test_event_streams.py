"""Each event's stream comes from one rule (Event.stream): the first id it carries, in a fixed order."""
from datetime import UTC, datetime

import pytest

from dispatch.access import AccessRevoked
from dispatch.agencies import AgencyUpdated
from dispatch.channels import DeviceAlertRaised, PanicPressed
from dispatch.events import UserRegistered, UserRetired
from dispatch.roads import RoadClosed

AT = datetime(2026, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize(("event", "stream"), [
    (UserRegistered(at=AT, user_id="crew-CB01", name="Anan", role="crew", unit_id="CB01"), "user-crew-CB01"),
    (UserRetired(at=AT, user_id="crew-CB01"), "user-crew-CB01"),
    (AccessRevoked(at=AT, user_id="disp-1"), "user-disp-1"),
    (PanicPressed(at=AT, incident_id=7, device_id="pb-1", message_id="m1", via="mqtt"), "incident-7"),
    (DeviceAlertRaised(at=AT, device_id="pb-1", kind="low_battery"), "device-pb-1"),
    (AgencyUpdated(at=AT, agency_id="cb-pao", phone="038000000"), "agency-cb-pao"),
    (RoadClosed(at=AT, closure_id="c1"), "roads"),
])
def test_an_event_belongs_to_the_stream_of_the_first_id_it_carries(event, stream):
    assert event.stream == stream
