"""The pages' code is native ES modules with explicit imports, markup is built only through the html`…` helper,
and nothing in a page needs 'unsafe-inline' (static checks over web/, no browser)."""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import REPO

WEB = REPO / "web"
PAGES = sorted(WEB.glob("*.html"))
MODULES = sorted((WEB / "js").rglob("*.js"))
TEMPLATING = WEB / "js" / "html.js"
VENDOR = "/static/leaflet/"  # Leaflet from the xstatic wheel: a classic script that defines the global L
MARKUP_SINKS = re.compile(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write")
IMPORT = re.compile(r"""^\s*(?:import|export)\s[^;]*?\bfrom\s+["']([^"']+)["']|^\s*import\s+["']([^"']+)["']""", re.M)


class _PageParts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts: list[dict] = []  # attributes of each <script>, plus its inline text
        self.stylesheets: list[str] = []
        self.inline: list[str] = []  # inline handlers, style attributes and <style> blocks
        self._in_script = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in attributes:
            if name.startswith("on") or name == "style":
                self.inline.append(f"<{tag} {name}=…>")
        if tag == "script":
            self._in_script = {**attributes, "text": ""}
            self.scripts.append(self._in_script)
        elif tag == "style":
            self.inline.append("<style>")
        elif tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(attributes["href"])

    def handle_data(self, data):
        if self._in_script is not None:
            self._in_script["text"] += data

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None


def _page(path: Path) -> _PageParts:
    parts = _PageParts()
    parts.feed(path.read_text(encoding="utf-8"))
    return parts


def _imports(module: Path) -> list[Path]:
    """The modules `module` imports (relative or absolute specifiers), as files under web/."""
    found = []
    for match in IMPORT.finditer(module.read_text(encoding="utf-8")):
        specifier = match.group(1) or match.group(2)
        target = WEB / specifier.lstrip("/") if specifier.startswith("/") else (module.parent / specifier)
        found.append(target.resolve())
    return found


def _module_closure(entries: list[Path]) -> set[Path]:
    seen: set[Path] = set()
    todo = list(entries)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(_imports(module))
    return seen


def test_the_pages_are_found():
    assert {p.name for p in PAGES} >= {"console.html", "tablet.html", "hospital.html", "report.html", "index.html",
                                       "share.html"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_a_page_loads_only_module_scripts_of_ours_and_nothing_inline(page):
    parts = _page(page)
    ours = [s for s in parts.scripts if not s.get("src", "").startswith(VENDOR)]
    assert ours, "a page has its code in a module"
    for script in ours:
        assert script.get("type") == "module" and script.get("src"), f"{page.name}: classic or inline script {script}"
        assert not script["text"].strip(), f"{page.name}: inline script text"
    assert parts.inline == [], f"{page.name}: inline handler or style (the CSP refuses them)"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_module_a_page_imports_exists(page):
    entries = [(WEB / s["src"].lstrip("/")).resolve() for s in _page(page).scripts if s.get("type") == "module"]
    for module in _module_closure(entries):
        assert module.is_file(), f"{page.name} imports {module}, which does not exist"


def test_markup_is_parsed_only_by_the_templating_helper():
    offenders = [f"{m.relative_to(WEB)}:{n}: {line.strip()}"
                 for m in MODULES if m != TEMPLATING
                 for n, line in enumerate(m.read_text(encoding="utf-8").splitlines(), 1) if MARKUP_SINKS.search(line)]
    assert offenders == []
    assert MARKUP_SINKS.search(TEMPLATING.read_text(encoding="utf-8"))  # the check looks for the right thing


def test_modules_share_nothing_through_globals():
    for module in MODULES:
        text = module.read_text(encoding="utf-8")
        assert "EMS." not in text, f"{module.name} uses the old EMS global"
        assert not re.search(r"""\bstyle=\\?["']""", text), f"{module.name} writes a style attribute (CSP)"
        if module.name != "leaflet.js":
            assert "globalThis.L" not in text and "window.L" not in text, f"{module.name}: import L from leaflet.js"


def test_the_service_worker_caches_everything_the_tablet_loads():
    """The tablet works without signal only if every file it loads is in the worker's list."""
    tablet = _page(WEB / "tablet.html")
    entries = [(WEB / s["src"].lstrip("/")).resolve() for s in tablet.scripts if s.get("type") == "module"]
    needed = {"/tablet.html", *tablet.stylesheets, *(s["src"] for s in tablet.scripts)}
    needed |= {"/" + m.relative_to(WEB).as_posix() for m in _module_closure(entries)}
    shell = re.search(r"const SHELL = \[(.*?)\];", (WEB / "sw.js").read_text(encoding="utf-8"), re.S).group(1)
    assert set(re.findall(r'"([^"]+)"', shell)) == needed
