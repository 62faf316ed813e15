"""A text message to 1669 that says where, with no coordinates, is placed by the geocoder (issue #16)."""
from __future__ import annotations

from tests.places.conftest import places_ready
from tests.conftest import wait_until


async def test_sms_with_a_place_in_the_text_is_geocoded_and_flagged(ems, twilio, dispatcher):
    await places_ready(ems)
    text = {"MessageSid": "SM" + "7" * 32, "From": "+66811110000", "Body": "มีคนหมดสติ หน้ารพ.ชลบุรี"}
    assert (await twilio.post("/twilio/sms", text))[0] == 200

    async def placed():
        _, body = await dispatcher.get("/api/v1/incidents")
        return [i for i in body["incidents"] if i["location"] is not None]

    assert await wait_until(placed, 30)
    [incident] = await placed()
    assert incident["channel"] == "sms" and incident["location_label"] == "โรงพยาบาลชลบุรี"
    assert {"location_geocoded", "location_unverified"} <= set(incident["location_flags"])
    assert incident["location_confidence"] >= 0.6
    _, full = await dispatcher.get(f"/api/v1/incidents/{incident['id']}")
    assert "โรงพยาบาลชลบุรี" in full["place"]["description_th"]  # the view says where, in words
