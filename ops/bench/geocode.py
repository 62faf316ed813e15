"""Place-search benchmark: `python -m ops.bench.geocode [--json] [--limit N] [--seed 1669]`.

Starts a server process on its own database (`ems_bench_geocode`; the gazetteer is built from the configured
extract and POI files on first run, then reused while they are unchanged), and asks `GET /api/v1/geocode` for
every query of a query set generated here from the gazetteer itself, one request at a time, as a dispatcher.
Reports top-1 and top-5 accuracy and p50/p99 latency (client-side, loopback HTTP, after 10 untimed warm-up
requests), overall, per rule and per split; the last line is JSON. The machine is shared, so each query is followed
by a same-run baseline, an authenticated API round trip that searches nothing (`GET /api/v1/me`): `floor_p50_ms`,
`floor_p99_ms`, and `p50_ratio`/`p99_ratio` (geocode ÷ baseline) say how much the search itself adds; `sql_p50_ms`
and `sql_p99_ms` time the query set's search statements alone (one per query, from this process).

How the query set is built (rules only; nothing hand-picked):
1. Targets: every place of the gazetteer whose folded name is unique (a name shared by two places, such as
   "Police Box", cannot be answered without a position), sampled with a seeded RNG: up to 50 landmarks with a
   Thai name, 25 with an English name, 25 roads, 25 numbered sois, 25 junctions.
2. Each target yields queries by rule. Split "dev" holds the rules the normaliser was written against:
   `abbreviate` (โรงพยาบาล→รพ., โรงเรียน→ร.ร., สถานีตำรวจภูธร→สภ., ถนน→ถ., ซอย→ซ.), `relative` (หน้า/ข้าง/
   ตรงข้าม/ใกล้ + name), `no_spaces` (spaces and hyphens removed), `thai_digits`, `soi_reorder` ("ซอยX 13" → "X ซ.13"),
   `english` (name:en as mapped), `junction_cut` ("A ตัด B" without ถนน), `junction_x` ("A x B", English).
   Split "heldout" holds rules written after the normaliser and never tuned on: `misspell` (one ส/ศ/ษ swapped, or
   one tone mark or ์ dropped), `spoken_category` (โรงพยาบาล→โรงบาล, or the category word left out),
   `transliterate` (English name lower-cased, kh/ph/th→k/p/t, Sri↔Si, one space removed or added),
   `extra_space` (a space inserted before a random consonant), `junction_reversed` ("แยก B กับ A").
3. A query is answered correctly at rank k when the k-th result has the target's name and lies within 150 m of
   it (a place mapped twice, e.g. a hospital as an OSM POI and as a fleet site, counts either way).
Targets: top-1 ≥ 85 %, top-5 ≥ 95 %, p99 ≤ 50 ms (see docs/operations.md).

With Playwright and Chromium installed (the test extra), the run also times the call-taker flow in the console,
by keystrokes only, as the browser test does (tests/web/test_call_taker.py, same steps): N, the landmark typed as a
dispatcher types it (BROWSER_TYPED), arrow keys to its suggestion, Enter; `browser_new_call_to_located_s` is the
time from N until the server holds the located incident (target ≤ 20 s). Without them it is null.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from db.gazetteer import Gazetteer
from db.identity import IdentityStore
from db.pool import create_pool
from dispatch.places import distance_m, junction_sides, normalise, parse_query
from runtime import local_services
from ops.clients import Api
from ops.processes import ServerProcess

REPO = Path(__file__).resolve().parents[2]
VAR = REPO / "var" / "bench"
DATABASE = "ems_bench_geocode"
CORRECT_WITHIN_M = 150.0
WARMUP = 10
BROWSER_TYPED, BROWSER_LANDMARK = "รพ.ชลบุรี", "โรงพยาบาลชลบุรี"  # a province POI file's hospital, as typed
BASELINE_PATH = "/api/v1/me"  # through the same server, token check and JSON, but no search

CATEGORY_ABBREVIATIONS = (("โรงพยาบาล", "รพ."), ("โรงเรียน", "ร.ร."), ("สถานีตำรวจภูธร", "สภ."), ("ถนน", "ถ."),
                          ("ซอย", "ซ."))
CATEGORY_WORDS = ("โรงพยาบาล", "โรงเรียน", "สถานีตำรวจภูธร", "วัด", "ตลาด")
RELATIVE = ("หน้า", "ข้าง", "ตรงข้าม", "ใกล้")
THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
TONES = "\u0e48\u0e49\u0e4a\u0e4b\u0e4c"
THAI_CONSONANTS = re.compile(r"[\u0e01-\u0e2e]")


@dataclass(frozen=True)
class BenchQuery:
    text: str
    rule: str
    split: str
    name: str
    lat: float
    lon: float


def _road_base(name: str) -> str:
    return name.removeprefix("ถนน").removeprefix("ซอย").strip()


def dev_variants(place: dict, rng: random.Random) -> list[tuple[str, str]]:
    """(rule, query) pairs from the rules the normaliser was written against."""
    name, name_en, kind = place["name"], place["name_en"], place["kind"]
    out = []
    if kind == "junction":
        a, b = place["road_a"], place["road_b"]
        out.append(("junction_cut", f"{_road_base(a)}ตัด{_road_base(b)}"))
        if place["road_a_en"] and place["road_b_en"]:
            out.append(("junction_x", f"{place['road_a_en']} x {place['road_b_en']}"))
        return out
    for full, short in CATEGORY_ABBREVIATIONS:
        if name.startswith(full):
            out.append(("abbreviate", short + name[len(full):]))
            break
    out.append(("relative", f"{rng.choice(RELATIVE)}{name}"))
    if re.search(r"[\s-]", name):
        out.append(("no_spaces", re.sub(r"[\s-]", "", name)))
    if re.search(r"\d", name):
        out.append(("thai_digits", name.translate(THAI_DIGITS)))
    m = re.fullmatch(r"ซอย\s*(.+?)\s+(\d+(?:/\d+)?)", name)
    if m:
        out.append(("soi_reorder", f"{m.group(1)} ซ.{m.group(2)}"))
    if name_en:
        out.append(("english", name_en))
    return out


def heldout_variants(place: dict, rng: random.Random) -> list[tuple[str, str]]:
    """(rule, query) pairs from rules never tuned on."""
    name, name_en, kind = place["name"], place["name_en"], place["kind"]
    out = []
    if kind == "junction":
        out.append(("junction_reversed", f"แยก {place['road_b']} กับ {place['road_a']}"))
        return out
    swaps = [i for i, ch in enumerate(name) if ch in "สศษ"]
    tones = [i for i, ch in enumerate(name) if ch in TONES]
    if swaps and (not tones or rng.random() < 0.5):
        i = rng.choice(swaps)
        out.append(("misspell", name[:i] + rng.choice([c for c in "สศษ" if c != name[i]]) + name[i + 1:]))
    elif tones:
        i = rng.choice(tones)
        out.append(("misspell", name[:i] + name[i + 1:]))
    if name.startswith("โรงพยาบาล"):
        out.append(("spoken_category", "โรงบาล" + name[len("โรงพยาบาล"):]))
    else:
        for word in CATEGORY_WORDS:
            if name.startswith(word) and len(name) > len(word) + 3:
                out.append(("spoken_category", name[len(word):].strip()))
                break
    if name_en:
        text = name_en.lower()
        text = re.sub(r"([kpt])h", r"\1", text)
        text = re.sub(r"\bsri\b|\bsri", "si", text) if "sri" in text else text.replace("si ", "sri ", 1)
        spaces = [i for i, ch in enumerate(text) if ch == " "]
        if spaces and rng.random() < 0.5:
            i = rng.choice(spaces)
            text = text[:i] + text[i + 1:]
        elif len(text) > 6:
            i = rng.randrange(3, len(text) - 2)
            text = text[:i] + " " + text[i:]
        out.append(("transliterate", text))
    consonants = [m.start() for m in THAI_CONSONANTS.finditer(name)][1:]
    if consonants:
        i = rng.choice(consonants)
        out.append(("extra_space", name[:i] + " " + name[i:]))
    return out


def build_queries(places: list[dict], seed: int) -> list[BenchQuery]:
    """The query set: unique-named targets sampled per kind, each expanded by every rule that applies."""
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    for p in places:
        counts[normalise(p["name"])] = counts.get(normalise(p["name"]), 0) + 1
    unique = [p for p in places if counts[normalise(p["name"])] == 1]
    thai = re.compile(r"[\u0e00-\u0e7f]")
    groups = {
        "landmark_th": [p for p in unique if p["source"] == "osm_pois" and thai.search(p["name"])],
        "landmark_en": [p for p in unique if p["source"] == "osm_pois" and not thai.search(p["name"])],
        "road": [p for p in unique if p["kind"] == "road"],
        "soi": [p for p in unique if p["kind"] == "soi" and re.search(r"\d", p["name"])],
        "junction": [p for p in unique if p["kind"] == "junction"],
    }
    sizes = {"landmark_th": 50, "landmark_en": 25, "road": 25, "soi": 25, "junction": 25}
    queries = []
    for group, members in groups.items():
        members = sorted(members, key=lambda p: p["id"])
        for place in rng.sample(members, min(sizes[group], len(members))):
            for split, rules in (("dev", dev_variants), ("heldout", heldout_variants)):
                for rule, text in rules(place, rng):
                    queries.append(BenchQuery(text, rule, split, place["name"], place["lat"], place["lon"]))
    rng.shuffle(queries)
    return queries


async def load_places(pool) -> list[dict]:
    rows = await pool.fetch(
        "SELECT p.id, p.kind, p.name, p.name_en, p.lat, p.lon, p.source, a.name AS road_a, b.name AS road_b,"
        " a.name_en AS road_a_en, b.name_en AS road_b_en FROM places p"
        " LEFT JOIN places a ON a.id = p.road_a LEFT JOIN places b ON b.id = p.road_b WHERE p.source <> 'fleet'")
    return [dict(r) for r in rows]


def rank_of(query: BenchQuery, results: list[dict]) -> int | None:
    for i, r in enumerate(results):
        if r["name"] == query.name and distance_m(r["lat"], r["lon"], query.lat, query.lon) <= CORRECT_WITHIN_M:
            return i + 1
    return None


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))] if ordered else 0.0


async def timed_get(api: Api, path: str) -> tuple[float, int, object]:
    """(milliseconds, status, body) of one GET."""
    started = time.perf_counter()
    status, body = await api.get(path)
    return (time.perf_counter() - started) * 1000, status, body


def baseline_figures(search_ms: list[float], baseline_ms: list[float]) -> dict:
    """The same-run baseline's p50/p99 and the geocode latencies as multiples of it."""
    floor_p50, floor_p99 = statistics.median(baseline_ms), percentile(baseline_ms, 99)
    return {"floor_p50_ms": round(floor_p50, 2), "floor_p99_ms": round(floor_p99, 2),
            "p50_ratio": round(statistics.median(search_ms) / floor_p50, 2),
            "p99_ratio": round(percentile(search_ms, 99) / floor_p99, 2)}


