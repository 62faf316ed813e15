"""The guided CBD interview and the pre-arrival instructions (issue #18): pure domain, no I/O but the data file.

Each card with key questions (dispatch/data/cbd_interview.json) asks yes/no questions in order; the first answer
that maps to a determinant proposes it (most severe questions come first), and a card answered to the end without
a match proposes its `default` determinant. The dispatcher may choose another determinant, with a reason. The
interview is one `InterviewRecorded` event on the incident's stream, followed by the usual `IncidentTriaged`, so
replay shows the questions, the answers, the proposal and any override.

Cards without key questions still show their card questions and their instructions (the general ones when the card
has none of its own); the dispatcher then picks the determinant (no proposal).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from dispatch.aed import AedPoint, nearest
from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError, Invalid
from dispatch.events import Event
from dispatch.policies import require
from dispatch.ports import Clock, EventStore, get_or_not_found
from dispatch.triage import assess, cards

INTERVIEW_FILE = Path(__file__).parent / "data" / "cbd_interview.json"
ANSWERS = ("yes", "no", "unknown")
REASON_MAX = 500
AED_LIST_MAX = 3  # the coach names the nearest few: one to send a bystander to, and the next if it is locked


class InterviewRecorded(Event, frozen=True):
    """A dispatcher ran the card's key questions. `proposed_determinant` is what the answers gave (None when the
    card has no key questions); `determinant` is what the dispatcher chose, with `override_reason` if it differs."""

    incident_id: int
    group: int
    answers: list[dict[str, str]]  # [{"question": id, "answer": yes|no|unknown, "th", "en"}] in the order asked
    proposed_determinant: int | None
    proposed_code: str | None
    determinant: int
    code: str
    override_reason: str | None = None
    instructions: list[str] = []  # keys of the pre-arrival instructions shown for the chosen determinant


@functools.cache
def interview_data() -> dict[str, Any]:
    """The key-question data file (dispatch/data/cbd_interview.json), read once."""
    return json.loads(INTERVIEW_FILE.read_text(encoding="utf-8"))


def card_interview(group: int) -> dict[str, Any] | None:
    """The key questions of card `group` ({questions, default, instructions}), or None if the card has none."""
    entry = interview_data()["groups"].get(str(group))
    return entry if entry and entry.get("questions") else None


def _card(group: Any) -> dict[str, Any]:
    if isinstance(group, bool) or not isinstance(group, int) or group not in cards():
        raise Invalid(FieldError("group", ErrorCode.CBD_GROUP, max=len(cards())))
    return cards()[group]


def parse_answers(group: int, raw: Any) -> list[dict[str, str]]:
    """Validate `raw` ([{question, answer}] in the order asked) against card `group`'s key questions.

    Raises Invalid naming `answers[i].question` / `answers[i].answer` for unknown questions, repeats or bad answers.
    """
    interview = card_interview(group)
    by_id = {q["id"]: q for q in interview["questions"]} if interview else {}
    known = list(by_id)
    if not isinstance(raw, list) or len(raw) > max(len(known), 1) * 2:
        raise Invalid(FieldError("answers", ErrorCode.ANSWER_LIST))
    answers, seen, errors = [], set(), []
    for i, item in enumerate(raw):
        question = item.get("question") if isinstance(item, dict) else None
        answer = item.get("answer") if isinstance(item, dict) else None
        if question not in known or question in seen:
            errors.append(FieldError(f"answers[{i}].question", ErrorCode.ONE_OF_EACH_ONCE, allowed=", ".join(known)))
            continue
        if answer not in ANSWERS:
            errors.append(FieldError(f"answers[{i}].answer", ErrorCode.YES_NO_UNKNOWN))
            continue
        seen.add(question)
        # the question's wording goes with the answer, so replay shows what was asked even after the card changes
        answers.append({"question": question, "answer": answer, "th": by_id[question]["th"],
                        "en": by_id[question]["en"]})
    if errors:
        raise Invalid(errors)
    return answers


def propose(group: int, answers: list[dict[str, str]]) -> int | None:
    """The determinant (1-based) the answers propose, or None while undecided or for a card without key questions.

    Questions are read in the card's order: the first answered question whose answer maps to a determinant decides.
    When every key question is answered (an "unknown" counts) and none decided, the card's default applies.
    """
    interview = card_interview(group)
    if interview is None:
        return None
    given = {a["question"]: a["answer"] for a in answers}
    for question in interview["questions"]:
        answer = given.get(question["id"])
        if answer is None:
            return None  # not asked yet: no guess past an unanswered question
        if answer in ("yes", "no") and question.get(answer) is not None:
            return int(question[answer])
    return int(interview["default"])


def instruction_keys(group: int, determinant: int | None) -> list[str]:
    """Keys of the pre-arrival instructions for a card's determinant (its own list, else the card's "*" list)."""
    # a card without key questions may still have its own instructions (the dispatcher picks the determinant)
    by_determinant = interview_data()["groups"].get(str(group), {}).get("instructions", {})
    keys = by_determinant.get(str(determinant)) if determinant is not None else None
    return list(keys or by_determinant.get("*") or ["general"])


def instructions_for(group: Any, determinant: Any = None) -> dict[str, Any]:
    """What the console shows for card `group`: key questions, each determinant's instruction keys with codes, and
    the instruction texts (Thai and English). Only `determinant`'s instructions when it is given.

    Raises Invalid (field `card` / `determinant`) for an unknown card or determinant.
    """
    try:
        card = _card(group)
    except Invalid:
        raise Invalid(FieldError("card", ErrorCode.CBD_GROUP, max=len(cards()))) from None
    count = len(card["determinants"])
    if determinant is not None and (isinstance(determinant, bool) or not isinstance(determinant, int)
                                    or not 1 <= determinant <= count):
        raise Invalid(FieldError("determinant", ErrorCode.CBD_DETERMINANT, max=count, group=group))
    chosen = [determinant] if determinant is not None else list(range(1, count + 1))
    determinants = [{"determinant": d, "code": assess(group, d).code, "instructions": instruction_keys(group, d)}
                    for d in chosen]
    keys = sorted({k for d in determinants for k in d["instructions"]})
    texts = interview_data()["instructions"]
    interview = card_interview(group)
    return {"group": group, "name_th": card["name_th"], "name_en": card["name_en"],
            "questions": interview["questions"] if interview else [],
            "card_questions": card["questions"], "guided": interview is not None,
            "determinants": determinants, "instructions": {k: texts[k] for k in keys}}


def is_cpr(group: int, determinant: int) -> bool:
    """Whether the determinant's instructions include telephone CPR coaching."""
    texts = interview_data()["instructions"]
    return any(texts[k].get("cpr") for k in instruction_keys(group, determinant))


