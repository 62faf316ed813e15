"""Places (issue #16): Thai-aware normalisation of place names and queries, query parsing, ranking, and the
words of a reverse-geocoded description. Pure code: no database, no network; db/gazetteer.py stores and searches
what `name_keys` produces, and this module ranks what comes back.

How a name becomes searchable: `normalise` folds the variations a dispatcher's typing introduces (Thai digits,
abbreviations such as รพ./ร.ร./ถ./ซ., tone marks and ์, ษ/ศ/ส, spaces and hyphens, Latin transliterations such
as Sriracha/Si Racha or Sukhumvit/Sukumvit) into one canonical string, identically for stored names and for
queries, so the remaining difference is real misspelling, which trigram similarity absorbs. `core` is the same
string without the category word (โรงพยาบาล, ถนน, ซอย, hospital, road …), so "สมิติเวช ศรีราชา" finds
"โรงพยาบาลสมิติเวช ศรีราชา" as well as "รพ.สมิติเวชศรีราชา" does.

Across scripts: a place named only in Thai is also stored under `romanise` of its name (a rough RTGS reading:
บางแสน → "bangsaen"), so Latin typing finds it; a Thai query whose best Thai match is weak is also searched
romanised, so ตลาดหนองมน finds a market mapped only as "Nong Mong Market". Ranking (`rank`) then merges one place
mapped several times (an OSM POI, a fleet hospital, a fleet station: one folded name within tens of metres) and
holds a query of several words to all of them: a word no candidate has ("Central" of a mall the data lacks) means
the asked-for place is not there, and a place sharing only the town's name is not offered in its stead.
"""
from __future__ import annotations

import asyncio
import functools
import math
import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError, Invalid, NotFound
from dispatch.events import LocationConfirmed
from dispatch.intake import parse_location
from dispatch.model import LatLon
from dispatch.model import distance_m as _distance

# Stored keys depend on these rules: change this when they change, and every gazetteer is rebuilt (routing/places.py).
NORMALISATION_VERSION = 3  # 3: romanised keys of places named only in Thai (`romanise`)

# Kinds of place, with the category words that name them (after abbreviation expansion and folding, see below).
KIND_WORDS: dict[str, tuple[str, ...]] = {
    "hospital": ("โรงพยาบาล", "hospital"),
    "clinic": ("คลินิก", "clinic", "สถานีอนามัย", "โรงพยาบาลสงเสริมสุขภาพตำบล"),
    "school": ("โรงเรียน", "school", "วิทยาลัย", "college"),
    "temple": ("วัด", "wat", "temple"),
    "police": ("สถานีตำรวจภูธร", "สถานีตำรวจ", "ตำรวจ", "police station", "police"),
    "market": ("ตลาด", "market"),
    "fire": ("สถานีดับเพลิง", "fire station"),
    "road": ("ถนน", "road", "rd", "street", "highway", "ทางหลวง"),
    "soi": ("ซอย", "soi", "lane"),
}

# Abbreviations dispatchers type → the full word (matched at the start of a word, longest first).
ABBREVIATIONS: dict[str, str] = {
    "รพ.สต.": "โรงพยาบาลส่งเสริมสุขภาพตำบล", "รพสต": "โรงพยาบาลส่งเสริมสุขภาพตำบล",
    "รพ.": "โรงพยาบาล", "รพ": "โรงพยาบาล", "โรงบาล": "โรงพยาบาล", "โรง'บาล": "โรงพยาบาล",
    "ร.ร.": "โรงเรียน", "รร.": "โรงเรียน", "รร": "โรงเรียน",
    "สภ.": "สถานีตำรวจภูธร", "สน.": "สถานีตำรวจนครบาล",
    "ถ.": "ถนน", "ซ.": "ซอย", "ต.": "ตำบล", "อ.": "อำเภอ", "จ.": "จังหวัด",
    "hosp.": "hospital", "hosp": "hospital", "rd.": "road", "sch.": "school",
}
# Words that place the caller relative to the place; they say nothing about which place it is.
RELATIVE_WORDS = ("ตรงข้าม", "ใกล้ๆ", "ใกล้", "หน้า", "ข้างๆ", "ข้าง", "หลัง", "แถว", "ในซอย",
                  "opposite", "in front of", "near", "behind", "next to")
JUNCTION_WORDS = ("สี่แยก", "สามแยก", "ห้าแยก", "แยก", "junction", "intersection", "corner of", "corner")
JUNCTION_SEPARATORS = re.compile(  # "/" between digits is a soi number (48/1), not a separator
    r"\s*(?:ตัดกับ|ตัด|ตรงกับ|กับ|×|&|\+)\s*|\s*(?<!\d)/\s*|\s*/(?!\d)\s*|\s+(?:x|and|at)\s+", re.IGNORECASE)
ADMIN_WORDS = ("ตำบล", "อำเภอ", "จังหวัด")

THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
# ่ ้ ๊ ๋ ์ ็ ํ ๎, and ฯ ๆ (abbreviation and repetition signs, often left out)
TONE_MARKS = dict.fromkeys(map(ord, "\u0e48\u0e49\u0e4a\u0e4b\u0e4c\u0e47\u0e4d\u0e4e\u0e2f\u0e46"), None)
# Letters callers and OSM mappers confuse: each group folds to its commonest member.
THAI_LETTER_FOLD = str.maketrans({"ษ": "ส", "ศ": "ส", "ณ": "น", "ฬ": "ล", "ฑ": "ท", "ฒ": "ท", "ธ": "ท",
                                  "ภ": "พ", "ฆ": "ค", "ฌ": "ช", "ฎ": "ด", "ฏ": "ต", "ฐ": "ถ"})
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e"), None)
# Latin transliterations: spelling variants that sound alike fold to one spelling.
LATIN_FOLDS = ((re.compile(r"\bsri"), "si"), (re.compile(r"([bcdgkpt])h"), r"\1"), (re.compile(r"ee"), "i"),
               (re.compile(r"oo"), "u"), (re.compile(r"w"), "v"), (re.compile(r"([a-z])\1+"), r"\1"),
               (re.compile(r"y\b"), "i"))
SOI_NUMBER = re.compile(r"(\d+(?:/\d+)?)")
SPACES = re.compile(r"\s+")
SLASH_BETWEEN_DIGITS = re.compile(r"(?<=\d)/(?=\d)")
NOT_SEARCHABLE = re.compile(r"[^\w\x00\u0e01-\u0e2e\u0e30-\u0e45\u0e47-\u0e4e]|_")  # keeps Thai vowel signs
# Each abbreviation at a word start (after a space, a digit or the start), longest first, with its full word.
ABBREVIATION_PATTERNS = tuple(
    (re.compile(r"(^|[\s(\-,])" + re.escape(short) + (r"(?=\s|\d|$|[\u0e00-\u0e7f])" if short[-1] != "." else "")),
     f"\\g<1>{ABBREVIATIONS[short]} ")
    for short in sorted(ABBREVIATIONS, key=len, reverse=True))


def _expand_abbreviations(text: str) -> str:
    """Replace abbreviations at word starts (after a space, a digit or the start) by their full words."""
    for pattern, replacement in ABBREVIATION_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _latin_fold(text: str) -> str:
    for pattern, replacement in LATIN_FOLDS:
        text = pattern.sub(replacement, text)
    return text


