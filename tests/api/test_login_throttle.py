"""Issue #14 items 10 and 11: login throttling per user and per address (with backoff, shared through Redis), one
password hash on every login path, and forwarding headers believed only from configured proxies."""
from __future__ import annotations

import asyncio
import hashlib

import pytest
import tornado.httpclient
from tornado.httputil import HTTPHeaders

from api.proxies import client_address, parse_networks
from config import ConfigError
from server import Server
from tests.conftest import Api, make_user, reset_state, server_config

PASSWORD = "correct horse battery staple"


async def login(base: str, user_id: str, password: str, headers: dict | None = None):
    """(status, Retry-After header or None)."""
    response = await tornado.httpclient.AsyncHTTPClient().fetch(
        base + "/api/v1/login", method="POST", raise_error=False, headers=headers or {},
        body=f'{{"user_id": "{user_id}", "password": "{password}"}}')
    return response.code, response.headers.get("Retry-After")


async def running_server(database_url, redis_url, **overrides) -> tuple[Server, str]:
    await reset_state(database_url, redis_url)
    running = Server(server_config(database_url, redis_url, **overrides))
    await running.start()
    await running.ctx.identities.upsert_user("disp-1", "Dispatcher 1", "dispatcher", password=PASSWORD)
    return running, f"http://127.0.0.1:{running.config.port}"


async def test_sixty_wrong_passwords_lock_the_user_and_the_right_one_is_refused_with_retry_after(database_url,
                                                                                                redis_url):
    running, base = await running_server(database_url, redis_url)
    try:
        statuses = [(await login(base, "disp-1", f"guess-{n}"))[0] for n in range(60)]
        limit = running.config.login_max_failures_per_user
        assert statuses == [401] * limit + [429] * (60 - limit)
        status, retry_after = await login(base, "disp-1", PASSWORD)  # the 61st attempt, with the right password
        assert status == 429 and 1 <= int(retry_after) <= running.config.login_lockout_s
        dispatcher = Api(base, await make_user(running.ctx.pool, "sup", "dispatcher"))
        _, log = await dispatcher.get("/api/v1/events?since=0")
        trips = [e["payload"] for e in log["events"] if e["type"] == "RateLimitTripped"]
        assert [t["bucket"] for t in trips] == ["login-user"] and "disp-1" not in str(trips)
        # another process (sharing Redis) refuses it too
        other = Server(server_config(database_url, redis_url))
        await other.start()
        try:
            assert (await login(f"http://127.0.0.1:{other.config.port}", "disp-1", PASSWORD))[0] == 429
        finally:
            await other.stop()
    finally:
        await running.stop()


@pytest.fixture
def scrypt_calls(monkeypatch) -> list[int]:
    """Every password hash computed in this process (the server runs in-process), one entry per call."""
    calls: list[int] = []
    real_scrypt = hashlib.scrypt

    def counting_scrypt(*args, **kwargs):
        calls.append(1)
        return real_scrypt(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting_scrypt)
    return calls


async def test_parallel_guesses_cannot_outrun_the_count(database_url, redis_url, scrypt_calls):
    running, base = await running_server(database_url, redis_url)
    checks = scrypt_calls
    checks.clear()  # the registration's own hash
    try:
        statuses = await asyncio.gather(*(login(base, "disp-1", f"guess-{n}") for n in range(40)))
        wrong = [status for status, _ in statuses if status == 401]
        assert 1 <= len(wrong) <= running.config.login_max_failures_per_user
        assert len(checks) == len(wrong)  # every other guess was refused (429) before hashing
        assert all(status in (401, 429) for status, _ in statuses)
    finally:
        await running.stop()


async def test_backoff_grows_and_a_success_after_the_lock_clears_the_count(database_url, redis_url):
    running, base = await running_server(database_url, redis_url, login_max_failures_per_user=2,
                                         login_lockout_s=60.0, login_lockout_max_s=300.0)
    try:
        assert [(await login(base, "disp-1", "x"))[0] for _ in range(2)] == [401, 401]  # locked for 60 s
        throttle = running.ctx.login_throttle
        first_lock_s = await throttle.locked_for("disp-1", "127.0.0.1")
        assert first_lock_s is not None and first_lock_s <= 60
        await throttle.failed("disp-1", "127.0.0.1")  # a third failure: 120 s
        await throttle.failed("disp-1", "127.0.0.1")  # a fourth: 240 s
        assert 120 < await throttle.locked_for("disp-1", "127.0.0.1") <= 240
        await throttle.failed("disp-1", "127.0.0.1")  # a fifth: 480 s, capped at 300 s
        assert 240 < await throttle.locked_for("disp-1", "127.0.0.1") <= 300
        await throttle.succeeded("disp-1")
        assert await throttle.locked_for("disp-1", "127.0.0.1") is None
        assert (await login(base, "disp-1", PASSWORD))[0] == 200
    finally:
        await running.stop()


