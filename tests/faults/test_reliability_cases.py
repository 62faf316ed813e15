"""RELIABILITY 5, 7, 17, 28 against real server processes, PostgreSQL and Redis (see docs/reliability.md)."""
import asyncio
import time

import pytest

from db.event_store import PostgresEventStore
from dispatch import demo
from tests.conftest import (
    GOOD_REPORT, Api, Socket, demo_city_server, make_user, reset_state, server_process, wait_until,
)

SCENE = {"lat": 13.3611, "lon": 100.9847}


@pytest.fixture
async def city_with_small_replay_window(database_url, redis_url):
    async with demo_city_server(database_url, redis_url, replay_window=20) as running:
        yield running


async def test_offline_tablet_replays_missed_frames_in_order_and_past_the_window_gets_its_assignment(
    city_with_small_replay_window,
):
    server = city_with_small_replay_window
    base = f"http://127.0.0.1:{server.config.port}"
    dispatcher = Api(base, await make_user(server.ctx.pool, "disp-off", "dispatcher"))
    crew_token = await make_user(server.ctx.pool, "crew-off", "crew", unit_id="CB-BLS-04")
    tablet = await Socket.connect(server.config.port, crew_token)
    last_seen = (await tablet.next_of("snapshot"))["seq"]
    tablet.close()  # the tablet drives into a dead zone

    _, incident = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    status, assignment = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/assignments",
                                               {"unit_id": "CB-BLS-04"})
    assert status == 201
    await dispatcher.post(f"/api/v1/incidents/{incident['id']}/triage", {"group": 11, "determinant": 3})
    head = await server.ctx.store.last_seq()

    back = await Socket.connect(server.config.port, crew_token, since=last_seen)
    # its assignment and the triage; not the report, made before the unit was on it (judged as it was then,
    # like the live frames: the tablet reads the incident itself when the assignment arrives)
    replayed = await back.events(2)
    assert [f["event"]["type"] for f in replayed] == ["UnitAssigned", "IncidentTriaged"]
    assert [f["seq"] for f in replayed] == sorted(f["seq"] for f in replayed) and replayed[-1]["seq"] == head
    assert replayed[0]["event"]["payload"]["assignment_id"] == assignment["id"]
    await dispatcher.post(f"/api/v1/incidents/{incident['id']}/triage", {"group": 11, "determinant": 1})
    [live] = await back.events(1)
    assert live["seq"] == head + 1  # replay hands over to live with no gap and no repeat
    back.close()

    for _ in range(25):  # the gap grows past the replay window (20 events)
        await dispatcher.post("/api/v1/incidents", GOOD_REPORT)
    late = await Socket.connect(server.config.port, crew_token, since=last_seen)
    snapshot = await late.next()
    assert snapshot["type"] == "snapshot", snapshot
    assert snapshot["state"]["assignment"]["id"] == assignment["id"]
    assert snapshot["state"]["incident"]["id"] == incident["id"]
    assert [i["id"] for i in snapshot["state"]["incidents"]] == [incident["id"]]  # nothing of other crews
    late.close()


@pytest.fixture
async def two_city_servers(database_url, redis_url, pool):
    await demo.seed(PostgresEventStore(pool))
    servers = [server_process(database_url, redis_url) for _ in range(2)]
    try:
        await asyncio.gather(*(s.ready(timeout_s=180) for s in servers))
        token = await make_user(pool, "disp-race", "dispatcher")

        async def routing_loaded(s):
            status, _ = await Api(s.base_url, token).get(
                "/api/v1/route?from_lat=13.34&from_lon=100.97&to_lat=13.38&to_lon=100.995")
            return status == 200

        for s in servers:
            assert await wait_until(lambda s=s: routing_loaded(s), 90), "road graph did not load"
        yield servers, token
    finally:
        for s in servers:
            s.stop()


