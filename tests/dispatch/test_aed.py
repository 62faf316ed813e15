"""AED points for the telephone-CPR coach (issue #18): the GeoJSON shape of docs/operations.md, and the nearest
ones to the patient with distance and direction (pure domain, no server)."""
from __future__ import annotations

import json

import pytest

from dispatch.aed import compass, nearest, parse_aed_points, read_aed_file
from dispatch.errors import Invalid
from dispatch.model import LatLon

PATIENT = LatLon(13.3611, 100.9847)  # Chon Buri city centre


def aed(id_: str, lat: float, lon: float, **props) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"id": id_, "name_th": f"จุด {id_}", "name_en": f"Point {id_}", **props}}


def collection(*features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def test_the_nearest_points_within_the_radius_come_first_with_distance_and_direction():
    points = parse_aed_points(collection(
        aed("far", 13.3611, 100.9947),            # ~1.08 km east: outside 500 m
        aed("east", 13.3611, 100.9877),           # ~325 m east
        aed("north", 13.3631, 100.9847, access_en="Lobby, beside the lifts", hours="24/7"),  # ~222 m north
        aed("sw", 13.3600, 100.9836)))            # ~170 m south-west
    found = nearest(points, PATIENT, within_m=500, limit=3)
    assert [a["id"] for a in found] == ["sw", "north", "east"]
    assert [a["direction"] for a in found] == ["SW", "N", "E"]
    assert 160 <= found[0]["distance_m"] <= 180 and 215 <= found[1]["distance_m"] <= 230
    assert found[1]["access_en"] == "Lobby, beside the lifts" and found[1]["hours"] == "24/7"
    assert [a["id"] for a in nearest(points, PATIENT, within_m=500, limit=1)] == ["sw"]
    assert nearest(points, PATIENT, within_m=100, limit=3) == []


def test_compass_points():
    assert compass(PATIENT, LatLon(13.37, 100.9847)) == "N"
    assert compass(PATIENT, LatLon(13.35, 100.9847)) == "S"
    assert compass(PATIENT, LatLon(13.3611, 100.97)) == "W"
    assert compass(PATIENT, LatLon(13.37, 100.994)) == "NE"
    assert compass(PATIENT, LatLon(13.35, 100.97)) == "SW"


def test_every_bad_feature_is_named():
    with pytest.raises(Invalid) as error:
        parse_aed_points(collection(
            aed("ok", 13.36, 100.98),
            {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[100.9, 13.3], [101, 13.4]]},
             "properties": {"id": "line", "name_th": "ก", "name_en": "a"}},
            aed("", 13.36, 100.98),
            aed("ok", 13.37, 100.98),
            aed("hours", 13.36, 100.98, hours=24),
            aed("lat", 95.0, 100.98)))
    fields = [e.field for e in error.value.errors]
    assert fields == ["features[1].geometry", "features[2].properties.id", "features[3].properties.id",
                      "features[4].properties.hours", "features[5].geometry"]
    with pytest.raises(Invalid) as error:
        parse_aed_points({"type": "Feature"})
    assert error.value.errors[0].field == "aed_file"


def test_a_file_that_is_not_json_names_the_file(tmp_path):
    path = tmp_path / "aeds.geojson"
    path.write_text("not json", encoding="utf-8")
    with pytest.raises(Invalid) as error:
        read_aed_file(path)
    assert error.value.errors[0].field == "aed_file"
    path.write_text(json.dumps(collection(aed("a1", 13.36, 100.98))), encoding="utf-8")
    [point] = read_aed_file(path)
    assert point.id == "a1" and point.lat == 13.36 and point.lon == 100.98 and point.name_en == "Point a1"
