"""DatabaseWatch asks the primary every second over one connection of its own, kept from check to check, and
opens a new one only when that one is lost."""
import asyncio

import asyncpg

from db.pool import DatabaseWatch


async def watch_backends(observer: asyncpg.Connection) -> set[int]:
    """The backends connected to the observer's database, the observer's own left out."""
    rows = await observer.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
    return {row["pid"] for row in rows}


async def test_the_watch_keeps_one_connection_over_its_checks_and_reconnects_when_it_is_lost(database_url):
    observer = await asyncpg.connect(database_url)
    watch = DatabaseWatch(None, database_url, connect_timeout_s=2.0)
    try:
        seen: list[set[int]] = []
        for _ in range(4):  # a few seconds of the background loop's one check a second
            await watch.check()
            seen.append(await watch_backends(observer))
            await asyncio.sleep(1.0)
        assert not watch.degraded and watch.primary is not None
        first = seen[0]
        assert len(first) == 1 and all(backends == first for backends in seen), seen

        await observer.execute("SELECT pg_terminate_backend($1)", next(iter(first)))  # as a restart would
        await asyncio.sleep(0.2)
        await watch.check()
        again = await watch_backends(observer)
        assert not watch.degraded and len(again) == 1 and again != first
    finally:
        watch.close()
        await observer.close()
    await asyncio.sleep(0.2)
    observer = await asyncpg.connect(database_url)
    try:
        assert await watch_backends(observer) == set()  # close() ended it
    finally:
        await observer.close()
