"""The gazetteer in PostgreSQL on the real data: built from the Chonburi extract, the civic and emergency POI
files and the road graph; searched with pg_trgm."""
from __future__ import annotations

import pytest

from dispatch.places import PlaceService, RankingSettings
from routing import places as derive
from routing.build import load_graph
from tests.places.conftest import CACHE, OSM


def test_the_civic_pois_are_loaded_once_each():
    records = derive.poi_records(derive.poi_files(OSM))
    names = {r.name for r in records}
    assert "โรงพยาบาลสมิติเวช" in names and "Pattaya City Police Station" in names
    assert len(records) == len({(r.name, r.lat, r.lon) for r in records})  # emergency POIs are a subset: no doubles
    assert len(records) >= 441 - 5  # every named civic POI (a few share an OSM id with an emergency POI)


async def test_hospital_by_abbreviation_and_joined_words(places):
    [first, *_] = await places.geocode("รพ.สมิติเวชศรีราชา")
    assert first.name == "โรงพยาบาลสมิติเวช" and first.kind == "hospital"
    assert 13.0 < first.lat < 13.25  # the Si Racha one, not Samitivej Chonburi in the city


@pytest.mark.parametrize("query", ["แยกพิพิธตัดวชิรปราการ", "แยก พิพิธ วชิรปราการ", "ถ.วชิรปราการ x ถ.พิพิธ"])
async def test_junction_queries_find_the_junction(places, query):
    [first, *_] = await places.geocode(query)
    assert first.kind == "junction" and first.in_road_graph
    assert "ถนนพิพิธ" in first.name and "ถนนวชิรปราการ" in first.name


@pytest.mark.parametrize("query, expected", [
    ("ซ.บ้านสวน-สุขุมวิท 9", "ซอยบ้านสวน-สุขุมวิท 9"),
    ("บ้านสวน-สุขุมวิท ซ.๑๓", "บ้านสวน-สุขุมวิท 13"),
    ("บางทราย ซอย 48/1", "ซอยบางทราย 48/1"),
    ("Sukumvit Rd", "ถนนสุขุมวิท"),
    ("ทางหลวง 361", "ถนนเลี่ยงเมืองชลบุรี"),
    ("โรงบาลชลบุรี", "โรงพยาบาลชลบุรี"),
    ("Aikchol hospital", "โรงพยาบาลเอกชล"),
])
async def test_roads_sois_and_landmarks(places, query, expected):
    results = await places.geocode(query)
    assert results[0].name == expected, [r.name for r in results]


async def test_near_reorders_places_with_the_same_name(places):
    without = await places.geocode("Police Box", limit=10)
    assert len({(r.lat, r.lon) for r in without if r.name == "Police Box"}) >= 2
    target = max((r for r in without if r.name == "Police Box"), key=lambda r: r.lat)
    near = await places.geocode("Police Box", near=(target.lat + 0.001, target.lon), limit=10)
    assert (near[0].lat, near[0].lon) == (target.lat, target.lon)
    assert near[0].distance_m < 200


async def test_reverse_names_the_nearest_road_and_landmark(gazetteer):
    from routing.service import RoutingService

    routing = RoutingService(load_graph(OSM, CACHE, progress=False))
    service = PlaceService(gazetteer, RankingSettings(),
                           nearest_road=lambda lat, lon: derive.nearest_named_road(routing, lat, lon, 250))
    hospital = (await service.geocode("โรงพยาบาลชลบุรี"))[0]
    out = await service.reverse(hospital.lat + 0.0009, hospital.lon)  # ~100 m north of Chonburi Hospital
    assert out["road"]["name"] and out["road"]["distance_m"] <= 250
    assert out["landmark"]["name"] == "โรงพยาบาลชลบุรี" and out["landmark"]["direction"] == "north"
    assert 80 <= out["landmark"]["distance_m"] <= 120
    assert "โรงพยาบาลชลบุรี" in out["description_th"] and "ม. ทิศเหนือ" in out["description_th"]
    assert "m north of" in out["description_en"]


async def test_an_unchanged_extract_is_not_rebuilt_and_a_changed_one_is(gazetteer):
    key = await gazetteer.loaded_key()
    assert not await gazetteer.replace(key, [])  # same key: left alone
    assert await gazetteer.count() > 1500
    records = derive.build_records(OSM, derive.poi_files(OSM), load_graph(OSM, CACHE, progress=False))
    try:
        assert await gazetteer.replace("another-extract", records[:10])
        assert await gazetteer.count() == 10
    finally:
        await gazetteer.replace(key, records)
    assert await gazetteer.loaded_key() == key


def test_the_gazetteer_key_follows_the_files(tmp_path):
    pois = derive.poi_files(OSM)
    assert derive.source_key(OSM, pois) == derive.source_key(OSM, pois)
    changed = tmp_path / pois[0].name
    changed.write_bytes(pois[0].read_bytes() + b"\n")
    assert derive.source_key(OSM, [changed, *pois[1:]]) != derive.source_key(OSM, pois)
    other_extract = tmp_path / OSM.name
    other_extract.write_bytes(OSM.read_bytes()[:-1])
    assert derive.source_key(other_extract, pois) != derive.source_key(OSM, pois)


async def test_a_landmark_a_hair_from_the_point_is_found_not_a_float_underflow(gazetteer):
    """Found by the OpenAPI fuzzer: a location of 5.9e-234° near a place at 1e-200° was a 500 (squaring their
    difference underflows in PostgreSQL)."""
    place_id = await gazetteer.pool.fetchval(
        "INSERT INTO places (kind, name, lat, lon, source) VALUES ('station', 'equator test', 1e-200, -180, 'fleet')"
        " RETURNING id")
    try:
        landmark = await gazetteer.nearest_landmark(5.866405139673755e-234, -180.0, 500)
        assert landmark is not None and landmark.name == "equator test"
    finally:
        await gazetteer.pool.execute("DELETE FROM places WHERE id = $1", place_id)
