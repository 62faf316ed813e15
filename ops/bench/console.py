"""Console benchmark: `python -m ops.bench.console [--json] [--open 500] [--rate 5] [--seconds 60]`.

One server process (its own database). `--open` incidents are reported first (triaged yellow, green or white),
then the dispatcher console opens in Chromium (Playwright, the system's chromium as in
tests/web/conftest.py) while a load generator reports `--rate` new calls per second for `--seconds`. Measured in
the page: first paint (navigation start to the queue showing every open incident, and the browser's own
first-contentful-paint), long tasks per minute (PerformanceObserver "longtask", summed ms), frame drops (long
animation frames: a frame's work over 50 ms), and for one new red call in the middle of the run the time from its
POST until it is in the top 3 rows and until its alarm sounded. Targets (issue #17): first paint ≤ 1.5 s, long
tasks ≤ 500 ms/min, the red call in the top 3 and audible within 1 s. Prints a table and one JSON line.

Long tasks are wall-clock time: on a loaded shared machine the renderer waits for a core inside its tasks and they
grow long without the console doing more. So the load is also traced (Chromium's trace, the renderer's main thread)
and reported in thread CPU time, which such waits do not inflate: CPU ms per new call (`cpu_ms_per_event`, and
`net_cpu_ms_per_event` after taking off what the page spends per second with no events), split into script,
style, layout and paint, the count of style recalcs and layouts per new call, and long tasks counted by their CPU
time (`long_task_cpu_ms_per_min`). Judge the target on those when the load average is above the core count.

`measure()` does the browser part against any running server; the test suite runs it small and bounded.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import time
from pathlib import Path

import asyncpg

from db.identity import IdentityStore
from db.migrate import migrate
from db.pool import create_pool, ensure_database
from runtime import local_services
from ops.bench import report
from ops.clients import Api
from ops.processes import ServerProcess

REPO = Path(__file__).resolve().parents[2]
VAR = REPO / "var" / "bench"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"]
# The open backlog and the load are triaged yellow, green or white (as a dispatcher triages each call at once):
# the one red call measured must be the only red waiting for a unit, as it would be on a real shift, so its
# place in the top 3 measures the console, not a pile of unattended reds the bench made up.
COLOURS = ["yellow", "green", "white"]
SEEDING_CONCURRENCY = 8
IDLE_S = 5  # traced after the load with no events: the page's own baseline

# Installed before the page's own scripts: long tasks and long animation frames (a frame whose script, style,
# layout and paint took over 50 ms: three frames missed at 60 Hz) from navigation on. Both are observed, not
# polled: a requestAnimationFrame loop timing the gaps between frames (as this bench did) made the page render 60
# frames a second it would not otherwise render, a third of the page's CPU when idle (a style recalc and a commit
# each), and itself ran late whenever the machine was busy.
WATCH = """
window.benchLongTasks = []; window.benchFrameGaps = [];
new PerformanceObserver(list => list.getEntries().forEach(e => window.benchLongTasks.push([e.startTime, e.duration])))
  .observe({type: "longtask", buffered: true});
new PerformanceObserver(list => list.getEntries().forEach(e => window.benchFrameGaps.push([e.startTime, e.duration])))
  .observe({type: "long-animation-frame", buffered: true});
