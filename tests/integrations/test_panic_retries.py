"""The MQTT listener's bookkeeping of presses that failed to store (no broker needed: `_press` is driven directly)."""
import asyncpg
import pytest

from integrations.panic import mqtt
from integrations.panic.mqtt import MqttListener, Redeliver


class FlakyPanicService:
    """Fails the first `failures` presses with `error` (PostgreSQL restarting), then stores them."""

    def __init__(self, failures: int, error: Exception = ConnectionError("database restarting")):
        self.failures, self.error = failures, error
        self.stored: list[str] = []
        self.dead_letters: list[tuple] = []
        self.alerts: list[tuple] = []

    async def press(self, device_id, payload, *, via):
        if self.failures:
            self.failures -= 1
            raise self.error
        self.stored.append(device_id)

    async def dead_letter(self, topic, raw, reason):
        self.dead_letters.append((topic, raw, reason))

    async def alert(self, device_id, kind, detail):
        self.alerts.append((device_id, kind))


async def test_a_press_that_is_stored_on_redelivery_leaves_no_failure_record():
    panic = FlakyPanicService(failures=3)  # the first delivery's three tries all fail
    listener = MqttListener("mqtt://127.0.0.1:1", panic, press_retry_s=(0, 0))
    with pytest.raises(Redeliver):
        await listener._press("dev-1", {"lat": 13.36}, b'{"lat": 13.36}')
    assert len(listener._failures) == 1
    await listener._press("dev-1", {"lat": 13.36}, b'{"lat": 13.36}')  # the broker's redelivery
    assert panic.stored == ["dev-1"] and listener._failures == {}


async def test_a_press_that_keeps_failing_is_dropped_after_the_last_redelivery():
    panic = FlakyPanicService(failures=100)
    listener = MqttListener("mqtt://127.0.0.1:1", panic, press_retry_s=())
    for _ in range(mqtt.GIVE_UP_AFTER_REDELIVERIES - 1):
        with pytest.raises(Redeliver):
            await listener._press("dev-2", {}, b"{}")
    await listener._press("dev-2", {}, b"{}")  # dead-lettered with an alert, not redelivered forever
    assert listener._failures == {}
    assert [(t, r) for t, r, _ in panic.dead_letters] == [("ems/panic/dev-2/press", b"{}")]
    assert panic.alerts == [("mqtt-listener", "press_not_stored")]


async def test_a_press_the_database_refuses_for_its_content_is_dead_lettered_at_once_with_an_alert():
    """Not an outage: retrying and redelivering it only holds up the presses queued behind it."""
    panic = FlakyPanicService(failures=100, error=asyncpg.DataError("invalid byte sequence"))
    listener = MqttListener("mqtt://127.0.0.1:1", panic, press_retry_s=(60, 60))  # a retry would hang the test
    await listener._press("dev-3", {}, b"{}")
    assert panic.failures == 99  # tried once
    assert [(t, r) for t, r, _ in panic.dead_letters] == [("ems/panic/dev-3/press", b"{}")]
    assert panic.alerts == [("mqtt-listener", "press_not_stored")] and listener._failures == {}
