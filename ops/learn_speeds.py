"""Learn the time-of-day speed profile from the fleet's stored AVL tracks and save it for the server.

    .venv/bin/python -m ops.learn_speeds [--since 2026-10-01] [--until 2026-11-30] [--out var/speed-profile.json]

Reads `unit_positions` (the thinned AVL track, db/tracks.py) from the database the server uses (EMS_DATABASE_URL,
else the local one), map-matches each unit's track on the configured road graph (routing/learn.py), estimates a
speed factor per road class and local hour, and writes the profile (versioned JSON) where the server loads it at
start (EMS_SPEED_PROFILE_FILE, default var_dir/speed-profile.json). A running server picks it up when restarted.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from config import Config, ConfigError
from routing.build import load_graph
from routing.learn import Fix, Matcher, learn_profile
from routing.profile import HOURS

TRACK_QUERY = ("SELECT unit_id, recorded_at, lat, lon, heading_deg FROM unit_positions"
               " WHERE recorded_at >= $1 AND recorded_at < $2 ORDER BY unit_id, recorded_at")


async def fetch_tracks(database_url: str, since: datetime, until: datetime) -> dict[str, list[Fix]]:
    """Every unit's stored fixes in [since, until), oldest first."""
    from db.pool import create_pool

    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        rows = await pool.fetch(TRACK_QUERY, since, until)
    finally:
        await pool.close()
    tracks: dict[str, list[Fix]] = {}
    for row in rows:
        heading = row["heading_deg"]
        tracks.setdefault(row["unit_id"], []).append(
            Fix(row["recorded_at"], row["lat"], row["lon"], None if heading is None else float(heading)))
    return tracks


def database_url(config: Config) -> str:
    if config.database_url:
        return config.database_url
    from runtime import local_services

    url = local_services.postgres(config.var_dir).url
    return urlunsplit(urlsplit(url)._replace(path="/ems"))


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ops.learn_speeds", description=__doc__.split("\n")[0])
    parser.add_argument("--since", type=parse_time, default=datetime(1970, 1, 1, tzinfo=UTC), help="ISO date/time")
    parser.add_argument("--until", type=parse_time, default=None, help="ISO date/time (default: now)")
    parser.add_argument("--out", type=Path, default=None, help="default: EMS_SPEED_PROFILE_FILE or var/speed-profile.json")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    try:
        config = Config.from_env()
    except ConfigError as exc:
        sys.exit(str(exc))
    until = args.until or datetime.now(UTC)
    tracks = asyncio.run(fetch_tracks(args.database_url or database_url(config), args.since, until))
    if not tracks:
        sys.exit("no AVL positions in that period: nothing to learn from")
    graph = load_graph(config.osm_file, Path(config.var_dir) / "cache", speed_factor=config.speed_factor,
                       progress=sys.stderr.isatty())
    matcher = Matcher(graph)
    steps = [step for fixes in tracks.values() for step in matcher.match(fixes)]
    profile = learn_profile(graph, steps, speed_factor=config.speed_factor,
                            source=f"AVL of {len(tracks)} units, {args.since.isoformat()} to {until.isoformat()}")
    out = args.out or config.speed_profile_file or Path(config.var_dir) / "speed-profile.json"
    profile.save(out)
    print(f"{sum(len(f) for f in tracks.values())} fixes of {len(tracks)} units, {len(steps)} matched steps; "
          f"profile {profile.version} → {out}")
    for highway, row in sorted(profile.factors.items()):
        hours = sum(1 for s in profile.observed_s[highway] if s > 0)
        print(f"  {highway:<14} 02h {row[2]:.2f}  08h {row[8]:.2f}  12h {row[12]:.2f}  17h {row[17]:.2f}  "
              f"({sum(profile.observed_s[highway]) / 60:.0f} min driven, {hours}/{HOURS} hours seen)")
    if not profile.factors:
        print("  no class had enough driving to learn from: the server keeps the calibrated defaults")


if __name__ == "__main__":
    main()
