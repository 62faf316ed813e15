"""Both languages beyond the console (issue #17): the crew tablet, the hospital board and the KPI report page,
walked in Thai and in English; any visible string from the other language's labels fails, and so does an English
word on a Thai page's own furniture."""
from tests.conftest import Api
from tests.web.conftest import inbound_patient, open_page, wrong_language

FURNITURE = "header.bar, h1, h2, h3, h4, summary, label, button, th, option"


async def test_tablet_hospital_board_and_report_speak_one_language(browser, city):
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    incident, hospital_id = await inbound_patient(server, api, "CB-BLS-01", "ผู้ป่วยเจ็บหน้าอก")
    pages = [
        (f"tablet.html#token={tokens['CB-BLS-01']}", "#job:not([hidden])"),
        (f"tablet.html#token={tokens['CB-ALS-03']}", "#shift-crew li"),  # no job: the crew typed "Paramedic", "Driver"
        (f"hospital.html#token={tokens[hospital_id]}", f"#inbound li.patient[data-id='{incident['id']}']"),
        (f"report.html#token={tokens['dispatcher']}", "#table tr"),
    ]
    for path, ready in pages:
        for lang in ("th", "en"):
            context, page = await open_page(browser, f"{base}/{path}", width=1280, height=1000)
            await page.wait_for_selector(ready)
            await page.select_option("#lang", lang)
            await page.wait_for_timeout(300)  # a page may redraw a part after the switch
            assert await wrong_language(page, lang, FURNITURE) == [], (path.split("#")[0], lang)
            assert page.errors == [], path
            await context.close()
