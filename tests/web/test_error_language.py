"""Server refusals in the page's language (issue #17 item 6): the console's new-call form and the registry page get
real refusals from the server (a caller number with letters and no location; a station id that is taken; an import
with a bad row) and show them from the label table by the error's code, in Thai on a Thai page, in English on an
English one, never the server's English text on the Thai page."""
import pytest
from playwright.async_api import expect

from tests.api.test_registry_api import foundation_registered
from tests.conftest import Api, make_user
from tests.web.conftest import open_page
from tests.web.test_admin_page import BAD_CSV, choose_file

INTAKE_REFUSAL = {  # (the field's label and its reason) as the form shows them, per page language
    "th": ["เบอร์ผู้แจ้ง: มีได้เฉพาะตัวเลข ช่องว่าง และ + - ( ) .", "ตำแหน่ง: ต้องระบุ (หรือระบุที่อยู่แทน)"],
    "en": ["Caller phone: may contain only digits, spaces, + - ( ) .", "Location: is required (or give an address)"],
}
SERVER_ENGLISH = ["may contain only digits", "is required (or give an address)"]


async def fill_station(page, station_id: str) -> None:
    for field, value in (("station_id", station_id), ("name_th", "สถานีใหม่"), ("lat", "13.3"), ("lon", "100.9"),
                         ("agency_id", "sawang-cb")):
        await page.fill(f"#f-{field}", value)


@pytest.mark.parametrize("lang,locale", [("th", "th-TH"), ("en", "en-US")])
async def test_the_new_call_form_shows_the_servers_field_refusal_in_the_pages_language(browser, city, lang, locale):
    server, base, tokens = city
    context, console = await open_page(browser, f"{base}/console.html#token={tokens['dispatcher']}", locale=locale)
    await console.wait_for_selector("#status-line:has-text('เชื่อมต่อแล้ว')" if lang == "th" else "text=Connected")
    await console.keyboard.press("n")
    await console.fill("#new-incident input[name=caller_phone]", "08x-call-me")
    await console.click("#new-incident button[type=submit]")
    error = console.locator("#new-incident-error")
    for text in INTAKE_REFUSAL[lang]:
        await expect(error).to_contain_text(text)
    if lang == "th":
        shown = await error.inner_text()
        assert not [english for english in SERVER_ENGLISH if english in shown], shown
    assert (await Api(base, tokens["dispatcher"]).get("/api/v1/incidents"))[1]["incidents"] == []  # really refused
    assert console.errors == []
    await context.close()


async def test_the_registry_page_shows_a_taken_id_and_a_refused_import_in_thai_then_in_english(browser, server):
    admin_token = await make_user(server.ctx.pool, "admin-web", "admin")
    base = f"http://127.0.0.1:{server.config.port}"
    admin = Api(base, admin_token)
    await foundation_registered(admin)
    status, _ = await admin.post("/api/v1/stations", {"station_id": "st-taken", "name_th": "สถานีเดิม",
                                                      "location": {"lat": 13.28, "lon": 100.92}, "agency_id": "sawang-cb"})
    assert status == 201
    context, page = await open_page(browser, f"{base}/admin.html#token={admin_token}", locale="th-TH")
    await page.wait_for_selector("#tabs >> text=สถานีและจุดจอด")
    await fill_station(page, "st-taken")
    await page.click("#save")  # 409: the id is taken
    await expect(page.locator("#form-error")).to_have_text(
        "st-taken มีอยู่แล้ว (รหัสที่ปลดแล้วใช้ซ้ำไม่ได้) ให้แก้ไขรายการเดิมแทน")

    await page.select_option("#import-kind", "hospitals")
    await choose_file(page, "hospitals.csv", BAD_CSV)
    await page.click("#apply")  # 422 with the plan: sent through api.js like every other call
    await expect(page.locator("#import-error")).to_have_text("พบปัญหา 1 รายการในไฟล์ — ยังไม่ได้นำเข้าข้อมูลใด")
    await expect(page.locator("#import-rows tr[data-row='3']")).to_contain_text("ต้องระบุ")
    assert "is required" not in await page.locator("#import-rows").inner_text()

    await page.select_option("#lang", "en")
    await fill_station(page, "st-taken")
    await page.click("#save")
    await expect(page.locator("#form-error")).to_have_text(
        "station st-taken already exists (retired ids are not reused); edit it instead")
    await page.click("#apply")
    await expect(page.locator("#import-error")).to_have_text("1 problems in the file: nothing imported")
    assert page.errors == []
    await context.close()


async def test_a_refused_field_is_named_by_its_label_on_every_page_never_by_its_json_path(browser, city):
    """Every page's alert or error line for a refusal names the field as the form does (the tablet's destination
    and status refusals showed 'hospital_id: …' and 'patients.0.hospital_id: …')."""
    server, base, tokens = city
    context, tablet = await open_page(browser, f"{base}/tablet.html#token={tokens['CB-BLS-01']}", locale="th-TH")
    await tablet.select_option("#lang", "th")
    shown = await tablet.evaluate("""() => import("/js/api.js").then(({ApiError, fieldName}) => [
        new ApiError(422, {error: {code: "validation_failed", message: "invalid", fields: [
            {field: "patients.0.hospital_id", code: "not_found", reason: "no such hospital"},
            {field: "status", code: "not_found", reason: "unknown"}]}}).message,
        fieldName("caller.phone"), fieldName("location.lat"), fieldName("some.unlabelled_field")])""")
    message, phone, lat, unlabelled = shown
    assert message.startswith("โรงพยาบาล: ") and "; สถานะ: " in message, message
    assert "hospital_id" not in message and "patients.0" not in message
    assert (phone, lat, unlabelled) == ("เบอร์ผู้แจ้ง", "ละติจูด", "some.unlabelled_field")
    assert tablet.errors == []
    await context.close()
