"""HMAC-SHA256 signatures of device webhooks.

A device signs `"<unix timestamp>." + body` with its secret and sends
    X-EMS-Timestamp: <unix seconds>        X-EMS-Signature: sha256=<hex digest>
The JSON body carries a fresh `nonce` per HTTP attempt (so it is signed too) and, for presses, a `message_id` that
stays the same across retries of one press.
"""
from __future__ import annotations

import hashlib
import hmac


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_ok(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
