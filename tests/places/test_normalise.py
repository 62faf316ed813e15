"""Thai-aware normalisation and query parsing (dispatch/places.py): pure, no database."""
from __future__ import annotations

import pytest

from dispatch.places import (
    Candidate, Landmark, RankingSettings, describe, lacking_words, name_keys, normalise, parse_query, rank, romanise,
    word_share,
)


def same(a: str, b: str) -> bool:
    return normalise(a) == normalise(b)


@pytest.mark.parametrize("typed, full", [
    ("รพ.ชลบุรี", "โรงพยาบาลชลบุรี"),
    ("โรงบาลชลบุรี", "โรงพยาบาลชลบุรี"),
    ("ร.ร.ชลราษฎรอำรุง", "โรงเรียนชลราษฎรอำรุง"),
    ("รร.ชลราษฎรอำรุง", "โรงเรียนชลราษฎรอำรุง"),
    ("ถ.สุขุมวิท", "ถนนสุขุมวิท"),
    ("ซ.วัดต้นสน 2", "ซอยวัดต้นสน 2"),
    ("สภ.บ้านบึง", "สถานีตำรวจภูธรบ้านบึง"),
    ("ต.บ้านสวน อ.เมือง จ.ชลบุรี", "ตำบลบ้านสวน อำเภอเมือง จังหวัดชลบุรี"),
])
def test_abbreviations_expand_to_the_full_words(typed, full):
    assert same(typed, full)


def test_thai_digits_are_ascii_digits():
    assert normalise("ซอยบางทราย ๑๓") == normalise("ซอยบางทราย 13")
    assert "13" in normalise("ซอย ๑๓")


@pytest.mark.parametrize("variant", ["ถนน สุขุม วิท", "ถนนสุขุมวิท", "ถนน-สุขุมวิท", " ถนน  สุขุมวิท ", "ถนนสุขุมวิท\u200b"])
def test_spaces_hyphens_and_invisible_characters_do_not_matter(variant):
    assert same(variant, "ถนนสุขุมวิท")


@pytest.mark.parametrize("misspelt, right", [
    ("ถนนศุขประยูร", "ถนนสุขประยูร"),  # ศ / ส
    ("วัดเนินสุทธาวาษ", "วัดเนินสุทธาวาส"),  # ษ / ส
    ("ซอยต้นจันทร์", "ซอยตนจันทร"),  # tone mark and ์ left out
    ("บ้านสวน", "บานสวน"),
    ("กรุงเทพฯ-ชลบุรี", "กรุงเทพ ชลบุรี"),  # ฯ left out
])
def test_common_misspellings_fold_together(misspelt, right):
    assert same(misspelt, right)


def test_vowel_signs_are_kept_they_tell_names_apart():
    assert not same("ถนนพระยาสัจจา", "ถนนพระยาสจจา")
    assert normalise("สมิติเวช") != normalise("สมตเวช")


@pytest.mark.parametrize("a, b", [
    ("Chonburi", "Chon Buri"), ("Sriracha", "Si Racha"), ("Sukhumvit", "Sukumvit"), ("Phatthaya", "Pattaya"),
])
def test_english_transliterations_fold_together(a, b):
    assert same(a, b)


@pytest.mark.parametrize("typed", ["ซอยบางทราย 13", "บางทราย ซ.13", "บางทราย ซอย 13", "ซ.บางทราย ๑๓", "ซอย บางทราย13"])
def test_soi_numbers_in_any_order_read_as_one_soi(typed):
    q = parse_query(typed)
    assert q.kind == "soi" and q.numbers == ("13",)
    assert q.key == name_keys("ซอยบางทราย 13", "road").key


def test_soi_sub_numbers_are_kept_whole():
    q = parse_query("บางทราย ซอย 48/1")
    assert q.numbers == ("48/1",) and q.junction is None
    assert q.key == name_keys("ซอยบางทราย 48/1", "road").key != name_keys("ซอยบางทราย 48", "road").key


