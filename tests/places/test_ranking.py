"""The bounded search ranks as the exhaustive one did: on a fixed query set, the candidates the GiST nearest-first
scans keep (migration 0021) rank at least as well as scoring every name above the thresholds and keeping the best
40 (migration 0020's search), and fixed queries keep their answers."""
from __future__ import annotations

import pytest

from dispatch.places import Candidate, Query, RankingSettings, junction_sides, parse_query, rank

# Scoring every name that passes either threshold, best 40 (the search as defined, without any index bound).
EXHAUSTIVE = """
SELECT p.id, p.kind, p.name, p.name_en, p.lat, p.lon, p.source, p.in_road_graph, n.key,
       greatest(similarity(n.key, $1), similarity(n.core, $2), $3 * word_similarity($2, n.core))::real AS sim
FROM place_names n JOIN places p ON p.id = n.place_id
WHERE similarity(n.core, $2) >= $4 OR word_similarity($2, n.core) >= greatest($4, 0.5)
ORDER BY sim DESC, p.id
LIMIT $5
"""


async def _exhaustive(gazetteer, query: Query, limit: int = 40) -> list[Candidate]:
    rows = await gazetteer.pool.fetch(EXHAUSTIVE, query.key, query.core, gazetteer.part_weight, gazetteer.threshold,
                                      limit)
    return [Candidate(place_id=r["id"], kind=r["kind"], name=r["name"], name_en=r["name_en"], lat=r["lat"],
                      lon=r["lon"], source=r["source"], in_road_graph=r["in_road_graph"], similarity=r["sim"],
                      key=r["key"]) for r in rows]


@pytest.mark.parametrize("text, near", [
    ("ซอยนารถมนตเสวี 7", None),  # a word shared by hundreds of sois
    ("ซอยนารถมนตเศวี 1/1", None),
    ("รพ.สมิติเวชศรีราชา", None),
    ("โรงพยาบาลสมิ", None),  # typed so far
    ("ซอยวัดต้นส", None),
    ("ร.ร.ชลกันยานุกูล", None),
    ("Sukumvit Rd", None),
    ("banpe police station", None),
    ("ถนนบ้านศวน ๙", None),
    ("บ้านสวน-สุขุมวิท ซ.๑๓", (13.36, 100.98)),
    ("Police Box", (13.36, 100.98)),
    ("ตลาดหนองมน", (13.27, 100.94)),
])
async def test_bounded_search_ranks_like_an_exhaustive_scan(gazetteer, text, near):
    query = parse_query(text)
    settings = RankingSettings()
    bounded = rank(query, await gazetteer.search(query.key, query.core), settings, near, 5)
    exhaustive = rank(query, await _exhaustive(gazetteer, query), settings, near, 5)
    assert bounded, text
    # Equal scores may come in another order, and the exhaustive scan's own cut at 40 names may drop one that the
    # ranking would lift: position by position the score is at least as good, and a clear best is the same place.
    assert len(bounded) >= len(exhaustive)
    for mine, reference in zip(bounded, exhaustive):
        assert round(mine.score, 4) >= round(reference.score, 4), (text, mine.name, reference.name)
    assert round(bounded[0].score, 4) == round(exhaustive[0].score, 4)
    if len(exhaustive) == 1 or exhaustive[0].score > exhaustive[1].score:
        assert bounded[0].place_id == exhaustive[0].place_id


@pytest.mark.parametrize("text, leading", [
    ("รพ.สมิติเวชศรีราชา", ["โรงพยาบาลสมิติเวช", "โรงพยาบาลสมเด็จพระบรมราชเทวี ณ ศรีราชา", "Samitivej Chonburi"]),
    ("โรงพยาบาลสมิ", ["โรงพยาบาลสมิติเวช", "Samitivej Chonburi", "โรงพยาบาลสมเด็จพระบรมราชเทวี ณ ศรีราชา"]),
    ("ร.ร.ชลกันยานุกูล", ["โรงเรียนชลกันยานุกูล (ชลหญิง)", "โรงเรียนอุดมวิทยานุกูล"]),
    ("Sukumvit Rd", ["ถนนสุขุมวิท", "ทางคู่ขนานถนนสุขุมวิท", "ถนนสุขุมวิท (สายเก่า)"]),
    ("Aikchol hospital", ["โรงพยาบาลเอกชล", "โรงพยาบาลเอกชล 2"]),
    ("ถ.พระยาสัจจา", ["ถนนพระยาสัจจา", "ถนนพระยาสัจจา-คีรี"]),
    ("ซอยนารถมนตเสวี 7", ["ซอยนารถมนตเสวี 7"]),
    ("banpe police station", ["Ban Phe Police Station", "สถานีตำรวจบ้านค่าย", "สถานีตำรวจภูธรบ้านฉาง"]),
    ("บ้านสวน-สุขุมวิท ซ.๑๓", ["บ้านสวน-สุขุมวิท 13", "แยก ถนนพระยาสัจจา ตัด บ้านสวน-สุขุมวิท 13"]),
    ("แยกพิพิธตัดวชิรปราการ", ["แยก ถนนพิพิธ ตัด ถนนวชิรปราการ", "แยก ถนนวชิรปราการ ตัด ถนนสุขุมวิท"]),
    ("สุขุมวิทตัดโพธิ์ทอง", ["แยก ถนนสุขุมวิท ตัด ถนนโพธิ์ทอง"]),
    ("นารถมนตเสวี 30/8ตัดนารถมนตเสวี 28", ["แยก ซอยนารถมนตเสวี 28 ตัด ซอยนารถมนตเสวี 30/8",
                                           "แยก ซอยนารถมนตเสวี 28 ตัด ซอยนารถมนตเสวี 30"]),
    ("แยก ถนนบ้านสวน ๙ กับ ถนนเศรษฐกิจ", ["แยก ถนนบ้านสวน ๙ ตัด ถนนเศรษฐกิจ"]),
])
async def test_fixed_queries_keep_their_answers(places, text, leading):
    """Answers of the unbounded search (migration 0020) before the bounded one replaced it."""
    results = await places.geocode(text)
    assert [c.name for c in results[:len(leading)]] == leading


def test_junction_readings_share_their_road_names():
    query = parse_query("แยก บ้านสวน สุขุมวิท 9")  # no separator: one reading per split between words
    sides, pairs = junction_sides(query)
    assert len(pairs) == len(query.junction_splits) == 2
    assert len(sides) == len(set(sides)) == 4  # บ้านสวน | สุขุมวิท9, บ้านสวนสุขุมวิท | 9: four distinct names
    for a, b in pairs:
        assert 0 <= a < len(sides) and 0 <= b < len(sides) and a != b
    same_road = parse_query("ถ.สุขุมวิท x ถ.สุขุมวิท")
    sides, pairs = junction_sides(same_road)
    assert len(sides) == 1 and pairs == [(0, 0)]
    assert junction_sides(parse_query("โรงพยาบาลชลบุรี")) == ([], [])
