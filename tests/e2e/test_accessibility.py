"""Accessibility in a real browser (docs/accessibility.md).

- Every page the app lists passes axe-core's WCAG 2.1 A and AA rules (axe-core bundled in the
  axe-playwright-python package: nothing downloaded) with no critical or serious violation, with
  every expander open (the numbers behind each chart, the code).
- The journey's key actions work by keyboard alone: Tab reaches them, the focus shows a visible
  outline, and Enter (a slider: the arrow keys) does what a click does.
"""
from __future__ import annotations

from urllib.parse import urlparse

import pytest
from axe_playwright_python.sync_playwright import Axe
from harness import ARTIFACTS, ROOT, load, wait_idle

pytestmark = pytest.mark.browser

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("critical", "serious")
# Streamlit's own markup that fails a rule and that we cannot change (docs/accessibility.md):
# st.code's syntax colours (a keyword, a decorator: 2.9-4.4:1 on its grey code background).
STREAMLIT_OWN = ['[data-testid="stCode"] .token']
PAGES = [""] + [p.stem.split("_", 1)[1] for p in sorted((ROOT / "pages").glob("*.py"))]   # "" = Home


def open_app_page(page, url: str) -> None:
    """Load a page, wait for its title and for the script run to end."""
    page.goto(url)
    page.locator("h1").first.wait_for()
    wait_idle(page, timeout=180_000)
    # st.html (ui.A11Y_CSS) is a component Streamlit loads lazily: under load its <style> can come
    # a moment after the first captions, drawn meanwhile in Streamlit's own grey. Audit the page
    # as it settles, with it.
    page.wait_for_function("() => [...document.querySelectorAll('style')]"
                           ".some(s => s.textContent.includes('stCaptionContainer'))", timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0, \
        page.locator('[data-testid="stException"]').first.inner_text()


def audit_now(page) -> list[dict]:
    """axe-core's WCAG 2.1 AA violations on the page as it is now: [{id, impact, help, nodes}]."""
    found = Axe().run(page, context={"exclude": STREAMLIT_OWN}, options={"runOnly": {"type": "tag", "values": WCAG_AA},
                                     "resultTypes": ["violations"]})
    return found.response["violations"]


def audit(page) -> list[dict]:
    """The violations that last: a blocking one is checked again a second later, on the settled
    page. CI's Chromium once found the sidebar a scroll box without focusable content right after
    the page settled, and not in the audit after it (the sidebar's links were there): a moment of
    React redrawing, not what a reader meets. Each such moment is written to
    test-artifacts/a11y-transient.txt."""
    first = audit_now(page)
    if not blocking(first):
        return first
    page.wait_for_timeout(1000)
    wait_idle(page)
    again = audit_now(page)
    gone = set(blocking(first)) - set(blocking(again))
    if gone:
        ARTIFACTS.mkdir(exist_ok=True)
        with open(ARTIFACTS / "a11y-transient.txt", "a") as f:
            f.writelines(f"{page.url} (load {load():.1f}): {v}\n" for v in sorted(gone))
    return again


def blocking(violations: list[dict]) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']}; " + "; ".join(
                f"{n['html'][:100]} ({n.get('failureSummary', '')[-150:]})" for n in v["nodes"][:3])
            for v in violations if v["impact"] in BLOCKING]


def test_the_app_lists_every_page_file(page, server):
    """The audit below covers pages/*.py: the sidebar lists exactly those (and Home)."""
    open_app_page(page, server)
    hrefs = page.eval_on_selector_all('.st-key-nav a',
                                      "links => links.map(a => a.getAttribute('href'))")
    assert [urlparse(h).path.strip("/") for h in hrefs] == PAGES


# Two pages in `make test` (Home, the token boxes and the class's guesses); every page in
# `make test-slow` (10-30 s each with its expanders open).
QUICK = {"", "Tokens"}


@pytest.mark.parametrize("name", [n if n in QUICK else pytest.param(n, marks=pytest.mark.slow)
                                  for n in PAGES], ids=lambda n: n or "Home")
def test_every_page_passes_a_wcag_aa_audit(page, server, name):
    open_app_page(page, f"{server}/{name}")
    for summary in page.locator('[data-testid="stExpander"] summary').all():   # hidden content too
        if summary.is_visible():
            summary.click()
    page.wait_for_timeout(500)
    violations = audit(page)
    print(f"\n{name or 'Home'} (load {load():.1f}):",
          [(v["id"], v["impact"], len(v["nodes"])) for v in violations] or "no violation")
    assert not blocking(violations), "\n".join(blocking(violations))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["Classroom", "Context_window"])
