"""A quiet workshop, timed in real browsers against a real `streamlit run` server (issue 20).

Idle, warm server: every page's first render (a click on the sidebar's link until the page's
computed content is visible), the Tokens page's answer to new text, a slider move on the
Context window page, and Home's model table after the server first answers. Then, with two
trainings running and one waiting (each started from the Pretraining page in its own browser
context: the `small` preset, 200 steps, so the test takes minutes): the same interactions' p95,
the gaps between the progress line's updates on a training's page, the estimate shown before
Start against the real time, and each training's tokens/s.

The figures are printed as a table (run with `-s`, or as a script:
`PYTHONPATH=. python tests/e2e/test_load_browser.py [idle]`). Asserted are only bounds that
mean "broken" on a shared 2-core machine (the issue's targets are 4-10x tighter and are checked by
reading the table): a page that takes 10 s, progress that stalls for 10 s, an estimate off by 2x.
The browser shares the 2 cores with the server here; in a classroom it runs on the learners'
machines, so these figures are pessimistic.
"""
from __future__ import annotations

import os
import re
import statistics
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from harness import (  # noqa: E402
    CHROMIUM,
    ROOT,
    chromium,
    load,
    open_page,
    percentile,
    progress_intervals,
    running_server,
    seconds_of,
    table,
    timed,
    wait_idle,
    watch_text,
)

pytestmark = [pytest.mark.load, pytest.mark.browser]

PRESET = os.environ.get("LOAD_PRESET", "small")   # the case; "tiny" for a quick check
STEPS = int(os.environ.get("LOAD_STEPS", "200"))    # one of the page's choices: 50, 100, 200, ...
REPEATS = 5                       # each interaction on the idle server
VIEWPORT = {"width": 1400, "height": 900}


def content(page, path: str) -> list:
    """Locators of a page's main content, the last parts its script run computes."""
    plot = lambda key: page.locator(f".st-key-{key} .js-plotly-plot")   # noqa: E731
    return {
        "": [page.get_by_role("cell", name="base (shipped)")],
        "/Tokens": [page.get_by_text("The IDs, as the model sees them:").nth(2), plot("emb")],
        "/Pretraining": [plot("try_bars")],
        "/Instruction_tuning": [page.get_by_text(re.compile(r"^Tuned model: \d+% of answers"))],
        "/Human_feedback": [page.get_by_text("Watch for reward hacking")],
        "/Context_window": [plot("cw_curve"), page.get_by_text("… after dropping", exact=False)],
        "/Two_files": [plot("tf_scale")],
    }[path]


PAGES = ["", "/Tokens", "/Pretraining", "/Instruction_tuning", "/Human_feedback", "/Context_window",
         "/Two_files"]


def new_page(browser):
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.set_default_timeout(180_000)
    return page


# ---------------------------------------------------------------------------------------------
# What one learner does


def page_renders(browser, url: str, passes: int = 1) -> list[dict[str, float]]:
    """Each page, in a new browser context, through the sidebar's links (Home first by its URL),
    `passes` times: the first pass also loads the browser's code for charts and tables, the
    next ones find it in the browser's cache (as a learner moving on does)."""
    page = new_page(browser)
    out = []
    for i in range(passes):
        row = {"Home (by its URL)": open_page(page, url, "", *content(page, ""))} if i == 0 else {}
        wait_idle(page)
        for path in PAGES[1:] + [""]:
            row[path.strip("/") or "Home"] = open_page(page, url, path, *content(page, path))
            wait_idle(page, 180_000)
        out.append(row)
    page.context.close()
    return out


def tokens_answers(page, url: str, n: int, tag: str) -> list[float]:
    """New text in the Tokens page's box, Ctrl+Enter, until cl100k's new IDs are shown."""
    from explainer.gpt.tokenizer import cl100k
    open_page(page, url, "/Tokens", *content(page, "/Tokens"))
    wait_idle(page)
    box = page.get_by_role("textbox", name="Your text")
    out = []
    for i in range(n):
        text = f"Sentence {tag} {i}: what should {i * 7 + 3} giraffes eat on day {time.time_ns()}?"
        ids = "[" + ", ".join(map(str, cl100k().encode(text))) + "]"
        box.fill(text)
        out.append(timed(page, lambda: box.press("Control+Enter"), page.get_by_text(ids)))
        wait_idle(page)
    return out


