"""The small interfaces the domain needs from the outside world (implemented in db/, routing/, integrations/)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import msgspec

from dispatch.error_codes import ErrorCode
from dispatch.errors import NotFound
from dispatch.events import Event


class StoredEvent(msgspec.Struct, frozen=True):
    """An event as committed: its global position `seq` orders everything."""

    seq: int
    stream: str
    type: str
    payload: dict[str, Any]
    actor: str
    occurred_at: datetime


class UnitOfWork(Protocol):
    """One transaction against the event log: all or nothing. The one contract of every store's units
    (db/event_store.py optimistic and serialised, dispatch/memory_store.py):

    - `get` returns a row as this unit sees it (its own appends included) as a fresh copy; what the unit read
      cannot change before it commits (the row is locked, or its version is checked at commit and the unit runs
      again in a `run`).
    - `append` folds the event into every projection it touches and returns nothing: seqs are drawn when the
      unit commits. Afterwards `last_seq` is the unit's last event's seq (0 if it appended nothing) and every
      state `get` returned for a row the unit wrote carries that row's final `last_seq`.
    - `claim_idempotency` / `remember`: the first result stored under a key, or None after claiming it.
    - Only a serialised unit (`EventStore.unit_of_work`) may read other tables through its connection; its
      appends are written at commit, so read them back through `get`, never through the connection.
    """

    actor: str
    last_seq: int

    async def next_incident_id(self) -> int:
        """A new, never reused incident id."""

    async def next_assignment_id(self) -> int:
        """A new, never reused assignment id."""

    async def get(self, projection: str, key: Any, *, lock: bool = False) -> Any | None:
        """The row as this unit of work sees it, or None; `lock` holds it until commit. KeyError for an unknown
        projection."""

    async def append(self, event: Event) -> None:
        """Record the event and fold it into every projection it touches; written when the unit commits."""
        ...

    async def claim_idempotency(self, scope: str, key: str) -> dict[str, Any] | None:
        """Return the first result stored under (scope, key), or None after claiming it for this unit.

        Two units claiming the same free key never both commit: the second waits (serialised) or runs again
        (optimistic) and then sees the first one's result.
        """
        ...

    async def remember(self, scope: str, key: str, result: dict[str, Any]) -> None:
        """Store `result` under (scope, key), claimed by this unit or an earlier one; written at commit."""
        ...


class EventStore(Protocol):
    def unit_of_work(self, actor: str) -> AbstractAsyncContextManager[UnitOfWork]:
        """A serialised unit of work, committed when the block ends, that may read other tables through its
        connection: serialised with all others. Raises StoreBusy (nothing written) when the event log cannot
        be written within the configured wait."""
        ...

    async def run(self, actor: str, body: Callable[[UnitOfWork], Awaitable[Any]], *,
                  known: tuple[tuple[str, Any], ...] = ()) -> Any:
        """`body(uow)` as one unit of work that takes no lock while it runs (the hot paths). The body may run
        more than once (a conflicting write elsewhere, a busy log), so it only reads, decides and appends
        through `uow`. `known`: (projection, state) pairs just read by the caller, which the unit may use as
        its own reads. Raises StoreBusy (nothing written) when the log stays busy."""
        ...

    async def get(self, projection: str, key: Any) -> Any | None:
        """The committed row, or None. KeyError for an unknown projection."""

    async def get_many(self, projection: str, keys: Iterable[Any]) -> list[Any]:
        """The committed rows of `keys` that exist (one read, not one per key), in the order of `keys`. KeyError
        for an unknown projection."""

    async def list(self, projection: str, *, open_only: bool = False, limit: int = 1000) -> list[Any]:
        """Up to `limit` committed rows by id; `open_only` keeps open ones. KeyError for an unknown projection."""

    async def events_since(self, seq: int, *, limit: int = 1000) -> list[StoredEvent]:
        """Up to `limit` committed events with seq > `seq`, in seq order."""

    async def recent_events(self, types: Iterable[str], *, since: datetime, until_seq: int,
                            limit: int) -> list[StoredEvent]:
        """The newest `limit` committed events of these types that happened at or after `since`, with seq at or
        below `until_seq`, in seq order."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""


