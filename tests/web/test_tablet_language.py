"""The tablet in one language (user walk): a crew's qualifications typed in either language ("Driver", "พลขับ") read
in the page's language; route distances in the page's units (ม. / กม. in Thai, m / km in English); a turn onto an
unnamed road is the turn alone, not "เลี้ยวซ้ายเข้าสู่ ถนน"."""
import re

from routing import route as route_module
from tests.web.conftest import open_page, tablet_on_a_job


async def _crew_shown(browser, base: str, token: str, lang: str) -> str:
    context, page = await open_page(browser, f"{base}/tablet.html#token={token}", width=1000, height=900)
    await page.wait_for_selector("#shift-crew li")
    await page.select_option("#lang", lang)
    text = await page.inner_text("#shift-crew")
    assert page.errors == []
    await context.close()
    return text


async def test_qualifications_read_in_the_page_language(browser, city):
    server, base, tokens = city
    # the demo crews: CB-ALS-03 typed "Paramedic", "EMT-I", "Driver"; CB-BLS-03 "EMT-B", "พลขับ"
    thai = await _crew_shown(browser, base, tokens["CB-ALS-03"], "th")
    assert "พนักงานขับรถ" in thai and "นักปฏิบัติการฉุกเฉินการแพทย์" in thai and "EMT-I" in thai, thai
    assert "Driver" not in thai and "Paramedic" not in thai, thai
    thai_other = await _crew_shown(browser, base, tokens["CB-BLS-03"], "th")
    assert "พนักงานขับรถ" in thai_other and "พลขับ" not in thai_other, thai_other  # one word for one job
    english = await _crew_shown(browser, base, tokens["CB-BLS-03"], "en")
    assert "Driver" in english and "พลขับ" not in english, english


async def test_route_distances_in_the_page_units(browser, city):
    server, base, tokens = city
    _, context, page = await tablet_on_a_job(browser, base, tokens, "CB-BLS-02", "ปวดท้อง", width=1000, height=900)
    await page.click("#respond")
    await page.wait_for_selector("#instructions li")
    for lang, metre, kilometre in (("th", "ม.", "กม."), ("en", "m", "km")):
        await page.select_option("#lang", lang)
        shown = rf"(\d+ {re.escape(metre)}|\d+\.\d {re.escape(kilometre)})"
        await page.wait_for_function("pattern => new RegExp(pattern + '$').test(document.querySelector('#route-summary').textContent)",
                                     arg=shown, timeout=10000)
        steps = await page.locator("#instructions li .muted").all_inner_texts()
        assert steps and all(re.fullmatch(shown, s) for s in steps), (lang, steps)
        summary = await page.inner_text("#route-summary")
        assert re.search(rf"· {shown}$", summary), (lang, summary)
        next_turn = await page.inner_text("#next-turn")
        assert re.search(rf"· {shown}$", next_turn), (lang, next_turn)
        if lang == "th":
            assert not re.search(r"\d (m|km)\b", summary + next_turn + " ".join(steps))
    assert page.errors == []
    await context.close()


class _Graph:
    """Two roads meeting at a right angle: edge 0 unnamed, edge 1 Sukhumvit Road."""
    def edge_label(self, edge):
        return (None, None) if edge == 0 else ("ถนนสุขุมวิท", "Sukhumvit Road")


NORTH = [(13.000, 100.000), (13.001, 100.000)]
EAST = [(13.001, 100.000), (13.001, 100.001)]


def test_a_turn_onto_an_unnamed_road_is_the_turn_alone():
    # north along the unnamed road, then right onto Sukhumvit
    first, turn, arrive = route_module._instructions(_Graph(), [(0, NORTH), (1, EAST)])
    assert (first["text_en"], first["text_th"]) == ("head out", "ออกเดินทาง")
    assert (turn["text_en"], turn["text_th"]) == ("turn right onto Sukhumvit Road", "เลี้ยวขวาเข้าสู่ ถนนสุขุมวิท")
    # east along Sukhumvit, then left onto the unnamed road
    first, turn, arrive = route_module._instructions(_Graph(), [(1, [(13.0, 99.999), (13.0, 100.0)]), (0, NORTH)])
    assert (first["text_en"], first["text_th"]) == ("head out on Sukhumvit Road", "ออกตัวไปตาม ถนนสุขุมวิท")
    assert (turn["text_en"], turn["text_th"]) == ("turn left", "เลี้ยวซ้าย")
    assert arrive["text_en"] == "arrive at the destination"
