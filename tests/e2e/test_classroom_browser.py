"""The classroom in two real browsers at once: a teacher creates a class, a student joins by link
and guesses on the Tokens page, the guess appears in the teacher's live view, and the teacher's
reveal appears on the student's screen; and the class run reaches a student's page that was open
before it started. Screenshots in test-artifacts/."""
import contextlib
import re
import sqlite3
import time
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import start_server, stop_server
from playwright.sync_api import expect
from test_browser import no_exceptions, snap, visit, wait_idle

from explainer.phases import reward
from explainer.phases.ratings import RatingsStore

pytestmark = [pytest.mark.browser, pytest.mark.slow]   # two browsers: CI's test-slow


@contextlib.contextmanager
def a_class(browser, url):
    """A teacher's page that has just created a class, and a student's browser with a blank page:
    (teacher, student, code, key)."""
    teacher_ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    student_ctx = browser.new_context(viewport={"width": 1100, "height": 900})
    try:
        teacher, student = teacher_ctx.new_page(), student_ctx.new_page()
        for p in (teacher, student):
            p.set_default_timeout(60_000)
        visit(teacher, url + "/Classroom", "Classroom: guess first")
        teacher.get_by_role("button", name="Create a class").click()
        teacher.get_by_text("Class code:").wait_for()
        wait_idle(teacher)
        teacher.wait_for_url(re.compile(r"key="))
        query = parse_qs(urlparse(teacher.url).query)
        yield teacher, student, query["class"][0], query["key"][0]
    finally:
        teacher_ctx.close()
        student_ctx.close()


def test_a_students_guess_reaches_the_teacher_and_the_reveal_reaches_the_student(browser, server,
                                                                                  artifacts):
    with a_class(browser, server) as (teacher, student, code, key):
        assert re.fullmatch(r"[A-Z0-9]{5}", code) and len(key) > 16
        teacher.get_by_text("no guesses yet").first.wait_for()
        snap(teacher, artifacts / "classroom-teacher-created.png")

        visit(student, f"{server}/Tokens?class={code}", "Tokens: how a model reads")
        assert key not in student.url
        box = student.locator(".st-key-ptr_tokens-count")
        box.get_by_text(f"Class {code}: 0 guesses so far").wait_for()
        box.get_by_role("button", name="6", exact=True).click()
        clicked = time.monotonic()
        teacher.get_by_text(re.compile(r"\b6: 1\b")).wait_for(timeout=15_000)   # the live view
        seen = time.monotonic() - clicked
        print(f"student's click -> teacher's view: {seen:.2f} s")
        assert seen < 10
        box.get_by_text("Yours is in").wait_for()
        snap(student, artifacts / "classroom-student-guessed.png")

        # a second tab of the same browser is the same student: their guess, not a new one
        tab2 = student.context.new_page()
        tab2.set_default_timeout(60_000)
        visit(tab2, f"{server}/Tokens?class={code}", "Tokens: how a model reads")
        box2 = tab2.locator(".st-key-ptr_tokens-count")
        box2.get_by_text("1 guess so far. Yours is in").wait_for()
        box2.get_by_role("button", name="7", exact=True).click()          # changes their one guess
        teacher.get_by_text(re.compile(r"\b7: 1\b")).wait_for(timeout=15_000)
        assert teacher.get_by_text(re.compile(r"\b6: 1\b")).count() == 0
        box.get_by_role("button", name="6", exact=True).click()           # and back, in tab 1
        teacher.get_by_text(re.compile(r"\b6: 1\b")).wait_for(timeout=15_000)
        tab2.close()

        teacher.locator(".st-key-reveal_tokens-count").get_by_role("button").click()
        box.get_by_text("The model: 9.").wait_for(timeout=15_000)             # the student's page
        box.get_by_text("You guessed “6”").wait_for()
        box.locator(".js-plotly-plot").wait_for()                              # the class's bars
        no_exceptions(student)
        no_exceptions(teacher)
        box.scroll_into_view_if_needed()
        student.wait_for_timeout(800)
        box.screenshot(path=artifacts / "classroom-student-revealed.png")
        snap(teacher, artifacts / "classroom-teacher-live.png")


def test_the_class_run_reaches_a_students_page_open_before_it_started(browser, shipped_models, artifacts,
                                                                     tmp_path):
    """Its own server: the class run is a two-minute training, which would slow the other tests."""
    db = tmp_path / "ratings.sqlite"
    proc, url = start_server(shipped_models, {"EXPLAINER_RATINGS_DB": str(db)})
    try:
        with a_class(browser, url) as (teacher, student, code, _):
            run_reaches_the_student(teacher, student, url, code, db, artifacts)
    finally:
        stop_server(proc)


def run_reaches_the_student(teacher, student, url, code, db, artifacts):
    """The teacher's start button enables itself as the ratings arrive; the student's page,
    open before the run started, shows the run without a reload."""
    visit(student, f"{url}/Classroom?class={code}", "Classroom: guess first")
    student.get_by_text("When your teacher starts the class run").wait_for()
    start = teacher.get_by_role("button", name="Start the class run")
    expect(start).to_be_disabled()
    teacher.get_by_text("0 ratings from the class so far").wait_for()

    # the student's ratings arrive (as from the Human feedback page): the button follows live
    conn = sqlite3.connect(db)
    (me,) = conn.execute("SELECT student FROM members WHERE class = ?", (code,)).fetchone()
    conn.close()
    RatingsStore(db).add_many([(f"Question {i % 3}?", f"Answer {i}.", 1 if i % 2 else -1,
                                "tuned", me) for i in range(reward.MIN_RATINGS + 2)])
    expect(start).to_be_enabled(timeout=15_000)
    start.click()
    clicked = time.monotonic()
    student.locator('[data-testid="stProgress"]').first.wait_for(timeout=20_000)   # no reload
    print(f"the teacher's start -> the student's page: {time.monotonic() - clicked:.2f} s")
    assert student.get_by_role("button", name="Start the class run").count() == 0
    student.get_by_text("Reward model accuracy").wait_for(timeout=120_000)       # live
    assert student.get_by_text("answers automatically").count() == 0   # no button here to click
    no_exceptions(student)
    no_exceptions(teacher)
    snap(student, artifacts / "classroom-student-class-run.png")