def clean(text: str) -> str:
    """Unicode NFKC, lower case, Thai digits as ASCII, invisible characters removed, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(INVISIBLE).translate(THAI_DIGITS).lower()
    text = text.replace("\u0e4d\u0e32", "\u0e33")  # NFKC splits sara am (ำ) into nikhahit + aa: put it back
    return SPACES.sub(" ", text).strip()


def fold(text: str) -> str:
    """The canonical search string of already-expanded text: marks and confusable letters folded, spelling of
    transliterations folded, and every space, hyphen and punctuation mark removed ("13/1" keeps its slash)."""
    text = text.translate(TONE_MARKS).translate(THAI_LETTER_FOLD)
    text = _latin_fold(text)
    text = SLASH_BETWEEN_DIGITS.sub("\x00", text)
    text = NOT_SEARCHABLE.sub("", text)
    return text.replace("\x00", "/")


def normalise(text: str) -> str:
    """One string per way of writing a name: `clean`, abbreviations expanded, then `fold`."""
    return fold(_expand_abbreviations(clean(text)))


# ---- romanisation: a Thai name read in Latin letters, so "Bang Saen" finds บางแสน and ตลาดหนองมน "Nong Mong Market"
# A rough RTGS reading of folded Thai text (tone marks, ็ and ์ already gone), syllable by syllable: leading vowels,
# a silent ห before a sonorant, clusters with ร/ล, vowel marks, อ/ว/ย as vowels, the implicit o of a closed
# syllable and a of an open one, final consonants as RTGS pronounces them. It is not a dictionary: names are
# approximated, and trigram similarity absorbs the rest (matches through it count a little less, see `rank`).
_INITIAL = dict(zip("กขคฆงจฉชซฌญฎฏฐฑฒณดตถทธนบปผฝพฟภมยรลวศษสหฬอฮ",
                    ["k", "kh", "kh", "kh", "ng", "ch", "ch", "ch", "s", "ch", "y", "d", "t", "th", "th", "th", "n",
                     "d", "t", "th", "th", "th", "n", "b", "p", "ph", "f", "ph", "f", "ph", "m", "y", "r", "l", "w",
                     "s", "s", "s", "h", "l", "", "h"]), ฤ="rue", ฦ="lue")
_FINAL = {**dict.fromkeys("กขคฆ", "k"), **dict.fromkeys("จชซฌฎฏฐฑฒดตถทธศษส", "t"), "ง": "ng",
          **dict.fromkeys("ญณนรลฬ", "n"), **dict.fromkeys("บปพฟภ", "p"), "ม": "m", "ย": "i", "ว": "o"}
_LEADING = {"เ": "e", "แ": "ae", "โ": "o", "ใ": "ai", "ไ": "ai"}
_FOLLOWING = {"\u0e30": "a", "\u0e31": "a", "\u0e32": "a", "\u0e33": "am", "\u0e34": "i", "\u0e35": "i",
              "\u0e36": "ue", "\u0e37": "ue", "\u0e38": "u", "\u0e39": "u"}
_SONORANTS = "งญนมยรลว"
_CLUSTERS = {"กร", "กล", "ขร", "ขล", "คร", "คล", "ปร", "ปล", "พร", "พล", "ผล", "ตร", "สร"}


def _is_consonant(ch: str) -> bool:
    return "\u0e01" <= ch <= "\u0e2e"


def _starts_syllable(s: str, i: int) -> bool:
    """Whether the consonant before `i` must begin a syllable, as the text from `i` cannot stand alone: อ read as
    a vowel (ลอ), or a single consonant before the end (นิคม: ค begins คม)."""
    if s[i] == "อ" and (i + 1 >= len(s) or s[i + 1] not in _FOLLOWING):
        return True
    return _is_consonant(s[i]) and (i + 1 >= len(s) or not "\u0e01" <= s[i + 1] <= "\u0e5b")


@functools.lru_cache(maxsize=65536)  # the gazetteer's names recur from query to query (about 0.1 ms each)
def romanise(folded: str) -> str:
    """A Latin reading of the Thai letters of a folded string (other characters kept), folded as Latin names are;
    '' when it has no Thai letters."""
    if not any("\u0e01" <= ch <= "\u0e5b" for ch in folded):
        return ""
    s, n, i, out = folded, len(folded), 0, []
    while i < n:
        ch = s[i]
        lead = _LEADING.get(ch)
        if lead is not None:
            i += 1
        if i >= n or not _is_consonant(s[i]):
            if lead is not None:
                out.append(lead)
            elif ch in _FOLLOWING:
                out.append(_FOLLOWING[ch])
                i += 1
            else:
                out.append(ch if ch.isascii() else "")
                i += 1
            continue
        onset = s[i]
        i += 1
        if (i + 1 < n and (onset == "ห" and s[i] in _SONORANTS or onset == "อ" and s[i] == "ย")
                and (s[i] != "ว" or s[i + 1] in _FOLLOWING)):
            onset = s[i]  # ห (อ) leading a sonorant is silent: หนอง, หวาน, อยู่ (but ห้วย)
            i += 1
        initial = _INITIAL.get(onset, "")
        if i + 1 < n and (onset + s[i] in _CLUSTERS) and (s[i + 1] in _FOLLOWING or lead is not None):
            # a cluster: กรุง, เปลี่ยน; ร after ส is silent: ศรี
            initial += _INITIAL.get(s[i], "") if onset != "ส" else ""
            i += 1
        short_a = i < n and s[i] == "\u0e30" or i + 1 < n and s[i + 1] == "\u0e30"
        start = i
        while i < n and s[i] in _FOLLOWING:
            i += 1
        vowel = "".join(_FOLLOWING[c] for c in s[start:i])
        vowel = {"aa": "a", "ia": "ia", "ua": "ua"}.get(vowel, vowel[:3])
        nxt = s[i] if i < n else ""
        if lead == "e" and not vowel and nxt == "อ":
            vowel, i = "oe", i + 1
        elif lead == "e" and vowel == "i" and nxt == "ย":
            vowel, i = "ia", i + 1
        elif lead == "e" and vowel == "ue" and nxt == "อ":
            vowel, i = "uea", i + 1
        elif lead == "e" and vowel.startswith("a"):
            vowel = "ao" if vowel == "a" else "o"
        elif lead is not None:
            vowel = lead + vowel if vowel not in ("a",) else lead
        elif vowel == "ue" and nxt == "อ":
            i += 1
        elif vowel == "a" and nxt == "ว" and s[i - 1] == "\u0e31":
            vowel, i = "ua", i + 1
        elif not vowel and nxt == "อ" and (i + 1 >= n or not i + 1 < n or s[i + 1] not in _FOLLOWING):
            vowel, i = "o", i + 1  # นอง, หล่อ
        elif not vowel and nxt == "ว" and i + 1 < n and _is_consonant(s[i + 1]):
            vowel, i = "ua", i + 1  # สวน
        elif not vowel:
            closed = (_is_consonant(nxt) and (i + 1 >= n or s[i + 1] not in _FOLLOWING)
                      and (i + 1 >= n or _is_consonant(s[i + 1]) or not "\u0e01" <= s[i + 1] <= "\u0e5b"))
            vowel = "o" if closed else "a"
        final = ""
        if (i < n and _is_consonant(s[i]) and s[i] != "อ" and vowel not in ("am", "ai", "ao") and not short_a
                and (i + 1 >= n or (s[i + 1] not in _FOLLOWING and not _starts_syllable(s, i + 1)))):
            final = _FINAL.get(s[i], "")
            i += 1
        out.append(initial + vowel + final)
    return fold("".join(out))


def _folded_longest_first(words: Iterable[str]) -> tuple[str, ...]:
    return tuple(fold(w) for w in sorted(words, key=len, reverse=True))


# The fixed words, folded once here rather than on every query.
SOI, ROAD = fold("ซอย"), fold("ถนน")
ROAD_WORDS = _folded_longest_first(("ซอย", "ถนน"))
ADMIN_FOLDED = tuple(fold(w) for w in ADMIN_WORDS)
THAI_KIND_WORDS = {kind: _folded_longest_first(w for w in words if not w.isascii())
                   for kind, words in KIND_WORDS.items()}
LATIN_KIND_WORDS = {kind: tuple(w for w in _folded_longest_first(words) if w.isascii())
                    for kind, words in KIND_WORDS.items()}
RELATIVE_LONGEST_FIRST = tuple(sorted(RELATIVE_WORDS, key=len, reverse=True))
JUNCTION_LONGEST_FIRST = tuple(sorted(JUNCTION_WORDS, key=len, reverse=True))
SOI_NAME = re.compile(r"(?:" + SOI + r")?(.+?)(?:" + SOI + r")?(\d+(?:/\d+)?)")


def _strip_words(text: str, folded_words: Iterable[str]) -> tuple[str, bool]:
    """Remove the first of `folded_words` found at the start of `text`; (rest, whether one was found)."""
    for w in folded_words:
        if text.startswith(w):
            return text[len(w):], True
    return text, False


def kind_of(folded: str) -> tuple[str | None, str]:
    """(kind named by a leading category word, the rest) of a folded string; (None, text) when none."""
    for kind, words in THAI_KIND_WORDS.items():
        rest, found = _strip_words(folded, words)
        if found and rest:
            return kind, rest
    # English names put the category last: "aikchol hospital", "sukhumvit road".
    for kind, words in LATIN_KIND_WORDS.items():
        for w in words:
            if folded.endswith(w) and len(folded) > len(w):
                return kind, folded[: -len(w)]
    return None, folded


@dataclass
class PlaceRecord:
    """One gazetteer entry before it is stored: a road (all its names), a landmark, a fleet site or a junction.

    `names` are every name the place goes by (name, name:th, name:en, alt_name, and a road's route number as
    "ทางหลวง 3"/"route 3"); `roads` are the two road names a junction joins (None for other places).
    """

    kind: str
    name: str
    name_en: str | None
    lat: float
    lon: float
    source: str
    names: list[str] = field(default_factory=list)
    in_road_graph: bool = False
    subdistrict: str | None = None
    roads: tuple[str, str] | None = None


@dataclass(frozen=True)
class NameKeys:
    """What the gazetteer stores per name: the folded full name, and the folded name without category word."""

    key: str
    core: str


def soi_form(folded: str) -> str | None:
    """A soi name as "ซอย<base><number>" whichever way it was written ("ซอยX13", "Xซอย13", "X13"), else None."""
    text = folded.removeprefix(ROAD)
    m = SOI_NAME.fullmatch(text)
    if m and m.group(1) and not m.group(1).isdigit():
        return f"{SOI}{m.group(1).removeprefix(SOI)}{m.group(2)}"
    return None


def name_keys(name: str, kind: str) -> NameKeys:
    """Stored keys of one name (a road's, a landmark's, an alias) of a place of `kind`."""
    key = normalise(name)
    if kind in ("road", "soi"):
        soi = soi_form(key)
        if soi is not None:
            key = soi
    _, core = kind_of(key)
    if kind in ("road", "soi"):
        core, _ = _strip_words(core, ROAD_WORDS)
    return NameKeys(key, core or key)


def romanised_keys(keys: NameKeys) -> NameKeys | None:
    """The romanised keys of a Thai name's keys (stored for places named only in Thai), None when not Thai."""
    key = romanise(keys.key)
    return NameKeys(key, romanise(keys.core) or key) if key else None


