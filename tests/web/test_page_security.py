"""Every page and static file carries the Content-Security-Policy, X-Frame-Options, nosniff and Referrer-Policy
headers; each page works under that policy in Thai and English with no console error and no CSP violation; the
console cannot be framed; a tile server named in a page's meta tag is admitted for images."""
import pytest
import tornado.httpclient
import tornado.web

from api.pages import PageHandler, content_security_policy, tile_origin
from runtime import local_services
from tests.conftest import Api, wait_until
from tests.web.conftest import open_page

PAGES = ["/", "/index.html", "/console.html", "/tablet.html", "/hospital.html", "/report.html", "/share.html"]
STATIC = ["/js/console/main.js", "/js/html.js", "/css/app.css", "/sw.js", "/static/leaflet/leaflet.js",
          "/static/leaflet/leaflet.css", "/no-such-file.html"]
# a page, the element that shows it finished loading, and whether it has a language selector
READY = {"/console.html": ("#status-line:not(:empty)", True), "/tablet.html": ("#conn:not(:empty)", True),
         "/hospital.html": ("#title:not(:has-text('ED'))", True), "/report.html": ("#headline:not(:empty)", True),
         "/index.html": ("#login", False), "/share.html": ("#status:not(:empty)", False)}


def _directives(policy: str) -> dict[str, str]:
    return {d.strip().split(" ", 1)[0]: d.strip().split(" ", 1)[1] for d in policy.split(";") if d.strip()}


async def _head(url: str) -> tornado.httpclient.HTTPResponse:
    return await tornado.httpclient.AsyncHTTPClient().fetch(url, raise_error=False, follow_redirects=False)


@pytest.mark.parametrize("path", PAGES + STATIC)
async def test_every_page_and_static_response_carries_the_security_headers(server, path):
    response = await _head(f"http://127.0.0.1:{server.config.port}{path}")
    assert response.code == (404 if "no-such" in path else 200)
    headers = response.headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    policy = _directives(headers["Content-Security-Policy"])
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert policy["connect-src"] == f"'self' ws://127.0.0.1:{server.config.port}"  # older browsers' 'self' omits ws:
    assert "unsafe" not in headers["Content-Security-Policy"]


async def test_behind_the_proxy_the_socket_origin_is_the_public_one(server):
    url = f"http://127.0.0.1:{server.config.port}/console.html"
    client = tornado.httpclient.AsyncHTTPClient()
    proxied = await client.fetch(url, headers={"Host": "ems.example.org", "X-Forwarded-Proto": "https"})
    assert _directives(proxied.headers["Content-Security-Policy"])["connect-src"] == "'self' wss://ems.example.org"
    hostile = await client.fetch(url, headers={"Host": "x; script-src *"}, raise_error=False)
    assert "script-src *" not in hostile.headers.get("Content-Security-Policy", "")


def test_tile_origins_for_the_policy():
    assert tile_origin("https://{s}.tiles.example.org/{z}/{x}/{y}.png") == "https://*.tiles.example.org"
    assert tile_origin("http://maps.example.net:8080/{z}/{x}/{y}.png") == "http://maps.example.net:8080"
    assert tile_origin("/tiles/{z}/{x}/{y}.png") is None  # this origin: 'self' already admits it
    assert tile_origin("javascript:alert(1)") is None
    assert tile_origin("https://a.example; script-src *") is None  # cannot smuggle in a directive
    assert _directives(content_security_policy(("https://*.tiles.example.org",)))["img-src"] \
        == "'self' https://*.tiles.example.org"
    assert _directives(content_security_policy(socket_origin="wss://ems.example.org"))["connect-src"] \
        == "'self' wss://ems.example.org"


