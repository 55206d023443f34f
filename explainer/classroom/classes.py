"""The classroom: a class code, students' guesses before the model answers, and one class run.

A teacher creates a class and gets a short code for the projector (plus a QR code of the join
link) and a teacher key, a secret token that only the teacher's link carries. Students join by
code or link; each is an anonymous browser id (`browser_id`: the same for every tab and reload of
one browser), so the class shows counts, never names, and a student's tabs share one guess. Their
thumbs are stored per tab (the ratings' session), so each tab that joins is recorded too: a
class's ratings are the ratings of its members' tabs. On every page a student commits one guess per question; a second
click replaces that student's own guess, never anyone else's. The teacher (key checked in
constant time) can reveal a question for everyone, reset the class, and start the class run:
one feedback training on the class's ratings, started at most once however many tabs click.

Everything lives in the ratings file (explainer/phases/ratings.py, schema 2): WAL, a busy timeout,
versioned schema, every call one transaction, a damaged file moved aside, never lost.

    >>> room = Classroom(RatingsStore(":memory:"))
    >>> new = room.create()
    >>> room.join(new.code, "student-1")
    True
    >>> room.guess(new.code, "tokens", "student-1", "6")
    True
    >>> room.guess(new.code, "tokens", "student-1", "7")     # a change of mind replaces it
    False
    >>> room.tally(new.code, "tokens")
    {'7': 1}
    >>> room.reveal(new.code, "forged-key", "tokens")
    Traceback (most recent call last):
    ...
    explainer.classroom.classes.ClassroomError: That teacher key does not belong to this class: only the teacher's link can do this.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable
from urllib.parse import urlencode

import segno

from .. import i18n
from ..i18n import N_, _
from ..phases.ratings import Counts, Rating, RatingsStore

# No 0/O, 1/I/L, 5/S, 2/Z, 8/B: a code read off a projector from the back row is typed right.
ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
MAX_ID = 64                 # characters of a student id or question id
MAX_CHOICE = 100            # characters of a guess ("your own" word)


@dataclass(frozen=True)
class ClassConfig:
    hours: float = 12.0         # a school day or a workshop; then the code stops working
    code_length: int = 5        # 25**5 ~ 9.8 million codes: guessing one is hopeless, typing easy


class ClassroomError(ValueError):
    """An unknown or ended class code, a wrong teacher key, a bad guess: the message says what
    happened and what to do."""


@dataclass(frozen=True)
class NewClass:
    code: str
    key: str                    # the teacher key: shown once, in the teacher's link
    expires: float


@dataclass(frozen=True)
class ClassInfo:
    code: str
    created: float
    expires: float
    members: int                # how many browsers joined (counts only)
    guesses: int                # guesses stored, all questions
    run_job: str | None         # the class run's job id, if the teacher started one
    run_started: float | None


@dataclass(frozen=True)
class QuestionState:
    mine: str | None            # this student's guess
    tally: dict[str, int]       # {choice: students}, most guessed first
    revealed: bool              # the teacher revealed it for everyone


def normalize_code(code: str) -> str:
    """What a student typed -> a code: normalize_code(' k7q-xm ') -> 'K7QXM'."""
    return re.sub(r"[^A-Z0-9]", "", str(code or "").upper())


def _hash(key: str) -> str:
    return hashlib.sha256(str(key).encode()).hexdigest()


def _check_id(value: str, what: str) -> str:
    """`what` is marked with N_() by the caller."""
    value = str(value or "").strip()
    if not value or len(value) > MAX_ID:
        raise ClassroomError(_("A {what} must be 1 to {n} characters, not {value}.").format(
            what=_(what), n=MAX_ID, value=repr(value[:20])))
    return value


# --------------------------------------------------------------------------------------------------
# The store


class Classroom:
    """Classes, members, guesses and reveals in the ratings file. Thread-safe (every call is one
    short transaction of its own); `clock` is time.time, replaceable in tests."""

    def __init__(self, store: RatingsStore | str | None = None, config: ClassConfig = ClassConfig(),
                 clock: Callable[[], float] = time.time):
        self.store = store if isinstance(store, RatingsStore) else RatingsStore(store)
        self.config = config
        self.clock = clock

    # --- classes ------------------------------------------------------------------------------

    def create(self) -> NewClass:
        """A new class: a fresh code (never one in use) and a teacher key."""
        now, key = self.clock(), secrets.token_urlsafe(16)
        expires = now + self.config.hours * 3600

        def insert(conn):
            for _try in range(100):
                code = "".join(secrets.choice(ALPHABET) for _i in range(self.config.code_length))
                if conn.execute("SELECT 1 FROM classes WHERE code = ?", (code,)).fetchone() is None:
                    conn.execute("INSERT INTO classes (code, key_hash, created, expires) "
                                 "VALUES (?, ?, ?, ?)", (code, _hash(key), now, expires))
                    return code
            raise ClassroomError(_("No free class code was found; try again."))
        return NewClass(self.store.transaction(insert), key, expires)

    def info(self, code: str) -> ClassInfo:
        """The class behind a code; ClassroomError if there is none or it has ended."""
        code = normalize_code(code)

        def read(conn):
            row = self._class_row(conn, code)
            members = conn.execute("SELECT COUNT(*) FROM members WHERE class = ?", (code,)).fetchone()[0]
            guesses = conn.execute("SELECT COUNT(*) FROM guesses WHERE class = ?", (code,)).fetchone()[0]
            return ClassInfo(code, row[1], row[2], members, guesses, row[3], row[4])
        return self.store.transaction(read)

    def is_teacher(self, code: str, key: str | None) -> bool:
        """Does `key` belong to this class? Constant-time compare; False for no key."""
        if not key:
            return False
        row = self.store.transaction(lambda conn: self._class_row(conn, normalize_code(code)))
        return hmac.compare_digest(row[5], _hash(key))

    def _class_row(self, conn, code: str) -> tuple:
        """(code, created, expires, run_job, run_started, key_hash); ClassroomError if the code is
        unknown or the class has ended."""
        row = conn.execute("SELECT code, created, expires, run_job, run_started, key_hash "
                           "FROM classes WHERE code = ?", (code,)).fetchone()
        if row is None:
            raise ClassroomError(_("There is no class with the code {code}. Check the code on the "
                                   "projector (letters and digits, no 0, O, 1 or I).").format(
                                       code=code or _("(empty)")))
        if row[2] <= self.clock():
            from babel.dates import format_datetime
            ended = format_datetime(datetime.fromtimestamp(row[2]), "dd MMM HH:mm", locale=i18n.current())
            raise ClassroomError(_("Class {code} ended on {ended} (a class lasts {hours} hours). Ask "
                                   "your teacher for a new code.").format(
                                       code=code, ended=ended, hours=i18n.number(self.config.hours, "0.##")))
        return row

    def _teacher(self, conn, code: str, key: str | None) -> str:
        row = self._class_row(conn, normalize_code(code))
        if not key or not hmac.compare_digest(row[5], _hash(key)):
            raise ClassroomError(_("That teacher key does not belong to this class: only the "
                                   "teacher's link can do this."))
        return row[0]

    # --- students -----------------------------------------------------------------------------

    def join(self, code: str, student: str, session: str | None = None) -> bool:
        """Add a browser to the class, and its tab's ratings session if given (so its thumbs
        pool in the class); True if the student is new (a second tab or a reload is not)."""
        student, code = _check_id(student, N_("student id")), normalize_code(code)

        def add(conn):
            self._class_row(conn, code)
            if session:
                conn.execute("INSERT OR IGNORE INTO class_sessions (class, session) VALUES (?, ?)",
                             (code, _check_id(session, N_("session id"))))
            return conn.execute("INSERT OR IGNORE INTO members (class, student, joined) "
                                "VALUES (?, ?, ?)", (code, student, self.clock())).rowcount == 1
        return self.store.transaction(add)

    def guess(self, code: str, question: str, student: str, choice: str) -> bool:
        """Store this student's guess (joining them if needed); True if new, False if it
        replaced their own earlier guess. Only the row keyed by this student is ever touched."""
        code, student = normalize_code(code), _check_id(student, N_("student id"))
        question = _check_id(question, N_("question id"))
        choice = str(choice if choice is not None else "").strip()
        if not choice or len(choice) > MAX_CHOICE:
            raise ClassroomError(_("A guess must be 1 to {n} characters.").format(n=MAX_CHOICE))
        now = self.clock()

        def write(conn):
            self._class_row(conn, code)
            conn.execute("INSERT OR IGNORE INTO members (class, student, joined) VALUES (?, ?, ?)",
                         (code, student, now))
            new = conn.execute("SELECT 1 FROM guesses WHERE class = ? AND question = ? AND "
                               "student = ?", (code, question, student)).fetchone() is None
            conn.execute("INSERT INTO guesses (class, question, student, choice, created, updated) "
                         "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (class, question, student) DO "
                         "UPDATE SET choice = excluded.choice, updated = excluded.updated",
                         (code, question, student, choice, now, now))
            return new
        return self.store.transaction(write)

    def my_guess(self, code: str, question: str, student: str) -> str | None:
        """This student's guess, or None."""
        row = self.store.transaction(lambda conn: conn.execute(
            "SELECT choice FROM guesses WHERE class = ? AND question = ? AND student = ?",
            (normalize_code(code), question, student)).fetchone())
        return None if row is None else row[0]

    def tally(self, code: str, question: str) -> dict[str, int]:
        """{choice: how many students guessed it}, most guessed first."""
        rows = self.store.transaction(lambda conn: conn.execute(
            "SELECT choice, COUNT(*) FROM guesses WHERE class = ? AND question = ? GROUP BY choice "
            "ORDER BY COUNT(*) DESC, choice", (normalize_code(code), question)).fetchall())
        return {c: n for c, n in rows}

    def tallies(self, code: str) -> dict[str, dict[str, int]]:
        """{question: {choice: count}} for the teacher's overview."""
        out: dict[str, dict[str, int]] = {}
        rows = self.store.transaction(lambda conn: conn.execute(
            "SELECT question, choice, COUNT(*) FROM guesses WHERE class = ? GROUP BY question, "
            "choice ORDER BY question, COUNT(*) DESC, choice", (normalize_code(code),)).fetchall())
        for q, c, n in rows:
            out.setdefault(q, {})[c] = n
        return out

    def question_state(self, code: str, question: str, student: str) -> QuestionState:
        """Everything a student's question box shows, in one read (it is polled): ClassroomError
        if the class has ended meanwhile."""
        code = normalize_code(code)

        def read(conn):
            self._class_row(conn, code)
            tally = {c: n for c, n in conn.execute(
                "SELECT choice, COUNT(*) FROM guesses WHERE class = ? AND question = ? GROUP BY "
                "choice ORDER BY COUNT(*) DESC, choice", (code, question))}
            mine = conn.execute("SELECT choice FROM guesses WHERE class = ? AND question = ? AND "
                                "student = ?", (code, question, student)).fetchone()
            shown = conn.execute("SELECT 1 FROM reveals WHERE class = ? AND question = ?",
                                 (code, question)).fetchone()
            return QuestionState(mine[0] if mine else None, tally, shown is not None)
        return self.store.transaction(read)

    def revealed(self, code: str, question: str) -> bool:
        """Has the teacher revealed this question for everyone?"""
        return self.store.transaction(lambda conn: conn.execute(
            "SELECT 1 FROM reveals WHERE class = ? AND question = ?",
            (normalize_code(code), question)).fetchone()) is not None

    # --- the teacher --------------------------------------------------------------------------

    def reveal(self, code: str, key: str, question: str) -> None:
        """Reveal a question's answer on every student's page (teacher key needed)."""
        question = _check_id(question, N_("question id"))

        def write(conn):
            c = self._teacher(conn, code, key)
            conn.execute("INSERT OR IGNORE INTO reveals (class, question, revealed) VALUES (?, ?, ?)",
                         (c, question, self.clock()))
        self.store.transaction(write)

    def reset(self, code: str, key: str) -> int:
        """Clear the class's guesses, reveals and class run (members and ratings stay); returns
        how many guesses were removed. Teacher key needed."""
        def write(conn):
            c = self._teacher(conn, code, key)
            n = conn.execute("DELETE FROM guesses WHERE class = ?", (c,)).rowcount
            conn.execute("DELETE FROM reveals WHERE class = ?", (c,))
            conn.execute("UPDATE classes SET run_job = NULL, run_started = NULL WHERE code = ?", (c,))
            return n
        return self.store.transaction(write)

    def start_run(self, code: str, key: str, submit: Callable[[], str],
                  is_live: Callable[[str], bool] = lambda job_id: True) -> tuple[str, bool]:
        """Start the class run once: (job id, True if this call started it). `submit()` hands the
        job to the server's JobManager and returns its id; it is called inside the write
        transaction, so two teacher tabs clicking at once start one run. A recorded run that
        `is_live(job_id)` says is still known and going is returned instead of a new one."""
        def write(conn):
            c = self._teacher(conn, code, key)
            job = conn.execute("SELECT run_job FROM classes WHERE code = ?", (c,)).fetchone()[0]
            if job and is_live(job):
                return job, False
            job = submit()
            conn.execute("UPDATE classes SET run_job = ?, run_started = ? WHERE code = ?",
                         (job, self.clock(), c))
            return job, True
        return self.store.transaction(write)

    # --- the class's ratings --------------------------------------------------------------------

    def ratings(self, code: str) -> list[Rating]:
        """People's ratings from the class's members' tabs (or under a member's id), oldest
        first: what the class run learns from."""
        return self.store.transaction(lambda conn: [Rating(*r) for r in conn.execute(
            "SELECT prompt, answer, rating, model, session, rater, created FROM ratings WHERE "
            f"rater = 'person' AND session IN {_SESSIONS} ORDER BY id", {"c": normalize_code(code)})])

    def ratings_count(self, code: str) -> Counts:
        """Thumbs up and down from the class's members."""
        up, down = self.store.transaction(lambda conn: conn.execute(
            "SELECT COALESCE(SUM(rating > 0), 0), COALESCE(SUM(rating < 0), 0) FROM ratings WHERE "
            f"rater = 'person' AND session IN {_SESSIONS}", {"c": normalize_code(code)}).fetchone())
        return Counts(int(up), int(down))


