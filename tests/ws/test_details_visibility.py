"""IncidentDetailsUpdated over the WebSocket: a crew on the incident gets the caller's new phone (to call back), the
receiving hospital only the chief complaint, never who called or their number."""
from tests.ws.test_abuse_crew_frames import frames_until, is_event
from tests.ws.test_who_sees_what import hospital_board, reported_and_assigned

NEW_PHONE = "+66899990000"
NEW_NAME = "สมหญิง ใจดี"


async def test_a_hospital_never_receives_the_callers_phone_a_crew_does(city):
    server, dispatcher = city
    hospital_id = sorted(h.id for h in await server.ctx.store.list("hospitals"))[0]
    incident_id, _, tablet = await reported_and_assigned(server, dispatcher, "CB-ALS-01")
    status, _ = await dispatcher.post(f"/api/v1/incidents/{incident_id}/destinations", {"hospital_id": hospital_id})
    assert status == 200
    hospital_api, board = await hospital_board(server, hospital_id)
    status, body = await dispatcher.call("PATCH", f"/api/v1/incidents/{incident_id}",
                                         {"caller": {"phone": NEW_PHONE, "name": NEW_NAME}})
    assert status == 200, body
    status, body = await dispatcher.call("PATCH", f"/api/v1/incidents/{incident_id}",
                                         {"chief_complaint": "ตกบันได ศีรษะกระแทก", "address": "ซ.7"})
    assert status == 200, body

    to_crew = await frames_until(tablet, is_event("IncidentDetailsUpdated", address="ซ.7"))
    crew_details = [f["event"]["payload"] for f in to_crew if f["event"]["type"] == "IncidentDetailsUpdated"]
    assert crew_details[0]["caller_phone"] == NEW_PHONE and crew_details[0]["caller_name"] == NEW_NAME

    to_hospital = await frames_until(board, is_event("IncidentDetailsUpdated", chief_complaint="ตกบันได ศีรษะกระแทก"))
    assert to_hospital[-1]["event"]["payload"].keys() == {"at", "v", "incident_id", "chief_complaint"}
    assert NEW_PHONE not in str(to_hospital) and NEW_NAME not in str(to_hospital) and "ซ.7" not in str(to_hospital)
    status, seen = await hospital_api.get(f"/api/v1/incidents/{incident_id}")
    assert status == 200 and seen["chief_complaint"] == "ตกบันได ศีรษะกระแทก"
    assert "callers" not in seen and NEW_PHONE not in str(seen)
    for socket in (tablet, board):
        socket.close()
