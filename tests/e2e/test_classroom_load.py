"""Workshop load (`make test-load`, not in CI): one server, a teacher and 40 student browsers in one
class, the issue's whole workshop:

1. every student guesses on the Tokens page, one at a time at a random moment, and we time the
   click until the teacher's live count and a classmate's box show it; then all 40 change their
   minds at once; then the teacher reveals and we time the answer reaching every screen;
2. 10 students start their own pretraining runs: the queue positions their pages show, every
   run finishing, and each page showing its own run and model, nobody else's;
3. every student rates two answers on the Human feedback page (a 👍 and a 👎): the time to the
   teacher's ratings count, and every click stored exactly once;
4. the teacher starts the class run on those ratings: the time until every student's Classroom
   page shows it, and it finishing on all of them.

Prints the figures and the server's memory and CPU, and writes them to
test-artifacts/classroom-load.txt as they come. `make test-load`, or:

    PYTHONPATH=$PWD:$PWD/tests python -m pytest -m load -s tests/e2e/test_classroom_load.py
    CLASS_LOAD_STUDENTS=10 ...     # fewer browsers
    CLASS_LOAD_SKIP=12 ...         # leave out parts 1 (the guesses) and 2 (the trainings)
"""
import collections
import os
import random
import re
import sqlite3
import statistics
import subprocess
import time
from urllib.parse import parse_qs, quote, urlparse

import pytest
from conftest import start_server, stop_server
from harness import load, percentile, timed
from playwright.sync_api import expect
from test_browser import no_exceptions, visit, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.load]

N = int(os.environ.get("CLASS_LOAD_STUDENTS", "40"))
SKIP = os.environ.get("CLASS_LOAD_SKIP", "")
TRAINERS = min(10, N)
CHOICES = ("≤ 5", "6", "7", "8", "9", "≥ 10")
STUDENT_POLL = 2.0            # explainer.app.classroom.POLL_SECONDS: clicks come at random moments


@pytest.fixture(scope="module")
def class_server(tmp_path_factory, shipped_models, artifacts):
    db = tmp_path_factory.mktemp("classload") / "ratings.sqlite"
    proc, url = start_server(shipped_models, {"EXPLAINER_RATINGS_DB": str(db)})
    yield proc, url, db
    stop_server(proc)


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (the job workers), in MB."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,rss="], capture_output=True, text=True).stdout
    rows = [tuple(map(int, line.split())) for line in out.splitlines() if line.strip()]
    kids = collections.defaultdict(list)
    for p, pp, _ in rows:
        kids[pp].append(p)
    rss = {p: r for p, _, r in rows}
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += kids[p]
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (the server itself, not its workers)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric(page, label: str) -> int:
    text = page.locator('[data-testid="stMetric"]', has_text=label).first.inner_text()
    return int(re.findall(r"[\d,]+", text.split(label, 1)[1])[0].replace(",", ""))


def go(p, url: str, ready, artifacts, name: str, timeout: int = 300_000) -> float:
    """Open `url` in page `p` and wait until the locator `ready(p)` shows; the seconds it took."""
    try:
        return timed(p, lambda: p.goto(url, wait_until="commit", timeout=timeout), ready(p),
                     timeout=timeout)
    except Exception:
        stuck(p, artifacts, name)


def stuck(p, artifacts, name: str):
    p.screenshot(path=artifacts / f"classroom-load-stuck-{name}.png", full_page=True)
    raise AssertionError(f"{name}'s page: " + p.locator("body").inner_text()[-1500:])


def spread(xs) -> str:
    return (f"p50 {statistics.median(xs):.2f} s, p95 {percentile(xs, 0.95):.2f} s, "
            f"max {max(xs):.2f} s (n={len(xs)})")


def wait_metric(teacher, label: str, at_least: int, since: float, limit: float = 60) -> float:
    """Seconds from `since` until the teacher's live metric `label` reaches `at_least`."""
    while (seen := metric(teacher, label)) < at_least:
        assert time.monotonic() < since + limit, f"the teacher's {label}: {seen}, never {at_least}"
        teacher.wait_for_timeout(25)
    return time.monotonic() - since


