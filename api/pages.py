"""Static pages and files (web/ and Leaflet) with the browser security headers a CAD console needs.

Every response, errors included, carries:
- Content-Security-Policy: scripts, styles, connections and everything else from this origin only (no inline
  script or style, no eval, no plugins), images also from the map tile server a page names in its
  `<meta name="ems-tile-url">` (see web/js/leaflet.js), and `frame-ancestors 'none'`;
- X-Frame-Options: DENY (the same for browsers without CSP frame-ancestors): a console that can be framed can be
  clickjacked into assigning or closing;
- X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer (tokens and incident ids stay out of Referer);
- Cache-Control: no-cache, so a browser revalidates before reusing a page or module: after a deployment it never
  runs an old module against new ones.
"""
from __future__ import annotations

import functools
import os
import re
from urllib.parse import urlsplit


from api.static import StaticFiles

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_TILE_META = re.compile(r"""<meta\s+name=["']ems-tile-url["']\s+content=["']([^"']*)["']""", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def content_security_policy(image_origins: tuple[str, ...] = (), socket_origin: str | None = None) -> str:
    """The policy for our pages; `image_origins` are extra origins images may come from (map tiles);
    `socket_origin` is this server as a WebSocket origin ("wss://host"): CSP 3 lets 'self' match it, but older
    tablet browsers (Safari before 15.4 among them) need it named or they refuse the real-time link."""
    images = " ".join(("'self'", *image_origins))
    connect = " ".join(("'self'", socket_origin)) if socket_origin else "'self'"
    return ("default-src 'self'; script-src 'self'; style-src 'self'; "
            f"img-src {images}; connect-src {connect}; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")


def tile_origin(tile_url: str) -> str | None:
    """The origin a tile URL template loads from, as a CSP source ("https://*.tiles.example" for a "{s}"
    subdomain); None for a template on this origin (relative) or one that is not http(s)."""
    parts = urlsplit(tile_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = _PLACEHOLDER.sub("*", parts.netloc)
    return f"{parts.scheme}://{host}" if _is_host(host) else None


def _is_host(host: str) -> bool:
    """A host[:port] (wildcards allowed) and nothing else: anything more could smuggle in another directive."""
    return re.fullmatch(r"[A-Za-z0-9.*:\[\]-]+", host) is not None


@functools.lru_cache(maxsize=64)
def _page_image_origins(path: str, mtime_ns: int) -> tuple[str, ...]:
    with open(path, encoding="utf-8") as page:
        found = _TILE_META.search(page.read())
    origin = tile_origin(found.group(1)) if found else None
    return (origin,) if origin else ()


class PageHandler(StaticFiles):
    """Serves a directory of static files with SECURITY_HEADERS and the Content-Security-Policy."""

    def set_default_headers(self) -> None:
        """Security headers and the Content-Security-Policy on every static response."""
        for name, value in SECURITY_HEADERS.items():
            self.set_header(name, value)
        self.set_header("Content-Security-Policy", content_security_policy(socket_origin=self._socket_origin()))

    def set_extra_headers(self, path: str) -> None:
        """For an HTML page, a CSP that also allows the image origins that page names."""
        if self.absolute_path and self.absolute_path.endswith(".html"):
            origins = _page_image_origins(self.absolute_path, os.stat(self.absolute_path).st_mtime_ns)
            self.set_header("Content-Security-Policy", content_security_policy(origins, self._socket_origin()))

    def _socket_origin(self) -> str | None:
        """This server's /ws as the browser reaches it (behind the proxy: its scheme and Host, xheaders=True)."""
        host = self.request.host
        return f"{'wss' if self.request.protocol == 'https' else 'ws'}://{host}" if _is_host(host) else None
