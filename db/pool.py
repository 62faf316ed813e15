"""asyncpg pool: one per process, created at start, closed at stop."""
from __future__ import annotations

import json
from urllib.parse import urlsplit, urlunsplit

import asyncpg


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.execute("SET TIME ZONE 'UTC'")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """On release, asyncpg has already rolled back an open transaction. Nothing here uses session state that could
    leak to the next user (no session advisory locks, LISTEN, cursors or SETs), so skip asyncpg's reset query: it
    would cost a round trip per release and undo the UTC time zone set above."""


async def ensure_database(url: str) -> None:
    """Create the database named in `url` if it does not exist (connecting to the `postgres` database)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "postgres"
    admin = urlunsplit(parts._replace(path="/postgres"))
    conn = await asyncpg.connect(admin)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
        pass  # another process created it first
    finally:
        await conn.close()


async def create_pool(url: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections speak jsonb as Python objects and UTC; dead connections are replaced."""
    return await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=_init_connection, reset=_keep_session, command_timeout=30,
        max_inactive_connection_lifetime=60,
    )
