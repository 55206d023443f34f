"""The app's language in a real browser: from the browser's own language, from `?lang=` in a link,
and from the sidebar's picker (which writes it into the link). Every page in Spanish and German,
with screenshots to look at, in `make test-slow`."""
import re

import pytest
from harness import wait_idle
from test_browser import no_exceptions, snap

pytestmark = pytest.mark.browser

TITLE = {"en": "How a large language model is made", "es": "Cómo se hace un modelo de lenguaje grande",
         "de": "Wie ein großes Sprachmodell entsteht"}
PAGES = ["", "Tokens", "Pretraining", "Instruction_tuning", "Human_feedback", "Context_window",
         "Two_files", "Agents", "Classroom"]


def opened(browser, url, locale="en-US"):
    page = browser.new_context(viewport={"width": 1400, "height": 900}, locale=locale).new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    page.locator("h1").first.wait_for()
    wait_idle(page)
    no_exceptions(page)
    return page


def test_the_browsers_language_then_the_link_then_the_picker(browser, server):
    page = opened(browser, server, locale="de-DE")                # a German browser, no ?lang=
    page.get_by_text(TITLE["de"]).wait_for()
    page.context.close()
    page = opened(browser, server + "/?lang=es", locale="de-DE")  # the link wins
    page.get_by_text(TITLE["es"]).wait_for()
    page.locator(".st-key-nav").get_by_text("Preentrenamiento").wait_for()     # the sidebar's list too
    picker = page.get_by_role("combobox", name=re.compile("Idioma"))
    picker.click()
    page.get_by_role("option", name="Deutsch").click()
    page.get_by_text(TITLE["de"]).wait_for()
    page.wait_for_function("() => location.search.includes('lang=de')")
    page.locator('.st-key-nav a[href$="Tokens"]').click()          # kept on the next page
    page.get_by_text("Tokens: wie ein Modell liest", exact=False).wait_for()
    page.context.close()


@pytest.mark.slow
@pytest.mark.parametrize("code", ["es", "de"])
def test_every_page_in_spanish_and_german(browser, server, artifacts, code):
    for name in PAGES:
        page = opened(browser, f"{server}/{name}?lang={code}")
        assert page.evaluate("() => document.body.innerText").count("Traceback") == 0
        snap(page, artifacts / f"lang-{code}-{name or 'Home'}.png")
        page.context.close()
