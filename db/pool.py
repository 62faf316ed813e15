"""asyncpg pool: one per process, created at start, closed at stop.

A highly available PostgreSQL is reached through a multi-host URL
(`postgresql://h1:p1,h2:p2/ems?target_session_attrs=read-write`): every new connection tries the hosts in turn,
each for at most `connect_timeout_s`, and keeps the first that accepts writes. A host cut off the network (its
TCP handshake hangs) therefore costs one host's timeout, not the whole connect (asyncpg's own multi-host connect
spends one timeout on all hosts). After a failover the broken connections are dropped and new ones find the new
primary by themselves. `DatabaseWatch` tells which node is primary and whether the database is failing over.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from telemetry.metrics import DATABASE_DEGRADED, DATABASE_PRIMARY

log = logging.getLogger("ems.db")

# What a lost or not-yet-writable primary raises: the connection is gone (killed, demoted, cut off, timed out, or
# left by the server mid-operation, which asyncpg reports as an internal state error), the server is shutting down
# or starting, or it is a standby now (read-only).
_LOST_SQLSTATE_CLASSES = ("08", "57")
_LOST_ERRORS = (OSError, asyncio.TimeoutError, asyncpg.InterfaceError, asyncpg.InternalClientError,
                asyncpg.PostgresConnectionError, asyncpg.ReadOnlySQLTransactionError,
                asyncpg.TargetServerAttributeNotMatched)


def is_connection_loss(exc: BaseException) -> bool:
    """True when `exc` means "the primary is not reachable or not writable right now" (a failover, a restart, a cut
    network), as opposed to an error in the statement itself. Such a unit of work wrote nothing it was told of."""
    if isinstance(exc, asyncpg.PostgresError) and str(getattr(exc, "sqlstate", "") or "")[:2] in _LOST_SQLSTATE_CLASSES:
        return True
    return isinstance(exc, _LOST_ERRORS)


def hosts_of(url: str) -> list[str]:
    """The `host:port` entries of a (possibly multi-host) PostgreSQL URL, in order."""
    netloc = urlsplit(url).netloc.rsplit("@", 1)[-1]
    return [h for h in netloc.split(",") if h]


def single_host_urls(url: str) -> list[str]:
    """One URL per host of a multi-host URL (same user, database and options)."""
    parts = urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return [urlunsplit(parts._replace(netloc=user + host)) for host in hosts_of(url)]


def connector(connect_timeout_s: float):
    """An asyncpg `connect` for pools: tries each host of the URL in turn, each for at most `connect_timeout_s`,
    and returns the first connection that meets the URL's target_session_attrs (asyncpg checks them)."""

    async def connect(dsn: str, **kwargs):
        kwargs["timeout"] = connect_timeout_s
        last: BaseException | None = None
        for url in single_host_urls(dsn):
            try:
                return await asyncpg.connect(url, **kwargs)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # down, cut off, or a standby: try the next host
                last = exc
        raise last or OSError(f"no host in {hosts_of(dsn)}")

    return connect


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.execute("SET TIME ZONE 'UTC'")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """On release, asyncpg has already rolled back an open transaction. Nothing here uses session state that could
    leak to the next user (no session advisory locks, LISTEN, cursors or SETs), so skip asyncpg's reset query: it
    would cost a round trip per release and undo the UTC time zone set above."""


async def ensure_database(url: str, *, connect_timeout_s: float = 10.0) -> None:
    """Create the database named in `url` if it does not exist (connecting to the `postgres` database of the first
    host of `url` that meets its target_session_attrs)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "postgres"
    admin = urlunsplit(parts._replace(path="/postgres"))
    conn = await connector(connect_timeout_s)(admin)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
        pass  # another process created it first
    finally:
        await conn.close()


async def create_pool(url: str, *, min_size: int = 2, max_size: int = 10, connect_timeout_s: float = 3.0,
                      command_timeout_s: float = 30.0) -> asyncpg.Pool:
    """A pool whose connections speak jsonb as Python objects and UTC; dead connections are replaced. New
    connections go to the first host of `url` that answers within `connect_timeout_s` and meets its
    target_session_attrs (the primary, with `read-write`)."""
    return await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=_init_connection, reset=_keep_session,
        command_timeout=command_timeout_s, max_inactive_connection_lifetime=60, connect=connector(connect_timeout_s),
    )


def _address(conn) -> str | None:
    """The `host:port` a pooled connection reached (asyncpg keeps it on the raw connection)."""
    addr = getattr(getattr(conn, "_con", conn), "_addr", None)
    return f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) else None


class DatabaseWatch:
    """Which PostgreSQL node the pool writes to, and whether the database is failing over.

    `check()` (a background loop calls it every second) asks the pool for the primary's address; `lost()` and
    `reached()` are also told by the event store as units of work fail or succeed, so the state changes within a
    request, not only at the next check. `on_change(degraded)` is called on every change (the console banner).
    """

    def __init__(self, pool: asyncpg.Pool, *, check_timeout_s: float = 2.0):
        self.pool = pool
        self.check_timeout_s = check_timeout_s
        self.degraded = False
        self.primary: str | None = None  # "host:port" as the pool reached it
        self.since: float | None = None  # monotonic time the current failover began
        self.on_change: Callable[[bool], None] | None = None
        self._expiring: asyncio.Task | None = None

    def lost(self, exc: BaseException) -> None:
        """A connection to the primary failed: the database is failing over (or down) until `reached`."""
        if not self.degraded:
            self.degraded, self.since = True, time.monotonic()
            DATABASE_DEGRADED.set(1)
            log.warning("database DEGRADED: primary %s lost: %s", self.primary, exc)
            # idle connections may point at the lost primary: each reconnects on its next use
            self._expiring = asyncio.get_running_loop().create_task(self.pool.expire_connections())
            if self.on_change:
                self.on_change(True)

    def reached(self, primary: str | None = None) -> None:
        """A unit of work committed or a check succeeded: the database is writable again."""
        if primary and primary != self.primary:
            self.primary = primary
            DATABASE_PRIMARY.info({"address": primary})
        if self.degraded:
            took = time.monotonic() - (self.since or time.monotonic())
            self.degraded, self.since = False, None
            DATABASE_DEGRADED.set(0)
            log.warning("database restored: primary %s after %.1f s", self.primary, took)
            if self.on_change:
                self.on_change(False)

    async def check(self) -> None:
        """Ask the pool for the primary (read-write) node; a failure marks the database degraded."""
        try:
            async with asyncio.timeout(self.check_timeout_s):
                async with self.pool.acquire() as conn:
                    read_only = await conn.fetchval("SELECT pg_is_in_recovery()")
                    address = _address(conn)
            if read_only:
                raise asyncpg.ReadOnlySQLTransactionError("connected to a standby")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if is_connection_loss(exc):
                self.lost(exc)
                return
            raise
        self.reached(address)
