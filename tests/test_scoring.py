"""Scoring continuations in batches, and the next-word ranking built on it."""
import pytest
import torch

from explainer.gpt.chat import prompt_ids
from explainer.gpt.model import GPT, preset
from explainer.gpt.scoring import rank_next, read_prompt, score_continuations
from explainer.gpt.tokenizer import char_tokenizer

TEXT = "A flash flood watch will be in effect all night. The giraffe eats leaves. " * 20


@pytest.fixture(scope="module")
def tok():
    return char_tokenizer(TEXT)


def tiny(vocab=64, **kw):
    return GPT(preset("tiny", vocab_size=vocab, **kw))


def test_ranking_top_k_and_multi_token_candidates(tok):
    m = GPT(preset("tiny", vocab_size=tok.n_vocab)).eval()
    r = rank_next(m, tok, "The giraffe eats", k=5, candidates=["leaves", "a"])
    assert len(r.top) == 5 and r.top[0][2] >= r.top[-1][2]
    assert abs(sum(p for *_, p in r.top)) <= 1.0 + 1e-6
    leaves = r.candidates[0]
    assert len(leaves.tokens) == len(" leaves")               # char tokenizer: 7 tokens
    # the product of conditional probabilities, computed here independently
    ids, _ = prompt_ids(tok, "The giraffe eats", m.config.block_size, chat=False)
    p = 1.0
    for t in leaves.tokens:
        with torch.no_grad():
            p *= float(m(torch.tensor([ids])).logits[0, -1].softmax(-1)[t])
        ids = ids + [t]
    assert leaves.prob == pytest.approx(p, rel=1e-4)
    assert 1 <= leaves.rank <= tok.n_vocab and not r.truncated


def test_long_prompt_keeps_most_recent_tokens_and_says_so(tok):
    m = GPT(preset("tiny", vocab_size=tok.n_vocab)).eval()
    long = "night day " * 40                                   # 400 chars > block 64
    r = rank_next(m, tok, long)
    assert r.truncated and r.n_prompt_tokens == 64 and r.n_dropped == 400 + 1 - 64
    ids, _ = prompt_ids(tok, long, m.config.block_size, chat=False)
    assert ids == ([tok.eot_id] + tok.encode(long))[-64:]


def test_empty_prompt_ranks_first_token_after_start_of_text(tok):
    m = GPT(preset("tiny", vocab_size=tok.n_vocab)).eval()
    r = rank_next(m, tok, "", candidates=["A"])
    assert r.n_prompt_tokens == 1 and not r.truncated
    assert r.candidates[0].tokens == tok.encode("A")


# ---------------------------------------------------------------------------------------------
# One scorer and one sampler, batched


def test_scored_continuations_equal_a_plain_loop_one_sequence_at_a_time():
    m = tiny(seed=2)
    T = m.config.block_size
    contexts = [[1, 2, 3], [7], list(range(10, 40)), [5, 6], list(range(1, 63)) + [4] * 17, [9, 9, 9]]
    conts = [[4, 5], [8, 9, 10, 11, 12], [3], [], [2, 7, 2], [1] * 20]    # ragged; 81 > block 64
    for grad in (False, True):
        s = score_continuations(m, contexts, conts, grad=grad, batch=None if grad else 4)
        assert s.logits.requires_grad == grad and s.lengths == [len(a) for a in conts]
        got_lp, got_rows = s.split(s.logprobs(0.7)), s.split(s.log_softmax())
        sums = s.sums(s.logprobs())
        for c, a, lp, rows, total in zip(contexts, conts, got_lp, got_rows, sums):
            row = (c + a[:-1])[-T:]                   # the rule: the last block_size tokens
            with torch.no_grad():
                logits = m(torch.tensor([row])).logits[0, len(row) - len(a):].float()     # (m, V)
            want = logits.log_softmax(-1)
            assert torch.allclose(rows.detach(), want, atol=1e-5)
            assert torch.allclose(lp.detach(), (logits / 0.7).log_softmax(-1)[range(len(a)), a], atol=1e-5)
            want_total = float(want[range(len(a)), a].sum())
            assert float(total.detach()) == pytest.approx(want_total, rel=1e-6, abs=1e-5)
        if grad:                                      # a policy step can learn through it
            sums.sum().backward()
            assert m.wte.weight.grad is not None and m.wte.weight.grad.abs().sum() > 0
            m.zero_grad()
    # and without truncation it is the chain rule, one token at a time
    s = score_continuations(m, [[1, 2, 3]], [[4, 5, 6]])
    seq, want = [1, 2, 3], 0.0
    for t in (4, 5, 6):
        with torch.no_grad():
            want += float(m(torch.tensor([seq])).logits[0, -1].log_softmax(-1)[t])
        seq.append(t)
    assert abs(float(s.sums(s.logprobs())[0]) - want) < 1e-5


def test_continuations_after_a_read_prompt_score_as_without_it():
    """Ranking reads its prompt once and scores the candidates from the KV cache: the same figures
    as reading prompt + candidate anew, for one-token, many-token and empty candidates; where
    the contexts differ or would be cut to the window, the plain path is taken."""
    m = tiny(seed=3)
    prompt = list(range(1, 21))
    conts = [[4], [8, 9, 10, 11, 12], [], [2, 7], [5] * 9]
    read = read_prompt(m, prompt)
    plain = score_continuations(m, [prompt] * 5, conts)
    fast = score_continuations(m, [prompt] * 5, conts, prompt=read)
    assert fast.lengths == plain.lengths and torch.equal(fast.targets, plain.targets)
    assert torch.equal(fast.row, plain.row)
    assert torch.allclose(fast.logits, plain.logits, atol=1e-5)
    assert torch.allclose(read.logits.softmax(-1), m(torch.tensor([prompt])).logits[0, -1].softmax(-1), atol=1e-6)
    other = score_continuations(m, [prompt, [1, 2]], [[4], [5, 6]], prompt=read)       # not all after it
    want = score_continuations(m, [prompt, [1, 2]], [[4], [5, 6]])
    assert torch.allclose(other.logits, want.logits, atol=1e-6)
    long = [[3] * 60]                                                  # 20 + 59 > 64: cut, plain path
    assert torch.allclose(score_continuations(m, [prompt], long, prompt=read).logits,
                          score_continuations(m, [prompt], long).logits, atol=1e-6)


def test_scoring_refuses_what_it_cannot_score():
    m = tiny()
    with pytest.raises(ValueError, match="context"):
        score_continuations(m, [[]], [[1]])
    with pytest.raises(ValueError, match="exceeds"):
        score_continuations(m, [[1]], [[2] * 65])
