"""The steps of the journey the Home page draws, and which of them have a page yet. No streamlit.

A step's page is any pages/<n>_<Title>.py whose title, lower-cased without digits, '_' or
spaces, equals the step's slug, so pages can be renumbered without touching this list.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .i18n import N_

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Stage:
    """A step of the journey; `title` and `blurb` are marked with N_() and translated where drawn."""
    slug: str
    title: str
    icon: str
    blurb: str


# The main road, left to right; then two side trips that explain what you meet on the way;
# then where the road leads.
ROAD = [
    Stage("tokens", N_("Tokens"), "🔤", N_("Text becomes numbers: pieces of words, each with an ID.")),
    Stage("pretraining", N_("Pretraining"), "📖", N_("A network reads a pile of text and learns to guess the next token.")),
    Stage("instructiontuning", N_("Instruction tuning"), "💬", N_("Examples of questions and answers turn the text-continuer into an assistant.")),
    Stage("humanfeedback", N_("Human feedback"), "👍", N_("People give its answers a thumbs up or down; the model learns what they like.")),
]
SIDE = [
    Stage("contextwindow", N_("Context window"), "👁️", N_("What the model can see at once, and what falls out of view.")),
    Stage("twofiles", N_("The two files"), "📄", N_("A model is just a parameter file plus a small program that runs it.")),
]
# Where the road leads: the model as the brain of a program
AFTER = [
    Stage("agents", N_("Agents"), "🛠️", N_("The model calls tools (a calculator, a table of facts) and a "
          "small program runs them: the backbone of AI agents.")),
]


def slug_of(filename: str) -> str:
    """'pages/3_Instruction_tuning.py' -> 'instructiontuning'."""
    stem = Path(filename).stem
    return re.sub(r"[^a-z]", "", re.sub(r"^\d+_?", "", stem).lower())


def page_path(stage: Stage, root: Path = ROOT) -> str | None:
    """The page file for this stage relative to the app root ('pages/1_Tokens.py'), or None."""
    for f in sorted((root / "pages").glob("*.py")):
        if slug_of(f.name) == stage.slug:
            return f"pages/{f.name}"
    return None