"""


async def report_call(api: Api, n: int, colour: str | None, rng: random.Random) -> int:
    status, incident = await api.post("/api/v1/incidents", {
        "channel": rng.choice(["phone", "phone", "sms", "app"]),
        "location": {"lat": 13.30 + rng.random() * 0.1, "lon": 100.93 + rng.random() * 0.1},
        "chief_complaint": f"bench call {n} / เหตุทดสอบ {n}"})
    if status != 201:
        raise RuntimeError(f"intake refused the bench call: {status} {incident}")
    if colour:
        await api.post(f"/api/v1/incidents/{incident['id']}/triage", {"colour": colour, "reason": "bench"})
    return incident["id"]


async def seed(api: Api, count: int, rng: random.Random) -> None:
    """`count` open incidents; red ones are reported without auto-dispatch (the server is started without it)."""
    queue = list(range(count))

    async def worker():
        while queue:
            n = queue.pop()
            await report_call(api, n, COLOURS[n % len(COLOURS)], rng)
    await asyncio.gather(*(worker() for _ in range(SEEDING_CONCURRENCY)))


async def measure(browser, base_url: str, token: str, *, open_incidents: int, events_per_s: float,
                  seconds: float, seed_incidents: bool = True, profile: bool = False,
                  trace_path: str | None = None, idle_seconds: float = IDLE_S) -> dict:
    """Seed `open_incidents` (unless already there), open the console, run the load, and return the figures.
    With `profile`, the load also runs under V8's sampling profiler and `hot_functions` lists where script time
    went (self time per function); with `trace_path` the load's Chromium trace is kept there (Perfetto opens it).
    After the load, `idle_seconds` without events are traced too: what the page spends with nothing arriving
    (ticking timers, the bench's own frame watch), taken off the load's figure in `net_cpu_ms_per_event`."""
    api = Api(base_url, token)
    rng = random.Random(1669)
    if seed_incidents:
        await seed(api, open_incidents, rng)
    context = await browser.new_context(viewport={"width": 1600, "height": 1000}, locale="en-US")
    page = await context.new_page()
    frames = {"received": 0}  # WebSocket frames the page received

    def count_frame(_):
        frames["received"] += 1
    page.on("websocket", lambda ws: ws.on("framereceived", count_frame))
    await page.add_init_script(WATCH)
    started = time.monotonic()
    await page.goto(f"{base_url}/console.html#token={token}")
    # the queue holds every open incident and its first screen of rows is drawn (rows out of view are not in the
    # page: queue.js draws only what a dispatcher can see)
    await poll(page, f"Number(document.querySelector('#incident-list').dataset.rows) >= {open_incidents}"
                     " && document.querySelector('#incident-list li') !== null", timeout_s=120)
    first_paint_ms = await page.evaluate("""(() => {
        const rows = performance.now();  // the queue complete, in the page's clock (0 = navigation start)
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        const snapshot = performance.getEntriesByName('ems:snapshot')[0];
        return [rows, fcp ? fcp.startTime : null, snapshot ? snapshot.startTime : null]; })()""")
    await page.mouse.click(5, 5)  # a dispatcher's first gesture: sound may start
    await page.evaluate(TOP3_WATCH)
    cdp = await context.new_cdp_session(page)
    if profile:
        await cdp.send("Profiler.enable")
        await cdp.send("Profiler.setSamplingInterval", {"interval": 250})
        await cdp.send("Profiler.start")
    await browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
    frames_before = frames["received"]
    load_start = await page.evaluate("performance.now()")
    red = {}
    sent = 0
    begin = time.monotonic()
    total = max(1, int(events_per_s * seconds))
    red_at = total // 2
    for n in range(total):
        delay = begin + n / events_per_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if n == red_at:
            red = await _red_call(api, page, rng)
        else:
            asyncio.ensure_future(report_call(api, 100_000 + n, rng.choice(COLOURS), rng))
        sent += 1
    await asyncio.sleep(1.0)
    load_end = await page.evaluate("performance.now()")
    frames_in_load = frames["received"] - frames_before
    raw = await browser.stop_tracing()
    if trace_path:
        Path(trace_path).write_bytes(raw)
    trace = main_thread_time(json.loads(raw))
    hot = hot_functions((await cdp.send("Profiler.stop"))["profile"]) if profile else None
    long_tasks, gaps = await page.evaluate("[window.benchLongTasks, window.benchFrameGaps]")
    window_ms = max(1.0, load_end - load_start)
    idle_cpu_ms_per_s = None
    if idle_seconds > 0:
        await asyncio.sleep(1.0)  # the load's last re-reads
        await browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
        idle_start = time.monotonic()
        await asyncio.sleep(idle_seconds)
        idle = main_thread_time(json.loads(await browser.stop_tracing()))
        idle_cpu_ms_per_s = idle["task"] / (time.monotonic() - idle_start)
    in_load = [d for start, d in long_tasks if load_start <= start <= load_end]
    await context.close()
    return {"open_incidents": open_incidents, "events_per_s": events_per_s, "seconds": seconds,
            "first_paint_ms": round(first_paint_ms[0], 1),
            "first_contentful_paint_ms": round(first_paint_ms[1], 1) if first_paint_ms[1] is not None else None,
            "snapshot_ms": round(first_paint_ms[2], 1) if first_paint_ms[2] is not None else None,
            "long_task_ms_per_min": round(sum(in_load) * 60_000 / window_ms, 1),
            "long_tasks": len(in_load), "longest_task_ms": round(max(in_load, default=0), 1),
            "frame_drops": sum(1 for at, _ in gaps if load_start <= at <= load_end),
            "events_sent": sent, "frames_received": frames_in_load,
            **per_event(trace, sent, window_ms, idle_cpu_ms_per_s),
            "setup_s": round(time.monotonic() - started, 1), **red, **({"hot_functions": hot} if profile else {})}


# The renderer's main thread, traced through the load: every task's thread CPU time (`tdur`: time the thread
# ran, not time it waited for a core, so it holds on a loaded shared machine where wall-clock long tasks do not),
# and what the tasks spent it on.
TRACE_CATEGORIES = ["toplevel", "devtools.timeline", "v8.execute"]
LONG_TASK_MS = 50
SCRIPT = {"FunctionCall", "EvaluateScript", "TimerFire", "FireAnimationFrame", "EventDispatch", "RunMicrotasks",
          "v8.run", "v8.callFunction", "v8.evaluateModule", "V8.Execute", "ParseHTML"}
STYLE = {"UpdateLayoutTree", "RecalculateStyles"}
LAYOUT = {"Layout"}
PAINT = {"Paint", "PrePaint", "Layerize", "UpdateLayer", "CompositeLayers"}
TASK = {"ThreadControllerImpl::RunTask", "RunTask"}


def main_thread_time(trace: dict) -> dict:
    """CPU ms of the renderer's main thread in the trace: in tasks (and in tasks over LONG_TASK_MS of CPU), script,
    style, layout and paint (outermost events only, so nested calls count once), and how many style recalcs and
    layouts ran."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    mains = {(e["pid"], e["tid"]) for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name" and e["args"].get("name") == "CrRendererMain"}
    by_thread: dict = {}
    for e in events:
        if (e.get("pid"), e.get("tid")) in mains and e.get("ph") == "X" and "tdur" in e:
            by_thread.setdefault((e["pid"], e["tid"]), []).append(e)
    # the page's renderer: the main thread that ran the most
    thread = max(by_thread.values(), key=lambda es: sum(e["tdur"] for e in es if e["name"] in TASK), default=[])
    thread.sort(key=lambda e: (e["ts"], -e["dur"]))
    figures = {"task": 0.0, "long_task": 0.0, "long_tasks": 0, "script": 0.0, "style": 0.0, "layout": 0.0,
               "paint": 0.0, "style_count": 0, "layout_count": 0}
    ends = {kind: -1.0 for kind in ("task", "script", "style", "layout", "paint")}
    for e in thread:
        name, end = e["name"], e["ts"] + e["dur"]
        kind = ("task" if name in TASK else "script" if name in SCRIPT else "style" if name in STYLE
                else "layout" if name in LAYOUT else "paint" if name in PAINT else None)
        if kind in ("style", "layout"):
            figures[f"{kind}_count"] += 1
        if kind is None or e["ts"] < ends[kind]:
            continue  # nested in one already counted
        ends[kind] = end
        figures[kind] += e["tdur"] / 1000
        if kind == "task" and e["tdur"] / 1000 > LONG_TASK_MS:
            figures["long_task"] += e["tdur"] / 1000
            figures["long_tasks"] += 1
    return figures


