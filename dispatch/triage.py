"""Thai Criteria Based Dispatch: the 25 chief-complaint cards (dispatch/data/cbd_cards.json) → colour, level, code.

Code = group number + colour letter + response level, e.g. "6R1": group 6 (cardiac arrest), red, level 1 (ALS).
A determinant may send several units (`units`), with the least capability of each in `mix` (6R1: ALS and BLS).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

from dispatch.error_codes import ErrorCode
from dispatch.errors import Conflict, FieldError, Invalid
from dispatch.events import Event, IncidentTriaged
from dispatch.model import Capability, Colour, Triage
from dispatch.policies import require
from dispatch.ports import Clock, EventStore, get_or_not_found

CARDS_FILE = Path(__file__).parent / "data" / "cbd_cards.json"
COLOUR_LETTER = {Colour.RED: "R", Colour.YELLOW: "Y", Colour.GREEN: "G", Colour.WHITE: "W"}
LEVEL = {Capability.ALS: 1, Capability.BLS: 2, Capability.FR: 3}
CAPABILITY_FOR_COLOUR = {Colour.RED: Capability.ALS, Colour.YELLOW: Capability.BLS, Colour.GREEN: Capability.BLS,
                         Colour.WHITE: Capability.FR}


@functools.cache
def cards() -> dict[int, dict]:
    """The Thai CBD triage cards by group number, read from dispatch/data/cbd_cards.json (OSError/ValueError if missing
    or malformed)."""
    data = json.loads(CARDS_FILE.read_text(encoding="utf-8"))
    return {card["group"]: card for card in data["groups"]}


def code(group: int, colour: Colour, capability: Capability) -> str:
    """The CBD code of a triage, e.g. `7RA` (group, colour letter, level letter)."""
    return f"{group}{COLOUR_LETTER[colour]}{LEVEL[capability]}"


def assess(group: int, determinant: int) -> Triage:
    """The triage for a card's determinant (1-based, most severe first); Invalid naming the bad field."""
    card = cards().get(group) if isinstance(group, int) and not isinstance(group, bool) else None
    if card is None:
        raise Invalid(FieldError("group", ErrorCode.CBD_GROUP, max=len(cards())))
    options = card["determinants"]
    if isinstance(determinant, bool) or not isinstance(determinant, int) or not 1 <= determinant <= len(options):
        raise Invalid(FieldError("determinant", ErrorCode.CBD_DETERMINANT, max=len(options), group=group))
    chosen = options[determinant - 1]
    colour, capability = Colour(chosen["colour"]), Capability(chosen["capability"])
    return Triage(group=group, group_name_th=card["name_th"], group_name_en=card["name_en"], determinant=determinant,
                  colour=colour, capability=capability, units=chosen.get("units", 1),
                  mix=[Capability(c) for c in chosen.get("mix", [])],
                  code=code(group, colour, capability), text_th=chosen["th"], text_en=chosen["en"])


class TriageService:
    def __init__(self, store: EventStore, clock: Clock):
        self.store = store
        self.clock = clock

    async def triage(self, incident_id: int, group: int, determinant: int, *, actor: str, role: str,
                     with_events: tuple[Event, ...] = ()):
        """Triage by CBD group and determinant and record it; returns the incident. `with_events` (e.g. the
        interview that chose it) are appended first, in the same transaction, so the log never holds one without
        the other.

        Raises
        ------
        Forbidden
            The role may not triage.
        Invalid
            Unknown group or determinant.
        NotFound, Conflict
            No such incident; it is closed or cancelled.
        """
        require(role, "triage")
        return await self._record(incident_id, assess(group, determinant), actor, with_events)

    async def override_colour(self, incident_id: int, colour: str, reason: str, *, actor: str, role: str):
        """A dispatcher's judgement beats the card; the reason is kept with the event."""
        require(role, "triage")
        try:
            new_colour = Colour(colour)
        except ValueError:
            raise Invalid(FieldError("colour", ErrorCode.MUST_BE_COLOUR)) from None
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
            raise Invalid(FieldError("reason", ErrorCode.REASON_REQUIRED, max=500))
        incident = await get_or_not_found(self.store, "incidents", incident_id)
        base = incident.triage or assess(12, 1)  # untriaged: start from "sick person, unknown problem"
        capability = CAPABILITY_FOR_COLOUR[new_colour] if not incident.triage else (
            base.capability if new_colour is base.colour else CAPABILITY_FOR_COLOUR[new_colour])
        triage = Triage(group=base.group, group_name_th=base.group_name_th, group_name_en=base.group_name_en,
                        determinant=base.determinant, colour=new_colour, capability=capability, units=base.units,
                        mix=list(base.mix) if capability is base.capability else [],  # the card's mix fits its level
                        code=code(base.group, new_colour, capability), text_th=base.text_th, text_en=base.text_en,
                        override_reason=reason)
        return await self._record(incident_id, triage, actor)

    async def _record(self, incident_id: int, triage: Triage, actor: str, with_events: tuple[Event, ...] = ()):
        async def work(uow):
            incident = await get_or_not_found(uow, "incidents", incident_id, lock=True)
            if not incident.is_open:
                raise Conflict(ErrorCode.INCIDENT_IS, incident_id=incident_id, status=incident.status.value)
            for event in with_events:
                await uow.append(event)
            await uow.append(IncidentTriaged(at=self.clock.now(), incident_id=incident_id, triage=triage))
            return await uow.get("incidents", incident_id)

        return await self.store.run(actor, work)