class InterviewService:
    """Records an interview and triages the incident with the chosen determinant (auto-dispatch if red)."""

    def __init__(self, clock: Clock, triage_dispatch: Any, store: EventStore, *,
                 aed_points: list[AedPoint] = (), aed_search_m: float = 500.0):
        self.clock = clock
        self.triage_dispatch = triage_dispatch  # dispatch.autodispatch.TriageDispatchService
        self.store = store
        self.aed_points = list(aed_points)  # public defibrillators (EMS_AED_FILE), read once at start
        self.aed_search_m = aed_search_m

    async def aeds_near(self, incident_id: int) -> dict[str, Any]:
        """The AED points nearest the incident's location for the CPR coach: {known, searched_m, location, aeds}.

        `known` says whether any AED points are loaded at all (the coach then says "none within 500 m" rather than
        "no AED data"); `aeds` is empty while the incident has no location. NotFound for an unknown incident.
        """
        incident = await get_or_not_found(self.store, "incidents", incident_id)
        aeds = nearest(self.aed_points, incident.location, within_m=self.aed_search_m,
                       limit=AED_LIST_MAX) if incident.location else []
        return {"incident_id": incident_id, "known": bool(self.aed_points), "searched_m": self.aed_search_m,
                "located": incident.location is not None, "aeds": aeds}

    async def record(self, incident_id: int, body: dict[str, Any], *, actor: str, role: str) -> dict[str, Any]:
        """Validate the answers, propose the determinant, and record the interview with the triage it chose (one
        transaction), then auto-dispatch if red.

        `body`: group (card), answers [{question, answer}], optional determinant (the dispatcher's choice; a choice
        other than the proposal needs `reason`). Returns {incident, interview, assignments}. Invalid for bad fields,
        NotFound for an unknown incident, Conflict for a closed one, Forbidden for a role that may not triage.
        """
        require(role, "triage")
        group = body.get("group")
        _card(group)
        answers = parse_answers(group, body.get("answers", []))
        proposed = propose(group, answers)
        propose_only = body.get("propose_only", False)
        if not isinstance(propose_only, bool):
            raise Invalid(FieldError("propose_only", ErrorCode.MUST_BE_BOOLEAN))
        if body.get("determinant") is not None:
            assess(group, body["determinant"])  # Invalid (determinant) before anything else is answered
        reason = body.get("reason")
        if reason is not None and (not isinstance(reason, str) or len(reason) > REASON_MAX):
            raise Invalid(FieldError("reason", ErrorCode.TEXT_AT_MOST, max=REASON_MAX))
        if propose_only:  # the console asks after each answer; nothing is recorded
            return {"proposed_determinant": proposed,
                    "proposed_code": assess(group, proposed).code if proposed is not None else None,
                    "instructions": instruction_keys(group, proposed) if proposed is not None else [],
                    "cpr": proposed is not None and is_cpr(group, proposed)}
        chosen = body.get("determinant", proposed)
        if chosen is None:
            raise Invalid(FieldError("determinant", ErrorCode.DETERMINANT_UNDECIDED))
        chosen_triage = assess(group, chosen)
        override = proposed is not None and chosen != proposed
        if override and (not isinstance(reason, str) or not reason.strip() or len(reason) > REASON_MAX):
            raise Invalid(FieldError("reason", ErrorCode.OVERRIDE_REASON, max=REASON_MAX))
        event = InterviewRecorded(
            at=self.clock.now(), incident_id=incident_id, group=group, answers=answers, proposed_determinant=proposed,
            proposed_code=assess(group, proposed).code if proposed is not None else None, determinant=chosen,
            code=chosen_triage.code, override_reason=reason.strip() if override else None,
            instructions=instruction_keys(group, chosen))

        # one transaction: the interview and the triage it chose are never recorded one without the other
        triaged = await self.triage_dispatch.triage(incident_id, group, chosen, actor=actor, role=role,
                                                    with_events=(event,))
        return {"incident": triaged.incident, "interview": event, "cpr": is_cpr(group, chosen),
                "assignments": getattr(triaged, "assignments", None) or []}