def per_event(trace: dict, events: int, window_ms: float, idle_cpu_ms_per_s: float | None) -> dict:
    """The traced figures per new call of the load (the load-independent measure of what the console spends)."""
    n = max(1, events)
    net = None if idle_cpu_ms_per_s is None else (trace["task"] - idle_cpu_ms_per_s * window_ms / 1000) / n
    return {"cpu_ms_per_event": round(trace["task"] / n, 2),
            "idle_cpu_ms_per_s": None if idle_cpu_ms_per_s is None else round(idle_cpu_ms_per_s, 2),
            "net_cpu_ms_per_event": None if net is None else round(net, 2),
            "script_ms_per_event": round(trace["script"] / n, 2),
            "style_ms_per_event": round(trace["style"] / n, 2), "layout_ms_per_event": round(trace["layout"] / n, 2),
            "paint_ms_per_event": round(trace["paint"] / n, 2),
            "style_recalcs_per_event": round(trace["style_count"] / n, 2),
            "layouts_per_event": round(trace["layout_count"] / n, 2),
            "long_task_cpu_ms_per_min": round(trace["long_task"] * 60_000 / window_ms, 1),
            "long_tasks_cpu": trace["long_tasks"]}


def hot_functions(profile: dict, top: int = 25) -> list:
    """The functions with the most self time in a V8 CPU profile: [ms, "function url:line"], most first."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    deltas = profile.get("timeDeltas") or []
    self_us: dict = {}
    for sample, delta in zip(profile.get("samples") or [], deltas[1:] + [0]):
        frame = nodes[sample]["callFrame"]
        where = frame["url"].rsplit("/", 1)[-1] if frame["url"] else ""
        key = f'{frame["functionName"] or "(anonymous)"} {where}:{frame["lineNumber"] + 1}'
        self_us[key] = self_us.get(key, 0) + delta
    return [[round(us / 1000, 1), key] for key, us in sorted(self_us.items(), key=lambda kv: -kv[1])[:top]]


# Notes, in the page, when each incident first shows in the queue's top 3 rows (wall clock, ms).
TOP3_WATCH = """
window.benchTop3 = {};
const list = document.querySelector('#incident-list');
new MutationObserver(() => {
  const now = performance.timeOrigin + performance.now();
  for (const li of [...list.children].slice(0, 3)) if (!(li.dataset.id in window.benchTop3)) window.benchTop3[li.dataset.id] = now;
}).observe(list, {childList: true});
"""


async def poll(page, expression: str, *, timeout_s: float, interval_s: float = 0.05):
    """The expression's value once truthy (evaluated from outside: the page's CSP refuses string evaluation
    inside it, which wait_for_function needs); raises TimeoutError."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await page.evaluate(expression)
        if value:
            return value
        await asyncio.sleep(interval_s)
    raise TimeoutError(f"not true within {timeout_s} s: {expression[:80]}")


