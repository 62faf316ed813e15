"""Panic buttons over the real Mosquitto and the HMAC-signed webhook: one incident per emergency, replays refused."""
from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import time
from datetime import timedelta

import aiomqtt

from integrations.panic.signing import frame, sign
from runtime import local_services
from server import Server
from tests.conftest import fresh_rate_window, Api, make_user, wait_until
from tests.integrations.conftest import TEST_VAR, integration_config, reset_integrations

GRANDMA = {"id": "PB-0001", "person": "นางสมศรี ใจดี", "address": "12/3 ถ.สุขุมวิท ต.บางปลาสร้อย อ.เมืองชลบุรี",
           "location": {"lat": 13.3611, "lon": 100.9847}, "medical_notes": "โรคหัวใจ, แพ้เพนิซิลลิน / heart disease",
           "contact_phones": ["+66811112222"]}


async def register(api: Api, **changes) -> dict:
    status, device = await api.post("/api/v1/devices", {**GRANDMA, **changes})
    assert status == 201, device
    return device


class Device:
    """A device posting signed webhooks: a fresh nonce and timestamp per HTTP attempt."""

    def __init__(self, api: Api, device: dict):
        self.api, self.id, self.secret = api, device["id"], device["secret"]

    async def post(self, kind: str, payload: dict, *, nonce: str | None = None, at: float | None = None,
                   secret: str | None = None):
        body = json.dumps({**payload, "nonce": nonce or secrets.token_hex(8)}).encode()
        ts = str(int(at if at is not None else time.time()))
        return await self.api.call("POST", f"/api/v1/devices/{self.id}/{kind}", raw=body, token=None, headers={
            "X-EMS-Timestamp": ts, "X-EMS-Signature": sign(secret or self.secret, ts, body)})


async def events_of(api: Api, kind: str) -> list[dict]:
    _, body = await api.get("/api/v1/events?since=0&limit=5000")
    return [e for e in body["events"] if e["type"] == kind]


async def all_incidents(api: Api) -> list[dict]:
    return (await api.get("/api/v1/incidents?open=false"))[1]["incidents"]


async def test_registry_validates_and_never_lists_secrets(ems, dispatcher):
    status, body = await dispatcher.post("/api/v1/devices", {"id": "a/b", "location": {"lat": "x", "lon": 1}})
    assert status == 422
    assert {f["field"] for f in body["error"]["fields"]} >= {"id", "person", "location.lat"}
    device = await register(dispatcher)
    assert len(device["secret"]) >= 32
    assert (await dispatcher.post("/api/v1/devices", GRANDMA))[0] == 409
    _, listed = await dispatcher.get("/api/v1/devices")
    assert [d["id"] for d in listed["devices"]] == ["PB-0001"] and "secret" not in listed["devices"][0]
    crew = Api(dispatcher.base_url, await make_user(ems.ctx.pool, "crew-x", "crew", unit_id="U1"))
    assert (await crew.get("/api/v1/devices"))[0] == 403


async def test_two_presses_and_retries_make_one_red_incident_with_repeats(ems, dispatcher):
    device = Device(Api(dispatcher.base_url), await register(dispatcher))
    first = [await device.post("press", {"message_id": "m-1"}) for _ in range(3)]  # press 1 + two network retries
    assert [s for s, _ in first] == [201, 200, 200] and first[1][1]["duplicate"] is True
    second = await device.post("press", {"message_id": "m-2"})
    assert second[0] == 201 and second[1]["repeat"] is True
    assert await device.post("press", {"message_id": "m-2"}) == (200, {**second[1], "duplicate": True})
    [incident] = await all_incidents(dispatcher)
    assert incident["channel"] == "panic_button" and incident["provisional_colour"] == "red"
    assert incident["address"] == GRANDMA["address"] and incident["location"] == GRANDMA["location"]
    assert any("แพ้เพนิซิลลิน" in note for note in incident["notes"])
    presses = await events_of(dispatcher, "PanicPressed")
    assert [(p["payload"]["repeat"], p["payload"]["press_number"]) for p in presses] == [(False, 1), (True, 2)]


async def test_a_press_after_the_window_opens_a_new_incident(ems, dispatcher):
    device = Device(Api(dispatcher.base_url), await register(dispatcher))
    await device.post("press", {"message_id": "early"})
    async with ems.ctx.pool.acquire() as conn:  # the last press was two minutes ago
        await conn.execute("UPDATE devices SET last_press_at = last_press_at - interval '2 minutes'")
    status, body = await device.post("press", {"message_id": "late"})
    assert status == 201 and body["repeat"] is False
    assert len(await all_incidents(dispatcher)) == 2


