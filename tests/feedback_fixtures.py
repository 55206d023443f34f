"""What the feedback tests share (like pagetest.py): a tiny chat-less model and synthetic ratings
that follow a rule the reward model must find."""
import random
from pathlib import Path

import pytest

from explainer import corpus
from explainer.gpt.model import GPT, preset
from explainer.gpt.paramfile import LoadedModel
from explainer.gpt.tokenizer import train_bpe
from explainer.phases.ratings import Rating

SPEC = dict(max_new_tokens=16, minutes=None)
SHIPPED = Path(__file__).resolve().parent.parent / "models"


@pytest.fixture(scope="module")
def tiny():
    tok, _ = train_bpe(corpus.get_corpus("everyday").text[:60_000], 400)
    model = GPT(preset("tiny", vocab_size=tok.n_vocab, seed=3))
    model.eval()
    return LoadedModel(model, tok, model.config, {"kind": "tuned", "name": "tiny"}, None)


SUNNY = "sunny warm happy bright lovely garden picnic smile".split()
STORMY = "storm thunder flood cold dark wind rain grey".split()


def synthetic(n_prompts=24, per_prompt=6, seed=0):
    """👍 when the answer's words are sunny, 👎 when they are stormy: a rule the reward model must find."""
    rng = random.Random(seed)
    out = []
    for p in range(n_prompts):
        for i in range(per_prompt):
            good = i % 2 == 0
            words = rng.choices(SUNNY if good else STORMY, k=rng.randint(4, 8))
            out.append(Rating(f"Question number {p}?", " ".join(words) + ".", 1 if good else -1, "tiny", "t"))
    return out
