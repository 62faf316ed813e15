"""A console that connects mid-shift gets the recent alerts in its snapshot (a silent panic button, a crew that has
not acknowledged), each as its dispatcher could see it when it happened; later ones come live, never twice."""
import re
from datetime import timedelta
from pathlib import Path

import pytest

from dispatch import demo
from server import Server
from tests.api.conftest import agency_tokens
from tests.conftest import Api, Socket, reset_state, routing_ready, server_config, wait_until
from ws.snapshots import ALERT_EVENT_TYPES

SCENE = {"lat": 13.3611, "lon": 100.9847}


@pytest.fixture
async def quick_ladder(database_url, redis_url):
    """The demo province with a ladder that starts 0.3 s after an assignment and stops at its first step."""
    await reset_state(database_url, redis_url)
    running = Server(server_config(database_url, redis_url, ack_timeout_other_s=0.3, ack_timeout_red_s=0.3,
                                   escalation_steps_s=(0.0, 600.0, 1200.0, 1800.0)))
    await running.start()
    await demo.seed(running.ctx.store)
    await routing_ready(running)
    yield running, await agency_tokens(running)
    await running.stop()


async def escalated(server, token: str, unit_id: str) -> int:
    """An incident assigned to `unit_id` whose crew does not acknowledge: the ladder's re-push alerts."""
    centre = Api(f"http://127.0.0.1:{server.config.port}", token)
    _, incident = await centre.post("/api/v1/incidents", {"channel": "phone", "location": SCENE})
    status, body = await centre.post(f"/api/v1/incidents/{incident['id']}/assignments", {"unit_id": unit_id})
    assert status == 201, body

    async def ladder_ran():
        return any(e.type == "AssignmentEscalated" and e.payload["incident_id"] == incident["id"]
                   for e in await server.ctx.store.events_since(0, limit=5000))
    assert await wait_until(ladder_ran, 10)
    return incident["id"]


async def snapshot_alerts(server, token: str) -> tuple[list[dict], Socket]:
    socket = await Socket.connect(server.config.port, token)
    return (await socket.next_of("snapshot"))["state"]["alerts"], socket


def summary(alerts: list[dict]) -> list[tuple]:
    return [(a["type"], a["payload"].get("incident_id"), a["payload"].get("device_id")) for a in alerts]


async def test_a_console_that_connects_later_is_shown_the_alerts_raised_before(quick_ladder):
    server, tokens = quick_ladder
    await server.ctx.panic.alert("PB-0042", "missed_heartbeat", "no heartbeat since 08:00")
    foundations = await escalated(server, tokens["centre"], "CB-FR-01")  # the foundation's unit
    paos = await escalated(server, tokens["centre"], "CB-BLS-02")  # the PAO's unit

    alerts, centre = await snapshot_alerts(server, tokens["centre"])
    assert ("DeviceAlertRaised", None, "PB-0042") in summary(alerts)
    assert {("AssignmentEscalated", foundations, None), ("AssignmentEscalated", paos, None)} <= set(summary(alerts))
    seqs = [a["seq"] for a in alerts]
    assert seqs == sorted(seqs) and {a["type"] for a in alerts} <= set(ALERT_EVENT_TYPES)
    escalation = next(a for a in alerts if a["type"] == "AssignmentEscalated" and a["payload"]["incident_id"] == paos)
    assert escalation["payload"]["step"] == "repush" and escalation["occurred_at"]

    # each agency's console: its own incident's alerts only, and no device alerts of the centre
    pao, pao_socket = await snapshot_alerts(server, tokens[demo.PAO])
    assert summary(pao) == [("AssignmentEscalated", paos, None)]
    foundation, foundation_socket = await snapshot_alerts(server, tokens[demo.FOUNDATION])
    assert summary(foundation) == [("AssignmentEscalated", foundations, None)]

    # an alert after the snapshot comes live once, and is not in the snapshot of the socket already open
    await server.ctx.panic.alert("PB-0043", "low_battery", "battery at 9%")
    frame = await centre.next_event("DeviceAlertRaised")
    assert frame["event"]["payload"]["device_id"] == "PB-0043"
    assert frame["seq"] > max(seqs)
    for socket in (centre, pao_socket, foundation_socket):
        socket.close()


async def test_recent_alerts_are_bounded_by_age_and_count(quick_ladder):
    server, _ = quick_ladder
    for n in range(3):
        await server.ctx.panic.alert(f"PB-00{n}", "low_battery", f"battery at {n}%")
    head = await server.ctx.store.last_seq()
    now = server.ctx.clock.now()
    recent = await server.ctx.store.recent_events(ALERT_EVENT_TYPES, since=now - timedelta(hours=1),
                                                  until_seq=head, limit=2)
    assert [e.payload["device_id"] for e in recent] == ["PB-001", "PB-002"]  # the newest two, oldest first
    assert await server.ctx.store.recent_events(ALERT_EVENT_TYPES, since=now + timedelta(seconds=1),
                                                until_seq=head, limit=10) == []
    assert [e.payload["device_id"] for e in await server.ctx.store.recent_events(
        ALERT_EVENT_TYPES, since=now - timedelta(hours=1), until_seq=head - 1, limit=10)] == ["PB-000", "PB-001"]


def test_the_snapshot_carries_every_type_the_console_lists_as_an_alert():
    """ALERT_EVENT_TYPES and the console's alert lines (alerts.js alertText, mutualaid.js aidAlert) name the same
    event types: an alert the console shows live is also shown to a console that connects later."""
    web = Path(__file__).resolve().parents[2] / "web" / "js" / "console"
    listed = set(re.findall(r'case "(\w+)"', (web / "alerts.js").read_text()))
    aid = (web / "mutualaid.js").read_text().split("export function aidAlert", 1)[1].split("\n}\n", 1)[0]
    listed |= set(re.findall(r'type === "(\w+)"', aid))
    assert listed == set(ALERT_EVENT_TYPES)