async def test_bad_signature_stale_timestamp_reused_nonce_are_401_with_no_incident(ems, dispatcher):
    device = Device(Api(dispatcher.base_url), await register(dispatcher))
    assert (await device.post("press", {"message_id": "a"}, secret="not-the-secret"))[0] == 401
    assert (await device.post("press", {"message_id": "b"}, at=time.time() - 310))[0] == 401
    assert (await device.post("press", {"message_id": "c"}, at=time.time() + 310))[0] == 401
    unknown = Device(device.api, {"id": "PB-9999", "secret": device.secret})
    assert (await unknown.post("press", {"message_id": "d"}))[0] == 401
    raw = await device.api.call("POST", f"/api/v1/devices/{device.id}/press", raw=b'{"nonce":"12345678"}', token=None)
    assert raw[0] == 401  # unsigned
    assert await all_incidents(dispatcher) == []
    assert (await device.post("heartbeat", {"battery": 90}, nonce="nonce-000001"))[0] == 200
    assert (await device.post("press", {"message_id": "e"}, nonce="nonce-000001"))[0] == 401  # replayed nonce
    assert await all_incidents(dispatcher) == []


def signed(device: dict, payload: dict | bytes, *, at: float | None = None) -> bytes:
    """An MQTT payload as a device sends it: signed with its secret (signing.frame), a fresh nonce in the body."""
    body = payload if isinstance(payload, bytes) else json.dumps({"nonce": secrets.token_hex(8), **payload}).encode()
    return frame(device["secret"], int(at if at is not None else time.time()), body)


async def publish(mqtt_url: str, topic: str, payload, qos: int = 1) -> None:
    host, port = mqtt_url.split("//")[1].split(":")
    async with aiomqtt.Client(host, int(port)) as client:
        await client.publish(topic, payload if isinstance(payload, bytes) else json.dumps(payload), qos=qos)


async def test_mqtt_redelivery_is_dropped_and_bad_coordinates_keep_the_incident(ems, dispatcher, mqtt_url):
    device = await register(dispatcher)
    other = await register(dispatcher, id="PB-0002", person="Mr. B")
    assert await wait_until(lambda: _now(ems.integrations.mqtt.connected.is_set()), 15)
    press = signed(device, {"message_id": "q-1", "battery": 80})
    for _ in range(2):  # the same QoS 1 message delivered twice
        await publish(mqtt_url, "ems/panic/PB-0001/press", press)
    await publish(mqtt_url, "ems/panic/PB-0002/press", signed(other, {"message_id": "q-9",
                                                                      "location": {"lat": "NaN", "lon": 200}}))
    assert await wait_until(lambda: _count(dispatcher, 2), 15)
    await asyncio.sleep(0.5)  # a late duplicate would have landed by now
    incidents = {i["callers"][0]["name"]: i for i in await all_incidents(dispatcher)}
    assert len(incidents) == 2
    # the bad coordinates are dropped; the geocoder may place it by the device's registered address, flagged
    flags = incidents["Mr. B"]["location_flags"]
    assert "location_unverified" in flags and (incidents["Mr. B"]["location"] is None or "location_geocoded" in flags)
    assert incidents["Mr. B"]["location"] != {"lat": "NaN", "lon": 200}
    assert incidents["Mr. B"]["provisional_colour"] == "red"
    assert len(await events_of(dispatcher, "PanicPressed")) == 2


async def _now(value):
    return value


async def _count(api: Api, n: int) -> bool:
    return len(await all_incidents(api)) >= n


async def test_flood_from_one_device_is_throttled_with_an_alert_and_others_flow(database_url, redis_url, fake_twilio,
                                                                                   mqtt_url):
    await reset_integrations(database_url, redis_url)
    running = Server(integration_config(database_url, redis_url, fake_twilio, mqtt_url, panic_rate_per_min=5))
    await running.start()
    try:
        api = Api(f"http://127.0.0.1:{running.config.port}", await make_user(running.ctx.pool, "d", "dispatcher"))
        noisy = Device(Api(api.base_url), await register(api))
        quiet = Device(Api(api.base_url), await register(api, id="PB-0002"))
        await fresh_rate_window()
        codes = [(await noisy.post("press", {"message_id": f"f-{n}"}))[0] for n in range(8)]
        assert codes[:5] == [201] * 5 and codes[5:] == [429, 429, 429]
        assert (await quiet.post("press", {"message_id": "q"}))[0] == 201
        alerts = await events_of(api, "DeviceAlertRaised")
        assert [(a["payload"]["device_id"], a["payload"]["kind"]) for a in alerts] == [("PB-0001", "flood")]
        assert len(await all_incidents(api)) == 2
    finally:
        await running.stop()