def test_the_dark_theme_passes_too(browser, server, name):
    """The browser's dark setting picks Streamlit's dark theme: primary buttons (white text on the
    theme's primary colour), captions and the token pictures stay readable there too."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme="dark")
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        open_app_page(page, f"{server}/{name}")
        violations = audit(page)
        assert not blocking(violations), "\n".join(blocking(violations))
    finally:
        context.close()


# ---------------------------------------------------------------------------------------------
# By keyboard alone

# One round trip per Tab press: does the focused element match, does it show where the focus is
# (an outline of 2 px or more, or a ring), and what is it (for the message when something fails).
STEP = """predicate => { const e = document.activeElement;
    const s = getComputedStyle(e);
    return {match: e !== document.body && !!predicate(e),
            shown: e === document.body || (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
                   || s.boxShadow !== 'none',
            what: e === document.body ? 'BODY' : e.tagName + ':' + (e.getAttribute('aria-label')
                  || e.innerText || e.getAttribute('href') || '').slice(0, 30)}; }"""


def tab_to(page, predicate: str, most: int = 300) -> int:
    """Press Tab from the top of the page until `predicate` (JavaScript, given the focused element
    `e`) holds; the presses it took. Every element the focus passes on the way must show where the
    focus is."""
    page.locator("body").focus()
    seen, hidden = [], []
    for presses in range(1, most + 1):
        page.keyboard.press("Tab")
        step = page.evaluate(f"() => ({STEP})(e => {predicate})")
        if not step["shown"]:
            hidden.append(page.evaluate("() => document.activeElement.outerHTML.slice(0, 160)"))
        if step["match"]:
            assert not hidden, f"the focus is not visible on {hidden}"
            return presses
        seen.append(step["what"])
    raise AssertionError(f"{most} presses of Tab never reached {predicate}; the focus passed "
                         f"{len(set(seen))} different elements, back at the page's start after "
                         f"presses {[i for i, w in enumerate(seen, 1) if w == 'BODY'][:10]}; "
                         f"the first 60: {seen[:60]}")


def test_start_training_by_keyboard(page, server):
    open_app_page(page, f"{server}/Pretraining?size=tiny&steps=50")      # a short run to stop
    tab_to(page, "e.tagName === 'BUTTON' && e.innerText.includes('Start training')")
    page.keyboard.press("Enter")
    page.get_by_text("Watch it learn").wait_for(timeout=120_000)
    tab_to(page, "e.tagName === 'BUTTON' && /Stop|Leave the queue/.test(e.innerText)")
    page.keyboard.press("Enter")                     # and the run stops, by keyboard too
    page.get_by_text("You stopped the training").wait_for(timeout=120_000)


def test_a_guess_by_keyboard(page, server):
    open_app_page(page, f"{server}/Tokens")
    box = ".st-key-ptr_tokens-count"
    tab_to(page, f"e.tagName === 'BUTTON' && e.closest('{box}')")
    page.keyboard.press("Enter")
    page.locator(box).get_by_text("The model:").wait_for(timeout=120_000)


def test_a_thumb_by_keyboard(page, server):
    open_app_page(page, f"{server}/Human_feedback")
    mine = page.locator('[data-testid="stMetric"]').first
    assert mine.inner_text().split()[-1] in ("0", "—")
    tab_to(page, "e.tagName === 'BUTTON' && e.closest('[data-testid=\"stFeedback\"], "
                 "[data-testid=\"stButtonGroup\"]')")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('[data-testid=\"stMetric\"]')"
                           ".innerText.trim().endsWith('1')", timeout=120_000)


def test_the_window_slider_by_keyboard(page, server, artifacts):
    open_app_page(page, f"{server}/Context_window")
    slider = "e.type === 'range' && e.closest('[data-testid=\"stMain\"]')"    # the window's, first
    tab_to(page, slider)
    before = int(page.evaluate("() => document.activeElement.value"))
    assert page.locator(".cw-tok.cw-out").count() == 0          # the whole text fits at first
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => document.querySelectorAll('.cw-tok.cw-out').length === 5",
                           timeout=120_000)             # each press reruns the page: the last one counts
    wait_idle(page, timeout=120_000)
    value = "() => document.querySelector('[data-testid=\"stMain\"] input[type=range]').value"
    assert int(page.evaluate(value)) == before - 5
    page.locator("[data-testid=\"stMain\"] input[type=range]").first.focus()    # the outline, to look at
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    wait_idle(page, timeout=120_000)
    page.screenshot(path=artifacts / "a11y-window-by-keyboard.png")
    assert not blocking(audit(page)), "struck-through tokens and the attention shades readable"