@dataclass(frozen=True)
class Query:
    """A parsed search: the folded keys, the kind the words ask for, the numbers that must match, and the two
    road names of a junction query (None when it is not one)."""

    text: str
    key: str
    core: str
    kind: str | None
    numbers: tuple[str, ...]
    junction: tuple[str, str] | None = None
    junction_splits: tuple[tuple[str, str], ...] = ()
    words: tuple[tuple[str, str], ...] = ()  # the distinctive words of a query of several: (folded, romanised)


def parse_query(text: str) -> Query:
    """Read what a dispatcher typed: relative words dropped (หน้า, ใกล้ …), junctions split into their two roads
    (`A ตัด B`, `แยก A B`, `A x B`), soi numbers recognised (`ซอย X 13`, `X ซ.13`, `X ซอย 13/1`)."""
    cleaned = clean(text)
    for word in RELATIVE_LONGEST_FIRST:
        if cleaned.startswith(word):
            cleaned = cleaned[len(word):].strip()
            break
    is_junction = False
    for word in JUNCTION_LONGEST_FIRST:
        if cleaned.startswith(word):
            cleaned, is_junction = cleaned[len(word):].strip(), True
            break
    cleaned = _expand_abbreviations(cleaned)
    junction = None
    parts = [p for p in JUNCTION_SEPARATORS.split(cleaned) if p and p.strip()]
    if len(parts) == 2 and all(fold(p) for p in parts):
        junction = (fold(parts[0]), fold(parts[1]))
    splits: tuple[tuple[str, str], ...] = ()
    if is_junction and junction is None:  # "แยก A B": every split at a space is a candidate pair
        words = cleaned.split()
        splits = tuple((fold(" ".join(words[:i])), fold(" ".join(words[i:]))) for i in range(1, len(words)))
    key = fold(cleaned)
    kind, core = kind_of(key)
    soi = soi_form(key) if (SOI in key or kind in ("road", "soi")) else None
    if soi is not None:
        key, kind = soi, "soi"
        core = soi.removeprefix(SOI)
    elif kind == "road":
        core = _strip_words(core, ROAD_WORDS)[0]
    for word in ADMIN_FOLDED:  # "ต.บ้านสวน" etc. name an area, not a place: keep it out of the core
        core = core.replace(word, "")
    numbers = tuple(SOI_NUMBER.findall(key))
    if is_junction or junction is not None:
        kind = "junction"
    return Query(text=text, key=key, core=core or key, kind=kind, numbers=numbers, junction=junction,
                 junction_splits=splits, words=() if kind == "junction" else _distinctive_words(cleaned))


