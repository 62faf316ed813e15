"""No log line ever carries a bearer token (issue #14 item 9): the cases that used to log `GET /ws?token=…` run
against a real server, and every captured record is searched for the live token."""
import logging

import pytest
import tornado.httpclient
import tornado.httputil
import tornado.web
import tornado.websocket

from telemetry.logs import JsonFormatter, log_uncaught, redact, request_summary
from tests.conftest import Api, Socket, make_user


def record_texts(records: list[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter()
    texts = []
    for record in records:
        text = record.getMessage() + " " + " ".join(str(v) for v in record.__dict__.values())
        if record.exc_info:
            text += formatter.formatException(record.exc_info)
        texts.append(text)
    return texts


async def test_frames_and_urls_that_used_to_log_the_token_now_answer_and_log_none(server, caplog):
    caplog.set_level(logging.DEBUG)
    port = server.config.port
    token = await make_user(server.ctx.pool, "crew-leak", "crew", unit_id="U1")
    socket = await Socket.connect(port, token)
    await socket.next_of("snapshot")
    for frame in ('{"type": "ack", "id": "a\\u0000b", "assignment_id": 1}',
                  '{"type": "status", "id": "\\udfff", "status": "available"}',
                  '{"type": "ping", "id": "\\ud800"}'):
        await socket.conn.write_message(frame)
        error = await socket.next_of("error")
        assert error["status"] == 422 and error["fields"][0]["field"] == "frame.id", error
    await socket.conn.write_message('{"type": "ping", "id": "still-open"}')
    assert (await socket.next_of("pong"))["id"] == "still-open"
    socket.close()
    for since in ("%FF", "99999999999999999999999"):
        request = tornado.httpclient.HTTPRequest(f"ws://127.0.0.1:{port}/ws?token={token}&since={since}",
                                                 headers={"Origin": f"http://127.0.0.1:{port}"})
        with pytest.raises(tornado.httpclient.HTTPClientError) as refused:
            await tornado.websocket.websocket_connect(request)
        assert refused.value.code == 400
    status, _ = await Api(f"http://127.0.0.1:{port}").get(f"/%00?token={token}")
    assert status == 400
    texts = record_texts(caplog.records)
    assert any("token=[redacted]" in text for text in texts), "the refusals should have been logged, redacted"
    assert not [text for text in texts if token in text]


def test_uncaught_exceptions_log_only_the_redacted_request(caplog):
    caplog.set_level(logging.DEBUG)
    secret = "s3cret-Token_value-0123456789abcdef0123456"
    request = tornado.httputil.HTTPServerRequest(
        start_line=tornado.httputil.RequestStartLine("GET", f"/ws?since=1&token={secret}&x=1", "HTTP/1.1"),
        headers=tornado.httputil.HTTPHeaders({"Host": "ems.example.org"}))
    try:
        raise ValueError("boom")
    except ValueError as exc:
        log_uncaught(request, exc, (type(exc), exc, exc.__traceback__))
    log_uncaught(request, tornado.web.HTTPError(400, "bad %s", "since"), None)
    [crash, refusal] = caplog.records
    assert crash.getMessage() == "uncaught exception GET /ws?since=1&token=[redacted]&x=1 (None)"
    assert secret not in refusal.getMessage() and "bad since" in refusal.getMessage()
    stray = logging.makeLogRecord({"msg": "fetch failed: %s", "args": (f"/ws?token={secret}",)})
    assert secret not in JsonFormatter().format(stray)  # any text is redacted once more on the way out
    assert request_summary(request) == "GET /ws?since=1&token=[redacted]&x=1 (None)"
    assert redact("Authorization: Bearer abc.def-ghi") == "Authorization: Bearer [redacted]"
    assert redact("/share?access_token=x1&b=2") == "/share?access_token=[redacted]&b=2"
