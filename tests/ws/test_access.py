from datetime import timedelta

from db.identity import IdentityStore
from tests.conftest import Api, Socket, make_user
from ws.access import AccessControl


async def test_login_issues_token_and_wrong_password_is_401(server):
    await IdentityStore(server.ctx.pool).upsert_user("nurse-1", "Nurse", "hospital", hospital_id="H1", password="s3cret")
    api = Api(f"http://127.0.0.1:{server.config.port}")
    status, body = await api.post("/api/v1/login", {"user_id": "nurse-1", "password": "wrong"})
    assert status == 401
    status, body = await api.post("/api/v1/login", {"user_id": "nobody", "password": "s3cret"})
    assert status == 401
    status, body = await api.post("/api/v1/login", {"user_id": "nurse-1", "password": "s3cret"})
    assert status == 200 and body["role"] == "hospital" and body["hospital_id"] == "H1"
    status, me = await api.get("/api/v1/me", token=body["token"])
    assert status == 200 and me["user_id"] == "nurse-1"


async def test_logout_closes_that_socket_at_once(server):
    token = await make_user(server.ctx.pool, "disp-2", "dispatcher")
    socket = await Socket.connect(server.config.port, token)
    await socket.next_of("snapshot")
    api = Api(f"http://127.0.0.1:{server.config.port}", token)
    status, _ = await api.post("/api/v1/logout")
    assert status == 200
    while (await socket.next()) is not None:
        pass
    assert socket.conn.close_code == 4401
    status, _ = await api.get("/api/v1/me")
    assert status == 401


async def test_admin_revokes_a_crew_member_and_their_socket_closes(server):
    admin = Api(f"http://127.0.0.1:{server.config.port}", await make_user(server.ctx.pool, "admin-x", "admin"))
    crew_token = await make_user(server.ctx.pool, "crew-b", "crew", unit_id="CB-BLS-02")
    crew = await Socket.connect(server.config.port, crew_token)
    await crew.next_of("snapshot")
    status, body = await admin.post("/api/v1/users/crew-b/revoke")
    assert status == 200 and body["tokens_revoked"] == 1
    while (await crew.next()) is not None:
        pass
    assert crew.conn.close_code == 4401
    status, _ = await Api(admin.base_url, crew_token).get("/api/v1/me")
    assert status == 401
    status, _ = await Api(admin.base_url, crew_token).post("/api/v1/users/admin-x/revoke")
    assert status == 401


async def test_revocation_made_by_another_process_refuses_a_recently_used_token(server):
    token = await make_user(server.ctx.pool, "disp-3", "dispatcher")
    api = Api(f"http://127.0.0.1:{server.config.port}", token)
    assert (await api.get("/api/v1/me"))[0] == 200  # the token is now remembered by this server
    socket = await Socket.connect(server.config.port, token)
    await socket.next_of("snapshot")
    elsewhere = AccessControl(IdentityStore(server.ctx.pool), server.ctx.store, server.ctx.clock,
                              token_ttl=timedelta(hours=1))  # what another server process would run
    await elsewhere.revoke_user("disp-3", actor="admin:elsewhere")
    while (await socket.next()) is not None:  # the AccessRevoked event has reached this server
        pass
    assert (await api.get("/api/v1/me"))[0] == 401
