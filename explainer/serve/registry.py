"""The models the app can use: files in models/ and models trained in a session.

No streamlit here (the pages cache what these functions return). A model's "card" is what the
sidebar shows: parameters, vocabulary, context length, tokens trained on, validation loss, all
read from the parameter file's own config and facts.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .. import i18n
from ..gpt.paramfile import (
    LoadedModel,
    ParamFileError,
    models_dir,
    read_metadata,
    save_model,
    validate_model_name,
)
from ..i18n import N_, _


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: str
    config: dict
    facts: dict
    n_params: int
    n_vocab: int
    error: str | None = None          # set when the file cannot be used (then the rest is empty)

    @property
    def shipped(self) -> bool:
        """Files that came with the app, not saved from it."""
        return not self.facts.get("saved_from_app", False)


def list_models(directory: Path | None = None) -> list[ModelInfo]:
    """Every *.safetensors in the directory, from its header only (cheap), shipped ones first.

    A broken file is listed with `error` set, so the page can say so instead of crashing.
    """
    directory = directory or models_dir()
    out = []
    for path in sorted(directory.glob("*.safetensors")):
        try:
            meta = read_metadata(path)
        except ParamFileError as e:
            out.append(ModelInfo(path.stem, str(path), {}, {}, 0, 0, error=str(e)))
            continue
        n_params = sum(_prod(shape) for name, (shape, _dt) in meta["tensors"].items()
                       if not name.endswith(".scale"))
        out.append(ModelInfo(path.stem, str(path), meta["config"], meta["facts"], n_params,
                             int(meta["config"].get("vocab_size", 0))))
    stage = {"tuned": 1, "feedback": 2, "agent": 3}     # the journey's order: base, tuned, feedback, agent
    return sorted(out, key=lambda m: (m.error is not None, not m.shipped, m.name != "base",
                                      stage.get(m.facts.get("kind"), 0), m.name))


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def card(config: dict, facts: dict, n_params: int | None = None) -> list[tuple[str, str]]:
    """The facts a learner needs about a model, as (label, value) rows, in the current language.

    >>> card({"vocab_size": 2048, "block_size": 128}, {"parameters": 1072000,
    ...       "tokens_trained": 2457600, "val_loss": 2.91, "corpus": "Everyday English"})[:3]
    [('Parameters', '1,072,000'), ('Vocabulary', '2,048 tokens'), ('Context length', '128 tokens')]
    """
    params = facts.get("parameters", n_params)
    count = lambda n: i18n.number(int(n), "#,##0")                      # noqa: E731
    tokens = lambda n: _("{n} tokens").format(n=count(n))               # noqa: E731
    unknown = _("unknown")
    rows = [
        (_("Parameters"), count(params) if params else unknown),
        (_("Vocabulary"), tokens(config["vocab_size"]) if config.get("vocab_size") else unknown),
        (_("Context length"), tokens(config["block_size"]) if config.get("block_size") else unknown),
        (_("Tokens trained on"), count(facts["tokens_trained"]) if facts.get("tokens_trained") else unknown),
        (_("Validation loss"), i18n.number(Decimal(f"{float(facts['val_loss']):.3f}"), "0.000")
         if facts.get("val_loss") is not None else unknown),
    ]
    if facts.get("corpus"):
        rows.append((_("Trained on"), corpus_text(str(facts["corpus"]))))
    return rows


# What a model made from another learned from, as its facts say it (in English, written by the
# phases: sft, feedback, agents.tuning): "Everyday English + 7,031 question/answer pairs".
CORPUS_PARTS = {"question/answer pairs": N_("{n} question/answer pairs"), "ratings": N_("{n} ratings"),
                "tool-use conversations": N_("{n} tool-use conversations")}
CORPUS_NAMES = [N_("a tuned model")]     # the phases' stand-in for a corpus the facts do not name


def corpus_text(corpus: str) -> str:
    """A model's facts' "corpus" in the current language: each part that the catalogs know
    translated, the numbers as the language writes them.

    >>> corpus_text("Everyday English + 7,031 question/answer pairs + 300 ratings")
    'Everyday English + 7,031 question/answer pairs + 300 ratings'
    """
    first, *more = corpus.split(" + ")
    out = [_(first)]
    for part in more:
        m = re.fullmatch(r"([\d,]+) (.+)", part)
        if m and m[2] in CORPUS_PARTS:
            out.append(_(CORPUS_PARTS[m[2]]).format(n=i18n.number(int(m[1].replace(",", "")), "#,##0")))
        else:
            out.append(_(part))
    return " + ".join(out)


def loaded_card(loaded: LoadedModel) -> list[tuple[str, str]]:
    return card(loaded.config.to_dict(), loaded.facts, loaded.model.num_params())


# ---------------------------------------------------------------------------------------------
# Saving a model trained in the app

_save_lock = threading.Lock()


def save_trained(loaded: LoadedModel, name: str, directory: Path | None = None) -> Path:
    """Save a session's model as models/<name>.safetensors. ValueError with a clear message for a
    bad name or one that is taken: names are checked by paramfile.validate_model_name (letters,
    digits, '-', '_'; no paths), and an existing file is never overwritten, shipped or not, so
    in a workshop nobody replaces anybody else's model.
    """
    directory = directory or models_dir()
    existing = list_models(directory)
    shipped = {m.name for m in existing if m.shipped}
    path = validate_model_name(name, directory, shipped)
    with _save_lock:
        if path.exists():
            raise ValueError(f"A model named '{path.stem}' already exists; choose another name.")
        facts = dict(loaded.facts, name=path.stem, saved_from_app=True)
        save_model(path, loaded.model, loaded.tokenizer, facts)
    loaded.path, loaded.facts = str(path), facts
    return path
