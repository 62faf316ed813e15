import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from db.event_store import PostgresEventStore
from db.pool import create_pool
from tests.conftest import GOOD_REPORT

BACKUP = Path(__file__).resolve().parents[2] / "ops" / "backup.sh"


async def test_backup_then_restore_into_empty_database_keeps_every_event(dispatcher_api, server, pg_admin_url, tmp_path):
    for _ in range(5):
        await dispatcher_api.post("/api/v1/incidents", GOOD_REPORT)
    source = urlunsplit(urlsplit(pg_admin_url)._replace(path=f"/{urlsplit(server.config.database_url).path[1:]}"))
    dump = tmp_path / "ems.dump"
    subprocess.run([str(BACKUP), "backup", source, str(dump)], check=True, capture_output=True)
    target = urlunsplit(urlsplit(pg_admin_url)._replace(path="/ems_restore_test"))
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute('DROP DATABASE IF EXISTS "ems_restore_test" WITH (FORCE)')
    await admin.execute('CREATE DATABASE "ems_restore_test"')
    try:
        out = subprocess.run([str(BACKUP), "restore", target, str(dump)], check=True, capture_output=True, text=True)
        assert "restored: 5 events" in out.stdout
        pool = await create_pool(target, min_size=1, max_size=2)
        restored = PostgresEventStore(pool)
        assert await restored.rebuild_projections() == 5
        assert len(await restored.list("incidents")) == 5
        await pool.close()
    finally:
        await admin.execute('DROP DATABASE IF EXISTS "ems_restore_test" WITH (FORCE)')
        await admin.close()