async def statement_figures(database_url: str, queries: list[BenchQuery]) -> dict:
    """p50/p99 of each query's one search statement (db/gazetteer.py), without HTTP or ranking."""
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        gazetteer, elapsed = Gazetteer(pool), []
        for q in queries:
            query = parse_query(q.text)
            sides, pairs = junction_sides(query)
            started = time.perf_counter()
            await gazetteer.search(query.key, query.core, sides=sides, pairs=pairs)
            elapsed.append((time.perf_counter() - started) * 1000)
    finally:
        await pool.close()
    return {"sql_p50_ms": round(statistics.median(elapsed), 2), "sql_p99_ms": round(percentile(elapsed, 99), 2)}


def summarise(rows: list[tuple[BenchQuery, int | None, float]]) -> dict:
    n = len(rows)
    top1 = sum(1 for _, r, _ in rows if r == 1)
    top5 = sum(1 for _, r, _ in rows if r is not None and r <= 5)
    ms = [t for _, _, t in rows]
    return {"queries": n, "top1_pct": round(100 * top1 / n, 1) if n else 0.0,
            "top5_pct": round(100 * top5 / n, 1) if n else 0.0,
            "p50_ms": round(statistics.median(ms), 2) if ms else 0.0, "p99_ms": round(percentile(ms, 99), 2)}


