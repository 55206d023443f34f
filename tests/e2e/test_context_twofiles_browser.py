"""Context window and Two files in a real browser against a real server, with a tiny model (so
the test does not depend on models/): charts drawn, slider moves, downloads served, screenshots
saved under test-artifacts/ to look at."""
import pytest
from test_browser import no_exceptions, snap, visit, wait_idle

# 40-50 s in make test; the quick suite opens both pages in test_offline and
# slides the window by keyboard in test_accessibility
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_context_window_page(page, tiny_server, artifacts):
    visit(page, tiny_server + "/Context_window", "The context window: what the model can see")
    assert page.locator(".cw-tok").count() > 20
    assert page.locator(".cw-tok.cw-out").count() > 0          # 163 tokens, 64 visible
    before = page.locator(".cw-tok.cw-out").count()
    slider = page.get_by_role("slider").first
    slider.focus()
    for _ in range(10):
        slider.press("ArrowLeft")
    wait_idle(page)
    page.wait_for_function(f"() => document.querySelectorAll('.cw-tok.cw-out').length > {before}")
    page.locator(".js-plotly-plot").nth(2).wait_for(timeout=60_000)  # plotly draws after the text
    assert page.locator(".js-plotly-plot").count() >= 3         # two rankings, the curve
    # attention: exactly the tokens in the window, the most attended one the darkest (white text)
    page.wait_for_function("() => { const n = document.querySelectorAll('.at-tok').length;"
                           " return n > 0 && n === document.querySelectorAll('.cw-tok.cw-in').length"
                           " && n < 64; }")
    assert page.locator(".at-tok.at-strong").count() >= 1
    assert page.locator(".cw-turn.cw-out").count() >= 1         # the chat lost its first turn
    no_exceptions(page)
    snap(page, artifacts / "context-window.png")


def test_two_files_page(page, tiny_server, artifacts):
    visit(page, tiny_server + "/Two_files", "A model is just two files", timeout=120_000)
    page.get_by_text("Smaller files").wait_for()
    page.locator(".js-plotly-plot").nth(2).wait_for(timeout=60_000)  # plotly draws after the text
    assert page.locator(".js-plotly-plot").count() >= 3         # parts, histogram, scale
    assert page.locator(".tf-file").count() == 4                # the two-file picture, two rows
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download run.py").click()
    path = dl.value.path()
    assert open(path, encoding="utf-8").read().startswith('"""run.py')
    snap(page, artifacts / "two-files.png")
