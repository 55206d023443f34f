"""Fixtures for the real-browser tests: a `streamlit run` server and Debian's Chromium.

Never `playwright install` (it downloads a browser): we drive /usr/bin/chromium. Without it the
browser tests are skipped with a reason, unless REQUIRE_BROWSER=1 (CI), where they fail.
"""
import os
from pathlib import Path

import pytest
from harness import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ROOT, start_server, stop_server  # noqa: F401


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def server(artifacts, shipped_models, tmp_path_factory):
    """One warm server for the browser tests, with the shipped models copied and an empty ratings
    database of its own (data/ratings.sqlite stays as it is)."""
    db = tmp_path_factory.mktemp("ratings") / "ratings.sqlite"
    proc, url = start_server(shipped_models, {"EXPLAINER_RATINGS_DB": str(db)})
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def tiny_server(tiny_dir, artifacts):
    """A second warm server, on the tiny model alone (tests/conftest.py's tiny_dir), for the pages
    that a test wants independent of models/."""
    proc, url = start_server(tiny_dir)
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium to run the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            raise
        pytest.skip("the playwright package is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


# The browser tests in two groups, one per pytest worker (pytest-xdist, `--dist loadgroup`): each
# group's tests share its worker's Chromium and servers, and the other tests fill the workers
# around them. The first group has every test on the shipped models' server, the second the
# tiny model's and the tests with a server of their own: one warm-up of each kind per run (a
# server's warm-up is about 30 s of both cores, and more under the suite's load).
SECOND = {"test_context_twofiles_browser.py", "test_export_browser.py",
          "test_instruction_tuning_browser.py"}


def pytest_itemcollected(item):
    """Each browser test's group, set as it is collected: before pytest-xdist reads the groups
    (in its pytest_collection_modifyitems)."""
    if "e2e" in item.path.parts:
        item.add_marker(pytest.mark.xdist_group("browser-b" if item.path.name in SECOND else "browser-a"))
