import asyncio

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
