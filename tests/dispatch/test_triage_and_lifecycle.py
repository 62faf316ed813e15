import pytest

from dispatch.errors import Invalid
from dispatch.lifecycle import NEXT, can_move
from dispatch.model import Capability, Colour, IncidentStatus
from dispatch.triage import assess, cards


def test_every_cbd_group_loads_and_maps_to_a_colour():
    groups = cards()
    assert sorted(groups) == list(range(1, 26))
    for number, card in groups.items():
        assert card["name_th"] and card["name_en"] and card["questions"]
        for index in range(1, len(card["determinants"]) + 1):
            triage = assess(number, index)
            assert triage.colour in Colour and triage.capability in Capability
            assert triage.code.startswith(f"{number}{triage.colour.value[0].upper()}")


def test_cardiac_arrest_is_6R1_with_two_units():
    triage = assess(6, 1)
    assert (triage.code, triage.colour, triage.capability, triage.units) == ("6R1", Colour.RED, Capability.ALS, 2)


def test_unknown_group_or_determinant_names_the_field():
    with pytest.raises(Invalid) as err:
        assess(26, 1)
    assert err.value.errors[0].field == "group"
    with pytest.raises(Invalid) as err:
        assess(6, 9)
    assert err.value.errors[0].field == "determinant"


def test_lifecycle_allows_the_normal_path_and_refuses_jumps():
    path = ["received", "triaged", "assigned", "acknowledged", "en_route", "on_scene", "transporting", "at_hospital",
            "closed"]
    for a, b in zip(path, path[1:]):
        assert can_move(IncidentStatus(a), IncidentStatus(b))
    assert not can_move(IncidentStatus.RECEIVED, IncidentStatus.ON_SCENE)
    assert not can_move(IncidentStatus.CLOSED, IncidentStatus.RECEIVED)
    assert NEXT[IncidentStatus.CANCELLED] == set()
