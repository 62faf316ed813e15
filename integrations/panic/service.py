"""Panic buttons: device registry, presses (MQTT or signed webhook) into incidents, heartbeats and device alerts.

A press opens a red incident carrying the registered person, address and medical notes; presses of the same
device within `panic_repeat_window_s` of its last press attach to that incident as repeat presses. Redeliveries
(MQTT QoS 1, HTTP retries) carry the same message id and are dropped. The check, the create and the record are
one transaction under the store's append lock, so concurrent presses can never open two incidents.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dispatch.channels import DeviceAlertRaised, PanicPressed
from dispatch.errors import Conflict, DomainError, FieldError, Invalid, NotFound
from dispatch.intake import PHONE_CHARS, parse_location
from dispatch.model import Channel
from http_errors import text_fault
from integrations.panic import signing, store
from integrations.uow import intake_within

log = logging.getLogger("ems.panic")

DEVICE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # also an MQTT topic level: no / + #
MESSAGE_ID_MAX = 128


class Unauthenticated(DomainError):
    """A device webhook with a bad signature, a stale timestamp, a reused nonce or an unknown device (→ 401)."""


class Throttled(DomainError):
    """One device sent more than its budget; the excess is dropped and the dispatcher alerted once (→ 429)."""

    def __init__(self, retry_after_s: float):
        super().__init__(f"too many messages from this device; retry in {int(retry_after_s) + 1} s")
        self.retry_after_s = retry_after_s


@dataclass
class PressResult:
    incident_id: int
    repeat: bool
    duplicate: bool = False


class PanicService:
    def __init__(self, ctx: Any):
        self.ctx = ctx
        self.config = ctx.config

    # -- registry ----------------------------------------------------------------------------------------------
    async def register(self, body: Any) -> dict[str, Any]:
        """Register a device; returns it with its webhook secret (shown only here). 422 per bad field, 409 if taken."""
        device = _parse_device(body, self.ctx.intake.area)
        secret = secrets.token_urlsafe(32)
        if not await store.add_device(self.ctx.pool, device, secret):
            raise Conflict(f"device {device['id']} is already registered")
        return {**device, "secret": secret}

    async def list(self) -> list[dict[str, Any]]:
        return await store.devices(self.ctx.pool)

    # -- webhook authentication --------------------------------------------------------------------------------
    async def authenticate(self, device_id: str, timestamp: str | None, signature: str | None,
                           body: bytes) -> dict[str, Any]:
        """Check a signed webhook; returns the JSON payload. Raises Unauthenticated (logged) on any failure."""
        device = await store.device(self.ctx.pool, device_id)
        reason = self._signature_refusal(device, timestamp, signature, body)
        payload: Any = None
        if reason is None:
            try:
                payload = json.loads(body)
            except (ValueError, RecursionError):
                payload = None
            nonce = payload.get("nonce") if isinstance(payload, dict) else None
            if not _nonce_ok(nonce):
                reason = "missing nonce"
            elif not await store.use_nonce(self.ctx.pool, f"device:{device_id}", nonce):
                reason = "reused nonce"
        if reason is not None:
            log.warning("device webhook refused", extra={"device": device_id, "reason": reason})
            raise Unauthenticated(reason)
        return payload

    def _signature_refusal(self, device, timestamp: str | None, signature: str | None, body: bytes) -> str | None:
        """Why a signed device message is refused (webhook or MQTT), or None when the signature holds."""
        if device is None:
            return "unknown device"
        if not timestamp or not timestamp.isdigit() or len(timestamp) > 12 or not signature:
            return "missing timestamp or signature"
        if abs(time.time() - int(timestamp)) > self.config.webhook_max_skew_s:
            return "stale timestamp"
        if not signing.signature_ok(device["secret"], timestamp, body, signature):
            return "bad signature"
        return None

    async def verify_frame(self, device_id: str, content: bytes) -> bytes:
        """The body of a signed MQTT payload (see signing.py); raises Unauthenticated (logged) when it is not
        signed, signed with another secret, stale, or the device is unknown."""
        parts = signing.unframe(content)
        device = await store.device(self.ctx.pool, device_id)
        if device is None:  # said first: only a registered device's refused press may raise an alert
            reason = "unknown device"
        elif parts is None:
            reason = "not a signed frame"
        else:
            reason = self._signature_refusal(device, *parts)
        if reason is None:
            return parts[2]
        log.warning("device mqtt message refused", extra={"device": device_id, "reason": reason})
        raise Unauthenticated(reason)

    async def use_mqtt_nonce(self, device_id: str, nonce: Any) -> bool:
        """Whether a signed MQTT heartbeat's nonce is fresh (presses are deduplicated by message id instead)."""
        return _nonce_ok(nonce) and await store.use_nonce(self.ctx.pool, f"mqtt-device:{device_id}", nonce)

    # -- presses and heartbeats --------------------------------------------------------------------------------
    async def press(self, device_id: str, payload: Any, *, via: str) -> PressResult:
        """Record a press: opens a provisional-red incident, or attaches to the one from the last 60 s."""
        payload = payload if isinstance(payload, dict) else {}
        message_id = _message_id(payload, self.ctx.clock.now(), self.config.panic_repeat_window_s)
        if await store.device(self.ctx.pool, device_id) is None:
            raise NotFound(f"no device {device_id}")
        await self._throttle(device_id)
        clock = self.ctx.clock
        async with self.ctx.store.unit_of_work(f"device:{device_id}") as uow:
            first = await uow.claim_idempotency("panic", f"{device_id}:{message_id}")
            if first is not None:
                return PressResult(first["incident_id"], first["repeat"], duplicate=True)
            device = await store.device(uow.conn, device_id, lock=True)
            now = clock.now()
            recent = None
            if device["last_press_at"] and now - device["last_press_at"] <= timedelta(
                    seconds=self.config.panic_repeat_window_s):
                recent = await uow.get("incidents", device["last_incident_id"])
            battery = _battery(payload)
            if recent is not None and recent.is_open:
                incident_id, repeat = recent.id, True
                count = await store.presses_on(uow.conn, incident_id)
                await uow.append(PanicPressed(at=now, incident_id=incident_id, device_id=device_id,
                                              message_id=message_id, via=via, repeat=True, press_number=count + 1,
                                              battery_pct=battery))
            else:
                incident, _ = await intake_within(self.ctx, uow).report(_report(device, payload), actor=uow.actor, strict=False,
                                                  default_channel=Channel.PANIC_BUTTON)
                incident_id, repeat = incident.id, False
                await uow.append(PanicPressed(at=now, incident_id=incident_id, device_id=device_id,
                                              message_id=message_id, via=via, person=device["person"],
                                              medical_notes=device["medical_notes"], battery_pct=battery))
            await store.note_press(uow.conn, device_id, now, incident_id)
            await uow.remember("panic", f"{device_id}:{message_id}", {"incident_id": incident_id, "repeat": repeat})
        log.info("panic press", extra={"device": device_id, "incident": incident_id, "repeat": repeat, "via": via})
        return PressResult(incident_id, repeat)

    async def heartbeat(self, device_id: str, payload: Any) -> None:
        """A device is alive; a battery at or below the threshold alerts once until it recovers."""
        await self._throttle(device_id)
        payload = payload if isinstance(payload, dict) else {}
        battery = _battery(payload)
        result = await store.heartbeat(self.ctx.pool, device_id, self.ctx.clock.now(), battery,
                                       self.config.device_low_battery_pct)
        if result is None:
            raise NotFound(f"no device {device_id}")
        newly_low, _ = result
        if newly_low:
            await self.alert(device_id, "low_battery", f"battery at {battery}%")

    async def check_heartbeats(self) -> list[str]:
        """Alert once for every device silent longer than the heartbeat timeout; returns their ids."""
        now = self.ctx.clock.now()
        silent = await store.mark_silent(self.ctx.pool, now - timedelta(seconds=self.config.device_heartbeat_timeout_s))
        for row in silent:
            last = row["last_heartbeat_at"]
            await self.alert(row["id"], "missed_heartbeat",
                             f"no heartbeat since {last.isoformat() if last else 'registration'}")
        await store.forget_nonces(self.ctx.pool, now - timedelta(seconds=4 * self.config.webhook_max_skew_s))
        return [r["id"] for r in silent]

    async def dead_letter(self, topic: str, raw: bytes, reason: str) -> int:
        """Keep an unusable MQTT message (raw bytes) for review; returns its id. Raises when PostgreSQL is down."""
        return await store.add_dead_letter(self.ctx.pool, topic, reason, raw, self.config.mqtt_dead_letter_max_bytes)

    async def alert(self, device_id: str, kind: str, detail: str, *, once_key: str | None = None) -> None:
        async with self.ctx.store.unit_of_work("system:devices") as uow:
            if once_key and await uow.claim_idempotency("device-alert", once_key) is not None:
                return
            await uow.append(DeviceAlertRaised(at=self.ctx.clock.now(), device_id=device_id, kind=kind,
                                               detail=detail))
            if once_key:
                await uow.remember("device-alert", once_key, {"kind": kind})
        log.warning("device alert", extra={"device": device_id, "kind": kind, "detail": detail})

    async def _throttle(self, device_id: str) -> None:
        limit = self.config.panic_rate_per_min
        retry_after = await self.ctx.rate_limiter.hit("panic", f"device:{device_id}", limit)
        if retry_after is not None:
            window = int(time.time() // 60)
            await self.alert(device_id, "flood", f"more than {limit} messages a minute; excess dropped",
                             once_key=f"flood:{device_id}:{window}")
            raise Throttled(retry_after)


def _nonce_ok(nonce: Any) -> bool:
    return isinstance(nonce, str) and 8 <= len(nonce) <= 128


def _message_id(payload: dict[str, Any], now: datetime, window_s: float) -> str:
    value = payload.get("message_id")
    if isinstance(value, str | int) and not isinstance(value, bool) and 0 < len(str(value)) <= MESSAGE_ID_MAX \
            and text_fault(str(value)) is None:  # an id the database cannot hold is no id: keyed as below
        return str(value)
    # A device that sends no id: an identical payload within the same repeat window is a redelivery (at worst a
    # repeat press on the open incident goes unrecorded); the same payload later is a new press, never dropped.
    window = int(now.timestamp() // window_s)
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return f"sha256:{window}:{digest}"


def _battery(payload: dict[str, Any]) -> int | None:
    value = payload.get("battery")
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and 0 <= value <= 100:
        return int(value)
    return None


def _report(device, payload: dict[str, Any]) -> dict[str, Any]:
    """The intake body for a device's first press: its own fix if it sent one (kept even if malformed, so intake
    flags it unverified), else the registered position."""
    phones = device["contact_phones"] or []
    report = {"channel": Channel.PANIC_BUTTON.value, "address": device["address"],
              "chief_complaint": f"Panic button pressed / กดปุ่มฉุกเฉิน — {device['person']}",
              "caller": {"name": device["person"], "phone": phones[0] if phones else None}}
    if "location" in payload:
        report["location"] = payload["location"]
    elif device["lat"] is not None and device["lon"] is not None:
        report["location"] = {"lat": device["lat"], "lon": device["lon"]}
    return report


def _parse_device(body: Any, area) -> dict[str, Any]:
    errors: list[FieldError] = []
    if not isinstance(body, dict):
        raise Invalid(FieldError("body", "must be a JSON object"))
    device_id = body.get("id")
    if not isinstance(device_id, str) or not DEVICE_ID.match(device_id):
        errors.append(FieldError("id", "must be 1-64 letters, digits, '_', '.' or '-'"))
    limits = {"person": 200, "address": 500, "medical_notes": 2000}
    for key, limit in limits.items():
        value = body.get(key)
        if value is None or (key == "person" and value == ""):
            if key == "person":
                errors.append(FieldError(key, "is required"))
        elif not isinstance(value, str) or len(value) > limit or "\x00" in value:
            errors.append(FieldError(key, f"must be a string of at most {limit} characters"))
    phones = body.get("contact_phones", [])
    if not isinstance(phones, list) or len(phones) > 5 or not all(
            isinstance(p, str) and 0 < len(p) <= 32 and set(p) <= PHONE_CHARS for p in phones):
        errors.append(FieldError("contact_phones", "must be up to 5 phone numbers"))
    location, _ = parse_location(body.get("location"), area, errors)
    if errors:
        raise Invalid(errors)
    return {"id": device_id, "person": body["person"], "address": body.get("address"),
            "medical_notes": body.get("medical_notes"), "contact_phones": phones,
            "lat": location.lat if location else None, "lon": location.lon if location else None}
