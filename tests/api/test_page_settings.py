"""The pages' tunable numbers come from the server's settings (issue #17): EMS_PAGE_* → /api/v1/page-settings."""
from server import Server
from tests.conftest import Api, make_user, reset_state, server_config


async def test_page_settings_are_served_from_the_configuration(database_url, redis_url):
    await reset_state(database_url, redis_url)
    server = Server(server_config(database_url, redis_url, page_stale_position_s=45.0, page_confirm_window_s=3.0))
    await server.start()
    try:
        base = f"http://127.0.0.1:{server.config.port}"
        status, _ = await Api(base).get("/api/v1/page-settings", token=None)
        assert status == 401
        crew = Api(base, await make_user(server.ctx.pool, "crew-settings", "crew"))
        status, settings = await crew.get("/api/v1/page-settings")
        assert status == 200
        assert settings == {"stale_position_s": 45.0, "tablet_ping_s": 5.0, "hospital_refresh_s": 15.0,
                            "confirm_window_s": 3.0, "repeat_assignment_s": 8.0}
    finally:
        await server.stop()
