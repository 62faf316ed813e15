"""The coverage layer, incident replay and the KPI report page in a real browser."""
from tests.conftest import Api
from tests.web.conftest import open_console, open_page, shot

SCENE = {"lat": 13.3611, "lon": 100.9847}


async def test_coverage_layer_replay_scrubber_and_kpi_page(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    _, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    await api.post(f"/api/v1/incidents/{incident['id']}/triage", {"group": 6, "determinant": 1})  # red: auto-dispatch

    context, console = await open_console(browser, base, tokens["dispatcher"])
    await console.click("#coverage-btn")
    await console.wait_for_selector("#coverage-panel:not([hidden]) >> text=of demand covered")
    layers = "import('/js/console/map.js').then(({map}) => { let n = 0; map.eachLayer(() => n++); return n; })"
    assert await console.evaluate(layers) > 50  # cells
    await console.screenshot(path=shot("console-coverage"))

    await console.locator(f"#incident-list li[data-id='{incident['id']}']").click()
    await console.click("#replay-btn")
    await console.wait_for_selector("#replay-panel:not([hidden]) #replay-scrubber")
    await console.eval_on_selector("#replay-scrubber", "s => { s.value = s.max; s.dispatchEvent(new Event('input')); }")
    assert "Unit assigned" in await console.inner_text("#replay-events")  # event names in the page language
    assert console.errors == []
    await context.close()

    context, report = await open_page(browser, f"{base}/report.html#token={tokens['dispatcher']}")
    await report.wait_for_selector("#headline >> text=within 8 minutes")
    assert await report.locator("#table tr").count() > 1 and report.errors == []
    await report.screenshot(path=shot("kpi-report"), full_page=True)
    await context.close()