class SystemClock:
    """UTC wall time; `offset_s` skews it (fault drills prove nothing depends on clocks agreeing)."""

    def __init__(self, offset_s: float = 0.0):
        self.offset = timedelta(seconds=offset_s)

    def now(self) -> datetime:
        """Wall-clock UTC plus the configured offset."""
        return datetime.now(UTC) + self.offset


class Position(Protocol):
    lat: float
    lon: float


class RoadEta(Protocol):
    eta_s: float | None  # None: unreachable or beyond the useful bound
    distance_m: float | None
    outside_coverage: bool  # an end is off the road network: eta_s is a straight-line estimate
    eta_source: str  # "road" or "straight_line"
    snap_distance_m: float  # the farther end's distance to its nearest mapped road


class EtaProvider(Protocol):
    async def etas_to(self, target: Position, origins: Sequence[Position]) -> Sequence[RoadEta]:
        """One RoadEta (seconds, metres, flags) per origin, in order, to `target`; raises Unavailable when it cannot
        answer yet."""


class UnitPositions(Protocol):
    async def latest(self, unit_ids: list[str]) -> dict[str, Any]:
        """Latest known position (.lat/.lon) per unit id; units never seen are absent."""
        ...


class CrewNotifier(Protocol):
    """SMS and voice to a crew's phone (Twilio at the edge; a recording fake in domain tests)."""

    async def send_sms(self, to: str, body: str, *, incident_id: int | None = None) -> str:
        """Text `body` to `to` (E.164) about `incident_id`; returns the provider's message id (its delivery
        status comes back later, as an event); raises Unavailable if refused."""

    async def call(self, to: str, message: str, *, incident_id: int | None = None) -> str:
        """Ring `to` and read `message` about `incident_id`; returns the provider's call id; raises Unavailable
        if refused."""


class Accounts(Protocol):
    """People's accounts (db/identity.py): what the registry needs to create, edit, list and disable them."""

    async def save_account(self, user_id: str, *, name: str, role: str, agency_id: str, unit_id: str | None,
                           hospital_id: str | None, phone: str | None, password: str | None) -> None:
        """Create or update an account; a None password keeps the current one (or none: it cannot log in)."""

    async def account(self, user_id: str) -> dict[str, Any] | None:
        """One account as plain data (never its password hash), or None."""

    async def accounts(self) -> list[dict[str, Any]]:
        """Every account by id, disabled ones included (`retired_at` set)."""

    async def disable_account(self, user_id: str) -> int:
        """Stop the account logging in and revoke its tokens; returns how many tokens were revoked."""


class NoPositions:
    async def latest(self, unit_ids: list[str]) -> dict[str, Any]:
        """No unit has a known position."""
        return {}


class RecordingNotifier:
    """Keeps what would have been sent; used when no SMS/voice provider is configured, and in tests."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send_sms(self, to: str, body: str, *, incident_id: int | None = None) -> str:
        """Record the text; returns a local message id. Never fails."""
        self.sent.append(("sms", to, body))
        return f"local-sms-{len(self.sent)}"

    async def call(self, to: str, message: str, *, incident_id: int | None = None) -> str:
        """Record the call; returns a local call id. Never fails."""
        self.sent.append(("voice", to, message))
        return f"local-call-{len(self.sent)}"


_SINGULAR = {"incidents": "incident", "units": "unit", "assignments": "assignment", "hospitals": "hospital"}


async def get_or_not_found(reader: EventStore | UnitOfWork, projection: str, key: Any, *, lock: bool = False) -> Any:
    """The projection row `key` of `projection`, read through a store or a unit of work.

    Parameters
    ----------
    reader : EventStore or UnitOfWork
        Where to read; inside a unit of work the read sees its own uncommitted writes.
    projection : str
        "incidents", "units", "assignments" or "hospitals" (any projection name works; the message uses it).
    key : Any
        The row's id (int for incidents and assignments, str for units and hospitals).
    lock : bool
        Lock the row until the unit of work ends (only on a UnitOfWork).

    Returns
    -------
    Any
        The row's domain object.

    Raises
    ------
    NotFound
        "no <incident|unit|...> <key>" when there is no such row (→ 404).
    """
    row = await (reader.get(projection, key, lock=True) if lock else reader.get(projection, key))
    if row is None:
        raise NotFound(ErrorCode.RECORD_NOT_FOUND, kind=_SINGULAR.get(projection, projection), record_id=key)
    return row
