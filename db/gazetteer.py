"""The gazetteer in PostgreSQL: load what routing/places.py derives from the extract, search it by trigram
similarity (pg_trgm GiST indexes on the folded names), find the nearest landmark. Tables: db/migrations/0020, 0021.

Rebuilds are keyed by the source files' hash and serialised across processes by an advisory lock; a process that
finds the key already loaded does nothing. Fleet sites (hospitals, stations) are replaced on their own, as the
fleet changes at run time, and survive rebuilds.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence

import asyncpg

from dispatch.places import Candidate, Landmark, PlaceRecord, name_keys, romanised_keys

GAZETTEER_LOCK = 0x454D535F504C4345  # 'EMS_PLCE': one loader at a time across processes
BULK_TIMEOUT_S = 600  # a bulk load (and the wait for another process's) may outlast the pool's statement timeout
FLEET_SOURCE = "fleet"
LANDMARK_SOURCES = ("osm_pois", FLEET_SOURCE)
M_PER_DEG_LAT = 111_195.0  # on the mean-radius sphere (dispatch.model.EARTH_RADIUS_M): a bounding box pre-filter

class Gazetteer:
    """Storage and search of places. `threshold` is pg_trgm's similarity floor for a name to be considered;
    `part_weight` scales a match of the query inside a longer name (word_similarity), below a whole-name match."""

    def __init__(self, pool: asyncpg.Pool, *, threshold: float = 0.25, part_weight: float = 0.8):
        if not 0 < threshold < 1:
            raise ValueError("threshold must be between 0 and 1")
        self.pool = pool
        self.threshold = float(threshold)
        self.part_weight = float(part_weight)

    async def loaded_key(self) -> str | None:
        """The source key (hash of extract, POI files and normaliser) of the stored gazetteer, or None when empty."""
        return await self.pool.fetchval("SELECT source_key FROM gazetteer_builds ORDER BY built_at DESC LIMIT 1")

    async def replace(self, source_key: str, records: Sequence[PlaceRecord], detail: dict | None = None) -> bool:
        """Load `records` as the gazetteer for `source_key` (one transaction); False if that key is already
        loaded (another process did it). Fleet rows are kept."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", GAZETTEER_LOCK, timeout=BULK_TIMEOUT_S)
            if await conn.fetchval("SELECT 1 FROM gazetteer_builds WHERE source_key = $1", source_key):
                return False
            await conn.execute("DELETE FROM places WHERE source <> $1", FLEET_SOURCE)
            await conn.execute("DELETE FROM gazetteer_builds")
            await self._insert(conn, records)
            await conn.execute("INSERT INTO gazetteer_builds (source_key, places, detail) VALUES ($1, $2, $3)",
                               source_key, len(records), json.dumps(detail or {}))
        await self._vacuum()
        return True

    async def replace_fleet(self, records: Sequence[PlaceRecord]) -> None:
        """The fleet's hospitals and stations, replacing the previous set."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", GAZETTEER_LOCK, timeout=BULK_TIMEOUT_S)
            await conn.execute("DELETE FROM places WHERE source = $1", FLEET_SOURCE)
            await self._insert(conn, records)
        await self._vacuum()

    async def _vacuum(self) -> None:
        """Drop the replaced rows now: a search's index scan visits dead entries too, and a whole gazetteer
        replaced doubles them (autovacuum may be slow to come, or off)."""
        await self.pool.execute("VACUUM (ANALYZE) places, place_names", timeout=BULK_TIMEOUT_S)

    @staticmethod
    async def _insert(conn: asyncpg.Connection, records: Sequence[PlaceRecord]) -> None:
        """Ids are given here, so junction rows can name their roads' ids in the same copy."""
        start = (await conn.fetchval("SELECT coalesce(max(id), 0) FROM places")) + 1
        ids_by_road: dict[str, int] = {}
        for offset, r in enumerate(records):
            if r.kind in ("road", "soi"):
                ids_by_road.setdefault(r.name, start + offset)
        place_rows, name_rows = [], []
        for offset, r in enumerate(records):
            place_id = start + offset
            road_a = road_b = None
            if r.roads is not None:
                pair = sorted(ids_by_road.get(n) or 0 for n in r.roads)
                road_a, road_b = pair
            place_rows.append((place_id, r.kind, r.name, r.name_en, r.lat, r.lon, r.source, r.in_road_graph,
                               r.subdistrict, road_a, road_b))
            seen = set()
            names = list(dict.fromkeys([r.name, *(r.name_en and [r.name_en] or []), *r.names]))
            all_keys = [name_keys(name, r.kind) for name in names]
            if r.kind != "junction" and not any(k.key.isascii() for k in all_keys if k.key):
                # named only in Thai: its romanisation too, so "Bang Saen" finds ถนนอ่างศิลา-บางแสน
                all_keys += [k for k in map(romanised_keys, all_keys) if k is not None]
            for keys in all_keys:
                if keys.key and keys not in seen:
                    seen.add(keys)
                    name_rows.append((place_id, r.kind, keys.key, keys.core))
        await conn.copy_records_to_table("places", records=place_rows, columns=[
            "id", "kind", "name", "name_en", "lat", "lon", "source", "in_road_graph", "subdistrict", "road_a",
            "road_b"], timeout=BULK_TIMEOUT_S)
        await conn.copy_records_to_table("place_names", records=name_rows,
                                         columns=["place_id", "kind", "key", "core"], timeout=BULK_TIMEOUT_S)
        await conn.execute("SELECT setval(pg_get_serial_sequence('places', 'id'), greatest((SELECT max(id) FROM places), 1))")

    async def search(self, key: str, core: str, *, sides: Sequence[tuple[str, str]] = (),
                     pairs: Sequence[tuple[int, int]] = (), limit: int = 40, per_side: int = 8) -> list[Candidate]:
        """Places with a name similar to the folded `key`/`core` (dispatch.places), at most `limit` names, and the
        junctions of each reading in `pairs`: (i, j) joins a road like `sides[i]` with one like `sides[j]`
        ((key, core) each; `per_side` road names considered per side; similarity is the weaker road's).
        One round trip: gazetteer_search, migration 0021."""
        rows = await self.pool.fetch(
            "SELECT * FROM gazetteer_search($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", key, core or key, limit,
            [s[0] for s in sides], [s[1] or s[0] for s in sides], [a + 1 for a, _ in pairs],
            [b + 1 for _, b in pairs], per_side, self.part_weight, self.threshold)
        return [_candidate(r, r["sim"]) for r in rows]

    async def nearest_landmark(self, lat: float, lon: float, max_m: float) -> Landmark | None:
        """The nearest named landmark (OSM POI or fleet site) within `max_m`, with the nearest known sub-district."""
        d_lat = max_m / M_PER_DEG_LAT
        d_lon = d_lat / max(math.cos(math.radians(lat)), 0.01)
        k = math.cos(math.radians(lat)) ** 2
        # Differences under 1e-9° (0.1 mm) count as 1e-9°: squaring a smaller one is a float underflow error in
        # PostgreSQL (a point at 1e-200° from a place would fail the whole request).
        box = ("lat BETWEEN $1::float8 - $3::float8 AND $1 + $3 AND lon BETWEEN $2::float8 - $4::float8 AND $2 + $4"
               " ORDER BY greatest(abs(lat - $1), 1e-9) ^ 2 + $5::float8 * greatest(abs(lon - $2), 1e-9) ^ 2 LIMIT 1")
        row = await self.pool.fetchrow(
            f"SELECT name, name_en, lat, lon, kind FROM places WHERE source = ANY($6) AND {box}",
            lat, lon, d_lat, d_lon, k, list(LANDMARK_SOURCES))
        if row is None:
            return None
        subdistrict = await self.pool.fetchval(
            f"SELECT subdistrict FROM places WHERE subdistrict IS NOT NULL AND {box}", lat, lon, d_lat, d_lon, k)
        return Landmark(row["name"], row["name_en"], row["lat"], row["lon"], row["kind"], subdistrict)

    async def count(self) -> int:
        """How many places are stored."""
        return await self.pool.fetchval("SELECT count(*) FROM places")


def _candidate(r, similarity: float) -> Candidate:
    return Candidate(place_id=r["id"], kind=r["kind"], name=r["name"], name_en=r["name_en"], lat=r["lat"],
                     lon=r["lon"], source=r["source"], in_road_graph=r["in_road_graph"],
                     similarity=float(similarity), key=r["key"])
