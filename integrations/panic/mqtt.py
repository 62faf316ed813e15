"""MQTT listener for panic buttons: `ems/panic/<device_id>/press` and `ems/panic/<device_id>/heartbeat`, QoS 1.

Connects in the background and reconnects forever (every `mqtt_retry_s`), so a missing broker never blocks
server start-up; it is logged instead. Device authentication is the broker's (per-device credentials and ACLs);
unknown devices are logged and dropped.

Nothing acknowledged is lost, nothing is processed twice: a press's message id is recorded in the same PostgreSQL
transaction that opens (or attaches to) the incident, and only then is the message acknowledged (PUBACK). The
session is persistent (a stable client id per server process, clean_session off), so a press that arrives while the
process is down or restarting, or whose processing failed, is redelivered by the broker, and a redelivery of one
already committed is dropped by its message id. Every server process subscribes; the message id makes the
processing exactly-once across processes too.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from urllib.parse import urlsplit

import aiomqtt

from dispatch.errors import DomainError, Unavailable

log = logging.getLogger("ems.mqtt")

TOPICS = ("ems/panic/+/press", "ems/panic/+/heartbeat")
PRESS_RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0)  # a press that fails (PostgreSQL restarting) is retried in-process
GIVE_UP_AFTER_REDELIVERIES = 5  # then a press that keeps failing is logged and dropped, not retried forever


class Redeliver(Exception):
    """A press could not be stored: reconnect without acknowledging it, so the broker delivers it again."""


class MqttListener:
    def __init__(self, url: str, panic, retry_s: float = 5.0, *, identifier: str = "ems"):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 1883
        self.username, self.password = parts.username, parts.password
        self.panic = panic
        self.retry_s = retry_s
        self.identifier = identifier
        self.connected = asyncio.Event()
        self._failures: dict[str, int] = {}  # press → rounds it failed in, by content
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mqtt-listener")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        warned = False
        while True:
            try:
                client = aiomqtt.Client(self.host, self.port, username=self.username, password=self.password,
                                        identifier=self.identifier, clean_session=False, keepalive=30)
                # aiomqtt has no option for it: with manual acks, PUBACK goes out only after the commit
                client._client.manual_ack_set(True)
                async with client:
                    for topic in TOPICS:
                        await client.subscribe(topic, qos=1)
                    log.info("mqtt connected", extra={"broker": f"{self.host}:{self.port}"})
                    warned = False
                    self.connected.set()
                    async for message in client.messages:
                        await self.handle(str(message.topic), message.payload)
                        if message.qos > 0:
                            client._client.ack(message.mid, message.qos)
            except (aiomqtt.MqttError, Redeliver) as exc:
                self.connected.clear()
                if not warned:  # once per outage, not every retry
                    log.warning("mqtt listener reconnecting", extra={"broker": f"{self.host}:{self.port}",
                                                                     "error": str(exc)[:200]})
                    warned = True
                await asyncio.sleep(self.retry_s)

    async def handle(self, topic: str, raw: bytes | bytearray | str | None) -> None:
        """One device message. Raises Redeliver only for a press that could not be stored; a bad message is
        logged and dropped, never stops the listener."""
        parts = topic.split("/")
        if len(parts) != 4:
            return
        device_id, kind = parts[2], parts[3]
        try:
            payload = json.loads(raw) if raw else {}
        except (ValueError, UnicodeDecodeError):
            payload = {"unparsed": str(raw)[:200]}  # still a press: an emergency is never dropped for bad JSON
        try:
            if kind == "press":
                await self._press(device_id, payload, raw)
            elif kind == "heartbeat":
                await self.panic.heartbeat(device_id, payload)
        except DomainError as exc:
            log.warning("mqtt message dropped", extra={"device": device_id, "kind": kind, "reason": str(exc)[:200]})
        except Redeliver:
            raise
        except Exception:
            log.exception("mqtt message failed", extra={"device": device_id, "kind": kind})

    async def _press(self, device_id: str, payload, raw) -> None:
        """An emergency: retried while PostgreSQL is unavailable, then left for the broker to redeliver."""
        content = raw if isinstance(raw, bytes | bytearray) else str(raw).encode()
        key = hashlib.sha256(device_id.encode() + b"\0" + content).hexdigest()
        for delay_s in (*PRESS_RETRY_DELAYS_S, None):
            try:
                await self.panic.press(device_id, payload, via="mqtt")
                self._failures.pop(key, None)  # stored at last: forget its failed rounds
                return
            except Exception as exc:
                if isinstance(exc, DomainError) and not isinstance(exc, Unavailable):
                    raise  # bad data or an unknown device: a retry cannot help (StoreBusy, Unavailable, can)
                failure = exc
                if delay_s is None:
                    break
                log.warning("panic press not stored yet; retrying", extra={"device": device_id,
                                                                           "error": repr(exc)[:200]})
                await asyncio.sleep(delay_s)
        self._failures[key] = rounds = self._failures.get(key, 0) + 1
        if rounds >= GIVE_UP_AFTER_REDELIVERIES:
            del self._failures[key]
            log.error("panic press dropped after repeated failures", extra={"device": device_id},
                      exc_info=failure)
            return
        raise Redeliver(f"press from {device_id} not stored: {failure!r}"[:300])
