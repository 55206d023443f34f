"""The answers feedback works on: batched sampling matches the chat module, is seeded, and the
log-probabilities, KL and entropy of answers match a direct computation."""
import pytest
import torch

from explainer.gpt import chat
from explainer.phases import answers as A
from explainer.phases import judge


def test_batched_greedy_sampling_matches_the_chat_module(tiny):
    prompt = "What should I eat today?"
    ids = A.sample_answers(tiny.model, tiny.tokenizer, prompt, 3, max_new_tokens=12, temperature=0)
    ref = list(chat.stream(tiny.model, tiny.tokenizer, prompt, 12))
    assert ids == [ref] * 3


def test_sampling_is_seeded(tiny):
    a = A.sample_texts(tiny, "Hi", 4, seed=5, max_new_tokens=10)
    assert a == A.sample_texts(tiny, "Hi", 4, seed=5, max_new_tokens=10)
    assert len(set(a)) > 1 and all(t.endswith(A.CUT) or t for t in a)


def test_log_probabilities_and_kl(tiny):
    tok, m = tiny.tokenizer, tiny.model
    head = A.answer_head(tok, "Hi", 16, m.config.block_size)
    answer = tok.encode("Hello there.") + [chat.special_ids(tok)[chat.END]]
    with torch.no_grad():
        logp, n, kl, ent = A.answer_logprobs(m, m, [head, head], [answer, answer[:2]], entropy=True)
        full = m(torch.tensor([head + answer])).logits[0].log_softmax(-1)
    direct = sum(float(full[len(head) - 1 + i, t]) for i, t in enumerate(answer))
    rows = full[len(head) - 1: len(head) - 1 + len(answer)]                # the answer's positions
    assert float(ent[0]) == pytest.approx(float(-(rows.exp() * rows).sum()), abs=1e-3)
    assert 0 < float(ent[1]) < float(ent[0])                              # 2 of its tokens
    assert float(logp[0]) == pytest.approx(direct, abs=1e-4)
    assert n.tolist() == [len(answer), 2]
    assert kl.abs().max() < 1e-5                                          # KL to itself is 0
    per_token = judge.logprob_per_token(tiny, "Hi", "Hello there.")
    assert per_token == pytest.approx(direct / len(answer), abs=1e-4)


def test_doctests():
    import doctest
    assert doctest.testmod(A).failed == 0
