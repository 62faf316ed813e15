"""Issue #19 in a real browser: an agency's dispatcher console shows its agency and only its units, with the crew
on shift; the 1669 centre's shows every agency's units; a mutual-aid request can be accepted from the console; the
admin page registers, edits and retires agencies."""
from dispatch import demo
from tests.api.conftest import agency_tokens
from tests.conftest import Api, make_user, wait_until
from tests.web.conftest import open_console, open_page, shot, watch_writes, writes_seen

PAO_UNITS = ["CB-BLS-02", "CB-BLS-03", "CB-BLS-04"]


async def board_units(page) -> list[str]:
    await page.click("#units-btn")
    await page.wait_for_selector("#unit-rows tr[data-unit]")
    return await page.eval_on_selector_all("#unit-rows tr[data-unit]", "rows => rows.map(r => r.dataset.unit)")


async def test_an_agency_console_shows_only_its_units_and_answers_mutual_aid(browser, city):
    server, base, _ = city
    tokens = await agency_tokens(server)
    context, console = await open_page(browser, f"{base}/console.html#token={tokens[demo.PAO]}")
    await console.wait_for_selector("text=Connected")
    await console.wait_for_selector("#agency-badge:has-text('cb-pao')")
    assert sorted(await board_units(console)) == PAO_UNITS
    crew = await console.inner_text("#unit-rows tr[data-unit='CB-BLS-02'] td.crew")
    assert "(EMT-B)" in crew  # who is on board, with their qualification
    # the centre asks the PAO for a unit; the PAO's console shows the request and accepts it
    centre = Api(base, tokens["centre"])
    _, incident = await centre.post("/api/v1/incidents", {"channel": "phone", "location": {"lat": 13.3611, "lon": 100.9847}})
    status, request = await centre.post("/api/v1/mutual-aid", {"incident_id": incident["id"], "unit_id": "CB-BLS-03"})
    assert status == 201
    await console.click(f"#mutual-aid button[data-accept='{request['id']}']")
    await console.wait_for_selector(f"#mutual-aid li[data-request='{request['id']}']", state="detached")
    assert (await server.ctx.store.get("units", "CB-BLS-03")).incident_id == incident["id"]
    await console.wait_for_selector(f"#unit-rows tr[data-unit='CB-BLS-03'] button[data-incident='{incident['id']}']")
    await console.screenshot(path=shot("console-agency-pao"))
    assert console.errors == []
    await context.close()
    context, whole = await open_page(browser, f"{base}/console.html#token={tokens['centre']}")
    await whole.wait_for_selector("text=Connected")
    assert len(await board_units(whole)) == len(demo.FLEET)
    assert whole.errors == []
    await context.close()


async def test_the_agency_badge_is_written_only_when_what_it_shows_changes(browser, city):
    server, base, tokens = city
    context, console = await open_console(browser, base, tokens["dispatcher"])
    await console.wait_for_selector("#agency-badge:has-text('1669 centre')")
    await console.evaluate("""import('/js/console/store.js').then(store => {
        window.unitsRedrawn = 0; store.on("units", () => { window.unitsRedrawn += 1; }); })""")
    await watch_writes(console, "#agency-badge")
    api = Api(base, tokens["dispatcher"])
    _, incident = await api.post("/api/v1/incidents", {"channel": "phone", "location": {"lat": 13.3611, "lon": 100.9847}})
    unit_id = next(u.id for u in await server.ctx.store.list("units") if u.staffed and u.agency_id == demo.PAO)
    await api.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": unit_id})
    assert await wait_until(lambda: console.evaluate("window.unitsRedrawn > 0"), 10)  # the fleet re-read, drawn
    assert await writes_seen(console) == []  # a unit's change is nothing the badge shows
    await console.select_option("#lang", "th")
    await console.wait_for_selector("#agency-badge:has-text('ศูนย์ 1669')")  # its language is
    assert console.errors == []
    await context.close()


async def test_the_admin_page_registers_edits_and_retires_an_agency(browser, server):
    token = await make_user(server.ctx.pool, "admin-agencies", "admin")
    base = f"http://127.0.0.1:{server.config.port}"
    context, page = await open_page(browser, f"{base}/admin.html#token={token}")
    await page.click("#tabs button[data-kind='agencies']")
    await page.wait_for_selector("#list >> text=Nothing registered yet")
    await page.fill("#f-id", "saen-suk-muni")
    await page.fill("#f-name_th", "เทศบาลเมืองแสนสุข")
    await page.fill("#f-name_en", "Saen Suk municipality")
    await page.select_option("#f-kind", "municipality")
    await page.click("#save")
    row = page.locator("#list tr[data-id='saen-suk-muni']")
    await row.wait_for()
    assert "municipality" in await row.inner_text()
    await row.locator("button.edit").click()
    await page.fill("#f-phone", "038000000")
    await page.click("#save")
    await page.wait_for_selector("#list tr[data-id='saen-suk-muni'] >> text=038000000")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.locator("#list tr[data-id='saen-suk-muni'] button.retire").click()
    await page.wait_for_selector("#list tr[data-id='saen-suk-muni']", state="detached")
    agency = await server.ctx.store.get("agencies", "saen-suk-muni")
    assert agency.phone == "038000000" and agency.retired_at is not None
    assert page.errors == []
    await context.close()


async def test_a_crew_logs_off_and_on_from_the_tablet(browser, city):
    server, base, tokens = city
    context, tablet = await open_page(browser, f"{base}/tablet.html#token={tokens['CB-FR-02']}", width=768,
                                      height=1024)
    crew = tablet.locator("#shift-crew li")
    await crew.first.wait_for()
    # the demo's crew on shift, with their qualification (typed "อาสากู้ภัย"; read in the page's language, English)
    assert "Rescue volunteer" in await crew.first.inner_text()
    await tablet.click("#log-off")
    await tablet.wait_for_selector("#shift-panel .flag")
    assert not (await server.ctx.store.get("units", "CB-FR-02")).staffed
    await tablet.fill("#log-on input[name=name-0]", "Anan")
    await tablet.fill("#log-on input[name=qualification-0]", "FR")
    # any live event redraws the panel (the tablet refreshes on every frame): what the crew typed stays
    await tablet.evaluate('import("/js/shift.js").then(({renderShift}) => renderShift())')
    assert await tablet.input_value("#log-on input[name=name-0]") == "Anan"
    assert await tablet.evaluate("document.activeElement.name") == "qualification-0"
    await tablet.click("#log-on button.primary")
    await tablet.wait_for_selector("#shift-crew >> text=Anan · FR")
    unit = await server.ctx.store.get("units", "CB-FR-02")
    assert unit.staffed and [m.name for m in unit.shift.crew] == ["Anan"]
    assert tablet.errors == []
    await context.close()
