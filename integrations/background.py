"""Work that runs after a webhook has been answered (Twilio waits at most 15 s; we answer well within 2 s)."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine

log = logging.getLogger("ems.integrations")


class AfterWork:
    """Fire-and-track tasks: failures are logged, never raised into a handler; `drain` on shutdown."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task] = set()

    def run(self, coro: Coroutine, what: str) -> asyncio.Task:
        task = asyncio.create_task(self._guard(coro, what))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    @staticmethod
    async def _guard(coro: Coroutine, what: str) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("after-answer work failed: %s", what)

    async def drain(self, timeout_s: float = 3.0) -> None:
        """Let running work finish for up to `timeout_s`, then cancel what is left."""
        if not self.tasks:
            return
        _, pending = await asyncio.wait(list(self.tasks), timeout=timeout_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