async def test_a_page_naming_a_tile_server_admits_its_images(tmp_path):
    (tmp_path / "map.html").write_text('<!doctype html><meta name="ems-tile-url" '
                                       'content="https://{s}.tiles.example.org/{z}/{x}/{y}.png"><div id="map"></div>')
    (tmp_path / "plain.html").write_text("<!doctype html><p>no map</p>")
    app = tornado.web.Application([(r"/(.*)", PageHandler, {"path": str(tmp_path)})])
    port = local_services.free_port()
    listening = app.listen(port, address="127.0.0.1")
    try:
        with_tiles = await _head(f"http://127.0.0.1:{port}/map.html")
        without = await _head(f"http://127.0.0.1:{port}/plain.html")
    finally:
        listening.stop()
    assert _directives(with_tiles.headers["Content-Security-Policy"])["img-src"] == "'self' https://*.tiles.example.org"
    assert _directives(without.headers["Content-Security-Policy"])["img-src"] == "'self'"


@pytest.mark.parametrize("language", ["th", "en"])
async def test_each_page_loads_under_the_policy_with_no_console_error(browser, city, language):
    server, base, tokens = city
    hospital_id = (await server.ctx.store.list("hospitals"))[0].id
    token = {"/console.html": tokens["dispatcher"], "/report.html": tokens["dispatcher"],
             "/tablet.html": tokens["CB-BLS-01"], "/hospital.html": tokens[hospital_id]}
    for path, (ready, switchable) in READY.items():
        fragment = f"#token={token[path]}" if token.get(path) else ""
        context, page = await open_page(browser, "about:blank", locale="th-TH" if language == "th" else "en-US")
        await page.add_init_script(f"localStorage.setItem('ems.lang', '{language}')")
        await page.goto(f"{base}{path}{fragment}")
        await page.wait_for_selector(ready)
        if switchable:  # and back again: every re-render under the policy too
            other = "en" if language == "th" else "th"
            await page.select_option("#lang", other)
            await page.select_option("#lang", language)
            assert await page.evaluate("document.documentElement.lang") == language
        untranslated = await page.evaluate(
            "[...document.querySelectorAll('[data-t]')].filter(e => e.textContent === e.dataset.t).map(e => e.dataset.t)")
        assert untranslated == [], f"{path}: labels missing"
        assert page.errors == [], f"{path} ({language}): {page.errors}"
        assert page.console_errors == [], f"{path} ({language}): {page.console_errors}"
        await context.close()


async def test_the_violation_listener_sees_a_violation(browser, city):
    """The check above could pass by hearing nothing: an inline style set on purpose must be reported."""
    server, base, tokens = city
    context, page = await open_page(browser, f"{base}/index.html")
    await page.wait_for_selector("#login")
    await page.evaluate("document.body.setAttribute('style', 'background: red')")
    assert await page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 0, 0)"  # refused

    async def reported() -> bool:
        return any("style-src" in e for e in page.errors)
    assert await wait_until(reported, timeout_s=10), page.errors
    await context.close()


async def test_the_console_cannot_be_framed(browser, city):
    server, base, tokens = city
    context, page = await open_page(browser, "about:blank")
    await page.set_content(f'<iframe id="f" src="{base}/console.html" width="800" height="600"></iframe>')
    [child] = page.main_frame.child_frames
    assert child.url.startswith("chrome-error://")  # Chromium refused to render it (it shows its error page)
    assert await page.frame_locator("#f").locator("#incident-list").count() == 0
    await context.close()


async def test_the_share_page_sends_the_callers_location_under_the_policy(browser, city):
    """share.html's script moved out of the page into a module: the caller's one tap still works."""
    server, base, tokens = city
    api = Api(base, tokens["dispatcher"])
    status, incident = await api.post("/api/v1/incidents", {"channel": "phone", "address": "ใกล้ตลาด near the market",
                                                            "caller": {"phone": "+66812345670"}})
    assert status == 201, incident
    token = await server.ctx.twilio.send_share_link(incident["id"], "+66812345670")
    here = {"latitude": 13.3625, "longitude": 100.9861}
    context, page = await open_page(browser, f"{base}/share.html#t={token}", width=390, height=844,
                                    permissions=["geolocation"], geolocation=here)
    await page.click("#share")
    await page.wait_for_selector("#status.ok")
    _, stored = await api.get(f"/api/v1/incidents/{incident['id']}")
    assert abs(stored["location"]["lat"] - here["latitude"]) < 1e-6
    assert abs(stored["location"]["lon"] - here["longitude"]) < 1e-6
    assert page.errors == [] and page.console_errors == []
    await context.close()
