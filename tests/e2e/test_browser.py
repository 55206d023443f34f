"""Real browser against a real `streamlit run` server: what AppTest cannot see (charts, layout,
JavaScript). Each test saves a full-page screenshot under test-artifacts/ to look at."""
import re

import pytest
from harness import wait_idle

pytestmark = pytest.mark.browser


def count_most(page, pattern):
    """From now on, record in window.mostSeen the most <p> elements whose whole text matches the
    regular expression `pattern` at once (a MutationObserver sees every state the page passes
    through, also the brief ones between two script runs)."""
    page.evaluate("""source => {
        const re = new RegExp("^(?:" + source + ")$");
        window.mostSeen = 0;
        const count = () => {
            const n = [...document.querySelectorAll('p')].filter(p => re.test(p.textContent)).length;
            window.mostSeen = Math.max(window.mostSeen, n);
        };
        new MutationObserver(count).observe(document.body, {subtree: true, childList: true,
                                                            characterData: true});
    }""", pattern)


def snap(page, path):
    """A screenshot of the whole page: Streamlit scrolls inside its main element, so grow the
    viewport to the content's height first."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": min(max(int(height), 600), 12_000)})
    page.wait_for_timeout(500)     # let plotly re-layout to the new size
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size({"width": width, "height": 900})


def no_exceptions(page):
    assert page.locator('[data-testid="stException"]').count() == 0, \
        page.locator('[data-testid="stException"]').first.inner_text()


def visit(page, url, heading, timeout=60_000):
    """Open a page, wait for its heading and for the script run to end; nothing may raise."""
    page.goto(url)
    page.get_by_text(heading).wait_for()
    wait_idle(page, timeout=timeout)
    no_exceptions(page)


def test_home(page, server, artifacts):
    page.goto(server)
    page.get_by_text("How a large language model is made").wait_for()
    wait_idle(page)
    no_exceptions(page)
    # The journey may still be drawing after the first idle: wait for each card in the main area
    # (the sidebar's navigation has the same names, so it must not count).
    main = page.locator('[data-testid="stMain"]')
    for name in ("Tokens", "Pretraining", "Instruction tuning", "Human feedback",
                 "Context window", "The two files"):
        main.get_by_text(name, exact=False).first.wait_for()
    main.get_by_role("link", name="Open").nth(1).wait_for()
    assert main.get_by_role("link", name="Open").count() >= 2
    snap(page, artifacts / "home.png")


def test_tokens_shows_ids(page, server, artifacts, shipped_models):
    from explainer.gpt.tokenizer import cl100k

    page.goto(server + "/Tokens")
    page.get_by_text("Tokens: how a model reads").wait_for()
    wait_idle(page)
    box = page.get_by_role("textbox", name="Your text")
    box.fill("Giraffes eat leaves 🦒 and 東京")
    box.press("Control+Enter")
    ids = cl100k().encode("Giraffes eat leaves 🦒 and 東京")
    expected = "[" + ", ".join(map(str, ids)) + "]"
    page.get_by_text(expected).wait_for()
    wait_idle(page)
    no_exceptions(page)
    assert page.locator(".tok").count() > 10
    page.get_by_text("Show whitespace").click()
    page.locator(".tok-text", has_text="␣eat").first.wait_for()
    tip = page.locator(".tok", has_text="␣eat").first.get_attribute("title")
    assert tip.startswith("ID ") and "bytes 20 65 61 74" in tip   # hover: the ID and the bytes
    wait_idle(page)
    if any(shipped_models.glob("*.safetensors")):
        page.locator(".js-plotly-plot").first.wait_for()  # the embedding heatmap of the model
    snap(page, artifacts / "tokens.png")


@pytest.mark.slow        # 45 s alone, 100 s under make test's load; make test starts (and stops) a
def test_pretraining_tiny_run(page, server, artifacts):     # training by keyboard in test_accessibility
    page.goto(server + "/Pretraining")
    page.get_by_text("Pretraining: learning to guess").wait_for()
    wait_idle(page)
    snap(page, artifacts / "pretraining-start.png")
    # model size: tiny
    select = page.get_by_role("combobox", name="Model size")
    select.click()
    select.press_sequentially("tiny")                             # the select filters as you type
    page.get_by_role("option", name=re.compile(r"^tiny")).wait_for()
    select.press("Enter")
    wait_idle(page)
    # training steps: the first choice (50)
    slider = page.get_by_role("slider").first
    slider.focus()
    slider.press("Home")
    page.get_by_text("50 steps ×", exact=False).wait_for()
    page.get_by_role("button", name=re.compile("Start training")).click()
    page.get_by_text("Watch it learn").wait_for()
    page.locator(".js-plotly-plot").first.wait_for()             # the live loss chart
    page.get_by_text("Step ", exact=False).first.wait_for()
    page.get_by_text("Watch it learn").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "pretraining-live.png")     # mid-run, as it is polled
    count_most(page, "Step 50 of 50 · done")
    page.get_by_text("Step 50 of 50 · done").first.wait_for(timeout=180_000)
    page.get_by_text("now your active model", exact=False).wait_for()
    wait_idle(page)
    # the panel is drawn once, also during the rerun that follows the end of the run
    assert page.evaluate("() => window.mostSeen") == 1
    no_exceptions(page)
    assert "job=" in page.url                                    # a reload re-attaches
    page.get_by_role("button", name="Generate").click()
    page.locator("blockquote").filter(has_text="A flash flood watch").wait_for()
    wait_idle(page)
    snap(page, artifacts / "pretraining-done.png")
    page.reload()
    page.get_by_text("Step 50 of 50 · done").wait_for()


@pytest.mark.slow
def test_dark_theme_and_presentation_mode(browser, server, artifacts):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, color_scheme="dark")
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(server + "/Pretraining?present=1")
        page.get_by_text("Pretraining: learning to guess").wait_for()
        wait_idle(page)
        no_exceptions(page)
        assert page.get_by_role("switch", name="Presentation mode").is_checked()
        assert page.get_by_label("Seed").count() == 0            # fewer controls
        page.wait_for_function(                                    # larger text
            "() => parseFloat(getComputedStyle(document.documentElement).fontSize) > 18")
        snap(page, artifacts / "pretraining-dark-presenting.png")
    finally:
        context.close()
