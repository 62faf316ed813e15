"""The pages and Leaflet's files: Tornado's static file handler, with paths that cannot name a file refused."""
from __future__ import annotations

from typing import Any

import tornado.web

from telemetry.logs import log_uncaught


class StaticFiles(tornado.web.StaticFileHandler):
    """A path with a NUL byte (`/%00`, `/console.html%00.js`) is a 400: no file has such a name, and the operating
    system would refuse it with an exception (a 500) rather than an answer."""

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        if "\x00" in absolute_path:
            raise tornado.web.HTTPError(400, reason="a path cannot contain NUL")
        return super().validate_absolute_path(root, absolute_path)

    def log_exception(self, typ: type[BaseException] | None, value: BaseException | None, tb: Any) -> None:
        """Page links may carry a token in the query: logged only through the redacting summary."""
        log_uncaught(self.request, value, (typ, value, tb))
