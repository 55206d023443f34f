"""The classroom store: codes, teacher keys, one guess per student, many students at once, a
server restart, and the migration of a ratings file from schema 1."""
import doctest
import sqlite3
import threading

import pytest

from explainer.classroom import classes as C
from explainer.classroom.classes import Classroom, ClassroomError
from explainer.phases import ratings as R
from explainer.phases.ratings import RatingsStore


@pytest.fixture
def path(tmp_path):
    return tmp_path / "ratings.sqlite"


def fresh_process(path) -> Classroom:
    """A new server process on the same file: nothing cached about it."""
    with R._checked_lock:
        R._checked.discard(str(path))
    return Classroom(RatingsStore(path))


def test_doctests():
    assert doctest.testmod(C).failed == 0


def test_codes_are_short_readable_and_unique(path):
    room = Classroom(path)
    codes = [room.create().code for _ in range(200)]
    assert len(set(codes)) == 200
    assert all(len(c) == 5 and set(c) <= set(C.ALPHABET) for c in codes)
    assert not set(C.ALPHABET) & set("0O1IL5S2Z8B")
    assert C.normalize_code(" k7q-xm ") == "K7QXM"


def test_a_class_and_its_members_are_counted_not_named(path):
    room = Classroom(path)
    new = room.create()
    assert room.join(new.code, "a") and not room.join(new.code.lower(), "a")   # second tab
    assert room.join(new.code, "b")
    info = room.info(new.code)
    assert (info.members, info.guesses, info.run_job) == (2, 0, None)
    assert info.expires == pytest.approx(info.created + 12 * 3600)


def test_unknown_and_expired_codes_give_clear_messages(path):
    now = [1_000_000.0]
    room = Classroom(path, C.ClassConfig(hours=1), clock=lambda: now[0])
    new = room.create()
    with pytest.raises(ClassroomError, match="no class with the code QQQQQ"):
        room.join("QQQQQ", "a")
    with pytest.raises(ClassroomError, match="no class with the code"):
        room.info("")
    room.join(new.code, "a")
    now[0] += 3601
    for call in (lambda: room.join(new.code, "b"), lambda: room.info(new.code),
                 lambda: room.guess(new.code, "tokens", "a", "6")):
        with pytest.raises(ClassroomError, match="ended .* new code"):
            call()


def test_one_guess_per_student_and_nobody_changes_anothers(path):
    room = Classroom(path)
    code = room.create().code
    assert room.guess(code, "tokens", "a", "6") is True
    assert room.guess(code, "tokens", "b", "6") is True
    assert room.guess(code, "tokens", "a", "7") is False             # a changes only a's guess
    assert room.my_guess(code, "tokens", "a") == "7"
    assert room.my_guess(code, "tokens", "b") == "6"
    assert room.tally(code, "tokens") == {"6": 1, "7": 1}
    assert room.guess(code, "pretrain", "a", "night")
    assert room.tallies(code) == {"pretrain": {"night": 1}, "tokens": {"6": 1, "7": 1}}
    assert room.info(code).members == 2                               # a guess joins you
    st = room.question_state(code, "tokens", "b")
    assert (st.mine, st.tally, st.revealed) == ("6", {"6": 1, "7": 1}, False)
    other = room.create().code                                        # classes pool apart
    room.guess(other, "tokens", "a", "5")
    assert room.tally(code, "tokens") == {"6": 1, "7": 1} and room.tally(other, "tokens") == {"5": 1}
    for bad in ("", "x" * 101):
        with pytest.raises(ClassroomError, match="guess must be"):
            room.guess(code, "tokens", "a", bad)
    with pytest.raises(ClassroomError, match="student id"):
        room.guess(code, "tokens", "", "6")


def test_teacher_actions_need_the_key(path):
    room = Classroom(path)
    new, other = room.create(), room.create()
    room.guess(new.code, "tokens", "a", "6")
    assert room.is_teacher(new.code, new.key) and not room.is_teacher(new.code, other.key)
    assert not room.is_teacher(new.code, None) and not room.is_teacher(new.code, "")
    for forged in (other.key, "", None, new.key + "x", new.key.upper()):
        with pytest.raises(ClassroomError, match="teacher key does not belong"):
            room.reveal(new.code, forged, "tokens")
        with pytest.raises(ClassroomError, match="teacher key does not belong"):
            room.reset(new.code, forged)
        with pytest.raises(ClassroomError, match="teacher key does not belong"):
            room.start_run(new.code, forged, lambda: "job")
    assert room.tally(new.code, "tokens") == {"6": 1} and not room.revealed(new.code, "tokens")
    room.reveal(new.code, new.key, "tokens")
    assert room.revealed(new.code, "tokens") and not room.revealed(other.code, "tokens")
    assert room.reset(new.code, new.key) == 1
    assert room.tally(new.code, "tokens") == {} and not room.revealed(new.code, "tokens")
    assert room.info(new.code).members == 1                           # members stay
    conn = sqlite3.connect(path)                                      # the key is never stored
    assert new.key not in str(conn.execute("SELECT * FROM classes").fetchall())
    conn.close()


