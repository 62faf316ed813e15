import re
import shutil
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from dispatch import demo
from tests.conftest import REPO, Api, make_user, routing_ready

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-gpu"]


@pytest.fixture(scope="session")
async def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


# Reports every Content-Security-Policy violation on the page to the test (Playwright's bindings and init scripts
# are not subject to the page's CSP, so this works under the policy it watches).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", e =>
  window.reportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`));
"""


async def open_page(browser, url: str, *, width: int = 1400, height: int = 900, locale: str = "en-US",
                    fake_clock: bool = False, **context_options):
    """A page in a fresh context. `page.errors` collects uncaught errors and Content-Security-Policy violations
    (so every test that asserts it empty also asserts the pages work under the CSP); `page.console_errors` the
    console's error messages. `fake_clock`: the page's time (Date, timers) runs on Playwright's clock from the
    start, so the test can stop it and move it (page.clock.pause_at, run_for)."""
    context = await browser.new_context(viewport={"width": width, "height": height}, locale=locale, **context_options)
    page = await context.new_page()
    errors: list[str] = []
    console_errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: console_errors.append(f"{m.text} [{m.location.get('url')}]") if m.type == "error" else None)
    await page.expose_function("reportCspViolation", lambda text: errors.append(f"CSP violation: {text}"))
    await page.add_init_script(REPORT_CSP_VIOLATIONS)
    if fake_clock:
        await context.clock.install()
    page.errors = errors
    page.console_errors = console_errors
    await page.goto(url)
    return context, page


# Every write to what `selector` matches (and inside it), for the tests of redraws: each a {target (the element's
# id), kind ("text" or the attribute's name), before, after}; one whose before equals its after changed nothing.
WATCH_WRITES = """selector => {
  const records = [], observer = new MutationObserver(found => records.push(...found));
  document.querySelectorAll(selector).forEach(el => observer.observe(el, {childList: true, characterData: true,
    characterDataOldValue: true, subtree: true, attributes: true, attributeOldValue: true}));
  const valueAfter = (r, n) => {  // an attribute's value after this write: the next write's old value, or today's
    const next = records.slice(n + 1).find(o => o.type === "attributes" && o.target === r.target
                                                && o.attributeName === r.attributeName);
    return next ? next.oldValue : r.target.getAttribute(r.attributeName);
  };
  window.writesSeen = () => {
    records.push(...observer.takeRecords());
    return records.map((r, n) => {
      const target = (r.target.nodeType === Node.TEXT_NODE ? r.target.parentElement : r.target).id;
      if (r.type === "attributes") return {target, kind: r.attributeName, before: r.oldValue, after: valueAfter(r, n)};
      if (r.type === "characterData") return {target, kind: "text", before: r.oldValue, after: r.target.data};
      const text = nodes => [...nodes].map(node => node.textContent).join("");
      return {target, kind: "text", before: text(r.removedNodes), after: text(r.addedNodes)};
    });
  };
}"""


async def watch_writes(page, selector: str) -> None:
    """Starts recording every write to the elements `selector` matches (read them with writes_seen)."""
    await page.evaluate(WATCH_WRITES, selector)


async def writes_seen(page) -> list[dict]:
    """The writes since watch_writes, in order: {target, kind, before, after}."""
    return await page.evaluate("window.writesSeen()")


def shot(name: str) -> str:
    return str(Path(ARTIFACTS) / f"{name}.png")


@pytest.fixture
async def city(server):
    """The demo city (roads, hospitals, units) with a login token per dispatcher, unit crew and hospital."""
    await demo.seed(server.ctx.store)
    await routing_ready(server)
    base = f"http://127.0.0.1:{server.config.port}"
    tokens = {"dispatcher": await make_user(server.ctx.pool, "disp-web", "dispatcher")}
    for unit in await server.ctx.store.list("units"):
        tokens[unit.id] = await make_user(server.ctx.pool, f"crew-{unit.id}", "crew", unit_id=unit.id)
    for hospital in await server.ctx.store.list("hospitals"):
        tokens[hospital.id] = await make_user(server.ctx.pool, f"ed-{hospital.id}", "hospital", hospital_id=hospital.id)
    return server, base, tokens


async def tablet_on_a_job(browser, base: str, tokens: dict, unit_id: str, complaint: str, **options):
    """An incident at a city scene assigned to `unit_id`, and that crew's tablet open: (incident, context, page)."""
    api = Api(base, tokens["dispatcher"])
    _, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": {"lat": 13.3611, "lon": 100.9847},
                                                       "chief_complaint": complaint})
    await api.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": unit_id})
    context, page = await open_page(browser, f"{base}/tablet.html#token={tokens[unit_id]}", **options)
    return incident, context, page


async def inbound_patient(server, api, unit_id: str, complaint: str) -> tuple[dict, str]:
    """An incident at a city scene, assigned to `unit_id` and bound for the first demo hospital: (incident,
    hospital id)."""
    _, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": {"lat": 13.3611, "lon": 100.9847},
                                                       "chief_complaint": complaint})
    await api.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": unit_id})
    hospital_id = (await server.ctx.store.list("hospitals"))[0].id
    await api.post(f"/api/v1/incidents/{incident['id']}/destinations", {"hospital_id": hospital_id})
    return incident, hospital_id


async def click_map_at(page, lat: float, lon: float) -> None:
    """Click the console's Leaflet map at a coordinate (the `map` exported by the console's map module)."""
    point = await page.evaluate(f"""import("/js/console/map.js").then(({{map}}) => {{
        const p = map.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})""")
    box = await page.locator("#map").bounding_box()
    await page.mouse.click(box["x"] + point[0], box["y"] + point[1])


# The language walk (issue #17): what a page shows, against the label table of both languages.
VISIBLE_TEXT = """(() => {
  const out = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, text = node.textContent.trim(), el = node.parentElement;
    if (!text || !el || el.closest('script,style,kbd,[hidden]') || !el.checkVisibility()) continue;
    out.push(text);
  }
  document.querySelectorAll('select:not([hidden]) option').forEach(o => { if (o.parentElement.checkVisibility()) out.push(o.textContent.trim()); });
  document.querySelectorAll('input[placeholder],textarea[placeholder]').forEach(i => { if (i.checkVisibility()) out.push(i.placeholder); });
  return out; })()"""
FURNITURE_TEXT = """selector => [...document.querySelectorAll(selector)]
  .filter(e => e.checkVisibility() && !e.closest('[data-recommendation], [data-unit], [data-hospital], #lang'))
  .map(e => e.innerText.trim() + ' ' + (e.placeholder || ''))"""
ALLOWED_LATIN = {"LINE", "English", "mmHg", "NFPA"}  # written so in Thai too (a product, a unit, a standard); the
# language choice itself
LABEL_VALUES = """import('/js/i18n.js').then(m => m.labelValues())"""


async def wrong_language(page, lang: str, furniture: str) -> list[str]:
    """What `page` shows that belongs to the other language: any text that is a label of the other language only,
    and, on a Thai page, any English word on its own furniture (`furniture`: a CSS selector of headings, labels,
    buttons…; data from callers, crews and OSM aside)."""
    other = "en" if lang == "th" else "th"
    values = await page.evaluate(LABEL_VALUES)
    foreign = {v for v in values[other] if v not in values[lang]}
    wrong = sorted({text for text in await page.evaluate(VISIBLE_TEXT) if text in foreign})
    if lang == "th":
        shown = await page.evaluate(FURNITURE_TEXT, furniture)
        wrong += sorted({w for text in shown for w in re.findall(r"[A-Za-z]{4,}", text)} - ALLOWED_LATIN)
    return wrong


async def open_console(browser, base: str, token: str, **options):
    """The dispatcher console (`open_page`), once its live connection is up: (context, page)."""
    context, console = await open_page(browser, f"{base}/console.html#token={token}", **options)
    await console.wait_for_selector("text=Connected")
    return context, console