async def test_dispatchers_on_two_processes_racing_for_the_same_units_never_double_book(two_city_servers, pool):
    (a, b), token = two_city_servers
    apis = [Api(a.base_url, token), Api(b.base_url, token)]
    incidents = []
    for i in range(8):
        _, incident = await apis[i % 2].post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
        incidents.append(incident["id"])
    units = ["CB-BLS-01", "CB-BLS-02"]
    # every incident asks for both units at once, through both processes: 16 requests per unit
    attempts = [(incident_id, unit_id, apis[(n + k) % 2]) for n, incident_id in enumerate(incidents)
                for k, unit_id in enumerate(units)]
    results = await asyncio.gather(*(api.post(f"/api/v1/incidents/{i}/assignments", {"unit_id": u})
                                     for i, u, api in attempts))
    statuses = [status for status, _ in results]
    assert sorted(set(statuses)) == [201, 409], statuses
    won = [(i, u) for (i, u, _), (status, _) in zip(attempts, results) if status == 201]
    assert sorted(u for _, u in won) == units  # each unit exactly once
    assigned = await pool.fetch("SELECT payload->>'unit_id' AS unit_id, count(*) AS n FROM events"
                                " WHERE type = 'UnitAssigned' GROUP BY 1")
    assert {r["unit_id"]: r["n"] for r in assigned} == {u: 1 for u in units}
    loser_bodies = [body for status, body in results if status == 409]
    assert all(body["error"]["status"] == 409 and "CB-BLS-0" in body["error"]["message"] for body in loser_bodies)


@pytest.mark.parametrize("location, field", [
    ('{"lat": NaN, "lon": 100.98}', "location.lat"),
    ('{"lat": 13.36, "lon": Infinity}', "location.lon"),
    ('{"lat": "thirteen", "lon": 100.98}', "location.lat"),
    ('{"lat": 91, "lon": 100.98}', "location.lat"),
    ('{"lat": 13.36, "lon": 181}', "location.lon"),
    ('{"lat": 100.98, "lon": 13.36}', "location"),  # swapped
    ('{"lat": 0, "lon": 0}', "location"),  # null island
    ('[13.36, 100.98]', "location"),
])
async def test_malformed_coordinates_are_422_naming_the_field_and_nothing_is_stored(dispatcher_api, location, field):
    raw = f'{{"channel": "app", "location": {location}}}'.encode()
    status, body = await dispatcher_api.post("/api/v1/incidents", raw=raw)
    assert status == 422, body
    named = [f["field"] for f in body["error"]["fields"]]
    assert any(name == field or name.startswith(field + ".") for name in named), named
    _, listing = await dispatcher_api.get("/api/v1/incidents")
    assert listing["incidents"] == []


async def test_ids_and_seqs_past_32_bits_and_js_safe_range_work_end_to_end(server, dispatcher_api):
    big = 2**53 + 10  # past int32 and past what a JavaScript number holds exactly
    await server.ctx.pool.execute(f"SELECT setval(pg_get_serial_sequence('events', 'seq'), {big})")
    await server.ctx.pool.execute(f"SELECT setval('incident_id_seq', {2**31 + 5})")
    socket = await Socket.connect(server.config.port, dispatcher_api.token, since=big)
    created = []
    for n in range(3):
        status, incident = await dispatcher_api.post("/api/v1/incidents", GOOD_REPORT,
                                                     headers={"Idempotency-Key": "k" * 200 if n == 0 else f"k{n}"})
        assert status == 201, incident
        created.append(incident)
    assert [i["id"] for i in created] == [2**31 + 6, 2**31 + 7, 2**31 + 8]
    assert [i["last_seq"] for i in created] == [big + 1, big + 2, big + 3]
    frames = await socket.events(3)
    assert [f["seq"] for f in frames] == [big + 1, big + 2, big + 3]
    status, fetched = await dispatcher_api.get(f"/api/v1/incidents/{created[0]['id']}")
    assert status == 200 and fetched["id"] == created[0]["id"]
    _, page = await dispatcher_api.get(f"/api/v1/events?since={big + 1}")
    assert [e["seq"] for e in page["events"]] == [big + 2, big + 3]
    status, _ = await dispatcher_api.post("/api/v1/incidents", GOOD_REPORT, headers={"Idempotency-Key": "k" * 200})
    assert status == 200  # the longest allowed key still deduplicates
    status, _ = await dispatcher_api.get(f"/api/v1/events?since={2**63}")
    assert status == 422  # out of range is a field error, never a 500
    resumed = await Socket.connect(server.config.port, dispatcher_api.token, since=big + 1)
    assert [f["seq"] for f in await resumed.events(2)] == [big + 2, big + 3]
    socket.close()
    resumed.close()


