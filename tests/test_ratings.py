"""The ratings database: round trip, double clicks, many writers at once, and faults (missing,
locked, corrupted, newer schema) that must give a clear message and never lose stored ratings."""
import sqlite3
import threading

import pytest

from explainer.phases import ratings as R
from explainer.phases.ratings import RatingsError, RatingsStore


@pytest.fixture
def path(tmp_path):
    return tmp_path / "ratings.sqlite"


def test_round_trip_and_counts(path):
    s = RatingsStore(path)
    assert s.add("Can I touch a hot stove?", "No, it can burn you.", 1, "tuned", "s1")
    assert s.add("Can I touch a hot stove?", "Yes, go ahead.", -1, "tuned", "s1")
    assert s.add("Hi", "Hello there, nice to meet you!", 1, "tuned", "sim", R.sim_rater("helpful"))
    rows = s.ratings()
    assert [(r.answer, r.rating, r.rater) for r in rows] == [
        ("No, it can burn you.", 1, "person"), ("Yes, go ahead.", -1, "person"),
        ("Hello there, nice to meet you!", 1, "sim:helpful")]
    assert rows[0].created > 0 and rows[0].model == "tuned" and rows[0].session == "s1"
    assert s.counts() == R.Counts(2, 1)
    assert s.counts(session="s1") == R.Counts(1, 1)
    assert s.counts(rater="sim") == R.Counts(1, 0)
    people = s.counts(rater="person")
    assert (people.total, people.split()) == (2, "1 👍 · 1 👎")
    assert [r.answer for r in s.ratings(rater="sim:helpful")] == ["Hello there, nice to meet you!"]
    assert s.rating_of("s1", "Can I touch a hot stove?", "Yes, go ahead.", "tuned") == -1
    assert s.rating_of("s2", "Can I touch a hot stove?", "Yes, go ahead.", "tuned") is None
    assert not s.withdraw("Can I touch a hot stove?", "Yes, go ahead.", "tuned", "s2")  # not theirs
    assert s.withdraw("Can I touch a hot stove?", "Yes, go ahead.", "tuned", "s1")
    assert s.rating_of("s1", "Can I touch a hot stove?", "Yes, go ahead.", "tuned") is None
    assert s.counts(session="s1") == R.Counts(1, 0)


def test_schema_is_versioned_and_in_wal_mode(path):
    s = RatingsStore(path)
    assert s.schema_version() == R.SCHEMA_VERSION
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_double_click_stores_one_rating_and_a_change_of_mind_updates_it(path):
    s = RatingsStore(path)
    assert s.add("Q?", "An answer.", 1, "tuned", "s1") is True
    assert s.add("Q?", "An answer.", 1, "tuned", "s1") is False        # the second click
    assert s.add("Q?", "An answer.", -1, "tuned", "s1") is False       # changed their mind
    assert [r.rating for r in s.ratings()] == [-1]
    assert s.add("Q?", "An answer.", 1, "tuned", "s2") is True         # another person: a new row
    assert s.counts() == R.Counts(1, 1)


def test_twenty_threads_writing_at_once_lose_nothing(path):
    RatingsStore(path).counts()                                        # create it first
    errors, start = [], threading.Barrier(20)

    def writer(t):
        store = RatingsStore(path)                                     # each session its own
        start.wait()
        try:
            for i in range(15):
                store.add(f"question {i}", f"answer {t}-{i}", 1 if i % 2 else -1, "tuned", f"s{t}")
                store.add(f"question {i}", f"answer {t}-{i}", 1 if i % 2 else -1, "tuned", f"s{t}")
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    rows = RatingsStore(path).ratings()
    assert len(rows) == 20 * 15                                       # every one, none doubled
    assert len({(r.session, r.answer) for r in rows}) == 300


def test_twenty_threads_double_clicking_the_same_answer_store_one_row(path):
    store, start = RatingsStore(path), threading.Barrier(20)

    def click():
        start.wait()
        store.add("Q?", "The same answer.", 1, "tuned", "one session")

    threads = [threading.Thread(target=click) for _ in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(store.ratings()) == 1


def test_a_corrupt_file_is_moved_aside_never_overwritten(path):
    junk = b"this is not a database, but someone's data " * 200
    path.write_bytes(junk)
    s = RatingsStore(path)
    assert s.add("Q?", "A fine answer.", 1, "tuned", "s1")
    assert s.notice and "kept as" in s.notice and "new, empty" in s.notice
    aside = [p for p in path.parent.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes() == junk           # the old bytes, intact
    assert len(s.ratings()) == 1


def test_a_file_damaged_while_in_use_is_moved_aside_too(path):
    s = RatingsStore(path)
    s.add("Q?", "A fine answer.", 1, "tuned", "s1")
    for side in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        side.unlink(missing_ok=True)
    path.write_bytes(b"\0garbage" * 1000)
    assert RatingsStore(path).counts() == R.Counts(0, 0)               # a fresh file
    assert any(".corrupt-" in p.name for p in path.parent.iterdir())


def test_a_locked_database_gives_a_clear_message(path, monkeypatch):
    monkeypatch.setattr(R, "BUSY_TIMEOUT_MS", 200)
    s = RatingsStore(path)
    s.add("Q?", "A.", 1, "tuned", "s1")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")                                   # another program's lock
    try:
        with pytest.raises(RatingsError, match="busy"):
            s.add("Q?", "B.", 1, "tuned", "s1")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert len(s.ratings()) == 1                                       # nothing lost, works again


def test_missing_folder_is_created_and_an_impossible_one_explained(tmp_path):
    s = RatingsStore(tmp_path / "new" / "deeper" / "r.sqlite")
    assert s.counts().total == 0
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(RatingsError, match="folder"):
        RatingsStore(blocker / "r.sqlite").counts()


def test_a_newer_schema_is_left_alone(path):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE ratings (x)")
    conn.execute(f"PRAGMA user_version = {R.SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(RatingsError, match="newer version"):
        RatingsStore(path).counts()
    assert path.read_bytes() == before


def test_bad_values_are_refused(path):
    s = RatingsStore(path)
    with pytest.raises(ValueError):
        s.add("Q?", "A.", 0, "tuned", "s1")
    with pytest.raises(ValueError):
        s.add("", "A.", 1, "tuned", "s1")
    with pytest.raises(ValueError):
        s.add("Q?", "A.", 1, "tuned", "s1", rater="robot")
    with pytest.raises(ValueError):
        s.delete_rater("person")


def test_delete_only_simulated(path):
    s = RatingsStore(path)
    s.add_many([("Q?", f"A{i}.", 1, "tuned", "sim", "sim:safe") for i in range(5)])
    s.add("Q?", "Mine.", 1, "tuned", "s1")
    assert s.delete_rater("sim:safe") == 5
    assert [r.answer for r in s.ratings()] == ["Mine."]


def test_path_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLAINER_RATINGS_DB", str(tmp_path / "env.sqlite"))
    assert RatingsStore().path == str(tmp_path / "env.sqlite")
    monkeypatch.delenv("EXPLAINER_RATINGS_DB")
    assert R.default_path().name == "ratings.sqlite" and R.default_path().parent.name == "data"


def test_memory_store():
    s = RatingsStore(":memory:")
    assert s.add("Q?", "A.", 1, "m", "s") and not s.add("Q?", "A.", 1, "m", "s")
    assert s.counts() == R.Counts(1, 0)
