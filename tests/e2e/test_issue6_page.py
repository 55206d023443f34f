"""Human feedback in a real browser, against a real server with the shipped models and a ratings
database of its own: the page draws, answers can be generated, nothing raises."""
import pytest

from conftest import start_server, stop_server
from test_browser import snap, visit

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def feedback_server(models_copy, tmp_path_factory):
    db = tmp_path_factory.mktemp("ratings") / "ratings.sqlite"
    proc, url = start_server(models_copy, {"EXPLAINER_RATINGS_DB": str(db)})
    yield url
    stop_server(proc)


def test_human_feedback_page(page, feedback_server, artifacts):
    visit(page, feedback_server + "/Human_feedback", "Human feedback: thumbs up or down",
          timeout=120_000)
    page.get_by_text("1 · Rate the answers").wait_for()
    page.get_by_text("2 · Learn from the ratings").wait_for()
    snap(page, artifacts / "human-feedback.png")