async def test_silent_crew_is_escalated_even_after_ten_thousand_finished_jobs(database_url, redis_url):
    """No hard-coded cap: the escalation ladder must still see a new assignment when the history is long."""
    fast = dict(ack_timeout_other_s=0.2, ack_timeout_red_s=0.2, escalation_steps_s=(0.0, 30.0, 60.0, 90.0))
    async with demo_city_server(database_url, redis_url, **fast) as running:
        base = f"http://127.0.0.1:{running.config.port}"
        dispatcher = Api(base, await make_user(running.ctx.pool, "disp-long", "dispatcher"))
        crew = Api(base, await make_user(running.ctx.pool, "crew-long", "crew", unit_id="CB-BLS-01"))
        _, incident = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
        _, done = await dispatcher.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": "CB-BLS-01"})
        assert (await crew.post(f"/api/v1/assignments/{done['id']}/ack"))[0] == 200
        # months of finished jobs: 10,000 more acknowledged assignments in the projection, as the app stores them
        await running.ctx.pool.execute(
            "INSERT INTO assignments (id, is_open, last_seq, doc) SELECT g, a.is_open, a.last_seq,"
            " jsonb_set(a.doc, '{id}', to_jsonb(g)) FROM assignments a, generate_series(2, 10001) g WHERE a.id = $1",
            done["id"])
        await running.ctx.pool.execute("SELECT setval('assignment_id_seq', 10001)")

        console = await Socket.connect(running.config.port, dispatcher.token)
        await console.next_of("snapshot")
        _, silent_incident = await dispatcher.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
        status, silent = await dispatcher.post(f"/api/v1/incidents/{silent_incident['id']}/assignments",
                                               {"unit_id": "CB-BLS-03"})
        assert status == 201 and silent["id"] == 10002

        async def escalated():
            return "repush" in (await running.ctx.store.get("assignments", silent["id"])).escalations

        assert await wait_until(escalated, 15), "the ladder never reached the new assignment"
        while (frame := await console.next_of("event", timeout_s=15))["event"]["type"] != "AssignmentEscalated":
            pass
        assert frame["event"]["payload"]["assignment_id"] == silent["id"]  # the dispatcher is told
        assert frame["event"]["payload"]["step"] == "repush"
        console.close()


async def test_concurrent_flood_over_two_processes_is_capped_once_and_other_callers_flow(database_url, redis_url, pool):
    await reset_state(database_url, redis_url)
    limit = 10
    servers = [server_process(database_url, redis_url, EMS_RATE_INTAKE_PER_MIN=str(limit)) for _ in range(2)]
    try:
        await asyncio.gather(*(s.ready(timeout_s=180) for s in servers))
        flooder = await make_user(pool, "panic-flood", "device")
        neighbour = await make_user(pool, "panic-neighbour", "device")
        dispatcher = await make_user(pool, "disp-flood", "dispatcher")
        window_before = int(time.time() // 60)
        flood = [Api(servers[n % 2].base_url, flooder).post("/api/v1/incidents", GOOD_REPORT) for n in range(80)]
        others = [Api(servers[n % 2].base_url, token).post("/api/v1/incidents", GOOD_REPORT)
                  for n, token in enumerate([neighbour, dispatcher] * 3)]
        results = await asyncio.gather(*flood, *others)
        windows = int(time.time() // 60) - window_before + 1  # a minute boundary may fall inside the flood
        flood_statuses = [status for status, _ in results[:80]]
        assert set(flood_statuses) == {201, 429}
        # One budget shared in Redis; when Redis answers slower than the limiter's 50 ms budget (a loaded loop),
        # each process counts on its own rather than delay an emergency: the overshoot is bounded by that.
        bound = limit * (len(servers) + 1) * windows
        accepted = flood_statuses.count(201)
        assert limit <= accepted <= bound, accepted
        assert [status for status, _ in results[80:]] == [201] * 6  # separate buckets: the others all got through
        trips = await pool.fetchval("SELECT count(*) FROM events WHERE type = 'RateLimitTripped'")
        assert 1 <= trips <= len(servers) * windows, trips  # alerted, at most once per process, never per request
        stored = await pool.fetchval("SELECT count(*) FROM incidents")
        assert stored == flood_statuses.count(201) + 6
    finally:
        for s in servers:
            s.stop()
