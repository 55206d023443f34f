"""The Classroom page and the predict-then-reveal box (AppTest): create a class, join by code or
link, unknown/ended codes and forged keys, a guess alone and in a class, the teacher's live view
(reveal, reset) and the class run started once for everyone."""
import time

import pytest
from pagetest import ROOT, texts
from streamlit.testing.v1 import AppTest

from explainer.classroom.classes import ClassConfig, Classroom
from explainer.phases import reward
from explainer.phases.ratings import RatingsStore

PAGE = "pages/8_Classroom.py"
TOKENS = "pages/1_Tokens.py"


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "ratings.sqlite"
    monkeypatch.setenv("EXPLAINER_RATINGS_DB", str(path))
    return path


def page(path: str, **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_create_shows_code_qr_and_the_two_links(db):
    at = ok(page(PAGE))
    at.button(key="create_class").click()
    at = ok(at.run())
    code, key = at.query_params["class"], at.query_params["key"]
    assert f"Class code: `{code}`" in texts(at.markdown)
    links = [c.value for c in at.code]
    assert links[0].endswith(f"?class={code}") and "key" not in links[0]      # the students' link
    assert links[1].endswith(f"?class={code}&key={key}")                    # the teacher's
    qr = at.get("image")[0]                                                # the QR code, SVG
    assert qr.value[0].startswith("data:image/svg+xml") and qr.captions == ["Scan to join"]
    assert Classroom(db).is_teacher(code, key)
    assert [m.value for m in at.metric] == ["0", "0", "0"]


def test_join_by_code_and_clear_messages_for_bad_codes_and_keys(db):
    room = Classroom(db)
    new = room.create()
    at = ok(page(PAGE))
    at.text_input[0].input("qqqqq")
    at.button[0].click()                                                    # the form's Join
    at = ok(at.run())
    assert "There is no class with the code QQQQQ" in texts(at.error)
    at.text_input[0].input(new.code.lower())
    at.button[0].click()
    at = ok(at.run())
    assert f"You are in class **{new.code}**" in texts(at.success)
    assert room.info(new.code).members == 1
    forged = ok(page(PAGE, **{"class": new.code, "key": "not-the-key"}))
    assert "does not belong to class" in texts(forged.error) and "joined as a student" in texts(forged.error)
    assert not any(b.key == "reset_class" for b in forged.button)            # no teacher controls
    assert room.info(new.code).members == 2
    old = Classroom(db, ClassConfig(hours=1), clock=lambda: time.time() - 7200).create()
    ended = ok(page(PAGE, **{"class": old.code}))
    assert f"Class {old.code} ended" in texts(ended.error)
    assert "class" not in ended.query_params                                 # left, page works
    assert any(b.key == "create_class" for b in ended.button)


def test_a_guess_alone_reveals_the_models_answer(db):
    at = ok(page(TOKENS))
    assert "Click your guess first" in texts(at.caption)
    at.button(key="ptr_tokens-count_c2").click()                            # "7"
    at = ok(at.run())
    md = texts(at.markdown)
    assert "**The model: 9.** ❌ You guessed “7”." in md                     # the base BPE: 9 tokens
    assert "9 tokens: W | h | at" in texts(at.caption)
    at.button(key="ptr_tokens-count_c4").click()                            # change of mind: "9"
    assert "✅ You guessed right." in texts(ok(at.run()).markdown)


def test_in_a_class_guesses_wait_for_the_teachers_reveal(db):
    room = Classroom(db)
    new = room.create()
    room.guess(new.code, "tokens-count", "someone-else", "6")
    at = ok(page(TOKENS, **{"class": new.code}))
    at.button(key="ptr_tokens-count_c4").click()                            # "9"
    at = ok(at.run())
    assert room.tally(new.code, "tokens-count") == {"6": 1, "9": 1}
    assert "2 guesses so far. Yours is in" in texts(at.caption)
    assert "The model:" not in texts(at.markdown)
    teacher = ok(page(TOKENS, **{"class": new.code, "key": new.key}))
    assert "You are the teacher" in texts(teacher.caption)
    teacher.button(key="ptr_tokens-count_reveal").click()
    ok(teacher.run())
    assert room.revealed(new.code, "tokens-count")
    at = ok(at.run())
    assert "**The model: 9.** ✅ You guessed right." in texts(at.markdown)
    assert len(at.get("plotly_chart")) >= 1                                 # the class's bars
    assert room.info(new.code).members == 2                                 # the teacher is not one


def test_the_teacher_sees_guesses_live_and_can_reset(db):
    room = Classroom(db)
    new = room.create()
    for s, c in (("a", "night"), ("b", "night"), ("c", "day")):
        room.guess(new.code, "pretrain-first", s, c)
    at = ok(page(PAGE, **{"class": new.code, "key": new.key}))
    assert "night: **2** · day: **1**" in texts(at.markdown)
    assert [m.value for m in at.metric][:2] == ["3", "3"]
    at.button(key="reveal_pretrain-first").click()
    at = ok(at.run())
    assert room.revealed(new.code, "pretrain-first")
    at.button(key="reset_class").click()
    at = ok(at.run())
    assert room.tallies(new.code) == {} and not room.revealed(new.code, "pretrain-first")


def test_the_class_run_starts_once_and_students_watch_it(db):
    room = Classroom(db)
    new = room.create()
    store = RatingsStore(db)
    students = [f"s{i}" for i in range(4)]
    for s in students:
        room.join(new.code, s)
    for i in range(reward.MIN_RATINGS + 2):
        store.add(f"Question {i % 3}?", f"Answer {i}.", 1 if i % 2 else -1, "tuned", students[i % 4])
    assert reward.check_ratings(room.ratings(new.code)) is None
    teacher = ok(page(PAGE, **{"class": new.code, "key": new.key}))
    teacher.button(key="class_run").click()
    teacher = ok(teacher.run())
    job = room.info(new.code).run_job
    assert job
    other_tab = ok(page(PAGE, **{"class": new.code, "key": new.key}))
    assert other_tab.button(key="class_run").disabled                       # one run, not two
    student = ok(page(PAGE, **{"class": new.code}))
    assert room.info(new.code).run_job == job
    from explainer.app import ui
    jm = ui.get_job_manager()
    assert [v.id for v in jm.jobs_for(f"class:{new.code}")] == [job]
    assert not any(b.key == "class_run" for b in student.button)            # students only watch
    jm.cancel(job)
    jm.wait(job, timeout=60)


def test_after_a_server_restart_the_page_says_the_class_run_is_gone_and_keeps_the_guesses(db):
    room = Classroom(db)
    new = room.create()
    room.guess(new.code, "tokens-count", "s1", "9")
    room.start_run(new.code, new.key, lambda: "a-job-of-the-old-server")    # then the restart
    student = ok(page(PAGE, **{"class": new.code}))
    assert "no longer on this server (it restarted)" in texts(student.info)
    assert "your teacher can start it again" in texts(student.info)
    teacher = ok(page(PAGE, **{"class": new.code, "key": new.key}))
    assert "start the run again" in texts(teacher.info)
    assert "9: **1**" in texts(teacher.markdown)


def test_the_class_chart_counts_whole_students_and_marks_the_answer_and_yours():
    from explainer.app.classroom import guess_chart
    from explainer.views import charts
    choices = ["≤ 5", "6", "7", "8", "9", "≥ 10"]
    one = guess_chart(choices, {"6": 1}, right="9", mine="6")
    bar = one.data[0]
    assert list(bar.y) == [0, 1, 0, 0, 0, 0] and one.layout.yaxis.dtick == 1    # no "0.5 students"
    assert list(bar.text)[1] == "1 · you"
    assert bar.marker.color[4] == charts.PALETTE[2] and bar.marker.color[1] == charts.PALETTE[0]
    assert "9 ✓" in one.layout.xaxis.ticktext[4]
    forty = guess_chart(choices, {"6": 22, "9": 18}, right="9")
    assert forty.layout.yaxis.dtick == 5 and forty.layout.title.text.endswith("(40)")