def slider_moves(page, url: str, n: int) -> list[float]:
    """The Context window page's window slider one token left, until the caption says so."""
    open_page(page, url, "/Context_window", *content(page, "/Context_window"))
    wait_idle(page)
    slider = page.get_by_role("slider").first          # the window (the chat's budget is 2nd)
    out = []
    for _ in range(n):
        now = int(slider.input_value())
        slider.focus()
        out.append(timed(page, lambda: slider.press("ArrowLeft"),
                         page.get_by_text(f"sees the last {now - 1}", exact=False)))
        wait_idle(page)
    return out


def start_training(page, url: str) -> dict:
    """Open Pretraining, pick PRESET and STEPS, read the estimate, press Start."""
    open_page(page, url, "/Pretraining", *content(page, "/Pretraining"))
    wait_idle(page)
    select = page.get_by_role("combobox", name="Model size")
    select.click()
    select.press_sequentially(PRESET)                            # the select filters as you type
    page.get_by_role("option", name=re.compile(f"^{PRESET}")).wait_for()
    select.press("Enter")
    wait_idle(page)
    slider = page.get_by_role("slider").first                  # training steps
    slider.focus()
    slider.press("Home")
    for _ in range(len([s for s in (50, 100, 200, 400, 600, 1000, 2000, 4000) if s < STEPS])):
        slider.press("ArrowRight")
    line = page.get_by_text(f"{STEPS} steps ×", exact=False).first
    line.wait_for()
    wait_idle(page)
    text = line.inner_text()
    run = seconds_of(re.search(r"about (.+?) \(", text).group(1))
    wait = re.search(r"wait of about (.+?):", text)
    wait = seconds_of(wait.group(1)) if wait else 0.0
    clicked = time.time()
    page.get_by_role("button", name=re.compile("Start training")).click()
    page.get_by_text("Watch it learn").wait_for()
    watch_text(page, r"Step [\d,]+ of [\d,]+ · .*")
    return {"page": page, "estimate": run + wait, "estimate_run": run, "estimate_wait": wait,
            "clicked": clicked, "line": text}


def finished(job: dict, timeout: float = 1800) -> dict:
    """Wait for the run's end; its real time (from the browser's clock) and its tokens/s."""
    page = job["page"]
    page.get_by_text(f"Step {STEPS:,} of {STEPS:,} · done").first.wait_for(timeout=timeout * 1000)
    seen = page.evaluate("() => window.textSeen")
    done_at = next(t for t, text in seen if text.endswith("· done")) / 1000
    tps = page.get_by_test_id("stMetric").filter(has_text="Tokens / s") \
        .get_by_test_id("stMetricValue").inner_text()
    first_step = next((t for t, text in seen if re.match(r"Step [1-9]", text)), None)
    return {**job, "real": done_at - job["clicked"], "tokens_per_s": tps,
            "started_at": first_step and first_step / 1000,
            "gaps": [g for g in progress_intervals(page)]}


# ---------------------------------------------------------------------------------------------
# The measurements


def idle_figures(browser, url: str) -> dict:
    """Home's table on the fresh server, then every page once to warm it, then the timings."""
    page = new_page(browser)
    home_cold = open_page(page, url, "", *content(page, ""))
    wait_idle(page)
    page.context.close()
    page_renders(browser, url)                                  # the server's first visits: warm up
    renders = [page_renders(browser, url, passes=2) for _ in range(2)]
    page = new_page(browser)
    tokens = tokens_answers(page, url, REPEATS, "idle")
    slider = slider_moves(page, url, REPEATS)
    page.context.close()
    return {"load": load(), "home_cold": home_cold, "renders": [r[0] for r in renders],
            "renders_again": [r[1] for r in renders], "tokens": tokens,
            "slider": slider}


