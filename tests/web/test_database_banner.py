"""The console's banner while the database fails over: a private PostgreSQL really stopped under a running server."""
import os
import shutil

from runtime.local_services import PostgresCluster
from server import Server
from tests.conftest import TEST_VAR, make_user, server_config
from tests.web.conftest import open_page, shot


async def test_console_shows_database_banner_while_postgres_is_gone(browser, redis_url):
    cluster = PostgresCluster(TEST_VAR / f"pg-banner-{os.getpid()}").start()
    running = Server(server_config(cluster.url.rsplit("/", 1)[0] + "/ems", redis_url))
    await running.start()
    try:
        token = await make_user(running.ctx.pool, "disp-db", "dispatcher")
        context, console = await open_page(browser, f"http://127.0.0.1:{running.config.port}/console.html#token={token}")
        await console.wait_for_selector("text=Connected")
        assert not await console.is_visible("#degraded")
        cluster.stop("immediate")
        banner = console.locator("#degraded.show")
        await banner.wait_for(timeout=15000)
        assert "Database failing over" in await banner.inner_text()
        await console.screenshot(path=shot("console-database-degraded"))
        cluster.start()
        await console.wait_for_selector("#degraded:not(.show)", state="attached", timeout=20000)
        await context.close()
    finally:
        await running.stop()
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)