async def run(limit: int | None, seed: int, database_url: str | None = None, redis_url: str | None = None,
              var_dir: Path = VAR, timeout_s: float = 300.0, browser: bool = True) -> dict:
    """Start a server process, ask the query set (the first `limit` queries when given), time the console's new
    call in Chromium when `browser` (and Playwright is there), stop it; the figures."""
    if database_url is None:
        admin = local_services.postgres(VAR).url
        database_url = urlunsplit(urlsplit(admin)._replace(path=f"/{DATABASE}"))
    if redis_url is None:
        redis_url = local_services.redis(VAR).url
    server = ServerProcess(database_url, redis_url, namespace="ems-bench-geocode", var_dir=var_dir,
                           EMS_RATE_API_PER_MIN="1000000")
    try:
        await server.ready(timeout_s)
        pool = await create_pool(database_url, min_size=1, max_size=2)
        try:
            identities = IdentityStore(pool)
            await identities.upsert_user("bench-geocode", "bench-geocode", "dispatcher")
            api = Api(server.base_url, await identities.issue_token("bench-geocode"))
            deadline = time.monotonic() + timeout_s
            while (await api.get("/api/v1/geocode?q=x"))[0] == 503:  # the gazetteer is still being built
                if time.monotonic() > deadline:
                    raise TimeoutError("the gazetteer did not load")
                await asyncio.sleep(0.5)
            queries = build_queries(await load_places(pool), seed)
        finally:
            await pool.close()
        generated = len(queries)
        if limit is not None:
            queries = queries[:limit]
        for q in queries[:WARMUP]:
            await api.get(f"/api/v1/geocode?q={quote(q.text)}&limit=5")
        rows, baseline_ms = [], []
        for q in queries:
            elapsed_ms, status, body = await timed_get(api, f"/api/v1/geocode?q={quote(q.text)}&limit=5")
            if status != 200:
                raise RuntimeError(f"geocode {q.text!r} answered {status}: {body}")
            rows.append((q, rank_of(q, body["results"]), elapsed_ms))
            baseline_ms.append((await timed_get(api, BASELINE_PATH))[0])
        located_s = await browser_new_call_to_located_s(server.base_url, api.token, api) if browser else None
    finally:
        server.stop()
    result = summarise(rows)
    result.update(baseline_figures([t for _, _, t in rows], baseline_ms))
    result.update(await statement_figures(database_url, queries))
    result["generated"] = generated
    result["browser_new_call_to_located_s"] = located_s
    result["splits"] = {s: summarise([r for r in rows if r[0].split == s]) for s in ("dev", "heldout")}
    result["rules"] = {rule: summarise([r for r in rows if r[0].rule == rule])
                       for rule in sorted({q.rule for q, _, _ in rows})}
    result["misses"] = [{"q": q.text, "rule": q.rule, "want": q.name, "rank": r}
                        for q, r, _ in rows if r != 1][:40]
    return result