async def test_low_battery_and_missed_heartbeats_raise_device_alerts_once(database_url, redis_url, fake_twilio,
                                                                          mqtt_url):
    await reset_integrations(database_url, redis_url)
    running = Server(integration_config(database_url, redis_url, fake_twilio, mqtt_url,
                                        device_heartbeat_timeout_s=1.0, device_check_interval_s=0.2))
    await running.start()
    try:
        api = Api(f"http://127.0.0.1:{running.config.port}", await make_user(running.ctx.pool, "d", "dispatcher"))
        device = Device(Api(api.base_url), await register(api))
        for battery in (50, 15, 12):
            assert (await device.post("heartbeat", {"battery": battery}))[0] == 200
        low = [a for a in await events_of(api, "DeviceAlertRaised") if a["payload"]["kind"] == "low_battery"]
        assert len(low) == 1 and "15%" in low[0]["payload"]["detail"]

        async def silent_alerts():
            return [a for a in await events_of(api, "DeviceAlertRaised") if a["payload"]["kind"] == "missed_heartbeat"]

        assert await wait_until(lambda: _len_at_least(silent_alerts, 1), 10)
        await asyncio.sleep(0.6)
        assert len(await silent_alerts()) == 1  # once per silence
    finally:
        await running.stop()


async def _len_at_least(fn, n):
    return len(await fn()) >= n


async def test_server_starts_without_a_broker_and_connects_when_it_appears(database_url, redis_url, fake_twilio):
    await reset_integrations(database_url, redis_url)
    port = local_services.free_port()
    running = Server(integration_config(database_url, redis_url, fake_twilio, f"mqtt://127.0.0.1:{port}"))
    await asyncio.wait_for(running.start(), 30)  # returns although no broker is listening
    broker = None
    try:
        assert not running.integrations.mqtt.connected.is_set()
        api = Api(f"http://127.0.0.1:{running.config.port}", await make_user(running.ctx.pool, "d", "dispatcher"))
        assert (await api.get("/healthz"))[0] == 200
        device = await register(api)
        conf = TEST_VAR / f"mosquitto-late-{port}.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        broker = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert await wait_until(lambda: _now(running.integrations.mqtt.connected.is_set()), 20)
        await publish(f"mqtt://127.0.0.1:{port}", "ems/panic/PB-0001/press",
                      signed(device, {"message_id": "late-broker"}))
        assert await wait_until(lambda: _count(api, 1), 15)
    finally:
        await running.stop()
        if broker:
            broker.terminate()
            broker.wait(10)


async def test_an_address_sending_forged_requests_is_throttled_with_an_alert(ems, dispatcher):
    device = Device(Api(dispatcher.base_url), await register(dispatcher))
    limit = ems.config.rate_intake_per_min
    await fresh_rate_window()
    codes = [(await device.post("press", {"message_id": f"x{n}"}, secret="guessed"))[0] for n in range(limit + 2)]
    assert codes[:limit] == [401] * limit and codes[limit:] == [429, 429]
    trips = [e["payload"]["bucket"] for e in await events_of(dispatcher, "RateLimitTripped")]
    assert trips == ["bad-signature"] and await all_incidents(dispatcher) == []


async def _panic_presses(api: Api) -> list[dict]:
    return [e["payload"] for e in await events_of(api, "PanicPressed")]


async def test_mqtt_presses_within_a_minute_make_one_red_incident_with_the_registered_details(ems, dispatcher,
                                                                                            mqtt_url):
    device = await register(dispatcher)
    assert await wait_until(lambda: _now(ems.integrations.mqtt.connected.is_set()), 15)
    await publish(mqtt_url, "ems/panic/PB-0001/press", signed(device, {"message_id": "p-1", "battery": 64}))
    assert await wait_until(lambda: _count(dispatcher, 1), 15)
    [incident] = await all_incidents(dispatcher)
    assert incident["provisional_colour"] == "red" and incident["channel"] == "panic_button"
    assert incident["address"] == GRANDMA["address"] and any("แพ้เพนิซิลลิน" in n for n in incident["notes"])
    await publish(mqtt_url, "ems/panic/PB-0001/press", signed(device, {"message_id": "p-2"}))  # pressed again
    assert await wait_until(lambda: _len_at_least(lambda: _panic_presses(dispatcher), 2), 15)
    assert [(p["incident_id"], p["repeat"]) for p in await _panic_presses(dispatcher)] == \
        [(incident["id"], False), (incident["id"], True)]
    assert len(await all_incidents(dispatcher)) == 1