def test_a_road_name_with_a_soi_after_it_is_a_soi_of_that_road():
    assert name_keys("ถนนเสม็ด-อ่างศิลา ซอย 8", "road").key == parse_query("ซ.เสม็ด-อ่างศิลา 8").key


@pytest.mark.parametrize("typed, a, b", [
    ("แยกพิพิธตัดวชิรปราการ", "พิพิธ", "วชิรปราการ"),
    ("สี่แยก ถ.พิพิธ ตัด ถ.วชิรปราการ", "ถนนพิพิธ", "ถนนวชิรปราการ"),
    ("Phiphit x Wachiraprakan", "Phiphit", "Wachiraprakan"),
    ("พิพิธ/วชิรปราการ", "พิพิธ", "วชิรปราการ"),
])
def test_junctions_split_into_their_two_roads(typed, a, b):
    q = parse_query(typed)
    assert q.kind == "junction"
    assert q.junction == (normalise(a), normalise(b))


def test_junction_without_a_separator_tries_every_split():
    q = parse_query("แยก พิพิธ วชิรปราการ")
    assert (normalise("พิพิธ"), normalise("วชิรปราการ")) in q.junction_splits


@pytest.mark.parametrize("word", ["หน้า", "ข้าง", "ตรงข้าม", "ใกล้"])
def test_relative_words_are_not_part_of_the_place(word):
    assert parse_query(f"{word}ศาลากลาง").key == parse_query("ศาลากลาง").key
    assert parse_query(f"{word} รพ.ชลบุรี").kind == "hospital"


def test_category_words_give_the_kind_and_leave_the_core():
    q = parse_query("รพ.สมิติเวชศรีราชา")
    assert q.kind == "hospital"
    assert q.core == name_keys("โรงพยาบาลสมิติเวช ศรีราชา", "hospital").core == normalise("สมิติเวช ศรีราชา")


def _candidate(place_id, lat, lon, similarity=0.9, kind="police", key="policebox", name="Police Box"):
    return Candidate(place_id=place_id, kind=kind, name=name, name_en=None, lat=lat, lon=lon,
                     source="osm_pois", in_road_graph=False, similarity=similarity, key=key)


def test_near_reorders_equal_matches():
    far, close = _candidate(1, 12.93, 100.88), _candidate(2, 13.36, 100.98)
    settings = RankingSettings()
    assert [c.place_id for c in rank(parse_query("police box"), [far, close], settings)] == [1, 2]
    ranked = rank(parse_query("police box"), [far, close], settings, near=(13.361, 100.984))
    assert [c.place_id for c in ranked] == [2, 1]
    assert ranked[0].distance_m < 1000 < ranked[1].distance_m


def test_a_missing_soi_number_costs_more_than_a_small_misspelling():
    q = parse_query("ซอยบางทราย 48/1")
    wrong_number = _candidate(1, 13.3, 100.9, similarity=0.9, kind="soi", key=name_keys("ซอยบางทราย 48", "road").key,
                              name="ซอยบางทราย 48")
    right = _candidate(2, 13.3, 100.9, similarity=0.8, kind="soi", key=name_keys("ซอยบางทราย 48/1", "road").key,
                       name="ซอยบางทราย 48/1")
    assert [c.place_id for c in rank(q, [wrong_number, right], RankingSettings())] == [2, 1]


def test_reverse_description_in_thai_and_english():
    temple = Landmark("วัดเนินสุทธาวาส", "Wat Noen Sutthawat", 13.3600, 100.9800, "temple", subdistrict="บ้านสวน")
    out = describe(13.3611, 100.9800, ("ถนนโปษยานนท์", "Phosayanon Road", 8.0), temple)
    assert out["description_th"] == "ถ.โปษยานนท์, 120 ม. ทิศเหนือของวัดเนินสุทธาวาส, ต.บ้านสวน"
    assert out["description_en"] == "Phosayanon Road, 120 m north of Wat Noen Sutthawat, บ้านสวน sub-district"
    assert out["landmark"]["distance_m"] == 122 and out["road"]["distance_m"] == 8


