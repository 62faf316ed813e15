"""Simulate a day of EMS calls under each dispatch policy and compare red patients reached within 8 minutes.

    .venv/bin/python -m ops.simulate --hours 24 --seed 1 --json
    .venv/bin/python -m ops.simulate --region synthetic --hours 24 --seed 1 --json

`--region city` (default) runs on the Chon Buri city road graph with the demo fleet and hospitals;
`--region synthetic` on a 30 x 20 km river town with two bridges (routing/synthetic.py) and its own fleet.
`--demand layer.geojson` takes call locations from a supplied point layer (with `weight`) instead of road density.
Units drive at time-of-day speeds per road class (`--speeds truth`, the default: `routing.drives.example_truth`,
what the calibration benchmark learns back within a few per cent; the ranking uses the same profile, as a server
running a learned one would; `--planning defaults` ranks by the defaults instead, as a server without a profile),
or at the calibrated defaults all day (`--speeds defaults`). A share of crews miss
their acknowledgement and the live escalation ladder runs (`SimParams.missed_ack_share`).
Every policy gets the same calls and fleet. Prints a table per policy (stderr with --json), writes PNG plots
(response-time CDF per policy, coverage map) and results.json under --out, and with --json one line per policy
on stdout: policy, incidents, red_within_8min_pct, p90_response_s, mean_response_s.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from config import Config, ConfigError
from dispatch import demo
from dispatch.coverage import Cell, demand_grid, eta_matrix
from dispatch.events import Event, HospitalRegistered, UnitRegistered
from dispatch.kpi import TARGET_RESPONSE_S
from dispatch.model import Capability, LatLon
from dispatch.simulation import POLICIES, SimParams, SimResult, Simulation, generate_calls
from routing.build import load_graph
from routing.drives import example_truth
from routing.graph import RoadGraph
from routing.profile import ProfileHours
from routing.service import RoutingService
from routing.speeds import CAR_DEFAULT_KMH, JunctionDelays
from routing.synthetic import grid_km, grid_point, river_grid

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Region:
    name: str
    graph: RoadGraph
    fleet_events: list[Event]
    demand_lat: np.ndarray
    demand_lon: np.ndarray
    demand_weight: np.ndarray | None


def city_region(config: Config) -> Region:
    graph = load_graph(config.osm_file, Path(config.var_dir) / "cache", speed_factor=config.speed_factor,
                       progress=sys.stderr.isatty())
    nodes = graph.usable_nodes()  # demand where the roads are: road density as the population proxy
    return Region("city", graph, demo.demo_events(datetime(2026, 1, 1, tzinfo=UTC)),
                  graph.node_lat[nodes], graph.node_lon[nodes], None)


TOWNS = [(12.5, 10.0, 2.5, 1.0), (18.0, 10.0, 2.5, 1.0), (5.0, 4.0, 2.0, 0.4), (25.0, 16.0, 2.0, 0.4)]  # x, y, km, weight
# The river runs at x = 15.25 km; each town's station sits near the other bank's suburbs, as the crow flies.
SYNTHETIC_STATIONS = {"west": (9.0, 10.0), "east": (16.5, 10.0), "south-west": (5.0, 4.0), "north-east": (25.0, 16.0)}
SYNTHETIC_HOSPITALS = {"west-general": (12.0, 11.5), "east-general": (18.0, 8.5), "north-west": (4.0, 15.0)}
SYNTHETIC_FLEET = [("ALS", "west"), ("ALS", "east"), ("ALS", "south-west"), ("ALS", "north-east"),
                   ("BLS", "west"), ("BLS", "east"), ("BLS", "west"), ("BLS", "east"), ("BLS", "south-west"),
                   ("FR", "west"), ("FR", "east"), ("FR", "north-east")]


def synthetic_region() -> Region:
    """Two towns facing each other across a river with bridges 5 km north and south of their centres."""
    graph = river_grid(width_km=30, height_km=20, spacing_m=500, bridges_km=(5.0, 15.0),
                       local_kmh=CAR_DEFAULT_KMH["residential"], arterial_kmh=CAR_DEFAULT_KMH["primary"],
                       junction_delays=JunctionDelays())  # the calibrated speeds and junction delays of a real extract
    at = datetime(2026, 1, 1, tzinfo=UTC)
    events: list[Event] = []
    for hospital_id, (x, y) in SYNTHETIC_HOSPITALS.items():
        events.append(HospitalRegistered(at=at, hospital_id=hospital_id, name_th=hospital_id, name_en=hospital_id,
                                         location=LatLon(*grid_point(graph, x, y)),
                                         capabilities=["trauma", "stroke", "stemi", "paediatric", "obstetric"],
                                         ed_beds_free=10))
    for n, (capability, station) in enumerate(SYNTHETIC_FLEET, start=1):
        events.append(UnitRegistered(at=at, unit_id=f"SY-{capability}-{n:02d}", capability=Capability(capability),
                                     station_id=station, station_name=station,
                                     base=LatLon(*grid_point(graph, *SYNTHETIC_STATIONS[station]))))
    x_km, y_km = grid_km(graph)
    weight = sum(w * np.exp(-((x_km - x) ** 2 + (y_km - y) ** 2) / (2 * s * s)) for x, y, s, w in TOWNS) + 0.02
    return Region("synthetic", graph, events, graph.node_lat, graph.node_lon, weight)


def with_demand_layer(region: Region, path: Path) -> Region:
    """Replace the region's demand points with a GeoJSON layer of Points (optional `weight` property, e.g.
    population per census block)."""
    features = [f for f in json.loads(path.read_text(encoding="utf-8"))["features"]
                if (f.get("geometry") or {}).get("type") == "Point"]
    if not features:
        raise SystemExit(f"{path}: no Point features")
    lon, lat = np.array([f["geometry"]["coordinates"][:2] for f in features], dtype=float).T
    weight = np.array([float((f.get("properties") or {}).get("weight", 1.0)) for f in features])
    return Region(region.name, region.graph, region.fleet_events, lat, lon, weight)


async def run(region: Region, params: SimParams, policies: list[str], cell_m: float,
              progress: bool, speeds: str = "truth", planning: str = "learned") -> tuple[list[SimResult], list[Cell]]:
    cells = demand_grid(region.graph.bounds, cell_m, region.demand_lat, region.demand_lon, region.demand_weight)
    calls = generate_calls(params, region.demand_lat, region.demand_lon, region.demand_weight)
    results = []
    with tqdm(total=len(calls) * len(policies), desc=f"simulating {region.name}", unit="call",
              disable=not progress, file=sys.stderr) as bar:
        for name in policies:
            bar.set_postfix_str(name)
            # a fresh routing service per policy: its cached trees hold float32 seconds, and a run must not
            # depend on which policy ran before it
            road = RoutingService(region.graph, max_eta_s=3600)
            hourly = ProfileHours(road, example_truth(region.graph.highways)).apply if speeds == "truth" else None
            believed = RoutingService(region.graph, max_eta_s=3600) if planning == "defaults" else None
            sim = Simulation(calls, region.fleet_events, road, POLICIES[name], params, cells=cells, hourly=hourly,
                             planning=believed)
            results.append(await sim.run(progress=bar.update))
    return results, cells


def _minutes(seconds) -> str:
    return "—" if seconds is None else f"{seconds / 60:5.1f}"


def table(result: SimResult) -> str:
    s = result.summary
    lines = [f"\n{result.policy}: {s['incidents']} incidents, red within 8 min {s['red_within_8min_pct']}%, "
             f"move-ups {result.moveups}, missed acknowledgements {result.missed_acks} (handed on by the ladder "
             f"{result.reassigned}), mean unit utilisation "
             f"{100 * np.mean(list(result.utilisation.values())):.0f}%",
             f"  {'colour':<8}{'calls':>6}{'≤8 min %':>10}{'mean min':>10}{'p50 min':>9}{'p90 min':>9}"]
    for colour, c in s["by_colour"].items():
        pct = "—" if c["within_target_pct"] is None else f"{c['within_target_pct']:.1f}"
        lines.append(f"  {colour:<8}{c['incidents']:>6}{pct:>10}{_minutes(c['mean_s']):>10}{_minutes(c['p50_s']):>9}"
                     f"{_minutes(c['p90_s']):>9}")
    lines.append(f"  {'all':<8}{s['incidents']:>6}{'':>10}{_minutes(s['mean_response_s']):>10}{'':>9}"
                 f"{_minutes(s['p90_response_s']):>9}")
    lines.append("  utilisation: " + ", ".join(f"{unit} {100 * share:.0f}%" for unit, share in result.utilisation.items()))
    return "\n".join(lines)


async def plot(region: Region, results: list[SimResult], cells: list[Cell], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for result in results:
        times = np.sort([r["response_s"] / 60 for r in result.responses if r["colour"] == "red" and r["response_s"]])
        if len(times):
            ax.step(times, np.arange(1, len(times) + 1) / len(times), where="post",
                    label=f"{result.policy} ({result.summary['red_within_8min_pct']}% ≤ 8 min)")
    ax.axvline(TARGET_RESPONSE_S / 60, color="grey", linestyle="--", linewidth=1)
    ax.set(xlabel="response time, call received → on scene (min)", ylabel="share of red incidents",
           title=f"Red response times by policy — {region.name}")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    written.append(out / f"{region.name}-response-cdf.png")
    fig.savefig(written[-1], dpi=120, bbox_inches="tight")
    plt.close(fig)

    als = [e.base for e in region.fleet_events if isinstance(e, UnitRegistered) and e.capability is Capability.ALS]
    nearest = (await eta_matrix(RoutingService(region.graph, max_eta_s=3600), als, cells)).min(axis=0) / 60
    fig, ax = plt.subplots(figsize=(7, 6))
    points = ax.scatter([c.lon for c in cells], [c.lat for c in cells], c=np.minimum(nearest, 20), cmap="RdYlGn_r",
                        s=12, marker="s", vmin=0, vmax=20)
    ax.scatter([p.lon for p in als], [p.lat for p in als], c="black", marker="^", s=40, label="ALS stations")
    fig.colorbar(points, label="road minutes from the nearest ALS station (capped at 20)")
    ax.set(title=f"ALS coverage at the start of the day — {region.name}", xlabel="longitude", ylabel="latitude")
    ax.ticklabel_format(useOffset=False)
    ax.legend(loc="upper right")
    written.append(out / f"{region.name}-coverage.png")
    fig.savefig(written[-1], dpi=120, bbox_inches="tight")
    plt.close(fig)
    return written


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ops.simulate", description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--calls-per-day", type=float, default=None, help="default 120 (city), 150 (synthetic)")
    parser.add_argument("--region", choices=["city", "synthetic"], default="city")
    parser.add_argument("--policies", default=",".join(POLICIES), help=f"comma-separated, of {', '.join(POLICIES)}")
    parser.add_argument("--demand", type=Path, help="GeoJSON Points with an optional weight property: where calls "
                        "come from (default: road density, or the synthetic towns)")
    parser.add_argument("--cell-m", type=float, default=None, help="coverage grid cell size (m); 500 city, 1000 synthetic")
    parser.add_argument("--out", type=Path, default=REPO / "var" / "sim", help="where plots and results.json go")
    parser.add_argument("--speeds", choices=["truth", "defaults"], default="truth",
                        help="time-of-day speeds per road class (truth) or the calibrated defaults all day")
    parser.add_argument("--planning", choices=["learned", "defaults"], default="learned",
                        help="what the dispatch ranks by: the hour's true speeds, as a learned profile gives them, "
                             "or the calibrated defaults all day while units drive at the hour's speeds")
    parser.add_argument("--missed-ack-share", type=float, default=None, help="share of assignments a crew does not "
                        "acknowledge in time (default 0.05)")
    parser.add_argument("--json", action="store_true", help="one JSON line per policy on stdout")
    parser.add_argument("--no-plots", action="store_true")
    args = parser.parse_args(argv)
    unknown = set(args.policies.split(",")) - set(POLICIES)
    if unknown:
        parser.error(f"unknown policies: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        config = Config.from_env()
    except ConfigError as exc:  # every bad variable at once, like the server
        sys.exit(str(exc))
    region = city_region(config) if args.region == "city" else synthetic_region()
    if args.demand:
        region = with_demand_layer(region, args.demand)
    params = SimParams(hours=args.hours, seed=args.seed,
                       calls_per_day=args.calls_per_day or (120.0 if args.region == "city" else 150.0),
                       **({} if args.missed_ack_share is None else {"missed_ack_share": args.missed_ack_share}))
    policies = args.policies.split(",")
    args.cell_m = args.cell_m or (500.0 if args.region == "city" else 1000.0)
    results, cells = asyncio.run(run(region, params, policies, args.cell_m, sys.stderr.isatty(), args.speeds,
                                     args.planning))
    report = sys.stderr if args.json else sys.stdout
    print(f"{region.name}: {region.graph.node_count} road nodes, {len(cells)} demand cells of {args.cell_m:.0f} m, "
          f"{params.hours:g} h, seed {params.seed}, {params.calls_per_day:g} calls/day, speeds: {args.speeds}",
          file=report)
    for result in results:
        print(table(result), file=report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{region.name}-results.json").write_text(json.dumps(
        {"region": region.name, "params": params.__dict__,
         "speeds": args.speeds, "planning": args.planning,
         "policies": [{**r.summary, "utilisation": r.utilisation, "moveups": r.moveups, "missed_acks": r.missed_acks,
                       "reassigned": r.reassigned} for r in results]},
        indent=2))
    if not args.no_plots:
        for path in asyncio.run(plot(region, results, cells, args.out)):
            print(f"wrote {path}", file=report)
    if args.json:
        for result in results:
            print(json.dumps(result.json_line()))


if __name__ == "__main__":
    main()
