from datetime import UTC, datetime

from dispatch.access import Identity, Visibility, event_view
from dispatch.ports import StoredEvent
from ws.hub import SNAPSHOT, Client, Hub


def event(seq: int, **payload) -> StoredEvent:
    return StoredEvent(seq, "incident-1", "IncidentReported", {"incident_id": 1, **payload}, "t", datetime.now(UTC))


def test_slow_client_overflow_is_replaced_by_one_snapshot_and_others_unaffected():
    hub = Hub(Visibility())
    slow = Client(Identity("d1", "D1", "dispatcher"), queue_size=3)
    fast = Client(Identity("d2", "D2", "dispatcher"), queue_size=100)
    hub.add(slow)
    hub.add(fast)
    for seq in range(1, 11):
        hub.deliver(event(seq))
    slow_items = [slow.queue.get_nowait() for _ in range(slow.queue.qsize())]
    assert slow.overflowed
    assert slow_items[0] is SNAPSHOT and all(isinstance(i, StoredEvent) for i in slow_items[1:])
    assert [i.seq for i in slow_items[1:]] == list(range(11 - len(slow_items) + 1, 11))
    assert [fast.queue.get_nowait().seq for _ in range(10)] == list(range(1, 11))


def test_hospital_view_never_contains_phone_numbers():
    visibility = Visibility()
    hospital = Identity("h", "H", "hospital", hospital_id="H1")
    payload = {"incident_id": 1, "hospital_id": "H1", "caller": {"phone": "+66811111111", "name": "A"},
               "callers": [{"phone": "+66822222222"}]}
    assert visibility.can_see(hospital, event(1, **payload))
    assert "+668" not in str(event_view(hospital, "IncidentReported", payload))
    other = Identity("h2", "H2", "hospital", hospital_id="H2")
    assert not visibility.can_see(other, event(2, **payload))


async def test_a_token_recheck_round_closes_only_the_sockets_whose_token_no_longer_verifies():
    hub = Hub(Visibility())
    closed: dict[str, tuple[int, str]] = {}
    clients = {}
    for token in ("valid", "revoked", "db-error"):
        client = Client(Identity(token, token, "dispatcher"), queue_size=10, token=token)
        client.close = lambda code, reason, token=token: closed.__setitem__(token, (code, reason))
        hub.add(client)
        clients[token] = client

    async def verify(token: str):
        if token == "db-error":
            raise ConnectionError("database restarting")  # kept: checked again next round
        return Identity(token, token, "dispatcher") if token == "valid" else None

    await hub.recheck_tokens(verify)
    assert closed == {"revoked": (4401, "token expired or revoked")}
    assert clients["revoked"] not in hub.clients and clients["valid"] in hub.clients and clients["db-error"] in hub.clients