# Words of a kind phrase ("police station", "โรงพยาบาล") and area words say which sort of place, not which one.
GENERIC_WORDS = frozenset(fold(part) for words in KIND_WORDS.values() for w in words for part in w.split()) | {
    fold("station"), *ADMIN_FOLDED}
MIN_WORD_LETTERS = 3


_GENERIC_LONGEST_FIRST = tuple(sorted(GENERIC_WORDS, key=len, reverse=True))


def _distinctive_words(expanded: str) -> tuple[tuple[str, str], ...]:
    """The folded words of a query of two or more (space-separated), without category words, area names (after
    ตำบล, อำเภอ, จังหวัด), words with
    digits (a soi number has its own penalty) and words under 3 letters, each with its romanisation ('' for Latin
    words); () for a one-word query."""
    words = [fold(w) for w in expanded.split() if fold(w)]
    kept = []
    after_area_word = False
    for w in words:
        if after_area_word or any(w.startswith(a) for a in ADMIN_FOLDED):  # ต.บางปลาสร้อย: where, not what
            after_area_word = w in ADMIN_FOLDED  # "ต." was expanded to "ตำบล ": its name is the next word
            continue
        for generic in _GENERIC_LONGEST_FIRST:  # "รพ.ชลบุรี" → "ชลบุรี"
            if w.startswith(generic) and len(w) > len(generic) and not w.isascii():
                w = w[len(generic):]
                break
        if len(w) >= MIN_WORD_LETTERS and w not in GENERIC_WORDS and not any(ch.isdigit() for ch in w):
            kept.append((w, romanise(w)))
    return tuple(kept) if len(words) > 1 else ()  # (one word may still be two names run together: Thai)


def _trigrams(text: str) -> set[str]:
    return {text[i:i + 3] for i in range(len(text) - 2)}


def _has_word(word: str, key: str) -> bool:
    """The folded word appears in the folded key, or at least half its trigrams do (a misspelt word)."""
    if word in key:
        return True
    grams = _trigrams(word)
    return bool(grams) and len(grams & _trigrams(key)) * 2 >= len(grams)


def lacking_words(query: Query, key: str) -> frozenset[int]:
    """Which of the query's distinctive words (indexes) the matched name `key` lacks, in its own script or
    romanised; none when the query has fewer than two (the similarity itself says how much of one word matched)."""
    if len(query.words) < 2 or not key:
        return frozenset()
    roman_key = None  # romanised only when a Latin word is looked for in a Thai name (about 0.1 ms a name)
    lacking = set()
    for i, (word, roman) in enumerate(query.words):
        if _has_word(word, key) or roman and _has_word(roman, key):
            continue
        if word.isascii() and not key.isascii():
            roman_key = romanise(key) if roman_key is None else roman_key
            if _has_word(word, roman_key):
                continue
        lacking.add(i)
    return frozenset(lacking)


def word_share(query: Query, indexes: Iterable[int]) -> float:
    """The share (by letters) of the query's distinctive words that `indexes` are."""
    total = sum(len(w) for w, _ in query.words)
    return sum(len(query.words[i][0]) for i in set(indexes)) / total if total else 0.0


# ---- ranking ----------------------------------------------------------------------------------------------------
@dataclass
class Candidate:
    """A place the store found for a query, with the text similarity the store measured (0..1)."""

    place_id: int
    kind: str
    name: str
    name_en: str | None
    lat: float
    lon: float
    source: str
    in_road_graph: bool
    similarity: float
    key: str = ""
    distance_m: float | None = None
    score: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The API's result shape for this candidate."""
        out = {"name": self.name, "name_en": self.name_en, "kind": self.kind, "lat": round(self.lat, 6),
               "lon": round(self.lon, 6), "score": round(self.score, 3), "source": self.source,
               "in_road_graph": self.in_road_graph}
        if self.distance_m is not None:
            out["distance_m"] = round(self.distance_m)
        return out


@dataclass(frozen=True)
class RankingSettings:
    """How match quality and nearness combine (from config.py: geocode_*)."""

    near_weight: float = 0.15  # the most nearness can add to a score (a perfect text match is 1.0)
    near_scale_m: float = 5000.0  # nearness bonus halves about every 0.7 × this distance
    kind_bonus: float = 0.1  # the query's category word (รพ., ถ., วัด …) agrees with the place's kind
    number_penalty: float = 0.35  # the query names a number (soi 13) the place's name lacks
    min_score: float = 0.3  # weaker candidates are not shown
    romanised_weight: float = 0.8  # a match through a romanised name (`romanise`) counts this much of a direct one
    merge_within_m: float = 75.0  # places of one folded name this close are one suggestion (an OSM POI, a fleet site)

    def __post_init__(self) -> None:
        """ValueError naming the setting when a number is out of its sensible range."""
        for name, low, high in (("near_weight", 0.0, 1.0), ("near_scale_m", 1.0, 1e6), ("kind_bonus", 0.0, 1.0),
                                ("number_penalty", 0.0, 2.0), ("min_score", 0.0, 1.5),
                                ("romanised_weight", 0.0, 1.0), ("merge_within_m", 0.0, 10_000.0)):
            if not low <= getattr(self, name) <= high:
                raise ValueError(f"{name} must be from {low:g} to {high:g}")


