"""The registry page (web/admin.html) in a real browser: an import's dry run, then the hospitals on the console;
a station created, edited and retired through the form, in Thai; a dispatcher reads but may not write."""
from playwright.async_api import expect

from tests.api.test_registry_api import foundation_registered
from tests.conftest import Api, make_user
from tests.web.conftest import open_console, open_page, shot

HOSPITALS_CSV = ("hospital_id,name_th,name_en,lat,lon,capabilities,ed_beds,ed_beds_free\n"
                 "h-banglamung,โรงพยาบาลบางละมุง,Banglamung Hospital,12.9767,100.9068,trauma;stroke,14,5\n"
                 "h-pattaya,โรงพยาบาลพัทยาเมโมเรียล,Pattaya Memorial Hospital,12.9361,100.8893,stemi,10,3\n"
                 "h-phanat,โรงพยาบาลพนัสนิคม,Phanat Nikhom Hospital,13.4477,101.1844,,6,2\n")
BAD_CSV = ("hospital_id,name_th,lat,lon\n"
           "h-ok,โรงพยาบาลดี,13.1,100.9\n"
           "h-nowhere,โรงพยาบาลไม่มีพิกัด,,\n")


async def tokens_for(server) -> dict[str, str]:
    return {"admin": await make_user(server.ctx.pool, "admin-web", "admin"),
            "dispatcher": await make_user(server.ctx.pool, "disp-web", "dispatcher")}


async def choose_file(page, name: str, text: str) -> None:
    await page.set_input_files("#import-file", {"name": name, "mimeType": "text/csv", "buffer": text.encode()})


async def test_a_csv_import_shows_its_dry_run_then_the_hospitals_are_on_the_console(browser, server):
    tokens = await tokens_for(server)
    base = f"http://127.0.0.1:{server.config.port}"
    context, page = await open_page(browser, f"{base}/admin.html#token={tokens['admin']}")
    await page.click("#tabs button[data-kind='hospitals']")
    await page.wait_for_selector("#list >> text=Nothing registered yet")
    await page.select_option("#import-kind", "hospitals")
    await choose_file(page, "hospitals.csv", BAD_CSV)
    await page.click("#dry-run")
    await page.wait_for_selector("#import-summary >> text=1 bad rows")
    bad_row = page.locator("#import-rows tr[data-row='3']")
    assert "error" in await bad_row.inner_text() and "location" in await bad_row.inner_text()
    await page.click("#apply")
    await page.wait_for_selector("#import-state >> text=Not imported")

    await choose_file(page, "hospitals.csv", HOSPITALS_CSV)
    await page.click("#dry-run")
    await page.wait_for_selector("#import-summary >> text=Create 3")
    assert await page.locator("#import-rows td.action-create").count() == 3
    assert (await Api(base, tokens["dispatcher"]).get("/api/v1/hospitals"))[1]["hospitals"] == []  # dry run
    await page.screenshot(path=shot("admin-import-dry-run"), full_page=True)
    await page.click("#apply")
    await page.wait_for_selector("#import-state >> text=Imported")
    await page.wait_for_selector("#list tr[data-id='h-phanat']")
    assert await page.locator("#list tr[data-id]").count() == 3
    assert page.errors == []
    await context.close()

    context, console = await open_console(browser, base, tokens["dispatcher"])
    await expect(console.locator(".hospital-marker")).to_have_count(3)  # not wait_for_function: its polling needs unsafe-eval
    assert console.errors == []
    await context.close()


async def test_a_station_is_created_edited_and_retired_through_the_form_in_thai(browser, server):
    tokens = await tokens_for(server)
    base = f"http://127.0.0.1:{server.config.port}"
    await foundation_registered(Api(base, tokens["admin"]))
    context, page = await open_page(browser, f"{base}/admin.html#token={tokens['admin']}", locale="th-TH")
    await page.wait_for_selector("#tabs >> text=สถานีและจุดจอด")
    assert await page.inner_text("#form-title") == "เพิ่ม: สถานีและจุดจอด"
    for field, value in (("station_id", "st-bangsaen"), ("name_th", "สถานีกู้ภัยบางแสน"), ("lat", "13.2846"),
                         ("lon", "100.9243"), ("agency_id", "sawang-cb")):
        await page.fill(f"#f-{field}", value)
    await page.select_option("#f-kind", "post")
    await page.click("#save")
    await page.wait_for_selector("#list tr[data-id='st-bangsaen'] >> text=จุดจอดรอ")
    await page.click("#list tr[data-id='st-bangsaen'] button.edit")
    assert await page.input_value("#f-station_id") == "st-bangsaen"
    await page.fill("#f-name_en", "Bang Saen rescue post")
    await page.click("#save")
    await page.wait_for_selector("#form-done >> text=บันทึก st-bangsaen แล้ว")
    _, stations = await Api(base, tokens["admin"]).get("/api/v1/stations")
    [station] = stations["stations"]
    assert station["name_en"] == "Bang Saen rescue post" and station["kind"] == "post"

    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("#list tr[data-id='st-bangsaen'] button.retire")
    await page.wait_for_selector("#list >> text=ยังไม่มีรายการ")
    await page.check("#show-retired")
    await page.wait_for_selector("#list tr.retired[data-id='st-bangsaen']")
    assert page.errors == []
    await context.close()


async def test_a_dispatcher_reads_the_registry_but_may_not_change_it(browser, server):
    tokens = await tokens_for(server)
    base = f"http://127.0.0.1:{server.config.port}"
    context, page = await open_page(browser, f"{base}/admin.html#token={tokens['dispatcher']}")
    await page.wait_for_selector("#list >> text=Nothing registered yet")
    await page.fill("#f-station_id", "st-x")
    await page.fill("#f-name_th", "สถานี")
    await page.fill("#f-lat", "13.3")
    await page.fill("#f-lon", "100.9")
    await page.click("#save")
    await page.wait_for_selector("#form-error >> text=may not manage registry")
    assert (await Api(base, tokens["admin"]).get("/api/v1/stations"))[1]["stations"] == []
    await context.close()
