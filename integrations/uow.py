"""Run a service that opens its own unit of work (e.g. IntakeService) inside a transaction already open."""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from dispatch.intake import IntakeService


class JoinedStore:
    """An EventStore whose `unit_of_work` is the caller's open one, so several steps commit (or fail) together.

    Used where a check and a create must be one transaction: a panic press finds the device's recent incident
    and, if there is none, opens one, under the store's append lock, so two presses can never open two incidents.
    """

    def __init__(self, uow: Any):
        self._uow = uow

    @asynccontextmanager
    async def unit_of_work(self, actor: str):
        yield self._uow

    async def run(self, actor: str, body, *, known=()):
        return await body(self._uow)


def intake_within(ctx: Any, uow: Any) -> IntakeService:
    """The server's intake rules (clock, service area), creating incidents inside `uow`."""
    return IntakeService(JoinedStore(uow), ctx.clock, ctx.intake.area)
