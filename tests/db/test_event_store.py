import asyncio
from datetime import UTC, datetime

import pytest

from dispatch.events import IncidentReported
from dispatch.model import Channel, IncidentStatus, LatLon


def reported(incident_id: int, **kw) -> IncidentReported:
    return IncidentReported(at=datetime.now(UTC), incident_id=incident_id, channel=Channel.PHONE, **kw)


async def test_append_updates_projection_in_same_transaction(store):
    async with store.unit_of_work("test") as uow:
        incident_id = await uow.next_incident_id()
        await uow.append(reported(incident_id, location=LatLon(13.36, 100.98)))
    seq = uow.last_seq  # drawn at commit
    incident = await store.get("incidents", incident_id)
    assert incident.status is IncidentStatus.RECEIVED
    assert incident.last_seq == seq
    assert [e.seq for e in await store.events_since(0)] == [seq]


async def test_failure_rolls_back_event_and_projection(store):
    with pytest.raises(RuntimeError):
        async with store.unit_of_work("test") as uow:
            await uow.append(reported(77))
            raise RuntimeError("crash after append")
    assert await store.get("incidents", 77) is None
    assert await store.events_since(0) == []


async def test_events_are_append_only(store, pool):
    async with store.unit_of_work("test") as uow:
        await uow.append(reported(1))
    with pytest.raises(Exception, match="append-only"):
        await pool.execute("UPDATE events SET type = 'Forged'")
    with pytest.raises(Exception, match="append-only"):
        await pool.execute("DELETE FROM events")


async def test_projections_rebuild_from_the_log(store, pool):
    for i in (1, 2, 3):
        async with store.unit_of_work("test") as uow:
            await uow.append(reported(i, chief_complaint=f"c{i}"))
    before = [i.chief_complaint for i in await store.list("incidents")]
    await pool.execute("UPDATE incidents SET doc = jsonb_set(doc, '{chief_complaint}', '\"tampered\"')")
    assert await store.rebuild_projections() == 3
    assert [i.chief_complaint for i in await store.list("incidents")] == before


async def test_seq_order_is_commit_order_under_concurrency(store):
    async def one(i):
        async with store.unit_of_work("test") as uow:
            await uow.append(reported(i))
            await asyncio.sleep(0.001 * (i % 3))
    await asyncio.gather(*(one(i) for i in range(1, 31)))
    events = await store.events_since(0)
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert len(events) == 30


async def test_idempotency_claim_returns_first_result(store):
    async with store.unit_of_work("test") as uow:
        assert await uow.claim_idempotency("intake", "abc") is None
        await uow.remember("intake", "abc", {"incident_id": 5})
    async with store.unit_of_work("test") as uow:
        assert await uow.claim_idempotency("intake", "abc") == {"incident_id": 5}


async def test_readers_never_see_a_later_seq_before_an_earlier_one(store):
    """A relay publishing "everything after seq N" must never pass a seq that is still to commit."""
    seen: list[list[int]] = []
    writing = True

    async def write(i):
        async with store.unit_of_work("test") as uow:
            incident_id = await uow.next_incident_id()
            await uow.append(reported(incident_id))
            await asyncio.sleep(0.002 * (i % 4))  # commit late, after others that started later
            await uow.append(reported(await uow.next_incident_id()))

    async def watch():
        while writing:
            seen.append([e.seq for e in await store.events_since(0)])
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    await asyncio.gather(*(write(i) for i in range(40)))
    writing = False
    await watcher
    final = [e.seq for e in await store.events_since(0)]
    assert len(final) == 80
    assert all(final[:len(view)] == view for view in seen)


async def test_units_of_work_locking_rows_in_opposite_orders_both_commit(store):
    for i in (1, 2):
        async with store.unit_of_work("test") as uow:
            await uow.append(reported(i))

    async def lock_then_note(first, second):
        async with store.unit_of_work("test") as uow:
            await uow.get("incidents", first, lock=True)
            await asyncio.sleep(0.01)
            await uow.get("incidents", second, lock=True)
            await uow.append(reported(100 + first))

    await asyncio.gather(lock_then_note(1, 2), lock_then_note(2, 1))
    assert {i.id for i in await store.list("incidents")} == {1, 2, 101, 102}


async def test_a_unit_of_work_reads_its_own_writes(store):
    async with store.unit_of_work("test") as uow:
        incident_id = await uow.next_incident_id()
        assert await uow.get("incidents", incident_id) is None
        assert await uow.append(reported(incident_id, chief_complaint="chest pain")) is None  # seq drawn at commit
        mine = await uow.get("incidents", incident_id, lock=True)
        assert mine.chief_complaint == "chest pain"
        mine.chief_complaint = "changed by the caller only"
        assert (await uow.get("incidents", incident_id)).chief_complaint == "chest pain"
    seq = uow.last_seq
    assert seq > 0 and mine.last_seq == seq  # the state handed out is stamped with the committed seq
    stored = await store.get("incidents", incident_id)
    assert stored.chief_complaint == "chest pain" and stored.last_seq == seq


async def test_get_many_reads_the_rows_that_exist_in_the_order_asked(store):
    async with store.unit_of_work("test") as uow:
        for incident_id in (1, 2, 3):
            await uow.append(reported(incident_id))
    rows = await store.get_many("incidents", [3, 99, 1])
    assert [r.id for r in rows] == [3, 1]  # the missing one left out
    assert await store.get_many("incidents", []) == []
