"""The places a user walk typed into the location box, on the real extract and POI files (with the demo fleet where
it matters): each named place first when the data has it, one suggestion per place, nothing offered as a place
the data lacks."""
from __future__ import annotations

import pytest

from dispatch.demo import demo_events
from dispatch.events import HospitalRegistered, UnitRegistered
from routing import places as derive

MAP_CENTRE = (13.3611, 100.9847)  # the console's default view: Chonburi city


class _Hospital:  # the projection rows fleet_records reads
    def __init__(self, e: HospitalRegistered):
        self.name_th, self.name_en, self.location = e.name_th, e.name_en, e.location


class _Unit:
    def __init__(self, e: UnitRegistered):
        self.station_id, self.station_name, self.base = e.station_id, e.station_name, e.base


@pytest.fixture
async def with_demo_fleet(gazetteer):
    events = demo_events()
    await gazetteer.replace_fleet(derive.fleet_records(
        [_Hospital(e) for e in events if isinstance(e, HospitalRegistered)],
        [_Unit(e) for e in events if isinstance(e, UnitRegistered)]))
    yield
    await gazetteer.replace_fleet([])


@pytest.mark.parametrize("text", ["Bang Saen", "bangsaen", "บางแสน"])
async def test_bang_saen_finds_the_bang_saen_road_not_bang_pakong_or_bang_lamung(places, text):
    # The extract has no place=* node or boundary for Bang Saen: the only place named after it is ถนนอ่างศิลา-บางแสน
    # (Thai name only, no name:en), which "Bang Saen" reaches through its romanisation.
    results = await places.geocode(text, near=MAP_CENTRE)
    assert results and "บางแสน" in results[0].name, [(r.name, r.score) for r in results]
    assert not any("Bang Pakong" in (r.name_en or "") or "Lamung" in (r.name_en or "") for r in results)


@pytest.mark.parametrize("text", ["ตลาดหนองมน", "หนองมน", "ตลาด หนองมน", "Nong Mon market"])
async def test_nong_mon_market_comes_first_though_mapped_only_in_english(places, text):
    # OSM has it as "Nong Mong Market" (name only, no Thai name): a Thai query reaches it romanised ("nongmon").
    results = await places.geocode(text, near=MAP_CENTRE)
    assert results[0].name == "Nong Mong Market" and results[0].kind == "market", [r.name for r in results]


async def test_a_mall_the_data_lacks_is_not_answered_by_a_hospital_sharing_the_town_name(places):
    # Central Chonburi (a shopping mall) is in neither the extract nor the POI files (no shop=* there); Chonburi
    # Hospital shares only "Chonburi" with it and was offered first.
    results = await places.geocode("Central Chonburi", near=MAP_CENTRE)
    assert not any(r.name == "โรงพยาบาลชลบุรี" for r in results), [(r.name, r.score) for r in results]
    # ... while the hospital's own name still finds it first
    [first, *_] = await places.geocode("Chonburi Hospital", near=MAP_CENTRE)
    assert first.name == "โรงพยาบาลชลบุรี"


@pytest.mark.parametrize("text", ["โรงพยาบาลชลบุรี", "รพ.ชลบุรี", "Chonburi Hospital"])
async def test_chonburi_hospital_is_one_suggestion_though_mapped_three_times(places, with_demo_fleet, text):
    # The OSM POI, the fleet's hospital and the fleet's station (units based there) are one place.
    results = await places.geocode(text, near=MAP_CENTRE, limit=8)
    named = [r for r in results if r.name == "โรงพยาบาลชลบุรี"]
    assert results[0].name == "โรงพยาบาลชลบุรี" and len(named) == 1, [(r.name, r.source) for r in results]
