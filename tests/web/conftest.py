import shutil
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from dispatch import demo
from tests.conftest import REPO, make_user, routing_ready

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


async def open_page(browser, url: str, *, width: int = 1400, height: int = 900, locale: str = "en-US", **context_options):
    context = await browser.new_context(viewport={"width": width, "height": height}, locale=locale, **context_options)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(url)
    page.errors = errors
    return context, page


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


async def click_map_at(page, lat: float, lon: float) -> None:
    """Click the console's Leaflet map at a coordinate (the page's global `map`)."""
    point = await page.evaluate(f"(() => {{ const p = map.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})()")
    box = await page.locator("#map").bounding_box()
    await page.mouse.click(box["x"] + point[0], box["y"] + point[1])