async def _red_call(api: Api, page, rng: random.Random) -> dict:
    """One red call: POST and triage it, then its time into the top 3 rows and to its alarm's tone (page clock)."""
    posted = await page.evaluate("performance.timeOrigin + performance.now()")
    incident_id = await report_call(api, 999_999, "red", rng)
    in_top3 = await poll(page, f"window.benchTop3['{incident_id}']", timeout_s=30)
    audible_at = await poll(page, f"""import('/js/console/alarm.js').then(m => {{
        const a = m.raised.find(a => a.audible && a.text.includes('#{incident_id} '));
        return a ? a.at_ms : null; }})""", timeout_s=30)
    return {"red_call_top3_ms": round(in_top3 - posted, 1), "red_call_audible_ms": round(audible_at - posted, 1)}


async def run(args) -> dict:
    from playwright.async_api import async_playwright

    admin = local_services.postgres(VAR).url
    redis = local_services.redis(VAR).url
    name = f"ems_bench_console_{os.getpid()}"
    database_url = admin.rsplit("/", 1)[0] + f"/{name}"
    await ensure_database(database_url)
    pool = await create_pool(database_url, min_size=1, max_size=2)
    await migrate(pool)
    identities = IdentityStore(pool)
    await identities.upsert_user("bench-disp", "dispatcher", "dispatcher")
    token = await identities.issue_token("bench-disp")
    await pool.close()
    server = ServerProcess(database_url, redis, namespace=name, var_dir=VAR, EMS_AUTO_DISPATCH_RED="false")
    try:
        await server.ready()
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                              headless=True, args=CHROMIUM_ARGS)
            try:
                return await measure(browser, server.base_url, token, open_incidents=args.open,
                                     events_per_s=args.rate, seconds=args.seconds, profile=args.profile,
                                     trace_path=args.trace)
            finally:
                await browser.close()
    finally:
        server.stop()
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def table(result: dict) -> str:
    width = max(len(k) for k in result)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in result.items())


def main() -> None:
    parser = argparse.ArgumentParser(description="dispatcher console benchmark (Chromium)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--open", type=int, default=500, help="open incidents before the console opens")
    parser.add_argument("--rate", type=float, default=5, help="new calls per second while measuring")
    parser.add_argument("--seconds", type=float, default=60, help="how long the load runs")
    parser.add_argument("--profile", action="store_true", help="also list where script time went (V8 profiler)")
    parser.add_argument("--trace", metavar="FILE", help="keep the load's Chromium trace in FILE")
    args = parser.parse_args()
    VAR.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(run(args))
    report(result, table(result), as_json=args.json)


if __name__ == "__main__":
    main()
