"""The GPT: its presets, causality, attention, learning and the masked loss."""
import pytest
import torch

from explainer.gpt.model import GPT, GPTConfig, count_params, preset


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


def test_a_kv_cache_gives_the_full_sequences_logits_and_attention_in_every_path():
    m = tiny().eval()
    x = torch.randint(0, 64, (2, 12))
    full = m(x, return_attn=True)
    for split in (11, 8):                                   # one new token; a chunk of four
        past = m(x[:, :split]).kv_cache
        fast = m(x[:, split:], kv_cache=past)
        explicit = m(x[:, split:], kv_cache=past, return_attn=True)
        assert torch.allclose(fast.logits, full.logits[:, split:], atol=1e-5)
        assert torch.allclose(explicit.logits, full.logits[:, split:], atol=1e-5)
        assert torch.allclose(explicit.attn[1], full.attn[1][:, :, split:], atol=1e-6)


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
