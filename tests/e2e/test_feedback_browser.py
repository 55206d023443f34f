"""Human feedback in a real browser, against the real server with the shipped models and an empty
ratings database: the whole loop a class would do. Two thumbs by hand, 200 simulated ratings,
then learning from them: the reward model's accuracy and the live reward/KL charts appear, Stop
keeps the model trained so far, and the before/after section compares that model, also counted
over hundreds of held-out answers."""
import re

import pytest
from playwright.sync_api import expect
from test_browser import count_most, no_exceptions, snap, visit

pytestmark = [pytest.mark.browser, pytest.mark.slow]   # ~40 s: CI's test-slow


def counts(page, label):
    """The column with a rating count and its split under it."""
    return page.locator('[data-testid="stColumn"]').filter(has_text=label)


def test_human_feedback_loop(page, server, artifacts):
    # The session's warm server (its ratings database is empty: no other test rates): a server
    # of its own cost a start and a cold first run.
    visit(page, server + "/Human_feedback", "Human feedback: thumbs up or down",
          timeout=120_000)
    page.get_by_text("2 · Learn from the ratings").wait_for()
    assert "0 👍 · 0 👎" in counts(page, "Your ratings").inner_text()

    # Two ratings by hand: the person's count and the class's count show them, split.
    thumbs = page.locator('[data-testid="stFeedback"]')
    thumbs.nth(0).get_by_role("radio", name="Thumbs up").click()
    counts(page, "Your ratings").filter(has_text="1 👍 · 0 👎").wait_for(timeout=30_000)
    thumbs.nth(1).get_by_role("radio", name="Thumbs down").click()
    for label in ("Your ratings", "The whole class"):
        counts(page, label).filter(has_text="1 👍 · 1 👎").wait_for(timeout=30_000)

    # Too few ratings to learn from: the button says what is missing.
    page.get_by_text("the reward model needs at least 20").wait_for()

    # 200 simulated "helpful" ratings, marked as simulated.
    page.get_by_role("button", name=re.compile(r"Rate 200 answers automatically \(helpful\)")).click()
    expect(counts(page, "Simulated raters").locator('[data-testid="stMetricValue"]')) \
        .to_have_text("200", timeout=180_000)
    assert "1 👍 · 1 👎" in counts(page, "The whole class").inner_text()

    # Learn: the reward model's held-out accuracy, then policy steps with live charts.
    page.get_by_role("button", name=re.compile("Train the reward model")).click()
    page.get_by_text("Reward model accuracy on held-out ratings").wait_for(timeout=120_000)
    # One policy step draws all three live charts; waiting for more only spent time.
    page.get_by_text(re.compile(r"Policy step [1-9]")).first.wait_for(timeout=120_000)
    page.locator(".js-plotly-plot").nth(2).wait_for()            # reward, KL and entropy
    assert "nats/token" in page.locator('[data-testid="stMetric"]').filter(has_text="KL to the tuned").inner_text()
    snap(page, artifacts / "human-feedback-training.png")

    # Stop keeps what was learned so far; before/after then compares that model.
    count_most(page, r"Policy step \d+ · stopped")
    # the page's Stop, not the header's (Streamlit shows one there while a script run is slow)
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()
    page.get_by_text("The feedback-trained model is ready").wait_for(timeout=120_000)
    page.get_by_text(re.compile(r"Policy step \d+ · stopped")).first.wait_for()   # not "done"
    page.get_by_text("“After feedback” is your feedback-trained model.").wait_for(timeout=120_000)
    page.get_by_text("Chance per token of writing exactly this answer").wait_for(timeout=60_000)

    # Counted over hundreds of held-out answers, on request; the button goes once it has counted.
    page.get_by_role("button", name=re.compile("Count the 👍 of “helpful”")).click()
    for label in ("Sampled answers approved", "Chat answers approved"):
        expect(page.locator('[data-testid="stMetric"]').filter(has_text=label)
               .locator('[data-testid="stMetricValue"]')).to_have_text(re.compile(r"^\d+\.\d% → \d+\.\d%$"),
                                                                      timeout=180_000)
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Sampled answers that differ")
           .locator('[data-testid="stMetricValue"]')).to_have_text(re.compile(r"^\d+% → \d+%$"))
    expect(page.get_by_text("Why sampled answers got")).to_be_visible()    # what feedback fixed, what it left
    expect(page.get_by_role("button", name=re.compile("Count the 👍"))).to_have_count(0)
    no_exceptions(page)
    expect(page.get_by_text(re.compile(r"Policy step \d+ · stopped"))).to_have_count(1)
    assert page.evaluate("() => window.mostSeen") == 1        # also while the page reran
    snap(page, artifacts / "human-feedback.png")
