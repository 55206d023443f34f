"""Instruction tuning in a real browser against a real server, with tiny models (so the test does
not depend on models/): the token boxes coloured by the loss mask, both models' answers, and a
fine-tuning run started from the page with its live loss chart. Screenshots under test-artifacts/."""
import pytest
from harness import start_server, stop_server
from test_browser import no_exceptions, snap, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]   # ~25 s: CI's test-slow


@pytest.fixture(scope="module")
def tiny_server(one_layer_dir, artifacts):
    proc, url = start_server(one_layer_dir, {"EXPLAINER_MAX_JOBS": "1"})
    yield url
    stop_server(proc)


def test_instruction_tuning_page(page, tiny_server, artifacts):
    page.goto(tiny_server + "/Instruction_tuning")
    page.get_by_text("Instruction tuning: from text-continuer to assistant").wait_for()
    page.get_by_text("Questions it never saw").wait_for()
    wait_idle(page, timeout=120_000)
    no_exceptions(page)
    assert page.locator(".tok").count() > 10                      # the example, token by token
    assert page.get_by_text("<|assistant|>").count() > 0
    assert page.get_by_text("Base model (continues the text)").count() == 1
    snap(page, artifacts / "instruction-tuning.png")
    slider = page.get_by_role("slider").first                     # training steps: 100
    slider.focus()
    slider.press("Home")
    wait_idle(page)
    page.get_by_role("button", name="Start fine-tuning").click()
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)   # the live loss chart
    page.get_by_text("Your tuned model is ready").wait_for(timeout=180_000)
    wait_idle(page, timeout=120_000)
    no_exceptions(page)
    snap(page, artifacts / "instruction-tuning-done.png")
