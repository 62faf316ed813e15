"""Time-of-day speed profile: per highway class and local hour, a factor on the graph's driving times.

A profile is learned from the fleet's own AVL tracks (routing/learn.py, `python -m ops.learn_speeds`) and saved as
versioned JSON. A factor of 0.8 for "primary" at 08:00 means primaries are driven at 80 % of the graph's speed
then: the driving part of each such edge takes 1/0.8 as long; the junction delay (`RoadGraph.edge_delay_s`) is
left as built. Classes or hours the profile does not know keep factor 1 (the graph's calibrated defaults).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from dispatch.kpi import LOCAL_OFFSET
from routing.graph import RoadGraph

PROFILE_FORMAT = 1
HOURS = 24
FACTOR_RANGE = (0.2, 3.0)  # a learned factor outside this is a matching error, not traffic


class ProfileError(ValueError):
    """A speed profile file that is not one (format, shape or values), or one learned for another graph setup."""


def local_hour(at: datetime) -> int:
    """The Thai local hour (0-23) of a UTC time: what a profile is indexed by."""
    return (at + LOCAL_OFFSET).hour


@dataclass(frozen=True)
class SpeedProfile:
    factors: dict[str, list[float]]  # highway class → 24 speed factors by local hour
    source: str = "neutral"
    speed_factor: float | None = None  # the graph's ambulance factor the factors were learned against
    observed_s: dict[str, list[float]] = field(default_factory=dict)  # driving seconds behind each factor
    created_at: str | None = None

    def __post_init__(self):
        for highway, row in self.factors.items():
            if len(row) != HOURS or not all(isinstance(f, (int, float)) and math.isfinite(f) for f in row):
                raise ProfileError(f"speed profile: class {highway!r} needs {HOURS} finite factors")
            if not all(FACTOR_RANGE[0] <= f <= FACTOR_RANGE[1] for f in row):
                raise ProfileError(f"speed profile: class {highway!r} has a factor outside {FACTOR_RANGE}")

    @property
    def version(self) -> str:
        """A short digest of the factors: which profile is in force (logs, metrics, cache keys)."""
        text = json.dumps(self.factors, sort_keys=True)
        return "neutral" if not self.factors else hashlib.sha256(text.encode()).hexdigest()[:12]

    def factor(self, highway: str, hour: int) -> float:
        """The speed factor of a class at a local hour (1.0 when unknown)."""
        row = self.factors.get(highway)
        return 1.0 if row is None else float(row[hour % HOURS])

    def weights(self, graph: RoadGraph, hour: int, base: np.ndarray | None = None) -> np.ndarray:
        """Edge seconds at local `hour`: the driving part of `base` (default the graph's times) divided by its
        class's factor, plus the junction delay unchanged."""
        base = graph.edge_time_s if base is None else base
        per_class = np.array([self.factor(h, hour) for h in graph.highways] or [1.0])
        delay = graph.junction_delays()
        return (base - delay) / per_class[graph.edge_highway] + delay

    def check_for(self, speed_factor: float) -> None:
        """ProfileError when the profile was learned against a graph with another ambulance factor."""
        if self.speed_factor is not None and not math.isclose(self.speed_factor, speed_factor):
            raise ProfileError(f"speed profile learned with speed factor {self.speed_factor}, the graph has "
                               f"{speed_factor}: learn it again (python -m ops.learn_speeds)")

    def to_json(self) -> dict:
        """The profile as saved (versioned; read back by the loader above)."""
        return {"format": PROFILE_FORMAT, "version": self.version, "source": self.source,
                "created_at": self.created_at, "speed_factor": self.speed_factor,
                "factors": self.factors, "observed_s": self.observed_s}

    def save(self, path: Path) -> None:
        """Write the profile as JSON, atomically (temporary file, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def from_json(cls, data: dict) -> SpeedProfile:
        """ProfileError for another format or bad factors."""
        if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
            raise ProfileError(f"speed profile: format {PROFILE_FORMAT} expected")
        factors = data.get("factors")
        if not isinstance(factors, dict):
            raise ProfileError("speed profile: 'factors' must map highway classes to 24 numbers")
        return cls({str(k): [float(f) for f in v] for k, v in factors.items()}, str(data.get("source", "")),
                   data.get("speed_factor"), data.get("observed_s") or {}, data.get("created_at"))

    @classmethod
    def load(cls, path: Path) -> SpeedProfile:
        """Read a saved profile; OSError if unreadable, ProfileError if not a profile."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ProfileError(f"speed profile {path}: not JSON ({exc})") from exc
        return cls.from_json(data)


NEUTRAL = SpeedProfile({})


class ProfileHours:
    """Keeps a routing service on the profile's current hour: `apply(now)` sets the hour's weights as the base
    travel times when the local hour has changed since the last call (a partial CCH update, then warm)."""

    def __init__(self, routing, profile: SpeedProfile):
        self.routing = routing
        self.profile = profile
        self.hour: int | None = None

    def apply(self, now: datetime) -> bool:
        """True when the weights changed (a new hour)."""
        hour = local_hour(now)
        if hour == self.hour:
            return False
        graph = self.routing.graph
        self.routing.overrides.set_base(self.profile.weights(graph, hour), f"{self.profile.version}@{hour:02d}")
        self.routing.warm()
        self.hour = hour
        return True


def load_profile(path: Path | None, default: Path, speed_factor: float) -> SpeedProfile | None:
    """The profile to run with: `path` (must exist), else `default` when it exists, else None (no profile).
    OSError/ProfileError for an unreadable or unsuitable file."""
    if path is None:
        if not Path(default).exists():
            return None
        path = default
    profile = SpeedProfile.load(path)
    profile.check_for(speed_factor)
    return profile
