"""Issue #14 item 12: MQTT presses are signed with the device's secret, so no other client of the broker can raise
an incident for a registered device (unsigned, another device's secret, stale, replayed). Real Mosquitto."""
from __future__ import annotations

import json
import os
import time

from tests.conftest import wait_until
from tests.integrations.test_panic_buttons import (_count, _len_at_least, _now, all_incidents, events_of, publish,
                                                    register, signed)


# Device ids of this test run only: other test runs may share the broker, and their messages are refused here.
A, B = f"T{os.getpid()}-A", f"T{os.getpid()}-B"


async def dead_letter_reasons(pool) -> list[str]:
    return [r["reason"] for r in await pool.fetch(
        "SELECT reason FROM mqtt_dead_letters WHERE topic LIKE $1 ORDER BY id", f"ems/panic/T{os.getpid()}-%")]


async def test_only_presses_signed_by_the_device_itself_raise_incidents(ems, dispatcher, mqtt_url):
    grandma = await register(dispatcher, id=A)
    neighbour = await register(dispatcher, id=B, person="Mr. B")
    assert await wait_until(lambda: _now(ems.integrations.mqtt.connected.is_set()), 15)
    topic = f"ems/panic/{A}/press"
    await publish(mqtt_url, topic, json.dumps({"message_id": "anon", "nonce": "n-anonymous"}).encode())  # unsigned
    await publish(mqtt_url, topic, signed(neighbour, {"message_id": "forged"}))  # another device's secret
    await publish(mqtt_url, topic, signed(grandma, {"message_id": "old"}, at=time.time() - 400))  # stale
    assert await wait_until(lambda: _len_at_least(lambda: dead_letter_reasons(ems.ctx.pool), 3), 15)
    assert await dead_letter_reasons(ems.ctx.pool) == ["unauthenticated: not a signed frame",
                                                       "unauthenticated: bad signature",
                                                       "unauthenticated: stale timestamp"]
    assert await all_incidents(dispatcher) == []
    alerts = [(a["payload"]["device_id"], a["payload"]["kind"])
              for a in await events_of(dispatcher, "DeviceAlertRaised")]
    assert alerts == [(A, "unauthenticated_press")]  # once a minute: a real button may be misconfigured

    press = signed(grandma, {"message_id": "real"})
    await publish(mqtt_url, topic, press)
    assert await wait_until(lambda: _count(dispatcher, 1), 15)
    [incident] = await all_incidents(dispatcher)
    assert incident["callers"][0]["name"] == grandma["person"]
    replayed_heartbeat = signed(grandma, {"battery": 70})
    for _ in range(2):
        await publish(mqtt_url, f"ems/panic/{A}/heartbeat", replayed_heartbeat)
    await publish(mqtt_url, topic, press)  # captured and replayed within the 300 s window: the same press, once
    assert await wait_until(lambda: _len_at_least(lambda: dead_letter_reasons(ems.ctx.pool), 4), 15)
    assert (await dead_letter_reasons(ems.ctx.pool))[3].startswith("rejected: heartbeat without a fresh nonce")
    await publish(mqtt_url, topic, signed(grandma, {"message_id": "marker"}))  # processed after the replay
    assert await wait_until(lambda: _len_at_least(lambda: events_of(dispatcher, "PanicPressed"), 2), 15)
    presses = [e["payload"]["message_id"] for e in await events_of(dispatcher, "PanicPressed")]
    assert presses == ["real", "marker"]