async def test_mqtt_heartbeat_with_low_battery_raises_a_device_alert(ems, dispatcher, mqtt_url):
    device = await register(dispatcher)
    assert await wait_until(lambda: _now(ems.integrations.mqtt.connected.is_set()), 15)
    await publish(mqtt_url, "ems/panic/PB-0001/heartbeat", signed(device, {"battery": 9}))

    async def low_battery():
        return [a for a in await events_of(dispatcher, "DeviceAlertRaised") if a["payload"]["kind"] == "low_battery"]

    assert await wait_until(lambda: _len_at_least(low_battery, 1), 15)
    [device] = (await dispatcher.get("/api/v1/devices"))[1]["devices"]
    assert device["battery_pct"] == 9 and device["last_heartbeat_at"] is not None


async def test_identical_presses_without_an_id_are_one_message_only_within_the_window(ems, dispatcher, mqtt_url):
    device = await register(dispatcher)
    assert await wait_until(lambda: _now(ems.integrations.mqtt.connected.is_set()), 15)
    press = signed(device, {})  # a device that sends no message id: its nonce names the press
    for _ in range(2):  # its press delivered twice
        await publish(mqtt_url, "ems/panic/PB-0001/press", press)
    assert await wait_until(lambda: _count(dispatcher, 1), 15)
    ems.ctx.clock.offset = timedelta(seconds=ems.config.panic_repeat_window_s * 2)  # the server's one clock: two windows on
    await publish(mqtt_url, "ems/panic/PB-0001/press", signed(device, {}))  # a new emergency, never a duplicate
    assert await wait_until(lambda: _count(dispatcher, 2), 15)
    assert [p["repeat"] for p in await _panic_presses(dispatcher)] == [False, False]


async def test_a_press_sent_while_the_server_restarts_is_delivered_once_after(database_url, redis_url, fake_twilio,
                                                                               mqtt_url):
    await reset_integrations(database_url, redis_url)
    config = integration_config(database_url, redis_url, fake_twilio, mqtt_url)
    first = Server(config)
    await first.start()
    api = Api(f"http://127.0.0.1:{config.port}", await make_user(first.ctx.pool, "d", "dispatcher"))
    device = await register(api)
    assert await wait_until(lambda: _now(first.integrations.mqtt.connected.is_set()), 15)
    await first.stop()
    while_down = signed(device, {"message_id": "while-down"})
    await publish(mqtt_url, "ems/panic/PB-0001/press", while_down)  # kept by the broker
    again = Server(config)  # the same process identity: it resumes its MQTT session
    await again.start()
    try:
        assert await wait_until(lambda: _count(api, 1), 15)
        await publish(mqtt_url, "ems/panic/PB-0001/press", while_down)  # a late redelivery
        await publish(mqtt_url, "ems/panic/PB-0001/press", signed(device, {"message_id": "after"}))
        assert await wait_until(lambda: _len_at_least(lambda: _panic_presses(api), 2), 15)
        assert [p["message_id"] for p in await _panic_presses(api)] == ["while-down", "after"]
    finally:
        await again.stop()


class FlakyPanic:
    """The panic service failing its first `failures` presses, as if PostgreSQL were restarting."""

    def __init__(self, real, failures: int):
        self.real, self.failures, self.calls = real, failures, 0

    async def press(self, *args, **kwargs):
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionResetError("PostgreSQL restarting")
        return await self.real.press(*args, **kwargs)

    def __getattr__(self, name):  # verify_frame, alert, dead_letter ...: the real service's
        return getattr(self.real, name)


async def test_a_press_that_cannot_be_stored_is_not_acknowledged_and_comes_back(ems, dispatcher, mqtt_url):
    device = await register(dispatcher)
    listener = ems.integrations.mqtt
    assert await wait_until(lambda: _now(listener.connected.is_set()), 15)
    flaky = listener.panic = FlakyPanic(listener.panic, failures=len(listener.press_retry_s) + 1)  # beyond the retries
    await publish(mqtt_url, "ems/panic/PB-0001/press", signed(device, {"message_id": "unlucky"}))
    assert await wait_until(lambda: _count(dispatcher, 1), 20)
    assert flaky.calls > flaky.failures  # given up in-process, redelivered by the broker after reconnecting
    assert [p["message_id"] for p in await _panic_presses(dispatcher)] == ["unlucky"]
