"""Structured JSON logs on stderr. Never log patient data: pass ids, not names, phones or complaints.

Never log a bearer token either: every URL or request summary that reaches a log goes through `redact`, and the
formatter runs it once more over the finished line, so a token in an exception's text is caught as well.
"""
from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import tornado.web

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

# `token=…` in a query string (also `access_token=`, `share_token=`, and the same percent-encoded), and the
# credential after `Bearer`: what follows is replaced up to the next separator.
SECRET_IN_TEXT = re.compile(r"(?i)(token(?:=|%3D)|bearer\s+)[^&\s\"'#;,)\\]+")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`text` with every token value replaced by `[redacted]` (the one redaction every log line goes through)."""
    return SECRET_IN_TEXT.sub(lambda m: m.group(1) + REDACTED, text)


def printable(text: str) -> str:
    """`text` made encodable as UTF-8: lone surrogates become backslash escapes (never raises)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def request_summary(request: Any) -> str:
    """`METHOD uri (remote ip)` of a Tornado request, for logs: the query's tokens redacted."""
    return f"{request.method} {redact(printable(request.uri or ''))} ({request.remote_ip})"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        # ensure_ascii: a lone surrogate in a message becomes an escape instead of failing the write to stderr
        return redact(json.dumps(entry, ensure_ascii=True, default=str))


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def log_request(handler) -> None:
    """Tornado's access log, as one JSON line per request (the URI with its tokens redacted)."""
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    request = handler.request
    logging.getLogger("ems.access").log(
        level, "request", extra={"method": request.method, "path": redact(printable(request.uri or "")),
                                 "status": status, "ms": round(1000 * request.request_time(), 2)},
    )


def log_uncaught(request: Any, value: BaseException | None, exc_info: tuple | None) -> None:
    """How every handler logs an exception it did not expect (RequestHandler.log_exception's public override):
    client errors (HTTPError 4xx) as one warning line, anything else as an error with its traceback; the request
    appears only as `request_summary`, never as the raw URL."""
    summary = request_summary(request)
    if isinstance(value, tornado.web.HTTPError):
        if value.log_message:
            logging.getLogger("ems.access").warning("%d %s: %s", value.status_code, summary,
                                                    redact(printable(value.get_message())))
        return
    logging.getLogger("ems.api").error("uncaught exception %s", summary, exc_info=exc_info)
