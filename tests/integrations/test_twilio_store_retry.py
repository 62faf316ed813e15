"""A 1669 call or text the database refused is stored in the background, waiting EMS_TWILIO_STORE_RETRY_S between
tries and giving up after EMS_TWILIO_STORE_RETRY_FOR_S (settings, not module constants: issue #13 item 2)."""
import asyncio
from types import SimpleNamespace

import asyncpg
import pytest

from config import Config
from dispatch.errors import FieldError, Invalid
from integrations.background import AfterWork
from integrations.twilio.service import TwilioChannel, _storage_fault, _traceable


def channel(delays: tuple[float, ...], give_up_s: float) -> tuple[TwilioChannel, AfterWork]:
    after = AfterWork()
    ctx = SimpleNamespace(config=Config(twilio_store_retry_s=delays, twilio_store_retry_for_s=give_up_s))
    return TwilioChannel(ctx, notifier=None, after=after), after


class Store:
    """Refuses the first `failures` tries as a database outage would (or with `error`), then stores."""

    def __init__(self, failures: int, error: Exception | None = None):
        self.failures, self.error, self.tries = failures, error, 0

    async def __call__(self) -> None:
        self.tries += 1
        if self.tries <= self.failures:
            raise self.error or ConnectionError("database restarting")


async def settle(after: AfterWork) -> None:
    await asyncio.wait_for(asyncio.gather(*after.tasks), 10)


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """The waits asked of asyncio.sleep, recorded without being spent."""
    real_sleep, asked = asyncio.sleep, []

    async def recorded(delay, *args):
        asked.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", recorded)
    return asked


async def test_waits_the_configured_delays_the_last_repeating_until_stored(waits):
    twilio, after = channel((0.5, 2.0), give_up_s=60)
    store = Store(failures=3)
    twilio._store_later(store, "call CA1", {"CallSid": "CA1"})
    await settle(after)
    assert store.tries == 4 and waits == [0.5, 2.0, 2.0, 2.0]


async def test_gives_up_after_the_configured_time_and_at_once_on_bad_data(waits):
    twilio, after = channel((0.25,), give_up_s=1.0)
    outage = Store(failures=1000)
    twilio._store_later(outage, "call CA2", {"CallSid": "CA2"})
    await settle(after)
    assert outage.tries == 4 and waits == [0.25] * 4  # until 1 s had been waited in all
    bad = Store(failures=1000, error=Invalid(FieldError("body", "no such field")))
    twilio._store_later(bad, "text SM1", {"MessageSid": "SM1"})
    await settle(after)
    assert bad.tries == 1  # bad data is not a storage fault: no retry


def test_a_call_that_could_not_be_stored_is_logged_by_its_ids_never_the_callers_number_or_words():
    params = {"CallSid": "CA1", "AccountSid": "AC1", "From": "+66812345678", "Body": "แม่หมดสติ", "FromCity": "CHON BURI"}
    assert _traceable(params) == {"CallSid": "CA1", "AccountSid": "AC1"}


async def test_a_lost_database_connection_is_retried_as_everywhere_else_and_a_statement_error_is_not(database_url):
    victim, admin = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", victim.get_server_pid())  # as a failover cuts it
        with pytest.raises(Exception) as lost:
            await victim.fetchval("SELECT 1")
        with pytest.raises(asyncpg.PostgresError) as statement_error:
            await admin.fetchval("SELECT 1 / 0")
    finally:
        victim.terminate()
        await admin.close()
    assert _storage_fault(lost.value)
    assert not _storage_fault(statement_error.value)  # the same text would fail the same way on every retry
    assert not _storage_fault(KeyError("incident_id"))  # a bug, not an outage


async def test_a_bug_while_storing_in_the_background_is_not_retried(waits):
    twilio, after = channel((0.25,), give_up_s=60)
    bug = Store(failures=1000, error=KeyError("incident_id"))
    twilio._store_later(bug, "call CA3", {"CallSid": "CA3"})
    await settle(after)
    assert bug.tries == 1
