"""Fixtures for the integration tests: a fake Twilio REST API on loopback and a server wired to it and to the
real Mosquitto, with the integration tables emptied before each test."""
from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg
import paho.mqtt.client as mqtt
import pytest
from twilio.request_validator import RequestValidator

from db.event_store import APPEND_LOCK
from integrations.wiring import mqtt_client_id
from server import Server
from tests.conftest import TEST_VAR, Api, make_user, reset_state, server_config  # noqa: F401
from tests.integrations.fake_twilio import FakeTwilio

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-twilio-auth-token"
FROM_NUMBER = "+6638000000"
LINE_SECRET = "test-line-channel-secret"
PUBLIC_URL = "https://ems.example.org"  # the external URL behind the TLS proxy; the server itself speaks http
INTEGRATION_TABLES = ("outbound_messages", "share_links", "devices", "webhook_nonces", "api_keys",
                      "hospital_endpoints", "mqtt_dead_letters", "calls",
                      "recording_links")


async def reset_integrations(database_url: str, redis_url: str) -> None:
    await reset_state(database_url, redis_url)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"TRUNCATE {', '.join(INTEGRATION_TABLES)}")
    finally:
        await conn.close()


@pytest.fixture
async def fake_twilio():
    # async: the fake must listen on the running session loop; a sync fixture would bind it to whatever loop
    # asyncio.get_event_loop() returns, which after any asyncio.run() elsewhere is a new loop that never runs
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


def forget_mqtt_session(mqtt_url: str, client_id: str) -> None:
    """Drop the broker's stored session for `client_id`: test ports are reused, and a session left by an earlier
    run on the same port would replay that run's queued presses into this one."""
    parts = urlsplit(mqtt_url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    try:
        client.connect(parts.hostname or "127.0.0.1", parts.port or 1883, keepalive=5)
        client.loop_start()
        client.disconnect()
        client.loop_stop()
    except OSError:
        pass  # no broker: nothing stored either


def integration_config(database_url, redis_url, fake_twilio, mqtt_url, **overrides):
    values = dict(twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN, twilio_from_number=FROM_NUMBER,
                  twilio_api_base=fake_twilio.url, public_url=PUBLIC_URL, mqtt_url=mqtt_url, mqtt_retry_s=0.5,
                  hospital_alert_poll_s=0.2, line_channel_secret=LINE_SECRET)
    values.update(overrides)
    config = server_config(database_url, redis_url, **values)
    forget_mqtt_session(config.mqtt_url, mqtt_client_id(config))
    return config


@pytest.fixture
async def ems(database_url, redis_url, fake_twilio, mqtt_url):
    """A running server with Twilio (pointed at the fake), MQTT and a public https URL configured."""
    await reset_integrations(database_url, redis_url)
    running = Server(integration_config(database_url, redis_url, fake_twilio, mqtt_url))
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def dispatcher(ems) -> Api:
    return Api(f"http://127.0.0.1:{ems.config.port}", await make_user(ems.ctx.pool, "disp-int", "dispatcher"))


class TwilioCaller:
    """Posts Twilio-signed webhooks to the server as Twilio would (signature over the external URL)."""

    def __init__(self, server: Server, token: str = AUTH_TOKEN, external_url: str = PUBLIC_URL):
        self.api = Api(f"http://127.0.0.1:{server.config.port}")
        self.validator = RequestValidator(token)
        self.external_url = external_url

    async def post(self, path: str, params: dict[str, str], *, signature: str | None = None):
        from urllib.parse import urlencode

        signature = signature or self.validator.compute_signature(self.external_url + path, params)
        return await self.api.call("POST", path, raw=urlencode(params).encode(), token=None, headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature,
            "X-Forwarded-Proto": "https"})


@pytest.fixture
def twilio(ems) -> TwilioCaller:
    return TwilioCaller(ems)


class AppendLockHolder:
    """Another connection that holds the event log's append lock, as a hung transaction would: writes wait, then
    fail as StoreBusy, until it lets go."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.conn: asyncpg.Connection | None = None

    async def hold(self) -> None:
        self.conn = await asyncpg.connect(self.database_url)
        await self.conn.execute("SELECT pg_advisory_lock($1)", APPEND_LOCK)

    async def release(self) -> None:
        if self.conn is not None:
            await self.conn.close()  # a closed session lets go of its advisory locks
            self.conn = None


@pytest.fixture
async def stuck_append_lock(database_url):
    holder = AppendLockHolder(database_url)
    yield holder
    await holder.release()