def test_ranking_settings_refuse_out_of_range_numbers():
    with pytest.raises(ValueError, match="near_scale_m"):
        RankingSettings(near_scale_m=0)
    with pytest.raises(ValueError, match="min_score"):
        RankingSettings(min_score=-1)


@pytest.mark.parametrize("thai, latin", [
    ("บางแสน", "Bang Saen"), ("หนองมน", "Nong Mon"), ("ชลบุรี", "Chonburi"), ("อ่างศิลา", "Ang Sila"),
    ("ศรีราชา", "Si Racha"), ("สุขุมวิท", "Sukhumvit"), ("บางละมุง", "Bang Lamung"), ("ตลาด", "talat"),
    ("แหลมฉบัง", "Laem Chabang"), ("พนัสนิคม", "Phanat Nikhom"), ("บ้านสวน", "Ban Suan"), ("เมือง", "Mueang"),
])
def test_thai_names_read_in_latin_letters_as_their_usual_spelling(thai, latin):
    assert romanise(normalise(thai)) == normalise(latin)


def test_romanise_leaves_latin_alone():
    assert romanise(normalise("Central Chonburi")) == ""


def test_one_name_mapped_twice_within_tens_of_metres_is_one_suggestion():
    q = parse_query("Police Box")
    here, beside, far = (_candidate(1, 13.3, 100.9), _candidate(2, 13.3003, 100.9),  # 33 m north
                         _candidate(3, 13.31, 100.9))  # 1.1 km
    assert [c.place_id for c in rank(q, [here, beside, far], RankingSettings())] == [1, 3]
    other = _candidate(4, 13.3003, 100.9, name="Police Box 2", key="policebox2")
    assert [c.place_id for c in rank(q, [here, other], RankingSettings())] == [1, 4]


def test_a_word_no_candidate_has_drops_them_all_and_one_others_have_costs_half_its_share():
    q = parse_query("Central Chonburi")
    hospital = _candidate(1, 13.35, 100.98, similarity=0.45, kind="hospital", key="conburihospital",
                          name="Chonburi Hospital")
    assert lacking_words(q, "conburihospital") == {0} and word_share(q, {0}) == pytest.approx(0.5)  # "central"
    assert rank(q, [hospital], RankingSettings()) == []
    mall = _candidate(2, 13.34, 100.97, similarity=0.45, kind="mall", key="centralplazaconburi", name="Central")
    ranked = rank(q, [hospital, mall], RankingSettings())
    assert [c.place_id for c in ranked] == [2, 1] and ranked[1].score == pytest.approx(0.45 * 0.75)
    assert lacking_words(parse_query("Chonburi"), "x") == frozenset()  # one word: the similarity says it all
    # an area named after ต./อ. says where, not what: not a word a place's name must have
    assert [w for w, _ in parse_query("ถ.สุขุมวิท ต.บางปลาสร้อย อ.เมืองชลบุรี").words] == [normalise("สุขุมวิท")]


def test_a_landmark_named_in_english_is_spaced_from_the_thai_words_around_it():
    """"…ทิศตะวันออกเฉียงใต้ของSamitivej Chonburi" ran the English name into the Thai (user walk)."""
    english = Landmark("Samitivej Chonburi", None, 13.3600, 100.9800, "hospital")
    thai = Landmark("วัดเนินสุทธาวาส", "Wat Noen Sutthawat", 13.3600, 100.9800, "temple")
    far = describe(13.3610, 100.9810, None, english)["description_th"]
    assert "ของ Samitivej Chonburi" in far
    assert describe(13.36001, 100.98001, None, english)["description_th"] == "ที่ Samitivej Chonburi"
    assert "ของวัดเนินสุทธาวาส" in describe(13.3610, 100.9810, None, thai)["description_th"]
