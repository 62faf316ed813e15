"""Temporary edge-time overrides (closures, floods, slow-downs) applied to the next query without a rebuild."""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np


@dataclass(frozen=True)
class Override:
    id: str
    edges: tuple[int, ...]
    factor: float | None  # None: closed; otherwise travel time multiplied by this (e.g. 3.0 for floodwater)
    expires_at: datetime | None
    reason: str | None = None

    def active(self, now: datetime) -> bool:
        """True until `expires_at` (UTC); an override without one stays until removed."""
        return self.expires_at is None or now < self.expires_at

    def to_json(self) -> dict:
        """The override as a JSON-ready dict (edge count, factor or closed, expiry as ISO 8601, reason)."""
        return {"id": self.id, "edges": len(self.edges), "factor": self.factor, "closed": self.factor is None,
                "expires_at": self.expires_at.isoformat() if self.expires_at else None, "reason": self.reason}


class Overrides:
    """Holds the overrides and the effective weights; thread-safe; expiry is checked on every read."""

    def __init__(self, base_weights: np.ndarray):
        self.base = base_weights
        self._base_tag: str | None = None  # which base is in force, once replaced (a time-of-day speed profile)
        self._items: dict[str, Override] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._cached: np.ndarray = base_weights
        self._cached_key: tuple = ()

    def add(self, edges, *, factor: float | None, expires_at: datetime | None, reason: str | None = None,
            override_id: str | None = None) -> Override:
        """Add (or replace, by id) an override on `edges`: travel times × `factor` (≥ 1), or closed when None.
        ValueError for a bad factor."""
        if factor is not None and not (factor >= 1.0 and np.isfinite(factor)):
            raise ValueError("factor must be a finite number ≥ 1 (None closes the road)")
        with self._lock:
            override = Override(override_id or f"ovr-{next(self._ids)}", tuple(int(e) for e in edges), factor,
                                expires_at, reason)
            self._items[override.id] = override
            return override

    def remove(self, override_id: str) -> bool:
        """Remove the override; True if it existed."""
        with self._lock:
            return self._items.pop(override_id, None) is not None

    def active(self, now: datetime | None = None) -> list[Override]:
        """The overrides in force at `now` (default: the current UTC time)."""
        now = now or datetime.now(UTC)
        with self._lock:
            return [o for o in self._items.values() if o.active(now)]

    def set_base(self, weights: np.ndarray, tag: str) -> None:
        """Replace the base travel times (e.g. the speed profile's hour, routing/profile.py), named by `tag`: the
        weights' key changes with the tag, so trees and the CCH metric keyed by it start afresh. ValueError for
        weights of another length, negative or not finite."""
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != self.base.shape or not np.all(np.isfinite(weights) & (weights >= 0)):
            raise ValueError("base weights must be finite seconds (0 or more), one per edge")
        with self._lock:
            self.base, self._base_tag = weights, tag
            self._cached_key = None  # refilled on the next read

    @property
    def version(self) -> tuple:
        """Identifies the weights in force (which overrides are active); caches keyed by it stay correct."""
        return tuple(o.id for o in self.active())

    def weights(self, now: datetime | None = None) -> np.ndarray:
        """Base travel times with the active overrides applied (closed = inf); cached until the set changes."""
        return self.weights_with_key(now)[0]

    def weights_with_key(self, now: datetime | None = None) -> tuple[np.ndarray, tuple]:
        """The weights and the `version` they belong to, read together: a cache keyed by the version (unit
        trees) must never store weights of one set of overrides under the key of another."""
        now = now or datetime.now(UTC)
        with self._lock:  # the check and the refill of the one-entry cache happen as one step
            active = [o for o in self._items.values() if o.active(now)]
            key = tuple(o.id for o in active)
            if self._base_tag is not None:
                key = (f"base:{self._base_tag}", *key)
            if key != self._cached_key:
                weights = self.base.copy()
                for override in active:
                    index = np.asarray(override.edges, dtype=np.int64)
                    weights[index] = np.inf if override.factor is None else weights[index] * override.factor
                self._cached, self._cached_key = weights, key
            return self._cached, self._cached_key
