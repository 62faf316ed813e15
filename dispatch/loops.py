"""One helper for the background loops of a process (escalation ladder, periodic integration jobs, and any
connect-and-consume loop such as a relay or an MQTT session): start, stop, retry, and log once per outage.

Pure asyncio (no adapter), so the domain's own loops can use it too.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable


class BackgroundLoop:
    """Runs ``step()`` again and again in one named task until `stop`.

    Each round awaits ``step()`` and then sleeps ``interval_s`` (with ``delay_first`` the sleep comes first). A
    step that raises is logged with its traceback once per outage, the loop goes on after ``interval_s``, and
    the first step that succeeds again logs "recovered". For a long-running step (a connection consumed until it
    drops), ``interval_s`` is the pause before reconnecting, and the step calls `recovered` once it is connected
    (it never returns to say so). Cancellation (``stop``) is the only way out.

    Parameters
    ----------
    name : str
        Task name and the word used in log lines ("escalation ladder").
    step : callable
        ``async def step() -> object``; its result is ignored.
    interval_s : float
        Seconds between the end of one step and the start of the next (also the retry pause after a failure).
    logger : logging.Logger
        Where failures and recoveries are logged.
    delay_first : bool
        Sleep ``interval_s`` before the first step (periodic jobs that need not run at start-up).
    """

    def __init__(self, name: str, step: Callable[[], Awaitable[object]], *, interval_s: float,
                 logger: logging.Logger, delay_first: bool = False):
        self.name = name
        self.step = step
        self.interval_s = interval_s
        self.logger = logger
        self.delay_first = delay_first
        self.failing = False  # True from a failed step until the next successful one
        self._task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        """True between `start` and `stop` while the task has not ended."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the task on the running event loop; a second call while running does nothing."""
        if not self.running:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Cancel the task and wait until it has ended (a step in flight is cancelled); safe if never started."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        if self.delay_first:
            await asyncio.sleep(self.interval_s)
        while True:
            await self.run_once()
            await asyncio.sleep(self.interval_s)

    def recovered(self) -> None:
        """Mark the outage over (logs "recovered" once if there was one), so the next failure is logged again."""
        if self.failing:
            self.logger.info("%s recovered", self.name)
        self.failing = False

    async def run_once(self) -> bool:
        """One step with the loop's failure handling; True if it succeeded. CancelledError propagates."""
        try:
            await self.step()
        except asyncio.CancelledError:
            raise
        except Exception:
            if not self.failing:
                self.logger.exception("%s failed; retrying every %.2f s", self.name, self.interval_s)
            self.failing = True
            return False
        self.recovered()
        return True
