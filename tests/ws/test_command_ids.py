"""Issue #14 item 8: a WebSocket command id is claimed in the unit of work that runs the command, so one id runs
once even when it arrives on two sockets at the same moment, and a command that failed leaves no claim behind."""
import asyncio

from dispatch.access import Identity, RateLimitTripped
from tests.conftest import Socket, make_user
from tests.ws.test_abuse_crew_frames import SCENE, crew_tablet
from ws.commands import WsCommands


async def reply_to(socket: Socket, client_id: str) -> dict:
    """The `ok` or `error` frame answering `client_id` (event frames in between are skipped)."""
    while True:
        frame = await socket.next()
        assert frame is not None, "socket closed"
        if frame["type"] in ("ok", "error") and frame.get("id") == client_id:
            return frame


class NoteCommands(WsCommands):
    """The real command path plus a `note` command that is not idempotent by itself (each run appends an event),
    so running it twice would show. `meet`: runs that must be in flight before any may go on (forces the race)."""

    def __init__(self, ctx, *, meet: int = 1, fail_first_run: type[Exception] | None = None):
        super().__init__(ctx)
        self.meet, self.fail_first_run = meet, fail_first_run
        self.runs = 0
        self.all_in = asyncio.Event()

    def _cmd_note(self, identity: Identity, frame: dict):
        async def work(uow):
            self.runs += 1
            run = self.runs
            if run >= self.meet:
                self.all_in.set()
            await asyncio.wait_for(self.all_in.wait(), 10)  # every racer has claimed before any commits
            await uow.append(RateLimitTripped(at=self.ctx.clock.now(), bucket="ws-note", source_id=frame["id"],
                                              limit_per_minute=run))
            if self.fail_first_run and run == 1:
                raise self.fail_first_run("the first run fails")
            return {"noted": frame["id"]}
        return work


async def notes(server, client_id: str) -> int:
    return await server.ctx.pool.fetchval(
        "SELECT count(*) FROM events WHERE type = 'RateLimitTripped' AND payload->>'bucket' = 'ws-note'"
        " AND payload->>'source_id' = $1", client_id)


async def test_one_command_id_sent_on_two_sockets_at_once_runs_once(server):
    token = await make_user(server.ctx.pool, "crew-twice", "crew", unit_id="CB-BLS-01")
    sockets = [await Socket.connect(server.config.port, token) for _ in range(2)]
    for socket in sockets:
        await socket.next_of("snapshot")
    server.ctx.ws_commands = NoteCommands(server.ctx, meet=2)
    for socket in sockets:
        await socket.conn.write_message('{"type": "note", "id": "cmd-1"}')
    replies = [await reply_to(socket, "cmd-1") for socket in sockets]
    assert [r["type"] for r in replies] == ["ok", "ok"] and all(r["result"] == {"noted": "cmd-1"} for r in replies)
    assert await notes(server, "cmd-1") == 1
    stored = await server.ctx.pool.fetchval(
        "SELECT result FROM idempotency WHERE scope = 'ws:crew-twice' AND key = 'cmd-1'")
    assert stored["result"] == {"noted": "cmd-1"}
    for socket in sockets:
        socket.close()


async def test_a_command_whose_run_fails_leaves_no_claim_and_its_retry_runs(server):
    commands = NoteCommands(server.ctx, fail_first_run=RuntimeError)
    crew = Identity("crew-retry", "Crew", "crew", unit_id="CB-BLS-02")
    try:
        await commands.handle(crew, {"type": "note", "id": "cmd-2"})
        raise AssertionError("the first run was meant to fail")
    except RuntimeError:
        pass
    assert await server.ctx.pool.fetchval("SELECT count(*) FROM idempotency WHERE key = 'cmd-2'") == 0
    assert await notes(server, "cmd-2") == 0  # the failed run's event went with it
    reply = await commands.handle(crew, {"type": "note", "id": "cmd-2"})
    assert reply["type"] == "ok" and await notes(server, "cmd-2") == 1
    assert await commands.handle(crew, {"type": "note", "id": "cmd-2"}) == reply  # a repeat: the first answer
    assert await notes(server, "cmd-2") == 1


async def test_a_command_cut_by_a_lost_connection_is_run_again_by_the_store_once(server):
    """A connection lost mid-command looks like a failover: the store runs the claimed command again on a fresh
    connection (issue #21), and the crew's one command leaves one event and one claim."""
    commands = NoteCommands(server.ctx, fail_first_run=ConnectionError)
    crew = Identity("crew-cut", "Crew", "crew", unit_id="CB-BLS-02")
    reply = await commands.handle(crew, {"type": "note", "id": "cmd-3"})
    assert reply["type"] == "ok" and commands.runs == 2
    assert await notes(server, "cmd-3") == 1
    assert await server.ctx.pool.fetchval("SELECT count(*) FROM idempotency WHERE key = 'cmd-3'") == 1


async def test_a_refused_command_resent_after_the_unit_moved_on_is_run_again(city):
    server, dispatcher = city
    _, incident = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    tablet, _ = await crew_tablet(server, "CB-BLS-03")
    status, body = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": "CB-BLS-03"})
    assert status == 201, body
    await tablet.conn.write_message('{"type": "status", "id": "s-1", "status": "on_scene"}')
    refused = await reply_to(tablet, "s-1")
    assert refused["type"] == "error" and refused["status"] == 409  # assigned → on scene skips en route
    await tablet.conn.write_message('{"type": "status", "id": "s-2", "status": "en_route"}')
    assert (await reply_to(tablet, "s-2"))["type"] == "ok"
    # the offline queue resends the refused command
    await tablet.conn.write_message('{"type": "status", "id": "s-1", "status": "on_scene"}')
    accepted = await reply_to(tablet, "s-1")
    assert accepted["type"] == "ok" and accepted["result"]["status"] == "on_scene", accepted
    assert (await server.ctx.store.get("units", "CB-BLS-03")).status.value == "on_scene"
    tablet.close()


async def test_two_tablets_acknowledging_with_one_id_at_once_store_one_acknowledgement(city):
    server, dispatcher = city
    _, incident = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    status, assignment = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/assignments",
                                               {"unit_id": "CB-ALS-02"})
    assert status == 201
    token = await make_user(server.ctx.pool, "crew-ack2", "crew", unit_id="CB-ALS-02")
    tablets = [await Socket.connect(server.config.port, token) for _ in range(2)]
    for tablet in tablets:
        await tablet.next_of("snapshot")
    frame = f'{{"type": "ack", "id": "ack-1", "assignment_id": {assignment["id"]}}}'
    await asyncio.gather(*(tablet.conn.write_message(frame) for tablet in tablets))
    replies = [await reply_to(tablet, "ack-1") for tablet in tablets]
    assert {r["type"] for r in replies} == {"ok"} and {r["result"]["id"] for r in replies} == {assignment["id"]}
    acks = await server.ctx.pool.fetchval(
        "SELECT count(*) FROM events WHERE type = 'AssignmentAcknowledged'"
        " AND (payload->>'assignment_id')::bigint = $1", assignment["id"])
    assert acks == 1
    for tablet in tablets:
        tablet.close()
