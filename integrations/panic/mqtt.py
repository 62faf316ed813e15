"""MQTT listener for panic buttons: `ems/panic/<device_id>/press` and `ems/panic/<device_id>/heartbeat`, QoS 1.

Connects in the background and reconnects forever (every `mqtt_retry_s`), so a missing broker never blocks
server start-up; it is logged instead. Every message must be signed with its device's secret, as the webhook is
(`signing.frame`: HMAC-SHA256 over timestamp and body, 300 s skew, nonce), so no other client of the broker can
raise an incident for a device; see docs/operations.md for why signing rather than broker ACLs. An unsigned or
forged press is dead-lettered and, for a registered device, alerts the dispatcher once a minute.

Nothing acknowledged is lost, nothing is processed twice: a press's message id is recorded in the same PostgreSQL
transaction that opens (or attaches to) the incident, and only then is the message acknowledged (PUBACK). The
session is persistent (a stable client id per server process, clean_session off), so a press that arrives while the
process is down or restarting, or whose processing failed, is redelivered by the broker, and a redelivery of one
already committed is dropped by its message id. Every server process subscribes; the message id makes the
processing exactly-once across processes too.

No message can stop intake: a payload that is not usable (malformed or too deeply nested JSON, an unknown device,
a processing error) is logged, counted (`ems_mqtt_dead_letters_total`), kept with its raw bytes in
`mqtt_dead_letters` and only then acknowledged, so the broker never redelivers it forever. A malformed press still
opens an incident for its registered device. Should the listener itself die for any reason, it restarts with backoff
(`mqtt_retry_s` doubling up to `mqtt_restart_max_s`), raises a dispatcher alert and fails /healthz until it is
connected again.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from urllib.parse import urlsplit

import aiomqtt
import asyncpg

from dispatch.errors import DomainError, Unavailable
from integrations.panic.service import Unauthenticated
from telemetry.metrics import MQTT_DEAD_LETTERS, MQTT_LISTENER_CRASHES

log = logging.getLogger("ems.mqtt")

TOPICS = ("ems/panic/+/press", "ems/panic/+/heartbeat")
# A press the database refuses for its content (not for being down): dead-lettered with an alert at once
UNSTORABLE_DATA = (UnicodeError, asyncpg.DataError)
GIVE_UP_AFTER_REDELIVERIES = 5  # then a press that keeps failing is dead-lettered with an alert, not retried forever
# Devices send flat JSON; anything nested deeper is refused before other code walks it (json's C decoder and encoder
# recurse: a payload 10,000 deep raised RecursionError, which ended the listener).
MAX_PAYLOAD_DEPTH = 32
LISTENER_ALERT_DEVICE = "mqtt-listener"  # the device id of the dispatcher alert raised when the listener fails


class Redeliver(Exception):
    """A press could not be stored: reconnect without acknowledging it, so the broker delivers it again."""


class MqttListener:
    """Subscribes to the panic topics and hands each message to the panic service.

    `start` runs it as a supervised task: broker outages reconnect every `retry_s`; a crash restarts it after
    `retry_s`, doubling up to `restart_max_s`. `down_reason` is set from a crash until it is connected again. A
    crash raises one `intake_down` alert per outage; the outage ends (`intake_restored`, backoff back to `retry_s`)
    once the restarted listener has handled a message or stayed connected for `restart_max_s`, so a listener that
    crashes on every reconnect is one outage with growing backoff, not a stream of alerts.
    """

    def __init__(self, url: str, panic, retry_s: float = 5.0, *, press_retry_s: tuple[float, ...],
                 identifier: str = "ems", restart_max_s: float = 60.0, signed_only: bool = True,
                 max_payload_bytes: int = 1_048_576):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 1883
        self.username, self.password = parts.username, parts.password
        self.panic = panic
        self.retry_s = retry_s
        self.restart_max_s = max(restart_max_s, retry_s)
        self.identifier = identifier
        self.signed_only = signed_only
        self.max_payload_bytes = max_payload_bytes  # larger bodies are not parsed (the HTTP body limit's twin)
        self.press_retry_s = press_retry_s  # waits between in-process tries of a press the database refused
        self.connected = asyncio.Event()
        self.down_reason: str | None = None  # why the listener is not running (a crash), None while it runs
        self._outage = False  # an intake_down alert raised, its intake_restored not yet
        self._restart_s = retry_s
        self._recovery: asyncio.Task | None = None  # ends the outage after restart_max_s connected
        self._failures: dict[str, int] = {}  # press → rounds it failed in, by content
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="mqtt-listener")

    async def stop(self) -> None:
        for task in (self._task, self._recovery):
            if task:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    @property
    def health(self) -> str:
        """"ok" while the listener runs (connected or waiting for the broker), else why it is down."""
        if self._task is not None and self._task.done():
            return "stopped"
        return "ok" if self.down_reason is None else f"down: {self.down_reason}"

    async def _supervise(self) -> None:
        """Run the listener forever: whatever ends it is logged, alerted and followed by a restart with backoff."""
        while True:
            try:
                await self._run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # nothing may end panic-button intake for good
                if self._recovery:
                    self._recovery.cancel()
                self.connected.clear()
                MQTT_LISTENER_CRASHES.inc()
                self.down_reason = f"{type(exc).__name__}: {exc}"[:200]
                log.critical("mqtt listener crashed; restarting", exc_info=exc,
                             extra={"restart_in_s": self._restart_s, "broker": f"{self.host}:{self.port}"})
                if not self._outage:
                    self._outage = True
                    await self._alert("intake_down", f"MQTT panic-button intake stopped ({self.down_reason});"
                                                     f" restarting in {self._restart_s:g} s")
                await asyncio.sleep(self._restart_s)
                self._restart_s = min(self._restart_s * 2, self.restart_max_s)

    async def _recovered(self) -> None:
        """The restarted listener works (a message handled, or connected for restart_max_s): the outage is over."""
        if not self._outage:
            return
        self._outage, self._restart_s = False, self.retry_s
        log.warning("mqtt listener running again")
        await self._alert("intake_restored", "MQTT panic-button intake running again")

    async def _recover_after_quiet_connection(self) -> None:
        await asyncio.sleep(self.restart_max_s)
        await self._recovered()

    async def _alert(self, kind: str, detail: str) -> None:
        try:
            await self.panic.alert(LISTENER_ALERT_DEVICE, kind, detail)
        except Exception:  # PostgreSQL down too: the log line above is what is left
            log.exception("mqtt listener alert not stored", extra={"kind": kind})

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
                    self.down_reason = None
                    if self._outage:
                        self._recovery = asyncio.create_task(self._recover_after_quiet_connection())
                    async for message in client.messages:
                        await self.handle(str(message.topic), message.payload)
                        if message.qos > 0:
                            client._client.ack(message.mid, message.qos)
                        if self._outage:
                            await self._recovered()
            except (aiomqtt.MqttError, Redeliver) as exc:
                self.connected.clear()
                if not warned:  # once per outage, not every retry
                    log.warning("mqtt listener reconnecting", extra={"broker": f"{self.host}:{self.port}",
                                                                     "error": str(exc)[:200]})
                    warned = True
                await asyncio.sleep(self.retry_s)

    async def handle(self, topic: str, raw: bytes | bytearray | str | None) -> None:
        """One device message. Returns once it may be acknowledged: used, or dead-lettered (kept for review).
        Raises Redeliver only when neither could be stored (PostgreSQL down), so the broker delivers it again."""
        content = _as_bytes(raw)
        parts = topic.split("/")
        if len(parts) != 4 or parts[3] not in ("press", "heartbeat"):
            await self._dead_letter(topic, content, "unexpected_topic", "not ems/panic/<device>/press|heartbeat")
            return
        device_id, kind = parts[2], parts[3]
        try:
            body, signed = await self.panic.verify_frame(device_id, content), True
        except Unauthenticated as exc:
            if self.signed_only:
                await self._refuse(topic, content, device_id, kind, str(exc))
                return
            body, signed = content, False  # taken unsigned while the fleet's firmware is updated (mqtt_signed_only)
        payload, problem = (_decode(body) if len(body) <= self.max_payload_bytes
                            else (None, f"larger than {self.max_payload_bytes} bytes"))
        if problem is not None:
            await self._dead_letter(topic, content, "malformed", problem)
            if kind != "press":
                return
            payload = {"unparsed": body[:200].decode("utf-8", "replace")}  # a signed emergency is never dropped
        elif signed:
            nonce = payload.get("nonce") if isinstance(payload, dict) else None
            if kind == "press" and isinstance(payload, dict) and isinstance(nonce, str):
                payload.setdefault("message_id", f"nonce:{nonce[:120]}")  # a replay of these bytes is this press
            elif kind == "heartbeat" and not await self.panic.use_mqtt_nonce(device_id, nonce):
                await self._dead_letter(topic, content, "rejected", "heartbeat without a fresh nonce (replayed?)")
                return
        try:
            if kind == "press":
                await self._press(device_id, payload, content, topic)
            else:
                await self.panic.heartbeat(device_id, payload)
        except DomainError as exc:
            if type(exc).__name__ == "Throttled":  # already alerted once per minute; keeping a flood is no use
                log.warning("mqtt message throttled", extra={"device": device_id, "kind": kind})
                return
            await self._dead_letter(topic, content, "rejected", str(exc))
        except Redeliver:
            raise
        except Exception as exc:
            log.exception("mqtt message failed", extra={"device": device_id, "kind": kind})
            await self._dead_letter(topic, content, "failed", repr(exc))

    async def _refuse(self, topic: str, content: bytes, device_id: str, kind: str, reason: str) -> None:
        """An unsigned or forged message: kept for review; a registered device's press alerts the dispatcher
        (once a minute per device), since it may be a real emergency from a misconfigured button."""
        await self._dead_letter(topic, content, "unauthenticated", reason)
        if kind == "press" and reason != "unknown device":
            try:
                await self.panic.alert(device_id, "unauthenticated_press", f"refused MQTT press: {reason}",
                                       once_key=f"unauthenticated:{device_id}:{int(time.time() // 60)}")
            except Exception:
                log.exception("unauthenticated press alert not stored", extra={"device": device_id})

    async def _dead_letter(self, topic: str, content: bytes, category: str, detail: str) -> None:
        """Log, count and keep an unusable message; Redeliver if it cannot be kept (never acknowledged unkept)."""
        log.warning("mqtt message dead-lettered", extra={"topic": topic[:200], "reason": category,
                                                         "detail": detail[:200], "bytes": len(content)})
        try:
            await self.panic.dead_letter(topic, content, f"{category}: {detail}")
        except Exception as exc:
            raise Redeliver(f"dead letter for {topic[:100]} not stored: {exc!r}"[:300]) from exc
        MQTT_DEAD_LETTERS.labels(category).inc()

    async def _press(self, device_id: str, payload, raw, topic: str | None = None) -> None:
        """An emergency: retried while PostgreSQL is unavailable, then left for the broker to redeliver; after
        `GIVE_UP_AFTER_REDELIVERIES` rounds it is dead-lettered and the dispatcher alerted."""
        content = _as_bytes(raw)
        key = hashlib.sha256(device_id.encode() + b"\0" + content).hexdigest()
        for delay_s in (*self.press_retry_s, None):
            try:
                await self.panic.press(device_id, payload, via="mqtt")
                self._failures.pop(key, None)  # stored at last: forget its failed rounds
                return
            except Exception as exc:
                if isinstance(exc, DomainError) and not isinstance(exc, Unavailable):
                    raise  # bad data or an unknown device: a retry cannot help (StoreBusy, Unavailable, can)
                failure = exc
                if delay_s is None or isinstance(exc, UNSTORABLE_DATA):
                    break  # text the database refuses is refused again: not held (and holding up the queue) for it
                log.warning("panic press not stored yet; retrying", extra={"device": device_id,
                                                                           "error": repr(exc)[:200]})
                await asyncio.sleep(delay_s)
        self._failures[key] = rounds = self._failures.get(key, 0) + 1
        if rounds >= GIVE_UP_AFTER_REDELIVERIES or isinstance(failure, UNSTORABLE_DATA):
            log.error("panic press not stored after repeated failures", extra={"device": device_id},
                      exc_info=failure)
            await self._dead_letter(topic or f"ems/panic/{device_id}/press", content, "press_not_stored",
                                    repr(failure))
            del self._failures[key]
            await self._alert("press_not_stored", f"a press from {device_id} could not be stored; see dead letters")
            return
        raise Redeliver(f"press from {device_id} not stored: {failure!r}"[:300])


def _as_bytes(raw: bytes | bytearray | str | None) -> bytes:
    if raw is None:
        return b""
    return raw.encode() if isinstance(raw, str) else bytes(raw)


def _decode(content: bytes) -> tuple[object, str | None]:
    """(payload, None), or (None, why it is unusable). Never raises: json's C decoder turns deep nesting into
    RecursionError (caught), and what it does parse is measured without recursion."""
    if not content.strip():
        return {}, None
    try:
        payload = json.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "not UTF-8"
    except (ValueError, RecursionError) as exc:
        return None, f"not JSON: {type(exc).__name__}: {exc}"[:200]
    level, depth = [payload], 0
    while level:
        depth += 1
        if depth > MAX_PAYLOAD_DEPTH:
            return None, f"JSON nested deeper than {MAX_PAYLOAD_DEPTH}"
        level = [child for node in level if isinstance(node, dict | list)
                 for child in (node.values() if isinstance(node, dict) else node) if isinstance(child, dict | list)]
    return payload, None
