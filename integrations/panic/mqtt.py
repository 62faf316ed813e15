"""MQTT listener for panic buttons: `ems/panic/<device_id>/press` and `ems/panic/<device_id>/heartbeat`, QoS 1.

Connects in the background and reconnects forever (every `mqtt_retry_s`), so a missing broker never blocks
server start-up; it is logged instead. Device authentication is the broker's (per-device credentials and ACLs);
unknown devices are logged and dropped. Every server process subscribes; the press's message id makes the
processing exactly-once across processes and QoS 1 redeliveries.
"""
from __future__ import annotations

import asyncio
import json
import logging
import uuid
from urllib.parse import urlsplit

import aiomqtt

from dispatch.errors import DomainError

log = logging.getLogger("ems.mqtt")

TOPICS = ("ems/panic/+/press", "ems/panic/+/heartbeat")


class MqttListener:
    def __init__(self, url: str, panic, retry_s: float = 5.0):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 1883
        self.username, self.password = parts.username, parts.password
        self.panic = panic
        self.retry_s = retry_s
        self.connected = asyncio.Event()
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
                async with aiomqtt.Client(self.host, self.port, username=self.username, password=self.password,
                                          identifier=f"ems-{uuid.uuid4().hex[:12]}", keepalive=30) as client:
                    for topic in TOPICS:
                        await client.subscribe(topic, qos=1)
                    log.info("mqtt connected", extra={"broker": f"{self.host}:{self.port}"})
                    warned = False
                    self.connected.set()
                    async for message in client.messages:
                        await self.handle(str(message.topic), message.payload)
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                if not warned:  # once per outage, not every retry
                    log.warning("mqtt broker unreachable; retrying in the background",
                                extra={"broker": f"{self.host}:{self.port}", "error": str(exc)[:200]})
                    warned = True
                await asyncio.sleep(self.retry_s)

    async def handle(self, topic: str, raw: bytes | bytearray | str | None) -> None:
        """One device message; never raises (a bad message must not stop the listener)."""
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
                await self.panic.press(device_id, payload, via="mqtt")
            elif kind == "heartbeat":
                await self.panic.heartbeat(device_id, payload)
        except DomainError as exc:
            log.warning("mqtt message dropped", extra={"device": device_id, "kind": kind, "reason": str(exc)[:200]})
        except Exception:
            log.exception("mqtt message failed", extra={"device": device_id, "kind": kind})
