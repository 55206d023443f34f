"""The catalogs' upkeep: find every translatable text in the sources, keep the .po files in step
with them, and say how complete each language is.

    python -m explainer catalogs                 # completeness per language; missing ones listed
    python -m explainer catalogs --update        # add new texts (empty), drop texts no longer used

An area is a group of source files with its own .po file per language, so that the texts of one
page live together and two people translating two pages never edit the same file.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import HERE, LANGUAGES, SOURCE

ROOT = HERE.parent.parent            # the repository (sources are named relative to it)
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
TARGETS = [code for code in LANGUAGES if code != SOURCE]

AREAS: dict[str, list[str]] = {
    "shared": ["Home.py", "explainer/journey.py", "explainer/app/ui.py", "explainer/app/links.py",
               "explainer/app/cached.py", "explainer/views/charts.py", "explainer/serve/progress.py",
               "explainer/gpt/card.py", "explainer/serve/registry.py"],
    "tokens": ["pages/1_Tokens.py", "explainer/app/tokentax.py", "explainer/views/tokens.py",
               "explainer/views/tokentax.py", "explainer/phases/tokentax.py"],
    "pretraining": ["pages/2_Pretraining.py", "explainer/app/panels.py", "explainer/views/lens.py",
                    "explainer/phases/pretrain.py", "explainer/serve/runs.py",
                    "explainer/corpus/sources.py"],
    "tuning": ["pages/3_Instruction_tuning.py", "explainer/app/real.py", "explainer/views/real.py",
               "explainer/phases/sft.py", "explainer/real/beside.py", "explainer/corpus/instructions.py",
               "explainer/gpt/chat.py"],
    "feedback": ["pages/4_Human_feedback.py", "explainer/app/feedback_panels.py",
                 "explainer/phases/feedback.py", "explainer/phases/raters.py",
                 "explainer/phases/judge.py", "explainer/phases/reward.py",
                 "explainer/phases/ratings.py", "explainer/phases/simulate.py"],
    "context": ["pages/5_Context_window.py", "explainer/app/context_panels.py",
                "explainer/views/context.py", "explainer/phases/context.py",
                "pages/6_Two_files.py", "explainer/app/export.py", "explainer/views/twofiles.py",
                "explainer/phases/twofiles.py"],
    "agents": ["pages/7_Agents.py", "explainer/app/agents.py", "explainer/views/agents.py"],
    "classroom": ["pages/8_Classroom.py", "explainer/app/classroom.py",
                  "explainer/classroom/questions.py", "explainer/classroom/classes.py"],
}


@dataclass
class Text:
    """One translatable text: its msgid (a tuple for singular/plural) and where it is used."""
    id: str | tuple[str, str]
    places: list[tuple[str, int]] = field(default_factory=list)


def extract(files: list[str]) -> list[Text]:
    """Every `_("...")`, `N_("...")` and `ngettext("...", "...", n)` in `files`, in order."""
    from babel.messages.extract import extract_python
    found: dict = {}
    for name in files:
        with (ROOT / name).open("rb") as f:
            for line, _fn, msg, _comments in extract_python(f, KEYWORDS, [], {}):
                if msg is None:
                    continue
                key = tuple(m for m in msg if m is not None) if isinstance(msg, tuple) else msg
                if isinstance(key, tuple) and len(key) == 1:
                    key = key[0]
                found.setdefault(key, Text(key)).places.append((name, line))
    return list(found.values())


def po_path(area: str, code: str) -> Path:
    return HERE / code / f"{area}.po"


def _read(path: Path):
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po
    if not path.exists():
        return Catalog(locale=path.parent.name)
    with path.open("rb") as f:
        return read_po(f, locale=path.parent.name)


def translations(area: str, code: str) -> dict:
    """The area's msgid -> msgstr (a tuple for plurals) in one language, untranslated ones as ""."""
    return {(m.id[0] if isinstance(m.id, tuple) else m.id): (tuple(m.string) if isinstance(m.string, (tuple, list)) else m.string)
            for m in _read(po_path(area, code)) if m.id}


def update(area: str) -> dict[str, tuple[int, int]]:
    """Bring the area's .po files in step with its sources: new texts come in untranslated,
    unused ones go, translations are kept. Returns {language: (added, dropped)}."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po
    texts = extract(AREAS[area])
    changes = {}
    for code in TARGETS:
        path = po_path(area, code)
        old = _read(path)
        new = Catalog(locale=code, project="LLM Explainer", header_comment=(
            f"# {LANGUAGES[code]} texts of the app's {area!r} area; `python -m explainer catalogs "
            "--update` keeps it in step with the sources."), fuzzy=False)
        added = 0
        for t in texts:
            key = t.id[0] if isinstance(t.id, tuple) else t.id
            had = old.get(key)
            string = had.string if had is not None else ("", "") if isinstance(t.id, tuple) else ""
            added += had is None
            new.add(t.id, string, locations=t.places, flags=had.flags if had is not None else ())
        dropped = sum(1 for m in old if m.id and new.get(m.id[0] if isinstance(m.id, tuple) else m.id) is None)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            write_po(f, new, width=100, omit_header=False, include_previous=False,
                     sort_output=False, ignore_obsolete=True)
        os.replace(tmp, path)              # atomic: a half-written catalog never replaces a whole one
        changes[code] = (added, dropped)
    return changes


@dataclass
class Completeness:
    language: str
    total: int
    missing: list[tuple[str, str]]      # (area, msgid) without a translation

    @property
    def percent(self) -> float:
        return 100.0 * (self.total - len(self.missing)) / self.total if self.total else 100.0


def completeness(code: str) -> Completeness:
    """How many of the sources' texts the language's catalogs translate (judged against the
    sources, not the .po files, so a text nobody added to a catalog counts as missing)."""
    total, missing = 0, []
    for area, files in AREAS.items():
        po = _read(po_path(area, code))
        for t in extract(files):
            total += 1
            key = t.id[0] if isinstance(t.id, tuple) else t.id
            m = po.get(key)
            ok = m is not None and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)
            if not ok:
                missing.append((area, key))
    return Completeness(code, total, missing)


PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def placeholder_mismatches(code: str) -> list[tuple[str, str, str]]:
    """Translations whose {placeholders} differ from the source's (a `.format()` would fail or
    drop a number): (area, msgid, translation)."""
    bad = []
    for area in AREAS:
        for m in _read(po_path(area, code)):
            if not m.id:
                continue
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            want = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
            for s in strings:
                if s and set(PLACEHOLDER.findall(s)) - want or (s and len(ids) == 1
                                                               and set(PLACEHOLDER.findall(s)) != want):
                    bad.append((area, ids[0], s))
    return bad


def unlisted_sources() -> list[str]:
    """Source files that mark texts for translation but belong to no area (their texts would
    never reach a catalog)."""
    listed = {f for files in AREAS.values() for f in files}
    out = []
    for path in sorted([*ROOT.glob("Home.py"), *ROOT.glob("pages/*.py"), *(ROOT / "explainer").rglob("*.py")]):
        name = path.relative_to(ROOT).as_posix()
        if name in listed or name.startswith("explainer/i18n/"):
            continue
        if re.search(r"(?<![\w.])(_|N_|ngettext)\(\s*[\"']", path.read_text(encoding="utf-8")):
            out.append(name)
    return out
