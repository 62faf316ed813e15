"""The telephone-CPR coach's AED locator (issue #18): AED points from EMS_AED_FILE, the nearest to the incident."""
from __future__ import annotations

import json

import pytest

from config import ConfigError
from server import Server
from tests.conftest import Api, make_user, reset_state, server_config

PATIENT = {"lat": 13.3611, "lon": 100.9847}


def aed_file(tmp_path, *features) -> str:
    path = tmp_path / "aeds.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}), encoding="utf-8")
    return path


def point(id_: str, lat: float, lon: float, **props) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"id": id_, "name_th": f"จุด {id_}", "name_en": f"Point {id_}", **props}}


async def test_the_nearest_aeds_to_the_patient_are_listed(database_url, redis_url, tmp_path):
    await reset_state(database_url, redis_url)
    path = aed_file(tmp_path, point("mall", 13.3631, 100.9847, access_en="Ground floor, information desk",
                                    access_th="ชั้น 1 จุดประชาสัมพันธ์", hours="10:00-22:00"),
                    point("school", 13.3600, 100.9836), point("far", 13.3611, 100.9947))
    running = Server(server_config(database_url, redis_url, aed_file=path, aed_search_m=400))
    await running.start()
    try:
        token = await make_user(running.ctx.pool, "disp-aed", "dispatcher")
        api = Api(f"http://127.0.0.1:{running.config.port}", token)
        status, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": PATIENT,
                                                                 "chief_complaint": "หมดสติ"})
        assert status == 201
        status, body = await api.get(f"/api/v1/incidents/{incident['id']}/aeds")
        assert status == 200 and body["known"] and body["located"] and body["searched_m"] == 400
        assert [a["id"] for a in body["aeds"]] == ["school", "mall"]  # the one 1 km away is past 400 m
        assert body["aeds"][1]["direction"] == "N" and 215 <= body["aeds"][1]["distance_m"] <= 230
        assert body["aeds"][1]["access_th"] == "ชั้น 1 จุดประชาสัมพันธ์" and body["aeds"][1]["hours"] == "10:00-22:00"

        status, unlocated = await api.post("/api/v1/incidents", {"channel": "phone", "address": "xqzv"})
        assert status == 201 and unlocated["location"] is None
        _, body = await api.get(f"/api/v1/incidents/{unlocated['id']}/aeds")
        assert body["known"] and not body["located"] and body["aeds"] == []

        assert (await api.get("/api/v1/incidents/999999/aeds"))[0] == 404
        crew = Api(api.base_url, await make_user(running.ctx.pool, "crew-aed", "crew"))
        assert (await crew.get(f"/api/v1/incidents/{incident['id']}/aeds"))[0] == 403
    finally:
        await running.stop()


async def test_without_an_aed_file_the_coach_is_told_none_are_known(dispatcher_api):
    _, incident = await dispatcher_api.post("/api/v1/incidents", {"channel": "phone", "location": PATIENT})
    status, body = await dispatcher_api.get(f"/api/v1/incidents/{incident['id']}/aeds")
    assert status == 200 and body == {"incident_id": incident["id"], "known": False, "searched_m": 500.0,
                                      "located": True, "aeds": []}


async def test_a_bad_aed_file_stops_the_server_naming_each_bad_feature(database_url, redis_url, tmp_path):
    path = aed_file(tmp_path, point("ok", 13.36, 100.98), point("", 13.36, 100.98), point("x", 99.0, 100.98))
    running = Server(server_config(database_url, redis_url, aed_file=path))
    with pytest.raises(ConfigError) as error:
        await running.start()
    await running.stop()
    assert error.value.problems == [
        "EMS_AED_FILE: features[1].properties.id: is required text of at most 500 characters",
        "EMS_AED_FILE: features[2].geometry: must be a Point with [lon, lat] in WGS84"]


def test_the_aed_file_setting_must_name_a_file(tmp_path):
    from config import Config
    with pytest.raises(ConfigError) as error:
        Config.from_env({"EMS_AED_FILE": str(tmp_path / "missing.geojson")})
    assert error.value.problems == ["EMS_AED_FILE: no such file"]
