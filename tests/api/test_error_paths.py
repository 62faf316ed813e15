"""Every error path answers (issue #14 items 2, 13, 15): a clear 4xx with field and reason, never silence or a 500."""
import tornado.httpclient

from dispatch.error_codes import ErrorCode
from http_errors import ErrorAnswer, error_body
from dispatch.errors import FieldError
from server import Server
from tests.conftest import Api, fresh_rate_window, reset_state, server_config

LONE_SURROGATE_KEY = b'{"\\udfff": 1}'  # valid JSON; the key decodes to a lone surrogate, which UTF-8 cannot encode


async def fetch(base: str, path: str, **options) -> tornado.httpclient.HTTPResponse:
    """One request with a short timeout: a server that never answers fails the test instead of hanging it."""
    return await tornado.httpclient.AsyncHTTPClient().fetch(base + path, raise_error=False, request_timeout=10,
                                                            **options)


async def test_a_key_with_a_lone_surrogate_gets_a_422_naming_it(server, dispatcher_api):
    base = dispatcher_api.base_url
    for path, token in (("/api/v1/login", None), ("/api/v1/incidents", dispatcher_api.token)):
        status, body = await Api(base, token).post(path, raw=LONE_SURROGATE_KEY)
        assert status == 422, (path, body)
        assert body["error"]["fields"] == [{"field": "\\udfff", "code": "not_unicode", "reason": "must be valid Unicode text"}]
    status, _ = await Api(base).post("/api/v1/incidents", raw=LONE_SURROGATE_KEY)
    assert status == 401  # anonymous: answered too


def test_the_error_encoder_escapes_text_it_cannot_encode():
    body = error_body(ErrorAnswer(422, ErrorCode.INVALID_FIELDS, "bad \udfff", fields=[FieldError("\ud800x", "why \x00")]))
    assert b'"field":"\\\\ud800x"' in body and b"bad \\\\udfff" in body


async def test_paths_with_a_nul_byte_are_a_400_not_a_500(server):
    base = f"http://127.0.0.1:{server.config.port}"
    for path in ("/%00", "/console.html%00.js", "/static/leaflet/leaflet.js%00"):
        response = await fetch(base, path)
        assert response.code == 400, path
    assert (await fetch(base, "/console.html")).code == 200
    assert (await fetch(base, "/no-such-page.html")).code == 404


async def test_healthz_is_not_throttled_with_anonymous_callers(database_url, redis_url):
    await reset_state(database_url, redis_url)
    running = Server(server_config(database_url, redis_url, rate_api_per_min=3))
    await running.start()
    try:
        api = Api(f"http://127.0.0.1:{running.config.port}")
        await fresh_rate_window()
        statuses = [(await api.get("/api/v1/openapi.json"))[0] for _ in range(5)]
        assert statuses[-1] == 429  # the anonymous budget is real and spent
        for _ in range(10):
            status, health = await api.get("/healthz")
            assert status == 200 and health["status"] == "ok"
    finally:
        await running.stop()
