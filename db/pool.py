"""asyncpg pool: one per process, created at start, closed at stop.

A highly available PostgreSQL is reached through a multi-host URL
(`postgresql://h1:p1,h2:p2/ems?target_session_attrs=read-write`): every new connection asks all hosts at once,
each for at most `connect_timeout_s`, and keeps the one that accepts writes. A host cut off the network (its
handshake hangs) therefore delays nothing (asyncpg's own multi-host connect tries the hosts in turn within one
timeout, so a hanging first host would use it all up). After a failover the broken connections are dropped and new ones find the new
primary by themselves. `DatabaseWatch` tells which node is primary and whether the database is failing over.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
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
    """An asyncpg `connect` for pools: asks every host of the URL at once, each for at most `connect_timeout_s`,
    and keeps the first connection that meets the URL's target_session_attrs (asyncpg checks them), so a host cut
    off the network delays nothing while another is the primary. The others are closed."""

    async def connect(dsn: str, **kwargs):
        kwargs["timeout"] = connect_timeout_s
        attempts = [asyncio.ensure_future(asyncpg.connect(url, **kwargs)) for url in single_host_urls(dsn)]
        chosen = last = None
        try:
            for attempt in asyncio.as_completed(attempts):
                try:
                    chosen = await attempt
                    return chosen
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # down, cut off, or a standby
                    last = exc
            raise last or OSError(f"no host in {hosts_of(dsn)}")
        finally:
            for attempt in attempts:
                if not attempt.done():
                    attempt.cancel()
                elif not attempt.cancelled() and attempt.exception() is None and attempt.result() is not chosen:
                    attempt.result().terminate()

    return connect


_CONNECTIONS: weakref.WeakSet = weakref.WeakSet()  # every pooled connection of the process (DatabaseWatch)


async def _init_connection(conn: asyncpg.Connection) -> None:
    _CONNECTIONS.add(conn)
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
                      command_timeout_s: float = 30.0, idle_close_s: float = 600.0) -> asyncpg.Pool:
    """A pool whose connections speak jsonb as Python objects and UTC; dead connections are replaced. New
    connections go to the first host of `url` that answers within `connect_timeout_s` and meets its
    target_session_attrs (the primary, with `read-write`). A connection idle for `idle_close_s` is closed."""
    return await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=_init_connection, reset=_keep_session,
        command_timeout=command_timeout_s, max_inactive_connection_lifetime=idle_close_s, connect=connector(connect_timeout_s),
    )


def connection_address(conn) -> str | None:
    """The `host:port` a connection reached. The one read of asyncpg internals (the raw connection's `_addr`):
    tests/db/test_pool_address.py pins it, so an asyncpg upgrade that moves it fails there, not in a failover."""
    addr = getattr(getattr(conn, "_con", conn), "_addr", None)
    return f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) else None


class DatabaseWatch:
    """Which PostgreSQL node the pool writes to, and whether the database is failing over.

    `check()` (a background loop calls it every second) asks the primary of `url` over a connection of its own
    (never one of the pool's: a pooled connection to a primary cut off the network hangs, and so would its
    release). That one connection is kept from check to check (a new one every second would cost a backend start
    each time and crowd pg_stat_activity); when it fails it is terminated and the next host, or the same host
    anew, is asked on a fresh one. `close()` ends it.
    `lost()` and `reached()` are also told by the event store as units of work fail or succeed, so the state
    changes within a request, not only at the next check. When the primary changes, or the pool's primary has
    not accepted a connection in two checks running, the pool's connections to it are terminated: they are dead
    or hanging, and terminating them ends the statements waiting on them at once (a graceful close would wait).
    `on_change(degraded)` is called on every change (the console banner).
    """

    def __init__(self, pool: asyncpg.Pool, url: str | None = None, *, connect_timeout_s: float = 2.0):
        self.pool = pool
        self.url = url
        self.connect_timeout_s = connect_timeout_s
        self.degraded = False
        self.primary: str | None = None  # "host:port" of the primary as the URL names it
        self._primary_address: str | None = None  # the address its connections are to (host resolved)
        self.since: float | None = None  # monotonic time the current failover began
        self.on_change: Callable[[bool], None] | None = None
        self._unanswered = 0  # checks running in which the pool's primary accepted no connection
        self._probe_host: str | None = None  # the host `_probe_conn` is to: the primary at the last check
        self._probe_conn: asyncpg.Connection | None = None

    def lost(self, exc: BaseException) -> None:
        """A connection to the primary failed: the database is failing over (or down) until `reached`."""
        if not self.degraded:
            self.degraded, self.since = True, time.monotonic()
            DATABASE_DEGRADED.set(1)
            log.warning("database DEGRADED: primary %s lost: %s", self.primary, exc)
            if self.on_change:
                self.on_change(True)

    def reached(self, primary: str | None = None, address: str | None = None) -> None:
        """A unit of work committed or a check succeeded: the database is writable again (at `primary`, whose
        connections go to `address`, when a check found it)."""
        if primary and primary != self.primary:
            if self._primary_address is not None:
                log.warning("database primary moved from %s to %s", self.primary, primary)
                drop_connections_to(self._primary_address)  # read-only or gone: nothing more to do on them
            self.primary, self._primary_address = primary, address or primary
            DATABASE_PRIMARY.info({"address": primary})
        if self.degraded:
            took = time.monotonic() - (self.since or time.monotonic())
            self.degraded, self.since = False, None
            DATABASE_DEGRADED.set(0)
            log.warning("database restored: primary %s after %.1f s", self.primary, took)
            if self.on_change:
                self.on_change(False)

    async def check(self) -> None:
        """Find the primary (read-write) node; none answering marks the database degraded."""
        primary, address, unanswered = await (self._probe() if self.url else self._probe_pool())
        if self.primary is not None and self.primary in unanswered:
            self._unanswered += 1
            if self._unanswered >= 2:
                drop_connections_to(self._primary_address)
        else:
            self._unanswered = 0
        if primary is None:
            self.lost(OSError(f"no writable primary among {hosts_of(self.url) if self.url else 'the pool'}"))
        else:
            self.reached(primary, address)

    async def _probe(self) -> tuple[str | None, str | None, set[str]]:
        """(the first host of `url` that accepts writes, the address its connection went to — both None when no
        host does —, the hosts that accepted no connection). The connection to the writable host is kept for the
        next check; every other one is terminated."""
        unanswered = set()
        hosts = sorted(zip(single_host_urls(self.url), hosts_of(self.url)), key=lambda h: h[1] != self.primary)
        for url, host in hosts:  # the known primary first: no new connection a check while nothing changes
            kept = self._take_probe_connection(host)
            if kept is not None:
                try:
                    if await self._is_writable(kept):
                        self._keep_probe_connection(host, kept)
                        return host, connection_address(kept), unanswered
                    kept.terminate()
                    continue  # demoted: the next host is asked
                except asyncio.CancelledError:
                    kept.terminate()
                    raise
                except Exception as exc:
                    kept.terminate()
                    if isinstance(exc, asyncio.TimeoutError):  # cut off: a new connection would hang as long
                        unanswered.add(host)
                        continue
                    # closed under it (a restart, a terminated backend): this host is asked anew below
            try:
                conn = await asyncpg.connect(_any_session(url), timeout=self.connect_timeout_s)
            except asyncio.CancelledError:
                raise
            except Exception:
                unanswered.add(host)
                continue
            try:
                if await self._is_writable(conn):
                    self._keep_probe_connection(host, conn)
                    return host, connection_address(conn), unanswered
            except asyncio.CancelledError:
                conn.terminate()
                raise
            except Exception:
                unanswered.add(host)
            conn.terminate()
        return None, None, unanswered

    async def _is_writable(self, conn: asyncpg.Connection) -> bool:
        return not await conn.fetchval("SELECT pg_is_in_recovery()", timeout=self.connect_timeout_s)

    def _take_probe_connection(self, host: str) -> asyncpg.Connection | None:
        """The kept connection when it is to `host` and still open (it is then no longer kept until given back)."""
        conn = self._probe_conn
        if conn is None or self._probe_host != host:
            return None
        self._probe_conn = self._probe_host = None
        if conn.is_closed():
            return None
        return conn

    def _keep_probe_connection(self, host: str, conn: asyncpg.Connection) -> None:
        if self._probe_conn is not None and self._probe_conn is not conn:
            self._probe_conn.terminate()  # to a host that is no longer the primary
        self._probe_host, self._probe_conn = host, conn

    def close(self) -> None:
        """End the kept probe connection (at stop). Terminated, not closed: its host may be cut off."""
        if self._probe_conn is not None:
            self._probe_conn.terminate()
        self._probe_conn = self._probe_host = None

    async def _probe_pool(self) -> tuple[str | None, str | None, set[str]]:
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                async with self.pool.acquire() as conn:
                    if not await conn.fetchval("SELECT pg_is_in_recovery()"):
                        return connection_address(conn), connection_address(conn), set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not is_connection_loss(exc):
                raise
        return None, None, set()


def _any_session(url: str) -> str:
    """`url` without target_session_attrs (the probe asks each host itself whether it is in recovery)."""
    parts = urlsplit(url)
    query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("target_session_attrs="))
    return urlunsplit(parts._replace(query=query))


def drop_connections_to(address: str) -> int:
    """Terminate every pooled connection to `address` (host:port); returns how many. Their statements fail at
    once with a connection error, which the event store retries on the new primary."""
    dropped = 0
    for conn in list(_CONNECTIONS):
        if not conn.is_closed() and connection_address(conn) == address:
            conn.terminate()
            dropped += 1
    if dropped:
        log.warning("terminated %s connections to the lost primary %s", dropped, address)
    return dropped
