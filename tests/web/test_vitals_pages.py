"""Vital signs in a real browser: the crew types them on the tablet (a value out of range is named and marked),
and the receiving hospital's board shows the latest set."""
from tests.conftest import Api
from tests.web.conftest import inbound_patient, open_page, shot


async def test_crew_records_vitals_on_the_tablet_and_the_hospital_board_shows_them(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    incident, hospital_id = await inbound_patient(server, api, "CB-BLS-01", "หอบ")

    context, tablet = await open_page(browser, f"{base}/tablet.html#token={tokens['CB-BLS-01']}", width=768, height=1024)
    await tablet.wait_for_selector("#vitals-panel:not([hidden])")
    box = await tablet.locator("#vitals-panel input[name=heart_rate]").bounding_box()
    assert box["height"] >= 56  # big enough for a gloved finger
    for name, value in {"heart_rate": "400", "spo2": "91", "systolic_bp": "90", "diastolic_bp": "60",
                        "gcs": "14"}.items():
        await tablet.fill(f"#vitals-panel input[name={name}]", value)
    await tablet.click("#vitals-panel button[type=submit]")
    await tablet.wait_for_selector("#vitals-panel input[name=heart_rate].invalid")
    assert "Heart rate" in await tablet.inner_text("#vitals-error")
    await tablet.fill("#vitals-panel input[name=heart_rate]", "128")
    await tablet.click("#vitals-panel button[type=submit]")
    await tablet.wait_for_selector("#vitals-latest:has-text('HR 128 · BP 90/60 · SpO₂ 91% · GCS 14')")
    assert await tablet.input_value("#vitals-panel input[name=heart_rate]") == ""  # cleared for the next set
    await tablet.screenshot(path=shot("tablet-vitals"))

    context_ed, board = await open_page(browser, f"{base}/hospital.html#token={tokens[hospital_id]}")
    patient = board.locator(f"#inbound li[data-id='{incident['id']}'] .vitals")
    await patient.wait_for()
    assert "HR 128" in await patient.inner_text()
    assert tablet.errors == [] and board.errors == []
    await context.close()
    await context_ed.close()
