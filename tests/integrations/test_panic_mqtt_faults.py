"""Issue #14 item 1: no MQTT message stops panic-button intake, and a listener that dies restarts with an alert
and a /healthz failure while it is down. Against the real Mosquitto."""
from __future__ import annotations

import os

from tests.conftest import Api, make_user, wait_until
from tests.integrations.conftest import integration_config, reset_integrations
from tests.integrations.test_panic_buttons import _count, _now, all_incidents, events_of, publish, register, signed
from server import Server

DEEP = b"[" * 10_000 + b"]" * 10_000  # valid JSON, 10,000 deep
# Device ids of this test run only: other test runs may share the broker, and their messages are refused here.
A, B = f"T{os.getpid()}-A", f"T{os.getpid()}-B"


async def started(config) -> tuple[Server, Api]:
    """A running server of `config` and a dispatcher's API client on it."""
    running = Server(config)
    await running.start()
    return running, Api(f"http://127.0.0.1:{config.port}", await make_user(running.ctx.pool, "d", "dispatcher"))


async def dead_letters(pool) -> list[dict]:
    return [dict(r) for r in await pool.fetch("SELECT topic, reason, payload, payload_bytes FROM mqtt_dead_letters"
                                              " WHERE topic LIKE $1 ORDER BY id", f"ems/panic/T{os.getpid()}-%")]


async def test_a_deeply_nested_press_is_dead_lettered_acknowledged_and_intake_goes_on(database_url, redis_url,
                                                                                      fake_twilio, mqtt_url):
    await reset_integrations(database_url, redis_url)
    config = integration_config(database_url, redis_url, fake_twilio, mqtt_url)
    first, api = await started(config)
    try:
        device = await register(api, id=A)
        assert await wait_until(lambda: _now(first.integrations.mqtt.connected.is_set()), 15)
        deep_heartbeat = signed(device, DEEP)
        await publish(mqtt_url, f"ems/panic/{A}/heartbeat", deep_heartbeat)
        await publish(mqtt_url, f"ems/panic/{A}/press", signed(device, DEEP))  # still a signed emergency
        await publish(mqtt_url, f"ems/panic/{A}/press", signed(device, b"\xff\xfe not text"))
        assert await wait_until(lambda: _count(api, 1), 15)
        await publish(mqtt_url, f"ems/panic/{B}/press", signed(device, {"message_id": "unknown-device"}))
        await publish(mqtt_url, f"ems/panic/{A}/press", DEEP)  # unsigned, from anyone on the broker
        assert await wait_until(lambda: _rows_at_least(first.ctx.pool, 5), 15)
        letters = await dead_letters(first.ctx.pool)
        assert [(d["topic"], d["reason"].split(":")[0]) for d in letters] == [
            (f"ems/panic/{A}/heartbeat", "malformed"), (f"ems/panic/{A}/press", "malformed"),
            (f"ems/panic/{A}/press", "malformed"), (f"ems/panic/{B}/press", "unauthenticated"),
            (f"ems/panic/{A}/press", "unauthenticated")]
        assert bytes(letters[0]["payload"]) == deep_heartbeat and letters[0]["payload_bytes"] == len(deep_heartbeat)
        assert bytes(letters[4]["payload"]) == DEEP
        [incident] = await all_incidents(api)
        assert incident["channel"] == "panic_button" and incident["provisional_colour"] == "red"
        assert first.integrations.mqtt.health == "ok"
    finally:
        await first.stop()
    again = Server(config)  # the same MQTT session: anything left unacknowledged would come back now
    await again.start()
    try:
        assert await wait_until(lambda: _now(again.integrations.mqtt.connected.is_set()), 15)
        await publish(mqtt_url, f"ems/panic/{A}/press", signed(device, {"message_id": "after-restart"}))
        assert await wait_until(lambda: _presses_at_least(api, 3), 15)
        presses = [e["payload"]["message_id"] for e in await events_of(api, "PanicPressed")]
        assert presses[-1] == "after-restart" and len(presses) == 3  # DEEP, the non-text one, then this one
        assert len(await dead_letters(again.ctx.pool)) == 5  # none redelivered
    finally:
        await again.stop()


async def _rows_at_least(pool, n: int) -> bool:
    return len(await dead_letters(pool)) >= n


