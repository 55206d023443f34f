"""Workshop load (`make test-load`, not in CI): one server, a teacher and 40 student browsers in one class. Every student
guesses on the Tokens page, one at a time, and we time how long the click takes to show for the
others (the teacher's live count, and a classmate's box); then all 40 change their minds at once;
then the teacher reveals and we time the answer reaching every screen. Checks: every guess stored
exactly once, each the student's last click. Prints p50/p95 and the server's memory, and writes
them to test-artifacts/classroom-load.txt. `make test-load`, or:

    PYTHONPATH=$PWD:$PWD/tests python -m pytest -m load -s tests/e2e/test_classroom_load.py
    CLASS_LOAD_STUDENTS=10 ...     # fewer browsers
"""
import collections
import os
import re
import sqlite3
import statistics
import subprocess
import time
from urllib.parse import parse_qs, urlparse

import pytest

from conftest import start_server, stop_server
from test_browser import no_exceptions, visit, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.load]

N = int(os.environ.get("CLASS_LOAD_STUDENTS", "40"))
CHOICES = ("≤ 5", "6", "7", "8", "9", "≥ 10")


@pytest.fixture(scope="module")
def class_server(tmp_path_factory, models_copy, artifacts):
    db = tmp_path_factory.mktemp("classload") / "ratings.sqlite"
    proc, url = start_server(models_copy, {"EXPLAINER_RATINGS_DB": str(db)})
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


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def metric(page, label: str) -> int:
    text = page.locator('[data-testid="stMetric"]', has_text=label).first.inner_text()
    return int(re.findall(r"[\d,]+", text.split(label, 1)[1])[0].replace(",", ""))


def test_forty_students_in_one_class(browser, class_server, artifacts):
    proc, url, db = class_server
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

        students, opened, open_times = [], time.monotonic(), []
        for i in range(N):
            ctx = browser.new_context(viewport={"width": 1000, "height": 800})
            contexts.append(ctx)
            p = ctx.new_page()
            p.set_default_timeout(120_000)
            t0 = time.monotonic()
            p.goto(f"{url}/Tokens?class={code}", wait_until="commit", timeout=300_000)
            try:
                p.locator(".st-key-ptr_tokens-count").get_by_text(f"Class {code}:").wait_for(
                    timeout=300_000)
            except Exception:
                p.screenshot(path=artifacts / f"classroom-load-stuck-{i + 1}.png", full_page=True)
                raise AssertionError(f"student {i + 1}'s page after 300 s: "
                                     + p.locator("body").inner_text()[-1500:]) from None
            students.append(p)
            open_times.append(time.monotonic() - t0)
            print(f"student {i + 1} in: {open_times[-1]:.1f} s", flush=True)
        open_s = time.monotonic() - opened
        teacher.wait_for_function("() => document.body.innerText.includes('Joined')")
        mem_joined = tree_rss_mb(proc.pid)

        # one at a time: click -> the teacher's count and the next classmate's box show it
        to_teacher, to_peer, last = [], [], {}
        for i, p in enumerate(students):
            choice = CHOICES[i % len(CHOICES)]
            box = p.locator(".st-key-ptr_tokens-count")
            t0 = time.monotonic()
            box.get_by_role("button", name=choice, exact=True).click()
            last[i] = choice
            deadline = t0 + 30
            while metric(teacher, "Guesses") < i + 1:
                assert time.monotonic() < deadline, "the teacher never saw the guess"
                teacher.wait_for_timeout(25)
            to_teacher.append(time.monotonic() - t0)
            peer = students[(i + 1) % N].locator(".st-key-ptr_tokens-count")
            word = "guess" if i == 0 else "guesses"
            peer.get_by_text(f"{i + 1} {word} so far").wait_for(timeout=30_000)
            to_peer.append(time.monotonic() - t0)

        # all at once: everybody changes their mind
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

        # the reveal, on every screen
        teacher.locator(".st-key-reveal_tokens-count").get_by_role("button").click()
        t0, reveal = time.monotonic(), []
        for p in students:
            p.locator(".st-key-ptr_tokens-count").get_by_text("The model: 9.").wait_for(timeout=60_000)
            reveal.append(time.monotonic() - t0)
        mem_end = tree_rss_mb(proc.pid)
        cpu = cpu_seconds(proc.pid) - cpu0
        wall = time.monotonic() - wall0
        for p in students[:3] + [teacher]:
            no_exceptions(p)
        load = open("/proc/loadavg").read().split()[:3]
        report = "\n".join([
            f"classroom load test: {N} student browsers + 1 teacher, one server "
            f"(load average {' '.join(load)})",
            f"opening {N} pages one after another: {open_s:.1f} s (each: p50 "
            f"{statistics.median(open_times):.1f} s, max {max(open_times):.1f} s)",
            f"click -> teacher's live count: p50 {statistics.median(to_teacher):.2f} s, "
            f"p95 {pct(to_teacher, 0.95):.2f} s, max {max(to_teacher):.2f} s",
            f"click -> a classmate's box:    p50 {statistics.median(to_peer):.2f} s, "
            f"p95 {pct(to_peer, 0.95):.2f} s, max {max(to_peer):.2f} s",
            f"{N} changes of mind at once: all stored in {burst_s:.2f} s; stored {len(rows)} "
            f"guesses for {N} students (clicked {2 * N}, one per student kept)",
            f"reveal -> on all {N} screens: p50 {statistics.median(reveal):.2f} s, "
            f"p95 {pct(reveal, 0.95):.2f} s, last {max(reveal):.2f} s",
            f"server memory (with workers): idle {mem_idle:.0f} MB, {N} joined "
            f"{mem_joined:.0f} MB, end {mem_end:.0f} MB",
            f"server CPU: {cpu:.0f} s in {wall:.0f} s ({cpu / wall:.2f} cores on average)",
        ])
        print("\n" + report)
        (artifacts / "classroom-load.txt").write_text(report + "\n")
    finally:
        for c in contexts:
            c.close()