def load_figures(browser, url: str) -> dict:
    """Three trainings (two run, one waits) while a fourth learner uses the pages."""
    jobs = []
    for i in range(3):
        jobs.append(start_training(new_page(browser), url))
        time.sleep(2)                                # let it reach the manager before the next
    learner = new_page(browser)
    renders, tokens, slider, loads = [], [], [], []
    t_end = time.time() + 600
    while time.time() < t_end:
        running = [j for j in jobs[:2]
                   if j["page"].get_by_text(f"Step {STEPS:,} of {STEPS:,} · done").count() == 0]
        if len(running) < 2:                        # one of the first two ended: 3rd starts
            break
        renders += page_renders(browser, url)
        tokens += tokens_answers(learner, url, 2, f"load{len(tokens)}")
        slider += slider_moves(learner, url, 2)
        loads.append(load())
    learner.context.close()
    ends = [finished(j) for j in jobs]
    for j in jobs:
        j["page"].context.close()
    return {"renders": renders, "tokens": tokens, "slider": slider, "loads": loads, "jobs": ends}


def report(idle: dict, busy: dict | None) -> str:
    ms = lambda x: f"{x * 1000:,.0f} ms"                       # noqa: E731
    rows = [("Home's model table, fresh server", ms(idle["home_cold"]), "")]
    for name in idle["renders"][0]:
        i = [r[name] for r in idle["renders"]]
        again = [r[name] for r in idle["renders_again"] if name in r]
        b = [r[name] for r in busy["renders"]] if busy and busy["renders"] else []
        rows.append((f"first render: {name}",
                     f"{ms(max(i))}" + (f"; browser warm {ms(max(again))}" if again else ""),
                     f"p95 {ms(percentile(b, 0.95))} (n={len(b)})" if b else ""))
    for what, key in (("Tokens: answer to new text", "tokens"), ("Context window: slider move", "slider")):
        i = idle[key]
        b = busy[key] if busy else []
        rows.append((what, f"p50 {ms(statistics.median(i))}, max {ms(max(i))} (n={len(i)})",
                     f"p95 {ms(percentile(b, 0.95))}, max {ms(max(b))} (n={len(b)})" if b else ""))
    if busy:
        for k, j in enumerate(busy["jobs"], 1):
            gaps = j["gaps"]
            rows.append((f"training {k}: progress-line gaps",  "",
                         f"p95 {percentile(gaps, 0.95):.1f} s, max {max(gaps):.1f} s (n={len(gaps)})"))
            rows.append((f"training {k}: estimate shown / real", "",
                         f"{j['estimate']:.0f} s / {j['real']:.0f} s "
                         f"({(j['estimate'] - j['real']) / j['real']:+.0%})"))
            rows.append((f"training {k}: tokens/s", "", j["tokens_per_s"]))
    load_busy = f"load {min(busy['loads']):.2f}-{max(busy['loads']):.2f}" if busy and busy["loads"] else ""
    return table(rows, ("", f"idle server (load {idle['load']:.2f})",
                        f"2 trainings running + 1 waiting ({load_busy})"))


# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def load_server(shipped_models):
    with running_server(shipped_models, {"EXPLAINER_MAX_JOBS": "2"}) as url:
        yield url


def test_a_quiet_workshop(browser, load_server):
    idle = idle_figures(browser, load_server)
    busy = load_figures(browser, load_server)
    print("\n" + report(idle, busy))
    for r in idle["renders"] + idle["renders_again"] + busy["renders"]:
        assert max(r.values()) < 10, r
    assert max(idle["tokens"] + idle["slider"]) < 3
    for j in busy["jobs"]:
        assert max(j["gaps"]) < 10, j["gaps"]
        assert 0.5 < j["estimate"] / j["real"] < 2, (j["estimate"], j["real"], j["line"])


if __name__ == "__main__":
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} not found")
    with running_server(Path(os.environ.get("EXPLAINER_MODELS_DIR") or ROOT / "models"),
                        {"EXPLAINER_MAX_JOBS": "2"}) as url, chromium() as b:
        idle = idle_figures(b, url)
        busy = load_figures(b, url) if sys.argv[1:] != ["idle"] else None
        print(report(idle, busy))
