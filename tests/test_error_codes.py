"""Every error code the server can send (dispatch/error_codes.ErrorCode, the one registry) has a Thai and an English
label in web/js/labels.js, whose placeholders are the code's params (issue #17 item 6): a Thai console never falls
back to the server's English text for want of a label."""
import re
import string

from dispatch.error_codes import ErrorCode
from tests.conftest import REPO

LABELS = REPO / "web" / "js" / "labels.js"
TEXT = re.compile(r'\b(th|en):\s*"((?:[^"\\]|\\.)*)"')


def error_labels(source: str) -> dict[str, dict[str, str]]:
    """code → {language: text} for every `"error.<code>": {th: "...", en: "..."}` entry of a labels file."""
    found = {}
    for line in source.splitlines():
        match = re.match(r'\s*"error\.([a-z0-9_]+)":\s*\{(.*)$', line)
        if match:
            found[match.group(1)] = {lang: text for lang, text in TEXT.findall(match.group(2)) if text.strip()}
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def missing_labels(source: str) -> list[str]:
    """What the labels in `source` lack: each code without a Thai or English text, or with a placeholder that is
    not one of its params (or `message`, the server's English text)."""
    labels, problems = error_labels(source), []
    for code in ErrorCode:
        texts = labels.get(code.value, {})
        for lang in ("th", "en"):
            if lang not in texts:
                problems.append(f"error.{code.value}: no {lang} label")
            elif stray := placeholders(texts[lang]) - placeholders(code.english) - {"message"}:
                problems.append(f"error.{code.value} ({lang}): {sorted(stray)} are not its params")
    return problems


def test_every_error_code_has_a_thai_and_an_english_label():
    assert missing_labels(LABELS.read_text(encoding="utf-8")) == []


def test_a_code_whose_label_is_removed_is_named():
    source = LABELS.read_text(encoding="utf-8")
    without_thai = re.sub(r'("error\.unit_busy":\s*\{)th:\s*"[^"]*",\s*', r"\1", source)
    assert without_thai != source
    assert missing_labels(without_thai) == ["error.unit_busy: no th label"]
    without_entry = "\n".join(line for line in source.splitlines() if '"error.no_such_unit"' not in line)
    assert missing_labels(without_entry) == ["error.no_such_unit: no th label", "error.no_such_unit: no en label"]


def test_the_english_label_says_what_the_code_says():
    labels = error_labels(LABELS.read_text(encoding="utf-8"))
    for code in ErrorCode:
        assert placeholders(labels[code.value]["en"]) == placeholders(code.english), code