async def test_known_and_unknown_users_cost_exactly_one_hash_each(database_url, redis_url, scrypt_calls):
    running, base = await running_server(database_url, redis_url)
    calls = scrypt_calls
    try:
        counts = {}
        for name, user_id, password in (("known, wrong", "disp-1", "nope"), ("unknown", "nobody-here", "nope"),
                                        ("known, right", "disp-1", PASSWORD)):
            calls.clear()
            await login(base, user_id, password)
            counts[name] = len(calls)
        assert counts == {"known, wrong": 1, "unknown": 1, "known, right": 1}
    finally:
        await running.stop()


async def test_forwarded_addresses_are_believed_from_a_trusted_proxy_only(database_url, redis_url):
    # loopback is a trusted proxy (the default): each forwarded client has its own address bucket and audit entry
    running, base = await running_server(database_url, redis_url, login_max_failures_per_address=3)
    try:
        for n in range(4):
            assert (await login(base, f"user-{n}", "x", {"X-Real-IP": "203.0.113.7"}))[0] in (401, 429)
        assert (await login(base, "user-9", "x", {"X-Real-IP": "203.0.113.7"}))[0] == 429
        assert (await login(base, "user-9", "x", {"X-Forwarded-For": "198.51.100.1, 203.0.113.8"}))[0] == 401
        dispatcher = Api(base, await make_user(running.ctx.pool, "sup", "dispatcher"))
        await dispatcher.get("/api/v1/incidents", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"})
        address = await running.ctx.pool.fetchval("SELECT remote_addr FROM audit_log WHERE subject = 'incidents'")
        assert address == "203.0.113.9"  # the nearest untrusted hop, not what the client claimed to the left
    finally:
        await running.stop()
    # only 10.9.9.9 is trusted: a client reaching Tornado directly cannot choose its address
    running, base = await running_server(database_url, redis_url, login_max_failures_per_address=3,
                                         trusted_proxies=("10.9.9.9/32",))
    try:
        statuses = [(await login(base, f"user-{n}", "x", {"X-Real-IP": f"203.0.113.{n}",
                                                           "X-Forwarded-For": f"198.51.100.{n}"}))[0]
                    for n in range(5)]
        assert statuses == [401, 401, 401, 429, 429]  # one bucket: its real address
        dispatcher = Api(base, await make_user(running.ctx.pool, "sup", "dispatcher"))
        await dispatcher.get("/api/v1/incidents", headers={"X-Real-IP": "203.0.113.9"})
        address = await running.ctx.pool.fetchval("SELECT remote_addr FROM audit_log WHERE subject = 'incidents'")
        assert address == "127.0.0.1"
    finally:
        await running.stop()


def test_the_client_address_walks_forwarded_hops_from_the_right_past_trusted_proxies_only():
    trusted = parse_networks(["127.0.0.1", "::1", "10.0.0.0/8"])
    chain = HTTPHeaders({"X-Forwarded-For": "192.0.2.66, 198.51.100.4, 10.1.1.1", "X-Real-IP": "192.0.2.99"})
    assert client_address("127.0.0.1", chain, trusted) == "198.51.100.4"  # the left-most hop is the client's claim
    assert client_address("203.0.113.5", chain, trusted) == "203.0.113.5"  # not a proxy: headers ignored
    assert client_address("::1", HTTPHeaders({"X-Real-IP": "2001:db8::7"}), trusted) == "2001:db8::7"
    assert client_address("127.0.0.1", HTTPHeaders({"X-Forwarded-For": "not-an-ip"}), trusted) == "127.0.0.1"
    with pytest.raises(ConfigError, match="EMS_TRUSTED_PROXIES"):
        parse_networks(["10.0.0.0/33"])
