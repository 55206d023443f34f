"""The ratings database: thumbs up or down on the assistant's answers, in SQLite.

Every rating is one row: the prompt, the answer, +1 or -1, the model that wrote the answer, the
browser session that rated it, the time, and who rated it ("person", or "sim:helpful" for a
simulated rater). A whole class rates into the same file at once, so:

- WAL mode (readers never block the writer) and a busy timeout (a writer waits its turn instead
  of failing); each call opens its own short connection, so threads share nothing.
- A double click stores one rating, not two: (session, prompt, answer, model) is unique, and
  rating the same answer again changes the rating (an upsert).
- The schema is versioned with `PRAGMA user_version` and migrated in place (MIGRATIONS, in one
  transaction); a file from a newer version is left alone.
- Schema 2 adds the classroom's tables (classes, members, guesses, reveals: explainer/classroom/classes.py
  reads and writes them through `transaction`), so everything a class clicks is in one file and
  a class's ratings are its members' ratings (a join on the session).
- Stored ratings are never lost: a file that is not a database (or fails SQLite's quick check)
  is renamed aside with a timestamp (`ratings.sqlite.corrupt-20261128-130501`) and a fresh file
  is started; a locked or unwritable database gives a `RatingsError` whose message says what
  happened, and the app keeps working without it.

    >>> store = RatingsStore(":memory:")          # or a file path; ":memory:" for tests
    >>> store.add("Can I touch a hot stove?", "No, it can burn you.", +1, "tuned", "s1")
    True
    >>> store.add("Can I touch a hot stove?", "No, it can burn you.", +1, "tuned", "s1")  # again
    False
    >>> store.counts()
    Counts(up=1, down=0)

The file: env EXPLAINER_RATINGS_DB, or the CLI's --ratings, else data/ratings.sqlite.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from ..i18n import _, number

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 10_000       # a writer waits up to 10 s for another writer (30 clicks at once)
MAX_TEXT = 2_000               # characters kept of a prompt or an answer
PERSON = "person"

SCHEMA = """
CREATE TABLE IF NOT EXISTS ratings (
    id       INTEGER PRIMARY KEY,
    prompt   TEXT    NOT NULL,
    answer   TEXT    NOT NULL,
    rating   INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    model    TEXT    NOT NULL,
    session  TEXT    NOT NULL,
    rater    TEXT    NOT NULL DEFAULT 'person',    -- 'person' or 'sim:<rule>'
    created  REAL    NOT NULL,                     -- unix time of the first click
    updated  REAL    NOT NULL,                     -- unix time of the latest change
    UNIQUE (session, prompt, answer, model)        -- a double click cannot store two rows
);
CREATE INDEX IF NOT EXISTS ratings_rater ON ratings (rater);
"""

CLASSROOM_SCHEMA = """
CREATE TABLE IF NOT EXISTS classes (
    code     TEXT PRIMARY KEY,                     -- short, for a projector: 'K7QXM'
    key_hash TEXT NOT NULL,                        -- sha256 of the teacher key (never the key)
    created  REAL NOT NULL,
    expires  REAL NOT NULL,
    run_job  TEXT,                                 -- the class run's job id on this server
    run_started REAL
);
CREATE TABLE IF NOT EXISTS members (
    class    TEXT NOT NULL REFERENCES classes (code) ON DELETE CASCADE,
    student  TEXT NOT NULL,                        -- an anonymous browser id, the ratings' session
    joined   REAL NOT NULL,
    PRIMARY KEY (class, student)
);
CREATE INDEX IF NOT EXISTS members_student ON members (student);
CREATE TABLE IF NOT EXISTS class_sessions (
    class    TEXT NOT NULL REFERENCES classes (code) ON DELETE CASCADE,
    session  TEXT NOT NULL,                        -- a member's tab: the ratings' session column
    PRIMARY KEY (class, session)
);
CREATE TABLE IF NOT EXISTS guesses (
    class    TEXT NOT NULL REFERENCES classes (code) ON DELETE CASCADE,
    question TEXT NOT NULL,
    student  TEXT NOT NULL,
    choice   TEXT NOT NULL,
    created  REAL NOT NULL,
    updated  REAL NOT NULL,
    PRIMARY KEY (class, question, student)         -- one guess per student and question
);
CREATE TABLE IF NOT EXISTS reveals (
    class    TEXT NOT NULL REFERENCES classes (code) ON DELETE CASCADE,
    question TEXT NOT NULL,
    revealed REAL NOT NULL,
    PRIMARY KEY (class, question)
);
"""
# version -> the script that brings a file from the version before to it
MIGRATIONS = {1: SCHEMA, 2: CLASSROOM_SCHEMA}


class RatingsError(RuntimeError):
    """The ratings database cannot be used right now; the message says why and what to do."""


@dataclass(frozen=True)
class Rating:
    prompt: str
    answer: str
    rating: int            # +1 or -1
    model: str
    session: str
    rater: str = PERSON
    created: float = 0.0

    @property
    def up(self) -> bool:
        return self.rating > 0


@dataclass(frozen=True)
class Counts:
    up: int = 0
    down: int = 0

    @property
    def total(self) -> int:
        return self.up + self.down

    def split(self) -> str:
        """'9 👍 · 3 👎' (numbers as the current language writes them)."""
        return f"{number(self.up, '#,##0')} 👍 · {number(self.down, '#,##0')} 👎"


def default_path() -> Path:
    """env EXPLAINER_RATINGS_DB if set, else data/ratings.sqlite beside Home.py."""
    env = os.environ.get("EXPLAINER_RATINGS_DB", "").strip()
    return Path(env) if env else ROOT / "data" / "ratings.sqlite"


def sim_rater(name: str) -> str:
    """The rater column for a simulated rater: sim_rater("helpful") -> 'sim:helpful'."""
    return f"sim:{name}"


# --------------------------------------------------------------------------------------------------
# The store

_checked: set[str] = set()          # files already opened (and quick-checked) by this process
_checked_lock = threading.Lock()


class RatingsStore:
    """One ratings file. Cheap to create; thread-safe (each call uses its own connection).

    `notice` is set when opening had to do something the user should hear about (a damaged file
    was moved aside).
    """

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = str(path) if path is not None else str(default_path())
        self.memory = self.path == ":memory:"
        self.notice: str | None = None
        self._mem_conn = None
        if self.memory:                 # tests: one shared connection, serialised by a lock
            self._mem_conn = sqlite3.connect(":memory:", check_same_thread=False)
            self._mem_lock = threading.Lock()
            _migrate(self._mem_conn, 0)

    # --- connections --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self):
        """A connection inside a transaction (committed on success, rolled back on error)."""
        if self.memory:
            with self._mem_lock, self._mem_conn:
                yield self._mem_conn
            return
        self._open_once()
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as e:
            raise RatingsError(self._explain(e)) from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("BEGIN IMMEDIATE")       # take the write lock now, not halfway through
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            if _damaged(e):                       # damaged since we opened it: next call moves it
                with _checked_lock:
                    _checked.discard(self.path)
            raise RatingsError(self._explain(e)) from None
        finally:
            conn.close()

    def _do(self, fn):
        """Run fn(conn) in a transaction; if the file turns out to be damaged, move it aside and
        try once more on a fresh file (the damaged one is kept)."""
        try:
            with self._connect() as conn:
                return fn(conn)
        except RatingsError:
            if self.memory or self.path in _checked:
                raise
            with self._connect() as conn:         # _open_once moves the damaged file aside
                return fn(conn)

    def _explain(self, e: sqlite3.Error) -> str:
        msg = str(e).lower()
        if "locked" in msg or "busy" in msg:
            return _("The ratings database is busy (another program holds a lock on {path}). "
                     "Nothing was saved this time; try again in a moment.").format(path=self.path)
        if "readonly" in msg or "read-only" in msg or "unable to open" in msg:
            return _("Cannot write the ratings database {path} ({problem}). Check that the folder "
                     "exists and is writable, or set EXPLAINER_RATINGS_DB to another file.").format(
                path=self.path, problem=e)
        return _("The ratings database {path} cannot be used: {problem}.").format(path=self.path, problem=e)

    def _open_once(self) -> None:
        """Create the file and schema, or check an existing one (once per process and file)."""
        with _checked_lock:
            if self.path in _checked and Path(self.path).exists():
                return
            path = Path(self.path)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise RatingsError(_("Cannot create the folder for the ratings database {path}: "
                                     "{problem}.").format(path=self.path, problem=e.strerror)) from None
            problem = self._problem(path)
            if problem:
                moved = self._move_aside(path)
                self.notice = _("The ratings file was damaged ({problem}). It was kept as {file} "
                                "and a new, empty ratings file was started.").format(
                    problem=problem, file=moved.name)
            self._create(path)
            _checked.add(self.path)

    def _problem(self, path: Path) -> str | None:
        """Why an existing file is not a usable ratings database, or None (also when missing)."""
        if not path.exists() or path.stat().st_size == 0:
            return None
        try:
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                row = conn.execute("PRAGMA quick_check").fetchone()
                version = conn.execute("PRAGMA user_version").fetchone()[0]
            finally:
                conn.close()
        except sqlite3.DatabaseError as e:
            if "locked" in str(e).lower() or "busy" in str(e).lower():
                raise RatingsError(self._explain(e)) from None
            return str(e)
        if version > SCHEMA_VERSION:
            raise RatingsError(_("{file} was written by a newer version of the app (schema "
                                 "{version}, this one knows {known}); it was left as it is. Update "
                                 "the app or set EXPLAINER_RATINGS_DB to another file.").format(
                file=path.name, version=version, known=SCHEMA_VERSION))
        if not row or row[0] != "ok":
            return f"quick check: {row[0] if row else 'no answer'}"
        return None

    @staticmethod
    def _move_aside(path: Path) -> Path:
        """Rename the damaged file (and its -wal/-shm companions); never delete or overwrite."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = path.with_name(f"{path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
            n += 1
        os.replace(path, target)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
        return target

    def _create(self, path: Path) -> None:
        try:
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode = WAL")   # stored in the file: set once
                _migrate(conn, conn.execute("PRAGMA user_version").fetchone()[0])
            finally:
                conn.close()
        except sqlite3.Error as e:
            raise RatingsError(self._explain(e)) from None

    # --- writing ------------------------------------------------------------------------------

    def add(self, prompt: str, answer: str, rating: int, model: str, session: str,
            rater: str = PERSON) -> bool:
        """Store one rating; True if it is new, False if it replaced this session's earlier rating
        of the same answer (a double click, or a change of mind)."""
        return self.add_many([(prompt, answer, rating, model, session, rater)]) == 1

    def add_many(self, rows: Iterable[Sequence]) -> int:
        """Store (prompt, answer, rating, model, session[, rater]) rows in one transaction;
        returns how many were new."""
        now = time.time()
        clean = [_clean(r, now) for r in rows]
        if not clean:
            return 0
        def write(conn):
            before = conn.execute("SELECT COUNT(*) FROM ratings").fetchone()[0]
            conn.executemany(
                "INSERT INTO ratings (prompt, answer, rating, model, session, rater, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (session, prompt, answer, model) DO UPDATE SET "
                "rating = excluded.rating, rater = excluded.rater, updated = excluded.updated", clean)
            return conn.execute("SELECT COUNT(*) FROM ratings").fetchone()[0] - before
        return self._do(write)

    def withdraw(self, prompt: str, answer: str, model: str, session: str) -> bool:
        """Take back this session's rating of one answer (a thumb clicked off again); True if
        there was one. Only a person's own rating: the session is part of the key."""
        return self._do(lambda conn: conn.execute(
            "DELETE FROM ratings WHERE session = ? AND prompt = ? AND answer = ? AND model = ? "
            "AND rater = ?", (session, prompt[:MAX_TEXT], answer[:MAX_TEXT], model, PERSON)).rowcount) > 0

    def delete_rater(self, rater: str) -> int:
        """Remove every rating of one simulated rater ('sim:helpful'); people's are kept."""
        if not rater.startswith("sim:"):
            raise ValueError("only simulated ratings can be removed")
        return self._do(lambda conn: conn.execute("DELETE FROM ratings WHERE rater = ?",
                                                  (rater,)).rowcount)

    # --- reading ------------------------------------------------------------------------------

    def ratings(self, rater: str | None = None, session: str | None = None) -> list[Rating]:
        """All ratings, oldest first; optionally only one rater ('person', 'sim:safe') or session.
        rater 'sim' means every simulated rater."""
        where, args = [], []
        if rater == "sim":
            where.append("rater LIKE 'sim:%'")
        elif rater:
            where.append("rater = ?")
            args.append(rater)
        if session:
            where.append("session = ?")
            args.append(session)
        sql = ("SELECT prompt, answer, rating, model, session, rater, created FROM ratings"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id")
        return self._do(lambda conn: [Rating(*row) for row in conn.execute(sql, args)])

    def counts(self, session: str | None = None, rater: str | None = None) -> Counts:
        """Thumbs up and down, of everybody or of one session / rater ('sim' = all simulated)."""
        where, args = [], []
        if session:
            where.append("session = ?")
            args.append(session)
        if rater == "sim":
            where.append("rater LIKE 'sim:%'")
        elif rater:
            where.append("rater = ?")
            args.append(rater)
        sql = ("SELECT COALESCE(SUM(rating > 0), 0), COALESCE(SUM(rating < 0), 0) FROM ratings"
               + (" WHERE " + " AND ".join(where) if where else ""))
        up, down = self._do(lambda conn: conn.execute(sql, args).fetchone())
        return Counts(int(up), int(down))

    def rating_of(self, session: str, prompt: str, answer: str, model: str) -> int | None:
        """This session's rating of one answer (+1, -1), or None: to redraw the thumbs."""
        row = self._do(lambda conn: conn.execute(
            "SELECT rating FROM ratings WHERE session = ? AND prompt = ? AND answer = ? AND model = ?",
            (session, prompt[:MAX_TEXT], answer[:MAX_TEXT], model)).fetchone())
        return None if row is None else int(row[0])

    def transaction(self, fn):
        """fn(conn) in one transaction on this file, with its safety (busy waits, a damaged
        file moved aside, RatingsError with a clear message): for the classroom's tables."""
        return self._do(fn)

    def schema_version(self) -> int:
        return self._do(lambda conn: int(conn.execute("PRAGMA user_version").fetchone()[0]))


def _migrate(conn: sqlite3.Connection, version: int) -> None:
    """Bring a file from schema `version` to SCHEMA_VERSION in one transaction (all or nothing)."""
    if version >= SCHEMA_VERSION:
        return
    steps = "".join(MIGRATIONS[v] for v in range(version + 1, SCHEMA_VERSION + 1))
    conn.executescript(f"BEGIN IMMEDIATE;{steps}PRAGMA user_version = {SCHEMA_VERSION};COMMIT;")


def _damaged(e: sqlite3.Error) -> bool:
    msg = str(e).lower()
    return "not a database" in msg or "malformed" in msg or "corrupt" in msg


def _clean(row: Sequence, now: float) -> tuple:
    prompt, answer, rating, model, session, *rest = row
    rater = rest[0] if rest else PERSON
    if rating not in (1, -1):
        raise ValueError(f"a rating is +1 (thumbs up) or -1 (thumbs down), not {rating!r}")
    if not str(prompt).strip() or answer is None:
        raise ValueError("a rating needs a prompt and an answer")
    if rater != PERSON and not str(rater).startswith("sim:"):
        raise ValueError(f"rater must be 'person' or 'sim:<name>', not {rater!r}")
    return (str(prompt)[:MAX_TEXT], str(answer)[:MAX_TEXT], int(rating), str(model)[:200],
            str(session)[:200], str(rater), now, now)
