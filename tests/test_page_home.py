"""The Home page under AppTest: the journey's stages, links to the pages that exist, and the
table of ready models."""
import pytest
from pagetest import open_page, texts

pytestmark = pytest.mark.usefixtures("models_dir")


def shipped(models_dir) -> bool:
    return any(models_dir.glob("*.safetensors"))


def test_home_shows_the_journey(models_dir):
    at = open_page("Home.py")
    md = texts(at.markdown)
    for stage in ("Tokens", "Pretraining", "Instruction tuning", "Human feedback",
                  "Context window", "The two files", "Agents"):
        assert stage in md
    links = [e.proto.page for e in at.main.get("page_link")]     # the journey's, not the sidebar's list
    assert {"Tokens", "Pretraining"} <= set(links)
    from explainer import journey
    missing = [s for s in journey.ROAD + journey.SIDE + journey.AFTER if journey.page_path(s) is None]
    assert ("Coming soon" in texts(at.caption)) == bool(missing)
    assert len(links) == len(journey.ROAD + journey.SIDE + journey.AFTER) - len(missing)
    assert at.sidebar.toggle[0].label == "Presentation mode"
    if shipped(models_dir):
        assert at.table, "the table of ready models"
