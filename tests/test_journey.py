"""The journey (explainer/journey.py): the road of pages, found by their titles."""
import doctest

from explainer import journey


def test_doctests():
    assert doctest.testmod(journey).failed == 0


def test_journey_finds_pages_by_title():
    from explainer import journey
    assert journey.slug_of("pages/3_Instruction_tuning.py") == "instructiontuning"
    assert journey.page_path(journey.ROAD[0]) == "pages/1_Tokens.py"