async def _presses_at_least(api: Api, n: int) -> bool:
    return len(await events_of(api, "PanicPressed")) >= n


async def test_a_crashed_listener_restarts_with_an_alert_and_fails_health_while_down(database_url, redis_url,
                                                                                     fake_twilio, mqtt_url):
    await reset_integrations(database_url, redis_url)
    # a 2 s first restart delay (then 4 s): long enough to watch /healthz fail, short enough for the test
    running = Server(integration_config(database_url, redis_url, fake_twilio, mqtt_url, mqtt_retry_s=2.0,
                                        mqtt_restart_max_s=4.0))
    await running.start()
    try:
        api = Api(f"http://127.0.0.1:{running.config.port}", await make_user(running.ctx.pool, "d", "dispatcher"))
        device = await register(api, id=A)
        listener = running.integrations.mqtt
        assert await wait_until(lambda: _now(listener.connected.is_set()), 15)
        assert (await api.get("/healthz"))[0] == 200
        real_handle, faults = listener.handle, []

        async def handle(topic, raw):  # a fault no handler catches (a bug, a library error, MemoryError ...)
            if len(faults) < 2:  # twice: the redelivery after the first restart crashes it again
                faults.append(topic)
                raise SystemError("listener fault injected by the test")
            await real_handle(topic, raw)

        listener.handle = handle
        await publish(mqtt_url, f"ems/panic/{A}/press", signed(device, {"message_id": "during-crash"}))
        assert await wait_until(lambda: _health_status(api, 503), 15, interval_s=0.05)
        _, health = await api.get("/healthz")
        assert health["failing"] == ["mqtt_listener"] and "SystemError" in health["checks"]["mqtt_listener"]
        # health fails at once; the dispatcher's alert is committed right after it
        assert await wait_until(lambda: _alert_kinds_are(api, ["intake_down"]), 15)
        [alert] = await events_of(api, "DeviceAlertRaised")
        assert alert["payload"]["device_id"] == "mqtt-listener"
        # restarted, the listener gets the unacknowledged press again from the broker and stores it
        assert await wait_until(lambda: _count(api, 1), 20)
        assert await wait_until(lambda: _health_status(api, 200), 15)
        assert await wait_until(lambda: _alert_kinds_are(api, ["intake_down", "intake_restored"]), 15)
        assert len(faults) == 2  # two crashes, one outage: one alert each way
        assert [e["payload"]["message_id"] for e in await events_of(api, "PanicPressed")] == ["during-crash"]
    finally:
        await running.stop()


async def _alert_kinds_are(api: Api, kinds: list[str]) -> bool:
    return [a["payload"]["kind"] for a in await events_of(api, "DeviceAlertRaised")] == kinds


async def _health_status(api: Api, status: int) -> bool:
    return (await api.get("/healthz"))[0] == status


async def test_a_signed_press_whose_id_the_database_cannot_hold_opens_its_incident_without_holding_up_others(
        database_url, redis_url, fake_twilio, mqtt_url):
    """A NUL or a lone surrogate in a signed press's message id (the #14 re-probe): it was taken for a database
    outage and retried and redelivered for ~39 s, holding up every press behind it, and never opened an incident.
    The id is not usable, so the press is keyed like one that sent none; the incident opens at once."""
    await reset_integrations(database_url, redis_url)
    running, api = await started(integration_config(database_url, redis_url, fake_twilio, mqtt_url))
    try:
        first, second = await register(api, id=A), await register(api, id=B)
        assert await wait_until(lambda: _now(running.integrations.mqtt.connected.is_set()), 15)
        await publish(mqtt_url, f"ems/panic/{A}/press", signed(first, {"message_id": "m\u0000x"}))
        await publish(mqtt_url, f"ems/panic/{A}/press", signed(first, {"message_id": "\ud800", "battery": 50}))
        await publish(mqtt_url, f"ems/panic/{B}/press", signed(second, {"message_id": "good"}))
        assert await wait_until(lambda: _presses_at_least(api, 3), 6)  # was ~39 s
        assert len(await all_incidents(api)) == 2  # A's second press joins A's incident
        presses = await events_of(api, "PanicPressed")
        assert [p["payload"]["message_id"].startswith("sha256:") for p in presses[:2]] == [True, True]
        assert running.integrations.mqtt.health == "ok"
    finally:
        await running.stop()
