"""The pages' code is native ES modules with explicit imports, markup is built only through the html`…` helper,
and nothing in a page needs 'unsafe-inline' (static checks over web/); the helper escapes what it should (in
the browser)."""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.web.conftest import open_page

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


HTML_CASES = """import('/js/html.js').then(({html, render, element}) => {
  const hostile = `<img src=x onerror="window.pwned=1"> ' \\u0060 &amp;`;
  const nested = html`<b title="${hostile}">${hostile}</b>`;
  const results = {
    escaped: nested.toString(),
    kept: html`<p>${nested}</p>`.toString(),
    list: html`<ul>${["a<", html`<li>b</li>`, null, undefined, false, 0]}</ul>`.toString(),
  };
  try { render(document.createElement("div"), "<b>a string</b>"); results.string = "rendered"; }
  catch (e) { results.string = e.constructor.name; }
  results.element = element(html`<span class="x">${hostile}</span>`).outerHTML;
  return results;
})"""


async def test_the_templating_helper_escapes_every_value_unless_it_is_a_template(browser, server):
    context, page = await open_page(browser, f"http://127.0.0.1:{server.config.port}/index.html")
    results = await page.evaluate(HTML_CASES)
    escaped = "&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt; &#39; &#96; &amp;amp;"
    assert results["escaped"] == f'<b title="{escaped}">{escaped}</b>'
    assert results["kept"] == f'<p><b title="{escaped}">{escaped}</b></p>'  # a template inside is markup
    assert results["list"] == "<ul>a&lt;<li>b</li>0</ul>"  # nothing for null/undefined/false
    assert results["string"] == "TypeError"  # a plain string is never parsed as markup
    assert results["element"].startswith('<span class="x">&lt;img') and "<img" not in results["element"]
    assert await page.evaluate("window.pwned === undefined") and page.errors == []
    await context.close()
