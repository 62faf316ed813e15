"""The current customized metric of a contraction hierarchy and the spare one the next is made from, shared by
RoutingKit's CCH (routing/cch.py) and ours (routing/etree.py).

A metric must not change while a query uses it, and making one from nothing costs far more than bringing the
spare up to date (a partial update, or a copy into memory already mapped). So queries count themselves on the
current metric (`acquire` … `release`); the next metric is made from the spare once its last query is gone
(`take_spare` waits up to `STANDBY_WAIT_S`, then the maker starts afresh), and the two swap under a lock. One
metric is made at a time; a second caller for the same weights key waits for it. Metrics need a `key` and a
`users` count.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

STANDBY_WAIT_S = 2.0  # how long a new metric waits for the last query on the spare one before starting afresh

M = TypeVar("M")


class MetricPair(Generic[M]):
    """`make(weights, key, current)` returns (the new metric, a first spare or None); it runs under this pair's
    making lock and may call `take_spare`."""

    def __init__(self, make: Callable[[object, object, M | None], tuple[M, M | None]]):
        self._make = make
        self._state = threading.Condition()  # guards which metric is current and each metric's users
        self._making = threading.Lock()
        self.current: M | None = None
        self.spare: M | None = None

    def acquire(self, weights, key) -> M:
        """The metric for `weights` known by `key`, counted as in use until `release`; made on first use."""
        with self._state:
            if self.current is not None and self.current.key == key:
                self.current.users += 1
                return self.current
        with self._making:
            with self._state:
                if self.current is not None and self.current.key == key:  # made meanwhile by another thread
                    self.current.users += 1
                    return self.current
            made, first_spare = self._make(weights, key, self.current)
            with self._state:
                if first_spare is not None:
                    self.spare = first_spare
                elif self.current is not None:
                    self.spare = self.current
                self.current = made
                made.users += 1
                return made

    def release(self, metric: M) -> None:
        """The end of one query's use of `metric` (from `acquire`)."""
        with self._state:
            metric.users -= 1
            self._state.notify_all()

    def take_spare(self) -> M | None:
        """The spare metric once no query uses it (no new query can start on it: only `current` is handed out),
        else None after `STANDBY_WAIT_S`. Only a `make` call may take it."""
        with self._state:
            spare = self.spare
            if spare is not None and self._state.wait_for(lambda: spare.users == 0, timeout=STANDBY_WAIT_S):
                self.spare = None
                return spare
        return None
