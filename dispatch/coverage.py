"""Coverage: which parts of the area an available, suitable unit reaches in time, and where to move units up.

The area is a grid of cells weighted by expected demand (road density stands in for population unless a layer is
supplied). A cell is covered when a unit reaches its centre by road within `travel_budget_s` (the 8-minute
response target less the expected call-processing and turnout time).

Move-up follows the dynamic maximum expected coverage rule (DMEXCLP, Jagtenberg, van der Mei & Bhulai 2015): each
unit is busy with probability `q`, so a cell covered by k suitable idle units is reached with probability
1 - q^k. Placing one more unit adds demand x (1 - q) x q^k on every cell it covers; a unit is worth moving when
the best post adds clearly more than where it stands. Capability tiers are counted separately: an ALS unit
covers red (ALS) demand and also BLS and FR demand; a BLS unit covers BLS and FR demand.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dispatch.error_codes import ErrorCode
from dispatch.errors import Conflict, FieldError, Invalid
from dispatch.kpi import TARGET_RESPONSE_S
from dispatch.model import CAPABILITY_RANK, EARTH_RADIUS_M, Capability, LatLon, Unit, UnitStatus
from dispatch.moveup import UnitRelocated
from dispatch.policies import require
from dispatch.ports import Clock, EtaProvider, EventStore, UnitPositions, get_or_not_found

PRE_TRAVEL_S = 150.0  # expected call processing + turnout before the wheels roll
POST_ROWS_TTL_S = 300.0
CONSOLE_CELL_M = 600.0  # the live console's demand grid
# Weight of each capability tier's demand: its share of calls (the colour mix in dispatch/simulation.py) times
# its urgency. DMEXCLP maximises the coverage of urgent calls; red (ALS) calls count in full, BLS calls at 0.2
# and FR calls at 0.1, so lower tiers only break ties. Weighting by call volume alone (0.25/0.60/0.15) moved ALS
# units to cover BLS gaps and reached fewer red patients in time (see docs/simulation.md).
CALL_SHARE = {Capability.ALS: 0.25, Capability.BLS: 0.60, Capability.FR: 0.15}
URGENCY = {Capability.ALS: 1.0, Capability.BLS: 0.2, Capability.FR: 0.1}
DEFAULT_TIER_SHARE = {cap: CALL_SHARE[cap] * URGENCY[cap] for cap in CALL_SHARE}


@dataclass(frozen=True)
class Cell:
    lat: float
    lon: float
    weight: float  # share of the area's demand, all cells sum to 1


@dataclass(frozen=True)
class Post:
    """A place a unit can stand by: a station or a hospital."""

    id: str
    name: str
    location: LatLon


def demand_grid(bounds: tuple[float, float, float, float], cell_m: float, lat: np.ndarray, lon: np.ndarray,
                weights: np.ndarray | None = None) -> list[Cell]:
    """Square cells of `cell_m` metres over (min_lat, min_lon, max_lat, max_lon), weighted by the points inside.

    `lat`/`lon` are demand points (road nodes as a population proxy, or a supplied layer with `weights`).
    Cells with no demand are dropped, so every cell returned is somewhere people are.
    """
    min_lat, min_lon, max_lat, max_lon = bounds
    dlat = math.degrees(cell_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians((min_lat + max_lat) / 2)), 1e-6)
    rows, cols = max(1, math.ceil((max_lat - min_lat) / dlat)), max(1, math.ceil((max_lon - min_lon) / dlon))
    r = np.clip(((np.asarray(lat) - min_lat) / dlat).astype(int), 0, rows - 1)
    c = np.clip(((np.asarray(lon) - min_lon) / dlon).astype(int), 0, cols - 1)
    mass = np.zeros(rows * cols)
    np.add.at(mass, r * cols + c, 1.0 if weights is None else np.asarray(weights, dtype=float))
    total = mass.sum() or 1.0
    return [Cell(min_lat + (i // cols + 0.5) * dlat, min_lon + (i % cols + 0.5) * dlon, float(mass[i] / total))
            for i in np.flatnonzero(mass)]


async def eta_matrix(etas: EtaProvider, origins: Sequence, cells: Sequence[Cell]) -> np.ndarray:
    """Road seconds from every origin (rows) to every cell centre (columns); inf where unreachable.

    One one-to-many query per cell; the routing service keeps shortest-path trees for origins it sees again, so
    after the first two cells each query is a few array reads.
    """
    matrix = np.full((len(origins), len(cells)), np.inf)
    if not origins:
        return matrix
    for j, cell in enumerate(cells):
        for i, eta in enumerate(await etas.etas_to(LatLon(cell.lat, cell.lon), origins)):
            if eta.eta_s is not None:
                matrix[i, j] = eta.eta_s
    return matrix


def tier_demand(cells: Sequence[Cell], shares: dict[Capability, float] = DEFAULT_TIER_SHARE) -> dict[int, np.ndarray]:
    """Demand per capability rank (3 = ALS, 2 = BLS, 1 = FR) on every cell."""
    weights = np.array([c.weight for c in cells])
    return {CAPABILITY_RANK[cap]: weights * share for cap, share in shares.items()}


def marginal_coverage(covered_by_others: np.ndarray, ranks_of_others: np.ndarray, demand: dict[int, np.ndarray],
                      q: float, candidate_rows: np.ndarray, rank: int) -> np.ndarray:
    """Expected covered demand that one more unit of `rank` adds at each candidate (rows of cells it covers).

    `covered_by_others` is a bool matrix [units, cells] for the idle units already placed, with their ranks.
    """
    gain = np.zeros(len(candidate_rows))
    for tier, tier_weights in demand.items():
        if rank < tier:
            continue  # this unit cannot serve calls that need a higher capability
        k = covered_by_others[ranks_of_others >= tier].sum(axis=0) if len(covered_by_others) else 0
        gain += candidate_rows.astype(float) @ (tier_weights * (1 - q) * q ** k)
    return gain


def busy_fraction(busy: int, total: int) -> float:
    """The chance a unit is busy, from the fleet now; kept away from 0 and 1 so the rule stays informative."""
    return min(max(busy / total if total else 0.5, 0.1), 0.9)


def fleet_busy_fraction(units: Sequence[Unit], idle: int) -> float:
    """`busy_fraction` of the units in service when `idle` of them are free."""
    in_service = sum(1 for u in units if u.status is not UnitStatus.OUT_OF_SERVICE)
    return busy_fraction(in_service - idle, in_service)


@dataclass(frozen=True)
class MoveUp:
    unit_id: str
    post: Post
    gain: float  # urgency-weighted expected covered demand added (all red demand = 0.25)


def best_post(rows_of_others: np.ndarray, ranks_of_others: np.ndarray, demand: dict[int, np.ndarray], q: float,
              post_rows: np.ndarray, rank: int) -> tuple[int, float]:
    """(index of the post where one more unit of `rank` adds the most expected coverage, that gain)."""
    gains = marginal_coverage(rows_of_others, ranks_of_others, demand, q, post_rows, rank)
    best = int(np.argmax(gains))
    return best, float(gains[best])


def suggest_moves(unit_ids: Sequence[str], unit_rows: np.ndarray, unit_ranks: np.ndarray, posts: Sequence[Post],
                  post_rows: np.ndarray, demand: dict[int, np.ndarray], q: float, *,
                  min_gain: float = 0.01) -> list[MoveUp]:
    """For each idle unit, the post that would add at least `min_gain` expected coverage over where it stands.

    Each suggestion is judged with every other idle unit where it is now; best first.
    """
    moves = []
    for i, unit_id in enumerate(unit_ids):
        others = np.arange(len(unit_ids)) != i
        here = marginal_coverage(unit_rows[others], unit_ranks[others], demand, q, unit_rows[i:i + 1],
                                 int(unit_ranks[i]))[0]
        j, there = best_post(unit_rows[others], unit_ranks[others], demand, q, post_rows, int(unit_ranks[i]))
        if there - here >= min_gain:
            moves.append(MoveUp(unit_id, posts[j], round(float(there - here), 4)))
    return sorted(moves, key=lambda m: (-m.gain, m.unit_id))


def covered_share(rows: np.ndarray, cells: Sequence[Cell]) -> float:
    """Share of demand within the travel budget of at least one of the units (rows of covered cells)."""
    if not len(rows):
        return 0.0
    weights = np.array([c.weight for c in cells])
    return float(weights[rows.any(axis=0)].sum())


def covers(matrix: np.ndarray, travel_budget_s: float) -> np.ndarray:
    """Boolean matrix: True where a travel time (seconds) is within `travel_budget_s`; NaN (unreachable) is never
    covered."""
    return matrix <= travel_budget_s


def unit_position(unit: Unit, live: dict) -> LatLon:
    """Where an idle unit stands: its live GPS, else the post it was moved up to, else its station."""
    position = live.get(unit.id)
    if position is not None:
        return LatLon(position.lat, position.lon)
    return unit.standby or unit.base


class CoverageService:
    """The live coverage map and move-up suggestions for the dispatcher console (same rules as the simulator)."""

    def __init__(self, store: EventStore, clock: Clock, etas: EtaProvider, positions: UnitPositions,
                 cells: Sequence[Cell], *, travel_budget_s: float = TARGET_RESPONSE_S - PRE_TRAVEL_S,
                 min_gain: float = 0.01, post_rows_ttl_s: float = POST_ROWS_TTL_S):
        self.store = store
        self.clock = clock
        self.etas = etas
        self.positions = positions
        self.cells = list(cells)
        self.travel_budget_s = travel_budget_s
        self.min_gain = min_gain
        self.post_rows_ttl_s = post_rows_ttl_s
        self._post_rows: tuple[tuple, np.ndarray] | None = None

    async def posts(self) -> list[Post]:
        """Standby posts: every unit's home station and every hospital."""
        return await self._posts(await self.store.list("units"))

    async def _posts(self, units: Sequence[Unit]) -> list[Post]:
        found = {u.station_id: Post(u.station_id, u.station_name, u.base) for u in units if u.is_open}
        for h in await self.store.list("hospitals", open_only=True):
            found.setdefault(h.id, Post(h.id, h.name_en or h.name_th, h.location))
        return sorted(found.values(), key=lambda p: p.id)

    async def _idle(self, units: Sequence[Unit],
                    capability: Capability | None = None) -> tuple[list[Unit], list[LatLon]]:
        """The available units (able to take a call needing `capability`, if given) and where each stands."""
        idle = [u for u in units if u.status is UnitStatus.AVAILABLE and u.is_open
                and (capability is None or CAPABILITY_RANK[u.capability] >= CAPABILITY_RANK[capability])]
        live = await self.positions.latest([u.id for u in idle]) if idle else {}
        return idle, [unit_position(u, live) for u in idle]

    async def snapshot(self, capability: Capability) -> dict:
        """Per cell, the road ETA (s) of the nearest available unit able to take a call needing `capability`."""
        units, origins = await self._idle(await self.store.list("units"), capability)
        matrix = await eta_matrix(self.etas, origins, self.cells)
        nearest = matrix.min(axis=0) if len(origins) else np.full(len(self.cells), np.inf)
        return {
            "capability": capability.value, "travel_budget_s": self.travel_budget_s,
            "covered_share": round(covered_share(covers(matrix, self.travel_budget_s), self.cells), 4),
            "unit_ids": [u.id for u in units],
            "cells": [{"lat": round(c.lat, 6), "lon": round(c.lon, 6), "weight": round(c.weight, 6),
                       "eta_s": None if not np.isfinite(eta) else round(float(eta), 1)}
                      for c, eta in zip(self.cells, nearest)],
        }

    async def _rows_for_posts(self, posts: list[Post]) -> np.ndarray:
        """Cells each post covers; recomputed every `post_rows_ttl_s` so closures and slow-downs count."""
        key = (tuple(p.id for p in posts), self.clock.now().timestamp() // self.post_rows_ttl_s)
        if self._post_rows is None or self._post_rows[0] != key:
            matrix = await eta_matrix(self.etas, [p.location for p in posts], self.cells)
            self._post_rows = (key, covers(matrix, self.travel_budget_s))
        return self._post_rows[1]

    async def suggestions(self) -> list[MoveUp]:
        """Idle units worth moving to another post, best first (DMEXCLP marginal coverage)."""
        all_units = await self.store.list("units")
        units, origins = await self._idle(all_units)
        if not units:
            return []
        posts = await self._posts(all_units)
        post_rows = await self._rows_for_posts(posts)
        unit_rows = covers(await eta_matrix(self.etas, origins, self.cells), self.travel_budget_s)
        ranks = np.array([CAPABILITY_RANK[u.capability] for u in units])
        return suggest_moves([u.id for u in units], unit_rows, ranks, posts, post_rows, tier_demand(self.cells),
                             fleet_busy_fraction(all_units, len(units)), min_gain=self.min_gain)

    async def best_post_for(self, unit_id: str) -> tuple[Post | None, float]:
        """Where a unit turning free adds the most expected coverage, given the other idle units (DMEXCLP)."""
        all_units = await self.store.list("units")
        unit = next((u for u in all_units if u.id == unit_id), None)
        units, origins = await self._idle(all_units)
        keep = [i for i, u in enumerate(units) if u.id != unit_id]
        posts = await self._posts(all_units)
        if unit is None or not posts:
            return None, 0.0
        rows = covers(await eta_matrix(self.etas, [origins[i] for i in keep], self.cells), self.travel_budget_s)
        ranks = np.array([CAPABILITY_RANK[units[i].capability] for i in keep], dtype=int)
        q = fleet_busy_fraction(all_units, len(keep))
        index, gain = best_post(rows, ranks, tier_demand(self.cells), q, await self._rows_for_posts(posts),
                                CAPABILITY_RANK[unit.capability])
        return posts[index], round(gain, 4)

    async def accept(self, unit_id: str, post_id: str, *, actor: str, role: str, gain: float | None = None):
        """Record the move-up as an event; the unit must be available or returning (Conflict otherwise)."""
        require(role, "manage_fleet")
        post = next((p for p in await self.posts() if p.id == post_id), None)
        if post is None:
            raise Invalid(FieldError("post_id", ErrorCode.NO_SUCH_POST))
        async with self.store.unit_of_work(actor) as uow:
            unit = await get_or_not_found(uow, "units", unit_id, lock=True)
            if unit.status not in (UnitStatus.AVAILABLE, UnitStatus.RETURNING):
                raise Conflict(ErrorCode.UNIT_BUSY, unit_id=unit_id, status=unit.status.value)
            await uow.append(UnitRelocated(at=self.clock.now(), unit_id=unit_id, post_id=post.id,
                                           post_name=post.name, location=post.location, gain=gain))
            return await uow.get("units", unit_id)
