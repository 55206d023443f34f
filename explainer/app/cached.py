"""The model work the pages show, cached: each function runs a library function on a model once
per model and inputs, and every later page run (and every session) reads the result.

A model is known to the cache by `paramfile.cache_key` (its file, or a digest of its weights),
never by `id` or `hash`; st.cache_data cannot hash a model itself, so each cached function takes
it as `_loaded` beside its key. On SmolLM2 a forward pass takes seconds on this server's CPU: a
page that moves one slider must not run the others again.
"""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Sequence

import streamlit as st

from ..corpus import instructions as ins
from ..corpus import name_recall_cases
from ..gpt.chat import prompt_ids
from ..gpt.lens import logit_lens
from ..gpt.paramfile import LoadedModel, cache_key
from ..gpt.scoring import rank_next
from ..i18n import _
from ..phases import context as cx
from ..phases import judge, sft
from ..phases import twofiles as tf
from ..phases.answers import sample_texts

# ---------------------------------------------------------------------------------------------
# Any model: the next-token ranking and the logit lens (Pretraining page)


def ranking(loaded: LoadedModel, prompt: str, candidates: Sequence[str]):
    """The top 10 next tokens after `prompt` and the candidates' ranks (scoring.rank_next)."""
    return _ranking(loaded, cache_key(loaded), prompt, tuple(candidates))


@st.cache_data(max_entries=64, show_spinner=False)
def _ranking(_loaded, key, prompt, candidates):
    return rank_next(_loaded.model, _loaded.tokenizer, prompt, 10, list(candidates))


def lens(loaded: LoadedModel, text: str, max_tokens: int = 12):
    """What each layer would guess next (lens.logit_lens)."""
    with st.spinner(_("Reading every layer ...")):
        return _lens(loaded, cache_key(loaded), text, max_tokens)


@st.cache_data(max_entries=32, show_spinner=False)
def _lens(_loaded, key, text, max_tokens):
    return logit_lens(_loaded.model, _loaded.tokenizer, text, max_tokens)


# ---------------------------------------------------------------------------------------------
# Instruction tuning and human feedback


@st.cache_resource(show_spinner=False)
def instruction_data() -> ins.InstructionData:
    """The built-in question/answer pairs (seed 0), built once per server."""
    return ins.instruction_data(0)


def compare(base: LoadedModel | None, tuned: LoadedModel | None,
            prompts: Sequence[tuple[str, str]]) -> list[sft.Row]:
    """Both models' greedy answers to each (question, topic) (sft.compare); a missing model's
    side is None."""
    with st.spinner(_("The models are answering ...")):
        return _compare(base, tuned, (cache_key(base), cache_key(tuned)), tuple(prompts))


@st.cache_data(max_entries=32, show_spinner=False)
def _compare(_base, _tuned, keys, prompts):
    return sft.compare(_base, _tuned, prompts)


def answers_to_rate(tuned: LoadedModel, prompt: str, seed: int) -> list[str]:
    """Four sampled answers to `prompt`, the same four for everyone with the same seed."""
    with st.spinner(_("The assistant is writing 4 answers ...")):
        return _answers_to_rate(tuned, cache_key(tuned), prompt, seed)


@st.cache_data(max_entries=64, show_spinner=False)
def _answers_to_rate(_tuned, key, prompt, seed):
    return sample_texts(_tuned, prompt, 4, seed)


def before_after_table(tuned: LoadedModel, after: LoadedModel | None, rater: str) -> list[dict]:
    """One answer of each model to every held-out question (one per topic), judged by `rater`."""
    with st.spinner(_("Both models are answering ...")):
        return _before_after_table(tuned, after, (cache_key(tuned), cache_key(after)), rater)


@st.cache_data(max_entries=16, show_spinner=False)
def _before_after_table(_tuned, _after, keys, rater):
    return judge.compare_table(_tuned, _after, rater, ins.heldout_prompts(instruction_data(), 1))


# ---------------------------------------------------------------------------------------------
# Context window


def rank_window(loaded: LoadedModel, ids: Sequence[int], n: int, answer: Sequence[int] = ()):
    """The top next tokens seeing only the last `n` of `ids`, and the answer's chance
    (context.rank_window)."""
    return _rank_window(loaded, cache_key(loaded), tuple(ids), n, tuple(answer))


@st.cache_data(max_entries=128, show_spinner=False)
def _rank_window(_loaded, key, ids, n, answer):
    return cx.rank_window(_loaded.model, _loaded.tokenizer, list(ids), n, list(answer))


def window_curve(loaded: LoadedModel, ids: Sequence[int], answer: Sequence[int],
                 sizes: Sequence[int]) -> list[float]:
    """The answer's chance for each window size (context.prob_vs_window)."""
    return _window_curve(loaded, cache_key(loaded), tuple(ids), tuple(answer), tuple(sizes))


@st.cache_data(max_entries=64, show_spinner=False)
def _window_curve(_loaded, key, ids, answer, sizes):
    return cx.prob_vs_window(_loaded.model, list(ids), list(answer), list(sizes))


def last_token_attention(loaded: LoadedModel, ids: Sequence[int]):
    """(layer, head, position): where the last token looks (context.last_token_attention)."""
    return _attention(loaded, cache_key(loaded), tuple(ids))


@st.cache_data(max_entries=32, show_spinner=False)
def _attention(_loaded, key, ids):
    return cx.last_token_attention(_loaded.model, list(ids))


def chat_answer(loaded: LoadedModel, turns: Sequence[tuple[str, str]]):
    """The ranking after a chat's `turns` (all in view) and the chance of its answer, the hero's
    name (context.CHAT_ANSWER)."""
    return _chat_answer(loaded, cache_key(loaded), tuple(map(tuple, turns)))


@st.cache_data(max_entries=64, show_spinner=False)
def _chat_answer(_loaded, key, turns):
    tok, text = _loaded.tokenizer, cx.chat_text(turns)
    ids, _ = prompt_ids(tok, text, chat=False)
    return cx.rank_window(_loaded.model, tok, ids, _loaded.config.block_size,
                          cx.answer_ids(tok, text, cx.CHAT_ANSWER))


def name_recall(loaded: LoadedModel, n: int):
    """Name recall on `n` held-out stories, whole story vs a window after the last mention."""
    with st.spinner(_("Measuring name recall on held-out stories ...")):
        return _recall(loaded, cache_key(loaded), n)


@st.cache_data(max_entries=8, show_spinner=False)
def _recall(_loaded, key, n):
    return cx.name_recall(_loaded.model, _loaded.tokenizer, name_recall_cases(n, 1234))


# ---------------------------------------------------------------------------------------------
# Two files


def compression(loaded: LoadedModel) -> list[dict]:
    """fp32, fp16 and int8 copies of the model, saved in a temporary folder of their own and
    measured (twofiles.compression)."""
    key = cache_key(loaded)
    folder = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()    # one per model, no path in it
    with st.spinner(_("Saving fp16 and int8 copies and measuring them ...")):
        return _compression(loaded, key, str(Path(tempfile.gettempdir()) / "llm-explainer-twofiles" / folder))


@st.cache_data(max_entries=16, show_spinner=False)
def _compression(_loaded, key, directory):
    return tf.compression(_loaded, Path(directory))
