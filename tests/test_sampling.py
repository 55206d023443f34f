"""The sampler: cache or not, seeds, greedy, top-k/top-p, batches, and the settings it refuses."""
import math

import pytest
import torch

from explainer.gpt.model import GPT, preset
from explainer.gpt.sampling import check_sampling, generate_batch, generate_steps


def tiny(vocab=64, **kw):
    return GPT(preset("tiny", vocab_size=vocab, **kw))


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


@pytest.mark.parametrize("kw, word", [
    (dict(temperature=float("nan")), "temperature"), (dict(temperature=-1.0), "temperature"),
    (dict(temperature=math.inf), "temperature"), (dict(temperature="0.8"), "temperature"),
    (dict(temperature=1.0, top_k=-1), "top-k"), (dict(temperature=1.0, top_k=2.5), "top-k"),
    (dict(temperature=1.0, top_p=0.0), "top-p"), (dict(temperature=1.0, top_p=1.5), "top-p"),
    (dict(temperature=1.0, top_p=float("nan")), "top-p"), (dict(temperature=1.0, top_p=-0.5), "top-p"),
])
def test_the_sampler_refuses_settings_it_cannot_honour(kw, word):
    m = tiny(seed=2)
    with pytest.raises(ValueError, match=word) as e:
        list(m.generate([1, 2], 5, **kw))
    assert "pass" in str(e.value)                             # the message says what to do
    with pytest.raises(ValueError, match=word):
        generate_batch(m, [[1, 2], [3]], 5, **kw)
    with pytest.raises(ValueError, match=word):
        next(generate_steps(m, [[1, 2]], 5, **kw))


def test_negative_or_fractional_token_counts_are_refused_and_limits_at_their_ends_are_kept():
    m = tiny(seed=2)
    for n in (-1, 2.5):
        with pytest.raises(ValueError, match="new tokens"):
            generate_batch(m, [[1, 2]], n, temperature=0)
    check_sampling(0.0, top_k=0, top_p=1.0, max_new_tokens=0)          # greedy, no limits: fine
    greedy = list(m.generate([3, 4], 12, temperature=0))
    assert list(m.generate([3, 4], 12, temperature=0, top_k=0, top_p=1.0)) == greedy
    assert generate_batch(m, [[3, 4]], 0, temperature=0) == [[]]
