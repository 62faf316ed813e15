"""DatabaseWatch drops a lost primary's connections by the address each one reached; that address comes from
asyncpg's internals, so this pins it: if an upgrade moves it, a failover would silently keep dead connections."""
from urllib.parse import urlsplit

from db.pool import connection_address, drop_connections_to


async def test_a_pooled_connection_knows_the_address_it_reached_and_can_be_dropped_by_it(pool, database_url):
    url = urlsplit(database_url)
    async with pool.acquire() as conn:
        address = connection_address(conn)
        assert address is not None and address.endswith(f":{url.port or 5432}")

    assert drop_connections_to(address) >= 1
    assert drop_connections_to("192.0.2.1:5432") == 0  # an address no connection reached drops nothing
    assert await pool.fetchval("SELECT 1") == 1  # the pool reconnects
