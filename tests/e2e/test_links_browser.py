"""Teacher links in a real browser: a page opened with a link shows the linked values, a hidden
control is gone while its value applies, the sidebar shows the link, and a chart's camera button
downloads a real SVG, then (after the sidebar switch) a real PNG, made in the browser."""
import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect
from test_browser import no_exceptions, snap, visit, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]      # 78 s at load 12: two pages, two downloads

PNG = b"\x89PNG\r\n\x1a\n"


def download_chart(page, chart) -> tuple[str, bytes]:
    """Click the chart's camera button (plotly's modebar shows on hover): (file name, bytes)."""
    chart.hover()
    button = chart.locator('.modebar-btn[data-title^="Download plot"]')
    with page.expect_download(timeout=30_000) as dl:
        button.click()
    with open(dl.value.path(), "rb") as f:
        return dl.value.suggested_filename, f.read()


def test_a_link_opens_the_view_and_charts_download_as_svg_and_png(page, server, artifacts):
    visit(page, server + "/Tokens?text=Hello+class%2C+hello&whitespace=1&merges=5&download=svg",
          "Tokens: how a model reads", timeout=120_000)
    # expect() retries: on a server busy with other tests the page may still be rendering
    expect(page.get_by_label("Your text", exact=True)).to_have_value("Hello class, hello", timeout=60_000)
    expect(page.get_by_label("Show whitespace", exact=True)).to_be_checked(timeout=60_000)
    expect(page.get_by_role("slider", name="Merges learned so far")).to_have_value("5", timeout=60_000)
    page.get_by_text("After 5 merges").wait_for()
    shared = page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').first.inner_text()
    query = parse_qs(urlparse(shared.strip()).query)
    assert shared.startswith(server + "/Tokens?") and query["text"] == ["Hello class, hello"], shared
    assert query["merges"] == ["5"] and query["download"] == ["svg"]

    chart = page.locator(".js-plotly-plot").first                 # the embedding heatmap
    chart.wait_for(timeout=60_000)
    chart.scroll_into_view_if_needed()
    name, data = download_chart(page, chart)
    assert name.endswith(".svg") and data.lstrip()[:200].find(b"<svg") >= 0, (name, data[:80])
    snap(page, artifacts / "links-tokens.png")

    page.locator('[data-testid="stSidebar"]').get_by_text("PNG", exact=True).click()
    wait_idle(page)
    page.wait_for_function("() => !location.search.includes('download=')")
    wait_idle(page)                  # the switch reruns the page: its charts are drawn anew
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for(timeout=60_000)
    chart.scroll_into_view_if_needed()
    name, data = download_chart(page, chart)
    assert name.endswith(".png") and data[:8] == PNG, (name, data[:16])
    no_exceptions(page)


def test_hide_flags_make_a_simpler_exercise(page, server, artifacts):
    visit(page, server + "/Pretraining?size=tiny&steps=200&steps_hide=1&temperature=0",
          "Pretraining: learning to guess the next token", timeout=120_000)
    expect(page.get_by_role("combobox", name="Model size")).to_have_count(1, timeout=60_000)  # the others stay
    page.get_by_text(re.compile(r"\(200 steps ×")).wait_for()        # the hidden value applies
    wait_idle(page)
    assert page.get_by_text("Training steps", exact=True).count() == 0      # hidden
    temperature = page.get_by_role("slider", name="Temperature")
    temperature.wait_for()
    assert float(temperature.input_value()) == 0
    shared = page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').first.inner_text()
    assert "steps_hide=1" in shared and "size=tiny" in shared
    no_exceptions(page)
    snap(page, artifacts / "links-pretraining-hidden.png")
