"""The logit lens: one row per layer plus the embedding, and its top row is the model's own
prediction (the last hidden state through the same final norm and output layer)."""
import math

import pytest
import torch

from explainer.gpt.lens import logit_lens
from explainer.gpt.model import GPT, preset
from explainer.gpt.tokenizer import char_tokenizer
from explainer.real import smollm


def check(model, tok, text, max_tokens):
    lens = logit_lens(model, tok, text, max_tokens)
    ids = ([tok.eot_id] + tok.encode(text))[-max_tokens:]
    with torch.no_grad():
        p = torch.softmax(model(torch.tensor([ids])).logits[0].float(), -1)
    assert len(lens.layers) == model.config.n_layer + 1 == len(lens.guess) == len(lens.prob)
    assert all(len(row) == len(ids) == len(lens.tokens) for row in lens.guess)
    top_p, top_i = p.max(-1)
    names = {v: k for k, v in tok.special_tokens.items()}
    assert lens.guess[-1] == [names.get(int(i)) or tok.decode([int(i)]) for i in top_i]
    assert lens.prob[-1] == pytest.approx(top_p.tolist(), abs=1e-5)
    real_next = [float(p[j, ids[j + 1]]) for j in range(len(ids) - 1)]
    assert lens.next_prob[-1][:-1] == pytest.approx(real_next, abs=1e-5) and math.isnan(lens.next_prob[-1][-1])
    return lens


def test_lens_on_our_gpt():
    tok = char_tokenizer("abcdefgh ")
    model = GPT(preset("tiny", vocab_size=tok.n_vocab, seed=3)).eval()
    lens = check(model, tok, "abc def gab", 6)
    assert lens.layers[0] == "embedding" and len(lens.tokens) == 6


@pytest.mark.skipif(not smollm.available(), reason=f"real model not installed: run `{smollm.INSTALL}`")
def test_lens_on_the_real_model_settles_on_a_time_word():
    real = smollm.load()
    lens = check(real.model, real.tokenizer, "A flash flood watch will be in effect all", 12)
    assert lens.guess[-1][-1] in (" day", " night")              # the model's own top guess
    assert lens.guess[0][-1] != lens.guess[-1][-1]               # the embedding alone guesses otherwise