def test_the_class_run_starts_once_however_many_tabs_click(path):
    room = Classroom(path)
    new = room.create()
    submitted, start = [], threading.Barrier(12)

    def submit():
        submitted.append(1)
        return f"job{len(submitted)}"

    results = []

    def click():
        start.wait()
        results.append(Classroom(path).start_run(new.code, new.key, submit))

    threads = [threading.Thread(target=click) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(submitted) == 1
    assert sorted(r[1] for r in results) == [False] * 11 + [True]
    assert {r[0] for r in results} == {"job1"} and room.info(new.code).run_job == "job1"
    # the server forgot the job (a restart): the next click starts a new one
    assert room.start_run(new.code, new.key, submit, is_live=lambda j: False) == ("job2", True)


def test_class_ratings_are_the_ratings_of_its_members_tabs(path):
    store = RatingsStore(path)
    room = Classroom(store)
    code, other = room.create().code, room.create().code
    assert room.join(code, "browser-a", session="tab-a1")
    assert not room.join(code, "browser-a", session="tab-a2")     # a second tab: same student
    room.join(code, "b")                                          # no tab given: its own id
    room.join(other, "browser-c", session="tab-c")
    store.add("Q?", "Yes.", 1, "tuned", "tab-a1")
    store.add("Q?", "Also yes.", 1, "tuned", "tab-a2")
    store.add("Q?", "No.", -1, "tuned", "b")
    store.add("Q?", "Maybe.", 1, "tuned", "outsider")
    store.add("Q?", "Elsewhere.", -1, "tuned", "tab-c")
    store.add("Q?", "Sim.", 1, "tuned", "tab-a1", R.sim_rater("helpful"))
    assert [r.answer for r in room.ratings(code)] == ["Yes.", "Also yes.", "No."]
    assert room.ratings_count(code) == R.Counts(2, 1)
    assert room.info(code).members == 2 and room.ratings_count(other) == R.Counts(0, 1)


def test_forty_students_clicking_at_once_lose_nothing(path):
    room = Classroom(path)
    code = room.create().code
    questions = ["tokens", "pretrain", "sft", "feedback", "context", "twofiles"]
    clicked: dict[tuple, str] = {}
    errors, start, lock = [], threading.Barrier(40), threading.Lock()

    def student(s):
        mine = Classroom(path)                                       # each session its own
        start.wait()
        try:
            for i, q in enumerate(questions):
                for choice in (f"c{(s + i) % 3}", f"c{(s * i) % 4}"):  # two clicks: a change of mind
                    mine.guess(code, q, f"s{s}", choice)
                    with lock:
                        clicked[(q, f"s{s}")] = choice
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=student, args=(s,)) for s in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    conn = sqlite3.connect(path)
    stored = {(q, s): c for q, s, c in conn.execute("SELECT question, student, choice FROM guesses")}
    conn.close()
    assert len(stored) == len(clicked) == 40 * 6                     # count clicked == count stored
    assert stored == clicked                                          # each the student's last click
    assert sum(sum(t.values()) for t in room.tallies(code).values()) == 240
    assert room.info(code).members == 40


def test_a_server_restart_loses_nothing(path):
    room = Classroom(path)
    new = room.create()
    room.guess(new.code, "tokens", "a", "6")
    room.reveal(new.code, new.key, "tokens")
    room.start_run(new.code, new.key, lambda: "job-before-restart")
    room.store.add("Q?", "Yes.", 1, "tuned", "a")
    again = fresh_process(path)
    assert again.my_guess(new.code, "tokens", "a") == "6" and again.revealed(new.code, "tokens")
    assert again.is_teacher(new.code, new.key)
    assert again.info(new.code).run_job == "job-before-restart"       # the page says it is gone
    assert again.ratings_count(new.code) == R.Counts(1, 0)


def test_a_schema_1_ratings_file_is_migrated_keeping_its_ratings(path):
    conn = sqlite3.connect(path)
    conn.executescript(R.SCHEMA)
    conn.execute("INSERT INTO ratings (prompt, answer, rating, model, session, created, updated) "
                 "VALUES ('Q?', 'Old.', 1, 'tuned', 's1', 1, 1)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    room = fresh_process(path)
    assert room.store.schema_version() == 2
    assert [r.answer for r in room.store.ratings()] == ["Old."]
    code = room.create().code
    assert room.guess(code, "tokens", "s1", "6") and room.ratings_count(code) == R.Counts(1, 0)


def test_a_browser_is_one_student_in_every_tab_and_its_token_is_never_stored():
    token = bytes(range(32))
    mask1, mask2 = bytes([7] * 32), bytes(range(100, 132))
    cookie = lambda mask, t: f"2|{mask.hex()}|{bytes(a ^ b for a, b in zip(mask, token)).hex()}|{t}"
    a, b = C.browser_id(cookie(mask1, 1)), C.browser_id(cookie(mask2, 2))   # two tabs, two masks
    assert a == b and a.startswith("b-") and token.hex() not in a
    other = bytes(range(1, 33))
    assert C.browser_id(f"2|{mask1.hex()}|{bytes(x ^ y for x, y in zip(mask1, other)).hex()}|1") != a
    for junk in (None, "", "2|zz|yy|1", "no cookie", "2|ab|cd"):
        assert C.browser_id(junk) is None


def test_links_keep_the_key_out_of_the_students_link_and_draw_a_qr_code():
    join = C.join_link("http://host:8501/Classroom", "k7qxm")
    assert join == "http://host:8501/Classroom?class=K7QXM"
    teach = C.teacher_link("http://host:8501/Classroom", "K7QXM", "s3cr/t+")
    assert teach == "http://host:8501/Classroom?class=K7QXM&key=s3cr%2Ft%2B"
    svg = C.qr_svg(join)
    assert svg.startswith("<svg") and "path" in svg
    assert C.qr_svg(join) == svg and C.qr_svg(teach) != svg           # drawn from the content