KIND_FAMILIES = {"soi": {"soi", "road"}, "road": {"road", "soi"}, "hospital": {"hospital", "clinic"},
                 "clinic": {"clinic", "hospital"}}


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (m) between two points given as numbers."""
    return _distance(LatLon(lat1, lon1), LatLon(lat2, lon2))


def rank(query: Query, candidates: Sequence[Candidate], settings: RankingSettings,
         near: tuple[float, float] | None = None, limit: int = 5) -> list[Candidate]:
    """Order candidates by match quality (+ the kind bonus, − a missing number), plus nearness to `near`.

    Several aliases of one place may come back; each place appears once, with its best score, and places of one
    folded name within `merge_within_m` of each other (one hospital as an OSM POI, a fleet hospital and a fleet
    station) are one suggestion, the best scored. A match through a romanised name (the key is Latin, the place is
    named only in Thai, or the query was Thai) counts `romanised_weight` of its similarity. A query of several
    distinctive words (`lacking_words`): a word no candidate has scales every score by the square of the share
    of the rest, so a place sharing only "Chonburi" with "Central Chonburi" is not offered as if it were that
    place; a word some other candidate has costs a candidate lacking it half that word's share.
    """
    best: dict[int, Candidate] = {}
    query_thai = not query.key.isascii()
    for c in candidates:
        score = c.similarity
        if c.key.isascii() and (query_thai or (c.kind != "junction" and c.name_en is None and not c.name.isascii())):
            score *= settings.romanised_weight
        if query.kind and c.kind in KIND_FAMILIES.get(query.kind, {query.kind}):
            score += settings.kind_bonus
        if query.numbers and c.kind != "junction":
            have = set(SOI_NUMBER.findall(c.key))
            if not set(query.numbers) <= have:
                score -= settings.number_penalty
        if near is not None:
            c.distance_m = distance_m(near[0], near[1], c.lat, c.lon)
            score += settings.near_weight * math.exp(-c.distance_m / settings.near_scale_m)
        c.score = score
    # A word of the query no candidate has (the mall's "Central") says that what was asked for is not in the data:
    # every candidate counts the square of the rest. A word only this candidate lacks (the "Saen" of Bang Pakong)
    # costs it half its share.
    lacking = {id(c): lacking_words(query, c.key) for c in candidates if c.kind != "junction"}
    unknown = frozenset.intersection(*lacking.values()) if lacking else frozenset()
    for c in candidates:
        if id(c) in lacking:
            lacks_alone = word_share(query, lacking[id(c)] - unknown)
            c.score *= (1.0 - word_share(query, unknown)) ** 2 * (1.0 - 0.5 * lacks_alone)
        if c.score >= settings.min_score and (c.place_id not in best or best[c.place_id].score < c.score):
            best[c.place_id] = c
    shown: list[Candidate] = []
    names: dict[int, str] = {}  # folded names, only of places close to another (normalise is about 0.1 ms)

    def folded(c: Candidate) -> str:
        return names.setdefault(c.place_id, normalise(c.name))

    for c in sorted(best.values(), key=lambda c: (-c.score, c.place_id)):
        if not any(distance_m(s.lat, s.lon, c.lat, c.lon) <= settings.merge_within_m and folded(s) == folded(c)
                   for s in shown):
            shown.append(c)
            if len(shown) >= limit:
                break
    return shown


# ---- reverse geocoding: the words ------------------------------------------------------------------------------
DIRECTIONS = (("north", "ทิศเหนือ"), ("north-east", "ทิศตะวันออกเฉียงเหนือ"), ("east", "ทิศตะวันออก"),
              ("south-east", "ทิศตะวันออกเฉียงใต้"), ("south", "ทิศใต้"), ("south-west", "ทิศตะวันตกเฉียงใต้"),
              ("west", "ทิศตะวันตก"), ("north-west", "ทิศตะวันตกเฉียงเหนือ"))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing (degrees clockwise from north) from point 1 to point 2."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(x, y)) + 360) % 360


def direction(bearing: float) -> tuple[str, str]:
    """(English, Thai) compass point of a bearing, eight sectors."""
    return DIRECTIONS[int(((bearing % 360) + 22.5) // 45) % 8]


def short_road_th(name: str) -> str:
    """"ถนนโปษยานนท์" → "ถ.โปษยานนท์", "ซอยวัดต้นสน 2" → "ซ.วัดต้นสน 2" (how dispatchers write them)."""
    for full, short in (("ถนน", "ถ."), ("ซอย", "ซ.")):
        if name.startswith(full):
            return short + name[len(full):].lstrip()
    return name


@dataclass(frozen=True)
class Landmark:
    name: str
    name_en: str | None
    lat: float
    lon: float
    kind: str
    subdistrict: str | None = None


def _starts_thai(text: str) -> bool:
    return bool(text) and "\u0e00" <= text[0] <= "\u0e7f"


def describe(lat: float, lon: float, road: tuple[str | None, str | None, float] | None,
             landmark: Landmark | None) -> dict[str, Any]:
    """Thai and English one-line descriptions of a point from its nearest named road (Thai name, English name,
    distance m) and nearest landmark, e.g. "ถ.โปษยานนท์, 120 ม. ทิศเหนือของวัดเนินสุทธาวาส"."""
    th, en = [], []
    out: dict[str, Any] = {"lat": lat, "lon": lon, "road": None, "landmark": None, "subdistrict": None}
    if road is not None:
        road_th, road_en, road_m = road
        out["road"] = {"name": road_th, "name_en": road_en, "distance_m": round(road_m)}
        th.append(short_road_th(road_th or road_en or ""))
        en.append(road_en or road_th or "")
    if landmark is not None:
        d = distance_m(landmark.lat, landmark.lon, lat, lon)
        d_en, d_th = direction(bearing_deg(landmark.lat, landmark.lon, lat, lon))
        rounded = int(round(d / 10.0) * 10)
        out["landmark"] = {"name": landmark.name, "name_en": landmark.name_en, "kind": landmark.kind,
                           "distance_m": round(d), "direction": d_en, "direction_th": d_th}
        joined = landmark.name if _starts_thai(landmark.name) else f" {landmark.name}"  # "ของ Samitivej", not "ของSamitivej"
        if rounded < 20:
            th.append(f"ที่{joined}")
            en.append(f"at {landmark.name_en or landmark.name}")
        else:
            th.append(f"{rounded} ม. {d_th}ของ{joined}")
            en.append(f"{rounded} m {d_en} of {landmark.name_en or landmark.name}")
        if landmark.subdistrict:
            out["subdistrict"] = landmark.subdistrict
            th.append(f"ต.{landmark.subdistrict}")
            en.append(f"{landmark.subdistrict} sub-district")
    out["description_th"] = ", ".join(t for t in th if t) or f"{lat:.5f}, {lon:.5f}"
    out["description_en"] = ", ".join(t for t in en if t) or f"{lat:.5f}, {lon:.5f}"
    return out


# ---- automatic location of address-only reports ----------------------------------------------------------------
class GazetteerPort(Protocol):
    async def search(self, key: str, core: str, *, sides: Sequence[tuple[str, str]] = (),
                     pairs: Sequence[tuple[int, int]] = (), limit: int = 40) -> list[Candidate]:
        """Places whose folded names are similar to `key`/`core` (at most `limit` names), and the junctions of
        each reading (i, j) in `pairs` joining a road named like `sides[i]` with one named like `sides[j]`."""
        ...

    async def nearest_landmark(self, lat: float, lon: float, max_m: float) -> Landmark | None:
        """The landmark nearest to the point within `max_m` metres, or None."""
        ...


MAX_QUERY_CHARS = 200
ROMANISED_SEARCH_BELOW = 0.8  # a Thai query's best Thai match under this similarity: search it romanised too


def junction_sides(query: Query) -> tuple[list[tuple[str, str]], list[tuple[int, int]]]:
    """The distinct road names (stored keys (key, core) each) a junction query may join, and its readings as
    pairs of indexes into them: "A ตัด B" is one reading, "แยก A B C" one per split."""
    sides: dict[tuple[str, str], int] = {}
    pairs = []
    for a, b in ([query.junction] if query.junction else []) + list(query.junction_splits):
        ends = []
        for road in (a, b):
            keys = name_keys(road, "road")
            ends.append(sides.setdefault((keys.key, keys.core), len(sides)))
        pairs.append((ends[0], ends[1]))
    return list(sides), pairs


class PlaceService:
    """Find the caller: forward geocoding (text → ranked places) over the gazetteer, and reverse geocoding (point →
    nearest named road and landmark, described in Thai and English)."""

    def __init__(self, gazetteer: GazetteerPort, settings: RankingSettings, *, candidates: int = 40,
                 nearest_road: Callable[[float, float], tuple[str | None, str | None, float] | None] | None = None,
                 landmark_max_m: float = 2000.0):
        self.gazetteer = gazetteer
        self.settings = settings
        self.candidate_count = candidates
        self.nearest_road = nearest_road
        self.landmark_max_m = landmark_max_m

    async def geocode(self, text: str, *, near: tuple[float, float] | None = None, limit: int = 5) -> list[Candidate]:
        """Up to `limit` places best matching `text`, best first; [] when nothing is close enough."""
        if not isinstance(text, str) or not text.strip():
            raise Invalid(FieldError("q", ErrorCode.REQUIRED))
        if len(text) > MAX_QUERY_CHARS:
            raise Invalid(FieldError("q", ErrorCode.TEXT_TOO_LONG, max=MAX_QUERY_CHARS))
        query = parse_query(text)
        if not query.key:
            raise Invalid(FieldError("q", ErrorCode.NO_LETTERS_OR_DIGITS))
        sides, pairs = junction_sides(query)
        found = await self.gazetteer.search(query.key, query.core, sides=sides, pairs=pairs,
                                            limit=self.candidate_count)
        roman_key, roman_core = romanise(query.key), romanise(query.core)
        # A Thai query without a close match in Thai also looks for places named only in Latin letters (ตลาดหนองมน:
        # "Nong Mong Market"); a second round trip, so only then.
        if (roman_key and query.kind != "junction"
                and max((c.similarity for c in found), default=0.0) < ROMANISED_SEARCH_BELOW):
            found = [*found, *await self.gazetteer.search(roman_key, roman_core or roman_key,
                                                          limit=self.candidate_count)]
        return rank(query, found, self.settings, near, limit)

    async def reverse(self, lat: float, lon: float) -> dict[str, Any]:
        """The point described by its nearest named road and landmark (Thai and English)."""
        road = self.nearest_road(lat, lon) if self.nearest_road is not None else None
        landmark = await self.gazetteer.nearest_landmark(lat, lon, self.landmark_max_m)
        return describe(lat, lon, road, landmark)


class Geocoder(Protocol):
    async def geocode(self, text: str, *, near: tuple[float, float] | None = None,
                      limit: int = 5) -> list[Candidate]:
        """Up to `limit` places best matching `text`, best first."""
        ...


MAX_PHRASES = 6


def address_phrases(text: str) -> list[str]:
    """The whole text, then (when it has several) its space-separated phrases of at least 3 letters, tried when
    the whole does not match: a text message often says what happened and where in one line ("หมดสติ
    หน้าโรงพยาบาลชลบุรี"), and only the where matches."""
    text = text.strip()[:MAX_QUERY_CHARS]
    phrases = [p for p in text.split() if len(p) >= 3]
    return [text, *phrases[:MAX_PHRASES]] if len(phrases) > 1 else [text]


LOCATION_SOURCES = ("typed_address", "map_pin", "sms_link", "line", "device", "geocoder")


@dataclass
class AutoLocator:
    """Geocodes the address of an incident reported without coordinates and records the best candidate as a
    `LocationConfirmed` (source "geocoder", with its confidence), unless the incident has a location by then.

    Runs after intake has committed, so a slow or failed search never delays or drops a call.
    """

    store: Any  # dispatch.ports.EventStore
    clock: Any  # dispatch.ports.Clock
    geocoder: Geocoder
    min_confidence: float = 0.5
    area: Any = None  # dispatch.intake.ServiceArea: a candidate outside it is flagged like any other location
    actor: str = "system:geocoder"

    async def locate(self, incident_id: int, address: str) -> bool:
        """True when a location was recorded; False when nothing matched well enough or one was already set."""
        phrases = address_phrases(address)
        found = await self._best(phrases[0])
        if len(phrases) > 1 and (not found or found[0].score < self.min_confidence):  # the whole text first
            found = [c for batch in await asyncio.gather(*(self._best(p) for p in phrases[1:])) for c in batch]
            found.sort(key=lambda c: -c.score)
        if not found or found[0].score < self.min_confidence:
            return False
        best = found[0]
        label = best.name

        async def record(uow) -> bool:
            incident = await uow.get("incidents", incident_id)
            if incident is None or incident.location is not None:
                return False
            await uow.append(LocationConfirmed(
                at=self.clock.now(), incident_id=incident_id, location=LatLon(best.lat, best.lon),
                source="geocoder", label=label, confidence=round(min(best.score, 1.0), 3), confirmed_by=None,
                outside_service_area=self.area is not None and not self.area.contains(best.lat, best.lon)))
            return True

        return await self.store.run(self.actor, record)

    async def _best(self, text: str) -> list[Candidate]:
        try:
            return await self.geocoder.geocode(text, limit=1)
        except Invalid:  # nothing searchable in this phrase (only punctuation, too long …)
            return []


class LocationService:
    """A dispatcher sets or changes an incident's location (map pin, a geocoder candidate, a caller's link …):
    one `LocationConfirmed` per change, with its source and who chose it."""

    MAX_LABEL = 300

    def __init__(self, store: Any, clock: Any, area: Any,
                 describe_point: Callable[[float, float], Awaitable[dict | None]] | None = None):
        self.store, self.clock, self.area = store, clock, area
        self.describe_point = describe_point

    async def confirm(self, incident_id: int, body: Any, *, actor: str, user_id: str) -> Any:
        """Validate {lat, lon, source, label?} (`Invalid` naming each bad field), record the change, return the
        incident. Without a label, the point's reverse-geocoded description (Thai) becomes the label."""
        errors: list[FieldError] = []
        if not isinstance(body, dict):
            raise Invalid(FieldError("body", ErrorCode.MUST_BE_OBJECT))
        location, flags = parse_location({k: body[k] for k in ("lat", "lon") if k in body}, self.area, errors)
        errors = [e.at(e.field.removeprefix("location.")) for e in errors]
        source = body.get("source")
        if source not in LOCATION_SOURCES:
            errors.append(FieldError("source", ErrorCode.MUST_BE_ONE_OF, allowed=", ".join(LOCATION_SOURCES)))
        label = body.get("label")
        if label is not None and (not isinstance(label, str) or not 0 < len(label) <= self.MAX_LABEL):
            errors.append(FieldError("label", ErrorCode.TEXT_LENGTH, min=1, max=self.MAX_LABEL))
        if errors or location is None:
            raise Invalid(errors or [FieldError("lat", ErrorCode.REQUIRED)])
        if label is None and self.describe_point is not None:
            described = await self.describe_point(location.lat, location.lon)
            label = described.get("description_th") if described else None

        async def record(uow) -> Any:
            incident = await uow.get("incidents", incident_id)
            if incident is None:
                raise NotFound(ErrorCode.NO_SUCH_INCIDENT)
            await uow.append(LocationConfirmed(
                at=self.clock.now(), incident_id=incident_id, location=location, source=source, label=label,
                confirmed_by=user_id, outside_service_area=bool(flags)))
            return await uow.get("incidents", incident_id)

        return await self.store.run(actor, record)
