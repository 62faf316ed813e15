from server import Server
from tests.conftest import GOOD_REPORT, Api, fresh_rate_window, make_user, reset_state, server_config


async def test_flooding_device_is_throttled_with_one_alert_while_others_keep_flowing(database_url, redis_url):
    await reset_state(database_url, redis_url)
    running = Server(server_config(database_url, redis_url, rate_intake_per_min=3))
    await running.start()
    try:
        base = f"http://127.0.0.1:{running.config.port}"
        flooding = Api(base, await make_user(running.ctx.pool, "panic-1", "device"))
        other = Api(base, await make_user(running.ctx.pool, "panic-2", "device"))
        dispatcher = Api(base, await make_user(running.ctx.pool, "disp", "dispatcher"))
        await fresh_rate_window()
        statuses = [(await flooding.post("/api/v1/incidents", GOOD_REPORT))[0] for _ in range(6)]
        assert statuses == [201, 201, 201, 429, 429, 429]
        response = await flooding.http.fetch(base + "/api/v1/incidents", method="POST", body="{}", raise_error=False,
                                             headers={"Authorization": f"Bearer {flooding.token}"})
        assert response.code == 429 and 1 <= int(response.headers["Retry-After"]) <= 60
        assert (await other.post("/api/v1/incidents", GOOD_REPORT))[0] == 201
        for _ in range(5):
            assert (await dispatcher.post("/api/v1/incidents", GOOD_REPORT))[0] == 201
        _, log = await dispatcher.get("/api/v1/events?since=0")
        alerts = [e for e in log["events"] if e["type"] == "RateLimitTripped"]
        assert len(alerts) == 1 and alerts[0]["payload"]["bucket"] == "intake"
        assert "panic-1" not in str(alerts[0])  # the source is identified by a hash only
    finally:
        await running.stop()