async def type_a_new_call(page, typed: str) -> list[str]:
    """On an open console: press N and type `typed` into the location box; the suggestions' texts once listed."""
    await page.keyboard.press("n")
    await page.keyboard.type(typed)
    suggestions = page.locator("#locate-suggestions li[data-index]")
    await suggestions.first.wait_for(timeout=10_000)
    return await suggestions.all_inner_texts()


async def pick_suggestion(page, index: int) -> None:
    """Move from the first suggestion to the `index`-th (from 0) with the arrow key and pick it with Enter."""
    for _ in range(index):
        await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Enter")


async def browser_new_call_to_located_s(base_url: str, token: str, api: Api, timeout_s: float = 30.0) -> float | None:
    """Seconds from N on the console to the located incident existing on the server (keystrokes only); None when
    Playwright or Chromium is missing."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        return None
    from ops.bench.console import CHROMIUM_ARGS

    async with async_playwright() as p:
        try:
            browser = await p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                              headless=True, args=CHROMIUM_ARGS)
        except Exception:  # noqa: BLE001 - no browser on this machine: the figure is simply absent
            return None
        try:
            page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
            await page.goto(f"{base_url}/console.html#token={token}")
            await page.wait_for_function("document.querySelector('#status-line').textContent.length > 0")
            before = {i["id"] for i in (await api.get("/api/v1/incidents?limit=5000"))[1]["incidents"]}
            started = time.monotonic()
            names = await type_a_new_call(page, BROWSER_TYPED)
            await pick_suggestion(page, next(n for n, text in enumerate(names) if BROWSER_LANDMARK in text))
            while time.monotonic() - started < timeout_s:
                _, body = await api.get("/api/v1/incidents?limit=5000")
                if any(i["location"] is not None and i["id"] not in before for i in body["incidents"]):
                    return round(time.monotonic() - started, 2)
                await asyncio.sleep(0.1)
            raise TimeoutError("no located incident from the console")
        finally:
            await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ops.bench.geocode", description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--limit", type=int, help="ask only the first N queries (a bounded run)")
    parser.add_argument("--seed", type=int, default=1669)
    parser.add_argument("--no-browser", action="store_true", help="skip the console's new-call timing (Chromium)")
    args = parser.parse_args()
    result = asyncio.run(run(args.limit, args.seed, browser=not args.no_browser))
    if not args.json:
        print(f"{'rule':<20}{'split':>8}{'n':>6}{'top1%':>8}{'top5%':>8}{'p50ms':>8}{'p99ms':>8}")
        for rule, s in result["rules"].items():
            print(f"{rule:<20}{'':>8}{s['queries']:>6}{s['top1_pct']:>8}{s['top5_pct']:>8}{s['p50_ms']:>8}{s['p99_ms']:>8}")
        for split, s in result["splits"].items():
            print(f"{'(all)':<20}{split:>8}{s['queries']:>6}{s['top1_pct']:>8}{s['top5_pct']:>8}{s['p50_ms']:>8}{s['p99_ms']:>8}")
        print(f"console: New call to located incident {result['browser_new_call_to_located_s']} s (target 20 s)")
        for miss in result["misses"]:
            print(f"  miss: {miss}", file=sys.stderr)
    print(json.dumps({k: v for k, v in result.items() if k != "misses"}, ensure_ascii=False))


if __name__ == "__main__":
    main()
