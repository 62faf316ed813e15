"""One unit-of-work contract (dispatch.ports.UnitOfWork) for every way of running a unit, and the schema it
relies on coming from migrations alone."""
import typing
from datetime import UTC, datetime

import pytest

from db.event_store import PostgresEventStore
from dispatch.events import CallersAdded, IncidentReported
from dispatch.memory_store import MemoryEventStore
from dispatch.model import Caller, Channel
from dispatch.registry import PROJECTIONS

WAYS = ("optimistic run", "serialised unit_of_work", "memory run")


async def run_unit(way: str, store, body):
    """Run `body(uow)` the given way; returns (its result, the unit) after the unit has committed."""
    units = []

    async def tracked(uow):
        units.append(uow)
        return await body(uow)

    if way == "serialised unit_of_work":
        async with store.unit_of_work("test") as uow:
            result = await tracked(uow)
        return result, uow
    return await store.run("test", tracked), units[-1]


@pytest.mark.parametrize("way", WAYS)
async def test_every_unit_draws_seqs_at_commit_and_stamps_what_it_handed_out(way, pool):
    store = MemoryEventStore() if way.startswith("memory") else PostgresEventStore(pool)
    now = datetime.now(UTC)

    async def body(uow):
        incident_id = await uow.next_incident_id()
        appended = [await uow.append(IncidentReported(at=now, incident_id=incident_id, channel=Channel.PHONE)),
                    await uow.append(CallersAdded(at=now, incident_id=incident_id, callers=[Caller(phone="+66810")]))]
        assert appended == [None, None]
        assert await uow.claim_idempotency("contract", way) is None
        await uow.remember("contract", way, {"incident_id": incident_id})
        return await uow.get("incidents", incident_id)

    incident, uow = await run_unit(way, store, body)
    events = await store.events_since(0)
    assert [e.type for e in events] == ["IncidentReported", "CallersAdded"]
    assert uow.last_seq == events[-1].seq == incident.last_seq
    assert (await store.get("incidents", incident.id)).last_seq == uow.last_seq

    async def repeat(uow):
        return await uow.claim_idempotency("contract", way)

    first, _ = await run_unit(way, store, repeat)
    assert first == {"incident_id": incident.id}


async def test_every_projection_table_comes_from_the_migrations(pool):
    """The session database was made by db.migrate alone: each registered projection has its table."""
    assert not hasattr(PostgresEventStore, "ensure_projection_tables")
    for p in PROJECTIONS:
        columns = dict(await pool.fetch(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1", p.name))
        key_type = "bigint" if typing.get_type_hints(p.state_type)["id"] is int else "text"
        assert columns == {"id": key_type, "is_open": "boolean", "last_seq": "bigint", "doc": "jsonb"}, p.name


async def test_the_commit_function_takes_one_named_document(pool):
    signatures = [r["args"] for r in await pool.fetch(
        "SELECT pg_get_function_identity_arguments(oid) AS args FROM pg_proc WHERE proname = 'ems_commit_unit'")]
    assert signatures == ["unit jsonb"]