def class_ratings(db, code: str) -> list[tuple]:
    """(session, prompt, answer, rating) of the class's people's ratings, read from the file."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT session, prompt, answer, rating FROM ratings WHERE rater = 'person' AND session IN "
            "(SELECT session FROM class_sessions WHERE class = ?)", (code,)).fetchall()
    finally:
        conn.close()


class Report:
    """Lines printed as they come and kept in test-artifacts/classroom-load.txt."""

    def __init__(self, path):
        self.path, self.lines = path, []

    def __call__(self, line: str) -> None:
        print(line, flush=True)
        self.lines.append(line)
        self.path.write_text("\n".join(self.lines) + "\n")


def test_forty_students_in_one_class(browser, class_server, artifacts):
    proc, url, db = class_server
    rng = random.Random(22)
    say = Report(artifacts / "classroom-load.txt")
    contexts = []
    try:
        tctx = browser.new_context(viewport={"width": 1300, "height": 900})
        contexts.append(tctx)
        teacher = tctx.new_page()
        teacher.set_default_timeout(120_000)
        visit(teacher, url + "/Classroom", "Classroom: guess first")
        teacher.get_by_role("button", name="Create a class").click()
        teacher.wait_for_url(re.compile(r"key="))
        wait_idle(teacher)
        code = parse_qs(urlparse(teacher.url).query)["class"][0]
        mem_idle, cpu0, wall0 = tree_rss_mb(proc.pid), cpu_seconds(proc.pid), time.monotonic()
        say(f"classroom load test: {N} student browsers + 1 teacher, one server, class {code} "
            f"(load average {load():.2f} at the start)")

        students, opened, open_times = [], time.monotonic(), []
        for i in range(N):
            ctx = browser.new_context(viewport={"width": 1000, "height": 800})
            contexts.append(ctx)
            p = ctx.new_page()
            p.set_default_timeout(120_000)
            open_times.append(go(p, f"{url}/Tokens?class={code}", lambda p: p.locator(
                ".st-key-ptr_tokens-count").get_by_text(f"Class {code}:"), artifacts, f"student-{i + 1}"))
            students.append(p)
            print(f"student {i + 1} in: {open_times[-1]:.1f} s", flush=True)
        teacher.wait_for_function("() => document.body.innerText.includes('Joined')")
        mem_joined = tree_rss_mb(proc.pid)
        say(f"opening {N} Tokens pages one after another: {time.monotonic() - opened:.0f} s; "
            f"each {spread(open_times)}")

        cpu = lambda: cpu_seconds(proc.pid)                 # noqa: E731 -- the server's CPU so far
        if "1" not in SKIP:
            guesses(students, teacher, db, code, rng, say, cpu)
        if "2" not in SKIP:
            trainings(students, url, code, artifacts, say)
        if "3" not in SKIP:
            thumbs(students, teacher, db, url, code, artifacts, rng, say)
        if "4" not in SKIP:
            class_run(students, teacher, url, code, artifacts, say, cpu)

        mem_end = tree_rss_mb(proc.pid)
        cpu, wall = cpu_seconds(proc.pid) - cpu0, time.monotonic() - wall0
        for p in students[:3] + [teacher]:
            no_exceptions(p)
        say(f"server memory (with its job workers): idle {mem_idle:.0f} MB, {N} joined "
            f"{mem_joined:.0f} MB, at the end {mem_end:.0f} MB")
        say(f"server process CPU: {cpu:.0f} s in {wall:.0f} s ({cpu / wall:.2f} cores on average); "
            f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        for c in contexts:
            c.close()


def guesses(students, teacher, db, code, rng, say, cpu):
    """1. One at a time, each at a random moment: click -> the teacher's count and a classmate's
    box; then everybody changes their mind at once; then the teacher reveals."""
    to_teacher, to_peer, last = [], [], {}
    for i, p in enumerate(students):
        choice = CHOICES[i % len(CHOICES)]
        box = p.locator(".st-key-ptr_tokens-count")
        time.sleep(rng.uniform(0, STUDENT_POLL))
        t0 = time.monotonic()
        box.get_by_role("button", name=choice, exact=True).click()
        last[i] = choice
        to_teacher.append(wait_metric(teacher, "Guesses", i + 1, t0, 30))
        peer = students[(i + 1) % N].locator(".st-key-ptr_tokens-count")
        word = "guess" if i == 0 else "guesses"
        peer.get_by_text(f"{i + 1} {word} so far").wait_for(timeout=30_000)
        to_peer.append(time.monotonic() - t0)
    say(f"1. a guess -> the teacher's live count: {spread(to_teacher)}")
    say(f"   a guess -> a classmate's box:       {spread(to_peer)}")

    burst = time.monotonic()
    for i, p in enumerate(students):
        choice = CHOICES[(i + 2) % len(CHOICES)]
        p.locator(".st-key-ptr_tokens-count").get_by_role("button", name=choice, exact=True).click()
        last[i] = choice
    want = collections.Counter(last.values())
    deadline = burst + 60
    while True:
        conn = sqlite3.connect(db)
        rows = conn.execute("SELECT choice FROM guesses WHERE class = ? AND question = ?",
                            (code, "tokens-count")).fetchall()
        members = conn.execute("SELECT COUNT(*) FROM members WHERE class = ?", (code,)).fetchone()[0]
        conn.close()
        if collections.Counter(r[0] for r in rows) == want or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    burst_s = time.monotonic() - burst
    assert len(rows) == N and members == N                 # count clicked == count stored
    assert collections.Counter(r[0] for r in rows) == want  # each student's last click
    say(f"   {N} changes of mind at once: all stored in {burst_s:.2f} s; {len(rows)} guesses "
        f"stored for {N} students ({2 * N} clicks, each student's last one kept)")

    c0 = cpu()
    teacher.locator(".st-key-reveal_tokens-count").get_by_role("button").click()
    t0, reveal = time.monotonic(), []
    for p in students:
        p.locator(".st-key-ptr_tokens-count").get_by_text("The model: 9.").wait_for(timeout=60_000)
        reveal.append(time.monotonic() - t0)
    say(f"   the teacher's reveal -> on all {N} screens: p50 {statistics.median(reveal):.2f} s, "
        f"last {max(reveal):.2f} s; the server's CPU meanwhile {cpu() - c0:.1f} s")


def trainings(students, url, code, artifacts, say):
    """2. Ten students start their own trainings within a second or two: the places in the line
    their pages show, every run finishing, each page with its own run and model."""
    trainers = students[:TRAINERS]
    for i, p in enumerate(trainers):
        go(p, f"{url}/Pretraining?class={code}&size=tiny&steps=100&seed={i + 1}",
           lambda p: p.get_by_role("button", name="Start training"), artifacts, f"trainer-{i + 1}")
        wait_idle(p, timeout=300_000)
    started = time.monotonic()
    for p in trainers:
        p.get_by_role("button", name="Start training").click()
    jobs, places = [], []
    for p in trainers:
        p.wait_for_url(re.compile(r"[?&]job="), timeout=120_000)
        jobs.append(parse_qs(urlparse(p.url).query)["job"][0])
        p.get_by_text("Watch it learn").wait_for()
        line = p.get_by_text(re.compile(r"Waiting in line: you are number"))
        places.append(int(re.findall(r"number (\d+)", line.first.inner_text())[0])
                      if line.count() else "running")
    finished = []
    for i, p in enumerate(trainers):
        try:
            p.get_by_text(re.compile(r"Step 100 of 100 · done")).wait_for(timeout=1_200_000)
        except Exception:
            stuck(p, artifacts, f"trainer-{i + 1}")
        finished.append(time.monotonic() - started)
    for i, p in enumerate(trainers):                     # each page: its own run and model
        p.get_by_text("Using: your model from this session").wait_for(timeout=60_000)
        assert parse_qs(urlparse(p.url).query)["job"][0] == jobs[i]
        no_exceptions(p)
    assert len(set(jobs)) == TRAINERS                     # ten runs, not one shown to ten
    queued = [x for x in places if x != "running"]
    assert len(set(queued)) == len(queued), places        # no two pages told the same place
    if N > TRAINERS:                                      # a classmate who did not train
        other = students[TRAINERS]
        go(other, f"{url}/Pretraining?class={code}", lambda p: p.get_by_text("Using:"),
           artifacts, "not-a-trainer")
        wait_idle(other)
        assert other.get_by_text("Watch it learn").count() == 0
        assert other.get_by_text("your model from this session").count() == 0
        assert "job=" not in other.url
    say(f"2. {TRAINERS} trainings (tiny, 100 steps), started together; what each page said right "
        f"after its click: {places} (a number: its place in the line)")
    say(f"   every run finished: {TRAINERS} of {TRAINERS}, the first {min(finished):.0f} s and the "
        f"last {max(finished):.0f} s after the clicks; {len(set(jobs))} different runs, each page "
        "showing its own run and 'your model from this session'"
        + ("; a classmate who did not train sees neither" if N > TRAINERS else ""))


def thumbs(students, teacher, db, url, code, artifacts, rng, say):
    """3. Every student opens the Human feedback page and gives one answer a 👍 (timed until the
    teacher's ratings count shows it) and another a 👎; every click stored exactly once."""
    from explainer.corpus import instructions as ins
    from explainer.phases import feedback as fb
    questions = (list(ins.ALWAYS_TRAIN) + fb.training_prompts()[::150])[:3]
    opened, to_teacher, clicked = [], [], collections.Counter()
    for i, p in enumerate(students):
        q = questions[i % len(questions)]
        opened.append(go(p, f"{url}/Human_feedback?class={code}&rate_question={quote(q)}",
                         lambda p: p.locator('[data-testid="stFeedback"]').nth(3), artifacts,
                         f"rater-{i + 1}"))
        wait_idle(p, timeout=300_000)
        box = p.locator('[data-testid="stFeedback"]')
        texts = p.locator('[data-testid="stText"]').all_inner_texts()[:4]    # the four answers
        up = i % 4                    # two answers with the same text are one rating: skip those
        down = next((k for k in range(4) if texts[k] != texts[up]), None)
        assert down is not None, f"all four answers to {q!r} are the same: {texts[0]!r}"
        for n, (answer, name, value) in enumerate([(up, "Thumbs up", 1), (down, "Thumbs down", -1)]):
            if n == 0:
                time.sleep(rng.uniform(0, STUDENT_POLL))
            t0 = time.monotonic()
            box.nth(answer).get_by_role("radio", name=name).click()
            clicked[value] += 1
            try:
                if n == 0:
                    to_teacher.append(wait_metric(teacher, "Ratings", 2 * i + 1, t0, 60))
                wait_idle(p, timeout=120_000)
            except AssertionError:
                stuck(p, artifacts, f"rater-{i + 1}")
    deadline = time.monotonic() + 60
    while len(stored := class_ratings(db, code)) < 2 * N and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(stored) == 2 * N, stored                             # clicked == stored
    assert collections.Counter(r[3] for r in stored) == clicked
    assert len({r[0] for r in stored}) == N                         # one rating tab each
    say(f"3. opening the Human feedback page: each {spread(opened)}")
    say(f"   a 👍 -> the teacher's ratings count: {spread(to_teacher)}")
    say(f"   {2 * N} thumbs clicked, {len(stored)} stored ({clicked[1]} 👍, {clicked[-1]} 👎) "
        f"from {N} students' tabs")


def class_run(students, teacher, url, code, artifacts, say, cpu):
    """4. Everybody opens the Classroom page; the teacher starts the class run: the time until
    every student's page shows it, and until every page shows it finished."""
    for i, p in enumerate(students):
        go(p, f"{url}/Classroom?class={code}",
           lambda p: p.get_by_text("When your teacher starts the class run"), artifacts,
           f"watcher-{i + 1}")
    start = teacher.get_by_role("button", name="Start the class run")
    expect(start).to_be_enabled(timeout=60_000)      # it follows the ratings live
    c0 = cpu()
    start.click()
    t0, shown = time.monotonic(), []
    for i, p in enumerate(students):
        try:
            p.locator('[data-testid="stProgress"]').first.wait_for(timeout=60_000)
        except Exception:
            stuck(p, artifacts, f"watcher-{i + 1}")
        shown.append(time.monotonic() - t0)
    c1 = cpu()
    use = "Use the class's model on the Human feedback page"
    teacher.get_by_role("button", name=use).wait_for(timeout=1_200_000)
    ended, after_end = time.monotonic(), []
    for i, p in enumerate(students):
        try:
            p.get_by_role("button", name=use).wait_for(timeout=120_000)
        except Exception:
            stuck(p, artifacts, f"watcher-{i + 1}")
        after_end.append(time.monotonic() - ended)
    say(f"4. the class run: the teacher's click -> on every student's page: {spread(shown)}; "
        f"the server's CPU meanwhile {c1 - c0:.1f} s (the run itself is in a worker)")
    say(f"   one run for {N} watchers, {ended - t0:.0f} s; its end -> on every student's page: "
        f"{spread(after_end)}")
