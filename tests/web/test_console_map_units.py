"""Units sharing one base on the console's map (issue #17): every one stays visible and selectable, and the spot
says how many stand there."""
from playwright.async_api import expect

from tests.web.conftest import open_console

SHARED_BASE = ["CB-ALS-01", "CB-ALS-02", "CB-BLS-01"]  # dispatch/demo.py: one station, three units


async def _uncovered(page, unit_id: str) -> bool:
    """Whether the label's centre is the label itself (no other label or marker on top of it)."""
    return await page.evaluate(f"""(() => {{
        const label = document.querySelector(".unit-marker[data-unit='{unit_id}']");
        const r = label.getBoundingClientRect();
        return document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2)?.closest('.unit-marker') === label;
    }})()""")


async def test_three_units_at_one_base_are_all_visible_counted_and_selectable(browser, city):
    server, base, tokens = city
    context, console = await open_console(browser, base, tokens["dispatcher"])
    for unit_id in SHARED_BASE:
        await console.locator(f".unit-marker[data-unit='{unit_id}']").wait_for()
    await console.click("#units-btn")  # the board shows which unit a map click chose
    for zoom in (13, 11):  # zoomed out, other bases crowd in too
        await console.evaluate(f"import('/js/console/map.js').then(m => {{ m.map.setZoom({zoom}, {{animate: false}}); }})")
        await expect(console.locator(".unit-count", has_text="3")).to_have_count(1)
        for unit_id in SHARED_BASE:
            assert await _uncovered(console, unit_id), (zoom, unit_id)
            await console.locator(f".unit-marker[data-unit='{unit_id}']").click()
            await console.locator(f".unit-marker.unit-chosen[data-unit='{unit_id}']").wait_for()
            await expect(console.locator(f"#unit-board tr.selected[data-unit='{unit_id}']")).to_have_count(1)
            assert await console.locator(".unit-marker.unit-chosen").count() == 1
    assert console.errors == []
    await context.close()
