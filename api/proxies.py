"""Which address a request comes from: X-Forwarded-For / X-Real-IP are believed only from configured proxies.

Tornado's own `xheaders=True` believes them from anyone, so a client reaching Tornado directly could pick its own
address (escaping per-address limits, forging the audit log). `TrustedProxies` wraps the application instead and
rewrites the connection's address only when the peer is in `EMS_TRUSTED_PROXIES`.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from tornado import httputil

from config import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDRs (`10.0.0.0/8`, `::1`); raises ConfigError naming EMS_TRUSTED_PROXIES on a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ConfigError([f"EMS_TRUSTED_PROXIES: {value!r} is not an address or CIDR"]) from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(peer: str, headers: httputil.HTTPHeaders, networks: tuple[Network, ...]) -> str:
    """The client's address: the peer itself unless it is a trusted proxy; then the nearest address in
    X-Forwarded-For (walking from the right past further trusted proxies), else X-Real-IP, else the peer."""
    if not _trusted(_address(peer), networks):
        return peer
    forwarded = [part for part in headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    chain = [_address(part) for part in forwarded]
    for address in reversed(chain):
        if address is None:
            return peer  # a hop we cannot read: believe nothing to its left
        if not _trusted(address, networks):
            return str(address)
    if chain:
        return str(chain[0])  # every hop is a trusted proxy: the first is where the request began
    real = _address(headers.get("X-Real-IP", ""))
    return str(real) if real is not None else peer


class TrustedProxies(httputil.HTTPServerConnectionDelegate):
    """Wraps a Tornado application (give it to HTTPServer with `xheaders=False`)."""

    def __init__(self, app: httputil.HTTPServerConnectionDelegate, networks: tuple[Network, ...]):
        self.app = app
        self.networks = networks

    def start_request(self, server_conn: object, request_conn: httputil.HTTPConnection) -> httputil.HTTPMessageDelegate:
        return _ForwardedRequest(self.app.start_request(server_conn, request_conn), request_conn, self.networks)

    def on_close(self, server_conn: object) -> None:
        self.app.on_close(server_conn)


class _ForwardedRequest(httputil.HTTPMessageDelegate):
    """Sets the connection context's address (and scheme) for one request, as Tornado's xheaders do, and puts
    them back afterwards: a keep-alive connection carries several requests."""

    def __init__(self, delegate: httputil.HTTPMessageDelegate, request_conn, networks: tuple[Network, ...]):
        self.delegate, self.request_conn, self.networks = delegate, request_conn, networks
        self._saved: tuple[str, str] | None = None

    def headers_received(self, start_line, headers):
        context = getattr(self.request_conn, "context", None)
        peer = getattr(context, "remote_ip", None)
        if peer is not None and _trusted(_address(peer), self.networks):
            self._saved = (context.remote_ip, context.protocol)
            context.remote_ip = client_address(peer, headers, self.networks)
            proto = headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                context.protocol = proto
        return self.delegate.headers_received(start_line, headers)

    def data_received(self, chunk):
        return self.delegate.data_received(chunk)

    def finish(self) -> None:
        self.delegate.finish()
        self._restore()

    def on_connection_close(self) -> None:
        self.delegate.on_connection_close()
        self._restore()

    def _restore(self) -> None:
        if self._saved is not None:
            context = self.request_conn.context
            context.remote_ip, context.protocol = self._saved
            self._saved = None
