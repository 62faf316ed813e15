"""Graph build at province scale: `python -m ops.bench.routing --build [--side 550] [--json]` (one JSON line).

No real OSM extract of the province is available offline (data/osm/README.md), so this writes a synthetic one as
OSM XML: a `side` x `side` street grid, 100 m apart, every 10th line a primary and every 50th a trunk (maxspeed
90), a signal node at every primary crossing. The server's builder (`routing.build.load_graph`: osmium reader,
access rules, simplification, speeds, junction delays, compilation, cache file) runs on it in a fresh process,
which reports its wall time and peak memory (VmHWM); then, in another fresh process, the former build through
osmnx's XML reader and `simplify_graph` (`networkx_graph(via_osmnx=True)`), the reference: `ref_build_s`,
`ref_cpu_s`, `ref_peak_mb`, `speedup` (wall) and `cpu_speedup` (process CPU time, steadier on a shared
machine), and `identical` (every array of the two graphs equal). `--no-reference` skips it.
Target (issue #20): a 300k-node extract in ≤ 60 s and ≤ 2 GB.
"""
from __future__ import annotations

import importlib.util
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

TARGET_S, TARGET_MB = 60.0, 2048.0


def write_grid_osm(path: Path, side: int) -> None:
    """The synthetic extract (see the module's docstring)."""
    d_lat, d_lon = 100 / 111_320, 100 / (111_320 * 0.9730)  # cos(13.3°)

    def kind(line: int) -> tuple[str, str | None]:
        if line % 50 == 0:
            return "trunk", "90"
        if line % 10 == 0:
            return "primary", None
        return "residential", None

    with open(path, "w", encoding="utf-8") as f:
        f.write("<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\">\n")
        for r in range(side):
            for c in range(side):
                node = r * side + c + 1
                signal = r % 10 == 0 and c % 10 == 0
                tag = '<tag k="highway" v="traffic_signals"/></node>' if signal else ""
                f.write(f'<node id="{node}" lat="{13.0 + r * d_lat:.7f}" lon="{100.8 + c * d_lon:.7f}"'
                        f'{">" + tag if signal else "/>"}\n')
        way = 1
        for line in range(side):
            for vertical in (False, True):
                nodes = [(i * side + line if vertical else line * side + i) + 1 for i in range(side)]
                highway, maxspeed = kind(line)
                f.write(f'<way id="{way}">' + "".join(f'<nd ref="{n}"/>' for n in nodes)
                        + f'<tag k="highway" v="{highway}"/>'
                        + (f'<tag k="maxspeed" v="{maxspeed}"/>' if maxspeed else "") + "</way>\n")
                way += 1
        f.write("</osm>\n")


def _build(osm: str, cache: str, via_osmnx: bool, out: multiprocessing.Queue) -> None:
    from routing.build import compile_graph, load_graph, networkx_graph

    started, cpu_started = time.perf_counter(), time.process_time()
    if via_osmnx:
        graph = compile_graph(networkx_graph(osm, cache, via_osmnx=True))
        graph.save(Path(cache) / "reference.npz")
    else:
        graph = load_graph(osm, cache, progress=False)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
    out.put({"nodes": graph.node_count, "edges": graph.edge_count, "build_s": round(seconds, 1),
             "cpu_s": round(cpu_seconds, 1), "peak_mb": round(peak_kb / 1024)})


def _in_fresh_process(osm: Path, cache: Path, via_osmnx: bool) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_build, args=(str(osm), str(cache), via_osmnx, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def _identical(cache: Path) -> bool:
    """Whether the server's cached graph and the reference build hold the same arrays and tables."""
    import numpy as np

    from routing.graph import RoadGraph

    ours = RoadGraph.load(next(cache.glob("roads-*.npz")))
    reference = RoadGraph.load(cache / "reference.npz")
    arrays = [name for name, value in vars(ours).items() if isinstance(value, np.ndarray)]
    return all(getattr(ours, name).dtype == getattr(reference, name).dtype
               and np.array_equal(getattr(ours, name), getattr(reference, name)) for name in arrays) \
        and ours.names == reference.names and ours.highways == reference.highways


def main(side: int, as_json: bool, reference: bool = True) -> dict:
    with tempfile.TemporaryDirectory(prefix="ems-build-bench-") as tmp:
        osm, cache = Path(tmp) / f"grid-{side}.osm", Path(tmp) / "cache"
        write_grid_osm(osm, side)
        result = _in_fresh_process(osm, cache, via_osmnx=False)
        if reference and importlib.util.find_spec("osmnx") is None:
            print("osmnx is not installed (extras 'bench' or 'test'): no reference build", file=sys.stderr)
            reference = False
        if reference:
            ref = _in_fresh_process(osm, cache, via_osmnx=True)
            result |= {"ref_build_s": ref["build_s"], "ref_cpu_s": ref["cpu_s"], "ref_peak_mb": ref["peak_mb"],
                       "speedup": round(ref["build_s"] / result["build_s"], 2),
                       "cpu_speedup": round(ref["cpu_s"] / result["cpu_s"], 2), "identical": _identical(cache)}
    result = {"mode": "build", "side": side, **result, "target_s": TARGET_S, "target_mb": TARGET_MB,
              "met": result["build_s"] <= TARGET_S and result["peak_mb"] <= TARGET_MB}
    print(f"build of a {result['nodes']}-node synthetic extract: {result['build_s']} s, peak {result['peak_mb']} MB "
          f"(target ≤ {TARGET_S:g} s, ≤ {TARGET_MB:g} MB)", file=sys.stderr)
    if reference:
        print(f"former osmnx build, same run: {result['ref_build_s']} s, peak {result['ref_peak_mb']} MB; "
              f"{result['speedup']}x wall, {result['cpu_speedup']}x CPU "
              f"({result['cpu_s']} vs {result['ref_cpu_s']} s), identical graphs: {result['identical']}", file=sys.stderr)
    if as_json:
        print(json.dumps(result))
    return result
