"""HMAC-SHA256 signatures of device webhooks.

A device signs `"<unix timestamp>." + body` with its secret and sends
    X-EMS-Timestamp: <unix seconds>        X-EMS-Signature: sha256=<hex digest>
The JSON body carries a fresh `nonce` per HTTP attempt (so it is signed too) and, for presses, a `message_id` that
stays the same across retries of one press.

Over MQTT (no headers in MQTT 3.1.1) the same signature travels in a first line before the body:
    EMS1 <unix seconds> sha256=<hex digest>\n<body>
signed exactly as above, so a device has one signing routine for both. A press without a `message_id` is known by
its nonce: a broker redelivery or a replay of the same bytes is the same press, once.
"""
from __future__ import annotations

import hashlib
import hmac


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_ok(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


FRAME_PREFIX = b"EMS1 "
FRAME_HEADER_MAX_BYTES = 200  # "EMS1 " + timestamp + " sha256=" + 64 hex digits, with room to spare


def frame(secret: str, timestamp: int | str, body: bytes) -> bytes:
    """An MQTT payload: the signature line, then the body."""
    return FRAME_PREFIX + f"{timestamp} {sign(secret, timestamp, body)}\n".encode() + body


def unframe(content: bytes) -> tuple[str, str, bytes] | None:
    """(timestamp, signature, body) of an MQTT payload, or None when it is not a signed frame. Never raises."""
    head, newline, body = content.partition(b"\n")
    if not newline or not head.startswith(FRAME_PREFIX) or len(head) > FRAME_HEADER_MAX_BYTES:
        return None
    try:
        _, timestamp, signature = head.decode("ascii").split(" ")
    except (UnicodeDecodeError, ValueError):
        return None
    return timestamp, signature, body
