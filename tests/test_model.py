"""The GPT: causality, learning, generation with and without cache, determinism, ranking."""
import pytest
import torch

from explainer.chat import prompt_ids
from explainer.model import (GPT, GPTConfig, count_params, generate_batch, preset, rank_next,
                            score_continuations)
from explainer.tokenizer import char_tokenizer

TEXT = "A flash flood watch will be in effect all night. The giraffe eats leaves. " * 20


@pytest.fixture(scope="module")
def tok():
    return char_tokenizer(TEXT)


def tiny(vocab=64, **kw):
    return GPT(preset("tiny", vocab_size=vocab, **kw))


def test_presets_have_the_sizes_the_app_promises():
    assert 0.15e6 < count_params(preset("tiny")) < 0.3e6
    assert 0.8e6 < count_params(preset("small")) < 1.3e6
    assert 3e6 < count_params(preset("medium")) < 5e6
    assert preset("small").block_size >= 128
    for name in ("tiny", "small"):
        assert GPT(preset(name)).num_params() == count_params(preset(name))


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="multiple"):
        GPTConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="unknown preset"):
        preset("huge")


def test_changing_a_later_token_never_changes_earlier_logits():
    m = tiny().eval()
    x = torch.randint(0, 64, (2, 20))
    y = x.clone()
    y[:, 12] = (y[:, 12] + 1) % 64
    a, b = m(x).logits, m(y).logits
    assert torch.allclose(a[:, :12], b[:, :12], atol=1e-6)
    assert not torch.allclose(a[:, 12:], b[:, 12:])


def test_attention_weights_are_causal_distributions_and_match_the_fast_path():
    m = tiny().eval()
    x = torch.randint(0, 64, (1, 10))
    out = m(x, return_attn=True, return_hidden=True)
    assert len(out.attn) == 2 and out.attn[0].shape == (1, 2, 10, 10)
    assert torch.allclose(out.attn[0].sum(-1), torch.ones(1, 2, 10), atol=1e-5)
    assert torch.all(out.attn[1][0, :, 0, 1:] == 0)          # first token sees only itself
    assert len(out.hidden) == 3 and out.hidden[0].shape == (1, 10, 64)
    assert torch.allclose(out.logits, m(x).logits, atol=1e-5)


def test_tiny_model_overfits_a_tiny_batch():
    torch.manual_seed(0)
    m = tiny()
    x = torch.randint(0, 64, (4, 32))
    y = torch.roll(x, -1, 1)
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    first = None
    for _ in range(150):
        loss = m(x, y).loss
        first = first or loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first > 3.5 and loss.item() < 0.2


def test_loss_mask_counts_only_masked_positions():
    m = tiny().eval()
    x = torch.randint(0, 64, (1, 8))
    y = torch.randint(0, 64, (1, 8))
    mask = torch.tensor([[0, 0, 0, 1, 1, 0, 0, 0]])
    per = torch.nn.functional.cross_entropy(m(x).logits[0], y[0], reduction="none")
    assert torch.allclose(m(x, y, loss_mask=mask).loss, per[3:5].mean(), atol=1e-6)


def test_kv_cache_generation_equals_generation_without_it():
    m = tiny(seed=3)
    prompt = [1, 5, 9, 2]
    for temp in (0.0, 1.0):
        a = list(m.generate(prompt, 80, temperature=temp, seed=7, use_cache=True))
        b = list(m.generate(prompt, 80, temperature=temp, seed=7, use_cache=False))
        assert a == b and len(a) == 80                     # 84 > block 64: the window slides too


def test_same_seed_same_weights_and_samples_without_global_rng():
    a, b = tiny(seed=1), tiny(seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.wte.weight, tiny(seed=2).wte.weight)
    torch.manual_seed(123)
    s1 = list(a.generate([1, 2], 30, temperature=1.0, seed=5))
    torch.manual_seed(999)
    s2 = list(a.generate([1, 2], 30, temperature=1.0, seed=5))
    assert s1 == s2
    assert s1 != list(a.generate([1, 2], 30, temperature=1.0, seed=6))


def test_greedy_is_argmax_and_stop_tokens_stop():
    m = tiny().eval()
    first = int(m(torch.tensor([[1, 2, 3]])).logits[0, -1].argmax())
    assert next(m.generate([1, 2, 3], 5, temperature=0)) == first
    assert list(m.generate([1, 2, 3], 50, temperature=0, stop_ids=[first])) == [first]


def test_top_k_1_equals_greedy_and_top_p_small_equals_greedy():
    m = tiny(seed=4)
    g = list(m.generate([3, 4], 20, temperature=0))
    assert list(m.generate([3, 4], 20, temperature=1.0, top_k=1, seed=9)) == g
    assert list(m.generate([3, 4], 20, temperature=1.0, top_p=1e-6, seed=9)) == g


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


def test_scoring_refuses_what_it_cannot_score():
    m = tiny()
    with pytest.raises(ValueError, match="context"):
        score_continuations(m, [[]], [[1]])
    with pytest.raises(ValueError, match="exceeds"):
        score_continuations(m, [[1]], [[2] * 65])


def test_batched_generation_equals_one_prompt_at_a_time_when_greedy():
    m = tiny(seed=3)
    prompts = [[1, 5, 9], [2, 4, 6], [7], [3, 3, 3], [8, 1]]                         # ragged
    got = generate_batch(m, prompts, 70, temperature=0, stop_ids=[17])               # slides past 64
    for p, g in zip(prompts, got):
        assert g == list(m.generate(p, 70, temperature=0, stop_ids=[17]))
    one = generate_batch(m, [[1, 5, 9]], 30, temperature=0.9, top_k=40, top_p=0.9, seed=11)[0]
    assert one == list(m.generate([1, 5, 9], 30, temperature=0.9, top_k=40, top_p=0.9, seed=11))


def test_batched_sampling_is_seeded_locally_and_stops_each_row_at_its_stop_token():
    m = tiny(seed=5)
    heads = [[1, 2, 3]] * 16
    torch.manual_seed(1)
    a = generate_batch(m, heads, 40, temperature=1.0, seed=4, stop_ids=[3, 4, 5])
    torch.manual_seed(2)
    assert a == generate_batch(m, heads, 40, temperature=1.0, seed=4, stop_ids=[3, 4, 5])
    assert len({tuple(x) for x in a}) > 1                          # the rows are different draws
    for x in a:
        assert all(t not in (3, 4, 5) for t in x[:-1]) and (len(x) == 40 or x[-1] in (3, 4, 5))
    cached = generate_batch(m, heads, 40, temperature=1.0, seed=4, stop_ids=[3, 4, 5], use_cache=False)
    assert cached == a
