"""Citizen-app API keys: hashed at rest, token bucket per key with 429 + Retry-After, documented in OpenAPI."""
from __future__ import annotations

import hashlib

from tests.conftest import GOOD_REPORT, Api, make_user


async def _admin(ems) -> Api:
    return Api(f"http://127.0.0.1:{ems.config.port}", await make_user(ems.ctx.pool, "root", "admin"))


async def _report(api: Api, key: str, body=None, **headers):
    return await api.call("POST", "/api/v1/app/incidents", {**GOOD_REPORT, **(body or {})}, token=None,
                          headers={"X-Api-Key": key, **headers})


async def test_keys_are_hashed_and_authenticate_strict_intake(ems, dispatcher):
    admin = await _admin(ems)
    assert (await dispatcher.post("/api/v1/app-keys", {"name": "x"}))[0] == 403
    assert (await admin.post("/api/v1/app-keys", {"name": "", "burst": 0}))[0] == 422
    status, created = await admin.post("/api/v1/app-keys", {"name": "Chonburi Safe", "rate_per_min": 60, "burst": 5})
    assert status == 201 and created["key"].startswith("ems_")
    stored = await ems.ctx.pool.fetchrow("SELECT * FROM api_keys WHERE id = $1", created["id"])
    assert stored["key_sha256"] == hashlib.sha256(created["key"].encode()).hexdigest()
    assert created["key"] not in str(dict(stored))
    public = Api(admin.base_url)
    assert (await _report(public, "ems_wrong"))[0] == 401
    assert (await public.post("/api/v1/app/incidents", GOOD_REPORT, token=None))[0] == 401
    status, body = await _report(public, created["key"], {"location": {"lat": 95, "lon": 100}})
    assert status == 422 and body["error"]["fields"][0]["field"] == "location.lat"
    status, incident = await _report(public, created["key"], **{"Idempotency-Key": "r-1"})
    again = await _report(public, created["key"], **{"Idempotency-Key": "r-1"})
    assert status == 201 and again == (200, incident)
    _, full = await dispatcher.get(f"/api/v1/incidents/{incident['id']}")
    assert full["channel"] == "app"
    assert (await admin.call("DELETE", f"/api/v1/app-keys/{created['id']}"))[0] == 200
    assert (await _report(public, created["key"]))[0] == 401


async def test_flooding_key_gets_429_with_retry_after_and_other_keys_flow(ems, dispatcher):
    admin = await _admin(ems)
    _, noisy = await admin.post("/api/v1/app-keys", {"name": "noisy", "rate_per_min": 6, "burst": 3})
    _, quiet = await admin.post("/api/v1/app-keys", {"name": "quiet", "rate_per_min": 6, "burst": 3})
    public = Api(admin.base_url)
    responses = [await public.http.fetch(f"{admin.base_url}/api/v1/app/incidents", method="POST", raise_error=False,
                                         body=b'{"channel":"app","address":"x"}', headers={"X-Api-Key": noisy["key"]})
                 for _ in range(6)]
    assert [r.code for r in responses] == [201, 201, 201, 429, 429, 429]
    assert 1 <= int(responses[3].headers["Retry-After"]) <= 11  # one token per 10 s
    assert (await _report(public, quiet["key"]))[0] == 201
    _, events = await dispatcher.get("/api/v1/events?since=0")
    trips = [e["payload"] for e in events["events"] if e["type"] == "RateLimitTripped"]
    assert [(t["bucket"], t["source_id"]) for t in trips] == [("app", noisy["id"])]


async def test_integration_paths_are_in_the_openapi_document(ems):
    _, doc = await Api(f"http://127.0.0.1:{ems.config.port}").get("/api/v1/openapi.json")
    paths = doc["paths"]
    assert "429" in paths["/api/v1/app/incidents"]["post"]["responses"]
    post = paths["/api/v1/app/incidents"]["post"]
    assert post["security"] == [] and {"name": "X-Api-Key", "in": "header"}.items() <= post["parameters"][0].items()
    for path in ("/api/v1/app-keys", "/api/v1/devices", "/api/v1/incidents/{incident_id}/messages",
                 "/api/v1/incidents/{incident_id}/caller-history", "/api/v1/share/location"):
        assert path in paths
