"""The guided CBD interview's proposal rules and pre-arrival instructions (pure domain, no server)."""
from __future__ import annotations

import pytest

from dispatch.errors import Invalid
from dispatch.interview import card_interview, instructions_for, interview_data, is_cpr, parse_answers, propose
from dispatch.triage import assess, cards


def answered(*pairs):
    return [{"question": q, "answer": a} for q, a in pairs]


def test_cardiac_arrest_answers_propose_6R1_with_cpr():
    d = propose(6, answered(("conscious", "no"), ("breathing_normally", "no")))
    assert d == 1 and assess(6, d).code == "6R1" and is_cpr(6, d)
    assert propose(6, answered(("conscious", "no"), ("breathing_normally", "yes"))) == 2
    assert not is_cpr(6, 2)
    assert propose(6, answered(("conscious", "no"))) is None  # undecided until the next question is answered
    assert propose(6, answered(("conscious", "unknown"), ("breathing_normally", "unknown"))) == 1  # in doubt: CPR


def test_the_first_deciding_answer_in_card_order_wins():
    assert propose(7, answered(("sweating_faint", "yes"))) == 1
    assert propose(7, answered(("sweating_faint", "no"), ("over_35_heart", "yes"))) == 2
    assert propose(18, answered(("signs_now", "no"))) == 3
    assert propose(18, answered(("signs_now", "yes"), ("within_4h", "no"))) == 2


def test_every_key_question_card_is_consistent_with_the_cards():
    texts = interview_data()["instructions"]
    for key, interview in interview_data()["groups"].items():
        card = cards()[int(key)]
        count = len(card["determinants"])
        assert all(d == "*" or 1 <= int(d) <= count for d in interview["instructions"])
        if "questions" not in interview:  # instructions only: the dispatcher picks the determinant
            assert set(interview) == {"instructions"} and card_interview(int(key)) is None
            continue
        assert 1 <= interview["default"] <= count
        for question in interview["questions"]:
            assert question["th"] and question["en"]
            for answer in ("yes", "no"):
                assert question.get(answer) is None or 1 <= question[answer] <= count
        for keys in interview["instructions"].values():
            assert all(k in texts for k in keys)
    for text in texts.values():
        assert text["title"]["th"] and text["title"]["en"] and all(s["th"] and s["en"] for s in text["steps"])
    assert {6, 5, 7, 18, 22, 14, 8} <= {int(k) for k in interview_data()["groups"]}


def test_bad_answers_name_their_field():
    with pytest.raises(Invalid) as error:
        parse_answers(6, answered(("conscious", "maybe")))
    assert error.value.errors[0].field == "answers[0].answer"
    with pytest.raises(Invalid) as error:
        parse_answers(6, answered(("conscious", "no"), ("conscious", "yes")))
    assert error.value.errors[0].field == "answers[1].question"


def test_instructions_for_a_card_without_key_questions_are_the_general_ones():
    assert card_interview(3) is None
    guide = instructions_for(3)
    assert not guide["guided"] and guide["card_questions"] and set(guide["instructions"]) == {"general"}
    with pytest.raises(Invalid):
        instructions_for(6, 3)


def test_cards_without_key_questions_have_their_own_instructions_per_determinant():
    """Seizures, burns, drowning, poisoning…: no proposal, but what to tell the caller for the code picked."""
    guide = instructions_for(15)
    assert not guide["guided"] and guide["questions"] == []
    assert {d["determinant"]: d["instructions"] for d in guide["determinants"]}[1] == ["seizure", "general"]
    seizure = guide["instructions"]["seizure"]
    assert seizure["steps"][0]["th"] and seizure["title"]["en"] == "Seizure"
    assert is_cpr(23, 1) and not is_cpr(23, 2)  # a drowned patient not breathing: the CPR coach
    assert instructions_for(21, 3)["determinants"][0]["instructions"] == ["burns", "general"]
    assert set(instructions_for(2, 4)["instructions"]) == {"general"}  # mild itching: nothing special to say
    for group in (2, 9, 10, 13, 15, 21, 23):
        assert card_interview(group) is None and propose(group, []) is None
