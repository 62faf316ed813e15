"""The one background-loop helper (dispatch/loops.py) and the one look-up-or-NotFound helper (dispatch/ports.py)."""
from __future__ import annotations

import asyncio
import logging

import pytest

from dispatch.errors import NotFound
from dispatch.loops import BackgroundLoop
from dispatch.memory_store import MemoryEventStore
from dispatch.ports import get_or_not_found
from dispatch.events import UnitRegistered
from dispatch.model import Capability, LatLon
from dispatch.ports import SystemClock


async def test_a_failing_step_is_logged_once_per_outage_and_the_loop_goes_on(caplog):
    outcomes = iter([RuntimeError("db down"), RuntimeError("db still down"), None, None])
    rounds, fourth = [], asyncio.Event()

    async def step():
        rounds.append(len(rounds))
        if len(rounds) == 4:
            fourth.set()
        outcome = next(outcomes, None)
        if outcome is not None:
            raise outcome

    loop = BackgroundLoop("test job", step, interval_s=0, logger=logging.getLogger("ems.test.loops"))
    with caplog.at_level(logging.INFO, logger="ems.test.loops"):
        loop.start()
        loop.start()  # a second start while running does not start a second task
        await asyncio.wait_for(fourth.wait(), 5)
        await loop.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == "ems.test.loops"]
    assert messages == ["test job failed; retrying every 0.00 s", "test job recovered"]
    assert not loop.running and not loop.failing and len(rounds) >= 4


async def test_stop_cancels_a_step_in_flight_and_is_safe_before_start():
    never_started = BackgroundLoop("idle", asyncio.sleep, interval_s=1, logger=logging.getLogger("ems.test"))
    await never_started.stop()
    entered, cancelled = asyncio.Event(), asyncio.Event()

    async def step():
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    loop = BackgroundLoop("long", step, interval_s=1, logger=logging.getLogger("ems.test"))
    loop.start()
    await asyncio.wait_for(entered.wait(), 5)
    await loop.stop()
    assert cancelled.is_set() and not loop.running


async def test_get_or_not_found_returns_the_row_or_raises_not_found_naming_it():
    store = MemoryEventStore()
    with pytest.raises(NotFound, match="no incident 7"):
        await get_or_not_found(store, "incidents", 7)
    async with store.unit_of_work("test") as uow:
        with pytest.raises(NotFound, match="no unit CB-1"):
            await get_or_not_found(uow, "units", "CB-1", lock=True)
    async with store.unit_of_work("test") as uow:
        await uow.append(UnitRegistered(at=SystemClock().now(), unit_id="CB-1", capability=Capability.BLS,
                                        station_id="st-1", station_name="Station 1", base=LatLon(13.36, 100.98)))
    assert (await get_or_not_found(store, "units", "CB-1")).id == "CB-1"


async def test_a_long_running_step_marks_itself_recovered_so_the_next_outage_is_logged_again(caplog):
    sessions, third = [], asyncio.Event()
    loop: BackgroundLoop

    async def session():  # connects, then "drops": as a subscription that fails after it was up
        sessions.append(1)
        if len(sessions) == 3:
            third.set()
            await asyncio.Event().wait()
        loop.recovered()
        raise ConnectionError("connection lost")

    loop = BackgroundLoop("session", session, interval_s=0, logger=logging.getLogger("ems.test.sessions"))
    with caplog.at_level(logging.INFO, logger="ems.test.sessions"):
        loop.start()
        await asyncio.wait_for(third.wait(), 5)
        await loop.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == "ems.test.sessions"]
    assert messages == ["session failed; retrying every 0.00 s", "session recovered",
                        "session failed; retrying every 0.00 s"]
