"""Several server processes share PostgreSQL and Redis; any process can serve any client."""
import asyncio

from tests.conftest import GOOD_REPORT, Api, Socket, make_user


async def test_event_made_through_one_process_reaches_a_socket_on_the_other(two_servers, pool):
    a, b = two_servers
    token = await make_user(pool, "disp-mp", "dispatcher")
    socket = await Socket.connect(b.port, token)
    await socket.next_of("snapshot")
    status, incident = await Api(a.base_url, token).post("/api/v1/incidents", GOOD_REPORT)
    assert status == 201
    [frame] = await socket.events(1)
    assert frame["event"]["payload"]["incident_id"] == incident["id"]
    socket.close()


async def test_sigkilled_process_clients_resume_on_the_other_without_loss_or_duplicates(two_servers, pool):
    a, b = two_servers
    token = await make_user(pool, "disp-kill", "dispatcher")
    api_b = Api(b.base_url, token)
    socket = await Socket.connect(a.port, token)
    await socket.next_of("snapshot")
    seen: list[int] = []
    accepted: list[int] = []
    for i in range(20):
        if i == 10:
            a.kill()
        _, body = await api_b.post("/api/v1/incidents", GOOD_REPORT)
        accepted.append(body["last_seq"])
        if i < 10:
            seen += [f["seq"] for f in await socket.events(1)]
    assert seen == accepted[:10]
    resumed = await Socket.connect(b.port, token, since=seen[-1])
    seen += [f["seq"] for f in await resumed.events(10)]
    await asyncio.sleep(0.5)
    with_extra = seen + [f["seq"] for f in await _drain_events(resumed)]
    assert with_extra == accepted  # every event once, in order
    resumed.close()


async def _drain_events(socket, quiet_s: float = 0.5) -> list[dict]:
    frames = []
    while True:
        try:
            frame = await socket.next(timeout_s=quiet_s)
        except asyncio.TimeoutError:
            return frames
        if frame and frame["type"] == "event":
            frames.append(frame)
