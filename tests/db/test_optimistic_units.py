"""`PostgresEventStore.run`: units of work that hold no lock while they run and commit in one statement."""
import asyncio
import logging
from datetime import UTC, datetime

import pytest

from dispatch.events import CallersAdded, IncidentReported
from dispatch.model import Caller, Channel
from telemetry.metrics import COMMIT_CONFLICTS, UNITS_SERIALISED


def reported(incident_id: int, **kw) -> IncidentReported:
    return IncidentReported(at=datetime.now(UTC), incident_id=incident_id, channel=Channel.PHONE, **kw)


def add_caller(incident_id: int, n: int) -> CallersAdded:
    return CallersAdded(at=datetime.now(UTC), incident_id=incident_id,
                        callers=[Caller(phone=f"+6681000{n:04d}", channel=Channel.PHONE)])


async def new_incident(store) -> int:
    async def work(uow):
        incident_id = await uow.next_incident_id()
        await uow.append(reported(incident_id))
        return incident_id
    return await store.run("test", work)


async def test_states_read_back_carry_the_seq_drawn_at_commit(store):
    async def work(uow):
        incident_id = await uow.next_incident_id()
        assert await uow.append(reported(incident_id, chief_complaint="chest pain")) is None  # seq not known yet
        await uow.append(add_caller(incident_id, 1))
        return await uow.get("incidents", incident_id)

    incident = await store.run("test", work)
    events = await store.events_since(0)
    assert [e.type for e in events] == ["IncidentReported", "CallersAdded"]
    assert events[0].seq < events[1].seq == incident.last_seq
    stored = await store.get("incidents", incident.id)
    assert stored.last_seq == incident.last_seq and stored.chief_complaint == "chest pain"
    assert len(stored.callers) == 1


async def test_concurrent_read_modify_writes_of_one_row_lose_nothing(store):
    incident_id = await new_incident(store)
    conflicts_before = COMMIT_CONFLICTS._value.get()

    async def one(n):
        async def work(uow):
            await uow.get("incidents", incident_id, lock=True)
            await asyncio.sleep(0.002 * (n % 3))  # let others commit in between
            await uow.append(add_caller(incident_id, n))
        await store.run("test", work)

    await asyncio.gather(*(one(n) for n in range(20)))
    incident = await store.get("incidents", incident_id)
    assert sorted(c.phone for c in incident.callers) == sorted(f"+6681000{n:04d}" for n in range(20))
    assert COMMIT_CONFLICTS._value.get() > conflicts_before  # the interleaving really happened
    seqs = [e.seq for e in await store.events_since(0)]
    assert seqs == sorted(seqs) and len(seqs) == 21
    assert incident.last_seq == seqs[-1]


async def test_a_failing_body_writes_nothing(store):
    async def work(uow):
        await uow.append(reported(await uow.next_incident_id()))
        raise RuntimeError("crash after append")

    with pytest.raises(RuntimeError):
        await store.run("test", work)
    assert await store.events_since(0) == []
    assert await store.list("incidents") == []


async def test_concurrent_claims_of_one_key_create_one_incident(store):
    async def one():
        async def work(uow):
            first = await uow.claim_idempotency("intake", "same-call")
            if first is not None:
                return first["incident_id"]
            incident_id = await uow.next_incident_id()
            await asyncio.sleep(0.005)
            await uow.append(reported(incident_id))
            await uow.remember("intake", "same-call", {"incident_id": incident_id})
            return incident_id
        return await store.run("test", work)

    ids = await asyncio.gather(*(one() for _ in range(10)))
    assert len(set(ids)) == 1
    assert [i.id for i in await store.list("incidents")] == ids[:1]


async def test_a_row_changed_by_a_serialised_unit_is_read_again(store):
    incident_id = await new_incident(store)
    runs = []

    async def work(uow):
        runs.append(uow.serialised)
        await uow.get("incidents", incident_id)
        if len(runs) == 1:  # someone else changes the row after we read it
            async with store.unit_of_work("other") as other:
                await other.append(add_caller(incident_id, 1))
        await uow.append(add_caller(incident_id, 2))

    await store.run("test", work)
    assert runs == [False, False]  # both optimistic
    assert len((await store.get("incidents", incident_id)).callers) == 2


async def test_a_unit_that_always_conflicts_finally_runs_under_the_lock(store, caplog):
    incident_id = await new_incident(store)
    runs = []
    serialised_before = UNITS_SERIALISED._value.get()

    async def work(uow):
        runs.append("serialised" if uow.serialised else "optimistic")
        await uow.get("incidents", incident_id)
        if not uow.serialised:
            async with store.unit_of_work("other") as other:
                await other.append(add_caller(incident_id, len(runs)))
        await uow.append(add_caller(incident_id, 99))

    with caplog.at_level(logging.WARNING, logger="ems.store"):
        await store.run("test", work, attempts=3)
    assert runs == ["optimistic"] * 3 + ["serialised"]
    assert [r.getMessage() for r in caplog.records] == ["unit of work serialised after repeated write conflicts"]
    assert UNITS_SERIALISED._value.get() == serialised_before + 1  # the switch-over is counted
    assert len((await store.get("incidents", incident_id)).callers) == 4