# the ratings sessions of a class (:c): its members' tabs, and its members' own ids
_SESSIONS = ("(SELECT session FROM class_sessions WHERE class = :c "
             "UNION SELECT student FROM members WHERE class = :c)")


# --------------------------------------------------------------------------------------------------
# Who is who, links and the QR code


def browser_id(xsrf_cookie: str | None) -> str | None:
    """An anonymous id for one browser, from the web server's XSRF cookie ('2|mask|masked|time',
    hex: the token is mask XOR masked and stays the same for every tab and reload of the
    browser, also across a server restart). Hashed, so the token itself is never stored; None
    without such a cookie.

    >>> a, b = browser_id("2|0a0b|1a1b|1700000000"), browser_id("2|ffff|efef|1700000009")
    >>> a == b, len(a), a == browser_id("2|0a0b|1a1c|1700000000"), browser_id(None)
    (True, 20, False, None)
    """
    try:
        _, mask, masked, _ = str(xsrf_cookie).split("|")
        token = bytes(x ^ y for x, y in zip(bytes.fromhex(mask), bytes.fromhex(masked)))
    except ValueError:
        return None
    return "b-" + hashlib.sha256(b"llm-explainer class " + token).hexdigest()[:18] if token else None


def join_link(base_url: str, code: str) -> str:
    """The students' link: join_link('http://host:8501/Classroom', 'K7QXM')
    -> 'http://host:8501/Classroom?class=K7QXM' (no key in it, ever)."""
    return f"{base_url.rstrip('?')}?{urlencode({'class': normalize_code(code)})}"


def teacher_link(base_url: str, code: str, key: str) -> str:
    """The teacher's link: the join link plus the key. Keep it off the projector."""
    return f"{base_url.rstrip('?')}?{urlencode({'class': normalize_code(code), 'key': key})}"


def qr_svg(url: str, scale: int = 6) -> str:
    """The QR code of `url` as a standalone SVG document (drawn by segno; error correction M
    survives a dusty projector)."""
    buf = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buf, kind="svg", scale=scale, dark="#111",
                                                 light="#fff", xmldecl=False, svgns=True)
    return buf.getvalue().decode()
