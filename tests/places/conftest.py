import asyncio

import pytest

from db.gazetteer import Gazetteer
from db.pool import create_pool
from dispatch.places import PlaceService, RankingSettings
from routing import places as derive
from routing.build import load_graph
from tests.conftest import REPO, TEST_VAR

OSM = REPO / "data" / "osm" / "chonburi_city_roads.osm.pbf"
CACHE = TEST_VAR / "cache"


async def places_ready(server, timeout_s: float = 120) -> None:
    """Until the in-process server has its gazetteer (built or found after the road graph loads)."""
    for _ in range(int(timeout_s / 0.1)):
        if server.ctx.places.ready:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the gazetteer did not load")


@pytest.fixture(scope="module")
async def gazetteer(database_url):
    """The gazetteer of the Chonburi extract and POI files, built once per database."""
    pool = await create_pool(database_url, min_size=1, max_size=4)
    graph = load_graph(OSM, CACHE, progress=False)
    pois = derive.poi_files(OSM)
    g = Gazetteer(pool)
    key = derive.source_key(OSM, pois)
    if await g.loaded_key() != key:
        await g.replace(key, derive.build_records(OSM, pois, graph))
    await g.replace_fleet([])  # the extract alone: a server of an earlier test leaves its fleet's stations here
    yield g
    await pool.close()


@pytest.fixture
def places(gazetteer) -> PlaceService:
    return PlaceService(gazetteer, RankingSettings())
