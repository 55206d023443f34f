"""The shipped base model keeps the promises the app makes about it."""
import re
from pathlib import Path

import pytest

from explainer import corpus
from explainer.gpt.paramfile import load_model
from explainer.gpt.scoring import rank_next
from explainer.phases.pretrain import DEFAULT_PROMPT

BASE = Path(__file__).resolve().parent.parent / "models" / "base.safetensors"


@pytest.fixture(scope="module")
def base():
    return load_model(BASE)


def test_base_file_is_small_enough_to_ship():
    assert BASE.stat().st_size <= 20e6


def test_flash_flood_ranking(base):
    r = rank_next(base.model, base.tokenizer, DEFAULT_PROMPT, 3, ["night", "giraffe"])
    night, giraffe = r.candidates
    assert night.rank <= 3
    assert night.prob >= 100 * giraffe.prob


def test_samples_are_english_sentences_in_the_corpus_style(base):
    vocab = set(re.findall(r"[a-z]+", corpus.get_corpus("everyday").text.lower()))
    tok = base.tokenizer
    for seed in range(3):
        ids = base.model.generate([tok.eot_id], 80, temperature=0.8, seed=seed, stop_ids=[tok.eot_id])
        text = tok.decode([i for i in ids if i != tok.eot_id])
        words = re.findall(r"[a-z]+", text.lower())
        assert len(words) >= 8, text
        known = sum(w in vocab for w in words) / len(words)
        assert known >= 0.9, text                               # real words, not gibberish
        assert re.search(r"[A-Z][a-z]+[^.!?]*[.!?]", text), text  # at least one whole sentence
