"""The Llama forward against an independent implementation, on SmolLM2's real weights.

`transformers`' LlamaForCausalLM (a test-only dependency) gets the same dequantized weights in
Hugging Face's own names and must give the same logits on 5 prompts (fp32: atol 1e-5 for our
explicit attention path against its eager one, 1e-4 for the SDPA path users run);
our KV-cache generation must equal generation without it; the shared library functions (ranking,
next-token probabilities, attention, hidden states) take the Llama unchanged. Skipped with the
reason when the real model is not installed.
"""
import pytest
import torch

from explainer.gpt.model import GPTOutput
from explainer.gpt.scoring import next_token_probs, rank_next
from explainer.real import smollm
from explainer.real.llama import Llama, LlamaConfig, count_params, rope_tables, rotate

needs_real = pytest.mark.skipif(not smollm.available(),
                                reason=f"real model not installed: run `{smollm.INSTALL}`")
PROMPTS = ["A flash flood watch will be in effect all", "The capital of France is",
           "def fibonacci(n):\n    return", "Once upon a time, 3 little pigs 🐷", "東京は日本の首都です。"]


@pytest.fixture(scope="module")
def real():
    if not smollm.available():
        pytest.skip(f"real model not installed: run `{smollm.INSTALL}`")
    return smollm.load()


def hf_state_dict(model: Llama) -> dict:
    """Our names -> Hugging Face's (the layouts are the same: nn.Linear (out, in), RoPE on halves)."""
    names = {"ln_1": "input_layernorm", "ln_2": "post_attention_layernorm", "attn": "self_attn"}
    out = {"model.embed_tokens.weight": model.wte.weight, "model.norm.weight": model.ln_f.weight,
           "lm_head.weight": model.lm_head.weight}
    for k, v in model.h.state_dict().items():
        i, part, *rest = k.split(".")
        key = ".".join(["model.layers", i, names.get(part, part), *rest])
        if "qkv_proj" in key:                               # ours are fused: q | k | v rows
            q_rows = model.config.n_embd
            for p, w in zip("qkv", v.split([q_rows, (v.shape[0] - q_rows) // 2, (v.shape[0] - q_rows) // 2])):
                out[key.replace("qkv_proj", f"{p}_proj")] = w
        elif "gate_up_proj" in key:                         # gate | up rows
            for p, w in zip(("gate", "up"), v.chunk(2)):
                out[key.replace("gate_up_proj", f"{p}_proj")] = w
        else:
            out[key] = v
    return out


@pytest.fixture(scope="module")
def hf_model(real):
    transformers = pytest.importorskip("transformers")
    cfg = real.config
    hf_cfg = transformers.LlamaConfig(
        vocab_size=cfg.vocab_size, hidden_size=cfg.n_embd, intermediate_size=cfg.n_hidden,
        num_hidden_layers=cfg.n_layer, num_attention_heads=cfg.n_head,
        num_key_value_heads=cfg.n_kv_head, max_position_embeddings=cfg.block_size,
        rope_theta=cfg.rope_base, rms_norm_eps=cfg.norm_eps, tie_word_embeddings=True,
        hidden_act="silu", attention_bias=False, mlp_bias=False)
    hf_cfg._attn_implementation = "eager"            # the plain maths, not SDPA as ours uses
    hf = transformers.LlamaForCausalLM(hf_cfg).eval()
    # assign=True: transformers computes with our very tensors, in their memory layout. smollm.py
    # stores each matrix (in, out) and uses it transposed (faster per token); copied into HF's
    # contiguous (out, in) parameters, the same values make BLAS sum in another order, which over
    # 30 layers moved logits by up to 2.9e-4: float32 noise (each is up to 2.6e-4 from a float64 run).
    # (detached: HF's Parameters then share our storage, never our Parameter objects' flags)
    weights = {k: v.detach() for k, v in hf_state_dict(real.model).items()}
    missing, unexpected = hf.load_state_dict(weights, strict=False, assign=True)
    assert not unexpected and all("rotary" in m for m in missing), (missing, unexpected)
    return hf


@needs_real
@pytest.mark.parametrize("prompt", PROMPTS)
def test_logits_equal_transformers_llama(real, hf_model, prompt):
    ids = torch.tensor([[real.tokenizer.eot_id] + real.tokenizer.encode(prompt)])
    with torch.no_grad():
        ours = real.model(ids).logits
        explicit = real.model(ids, return_attn=True).logits
        theirs = hf_model(ids).logits
    assert ours.shape == theirs.shape == (1, ids.shape[1], 49152)
    torch.testing.assert_close(explicit, theirs, atol=1e-5, rtol=0)    # same maths, same order
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=0)        # SDPA sums in blocks


@needs_real
def test_kv_cache_generation_equals_no_cache_and_is_seeded(real):
    ids = [real.tokenizer.eot_id] + real.tokenizer.encode(PROMPTS[0])
    greedy = list(real.model.generate(ids, 12, temperature=0))
    assert greedy == list(real.model.generate(ids, 12, temperature=0, use_cache=False))
    sampled = list(real.model.generate(ids, 12, temperature=1.0, top_k=50, seed=3))
    assert sampled == list(real.model.generate(ids, 12, temperature=1.0, top_k=50, seed=3, use_cache=False))


@needs_real
def test_cached_forward_equals_full_forward_with_attention_and_hidden(real):
    m = real.model
    ids = torch.tensor([[real.tokenizer.eot_id] + real.tokenizer.encode(PROMPTS[1])])
    with torch.no_grad():
        full = m(ids, return_attn=True, return_hidden=True)
        first = m(ids[:, :-2])
        rest = m(ids[:, -2:], kv_cache=first.kv_cache)
    assert isinstance(full, GPTOutput)
    torch.testing.assert_close(rest.logits, full.logits[:, -2:], atol=1e-4, rtol=0)
    assert len(full.attn) == 30 and full.attn[0].shape == (1, 9, ids.shape[1], ids.shape[1])
    torch.testing.assert_close(full.attn[5].sum(-1), torch.ones(1, 9, ids.shape[1]))
    assert len(full.hidden) == 31 and full.hidden[-1].shape == (1, ids.shape[1], 576)
    assert first.kv_cache[0][0].shape == (1, 3, ids.shape[1] - 2, 64)     # 3 kv heads are cached


@needs_real
def test_shared_library_functions_take_the_llama(real):
    """rank_next and next_token_probs from model.py, unchanged: a real model ranks sensibly."""
    r = rank_next(real.model, real.tokenizer, PROMPTS[0], 5, ["night", "day", "giraffe"])
    by = {c.word: c for c in r.candidates}
    assert by["night"].rank <= 3 and by["day"].rank <= 3 and by["giraffe"].rank > 1000
    p = next_token_probs(real.model, [real.tokenizer.eot_id] + real.tokenizer.encode(PROMPTS[1]))
    assert real.tokenizer.decode([int(p.argmax())]) == " Paris"


@needs_real
def test_one_copy_serves_threads_at_once(real):
    """Sessions share one model: concurrent forward passes give exactly the sequential results."""
    from concurrent.futures import ThreadPoolExecutor
    ids = [[real.tokenizer.eot_id] + real.tokenizer.encode(p) for p in PROMPTS[:4]]
    alone = [next_token_probs(real.model, i) for i in ids]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda i: next_token_probs(real.model, i), ids * 2))
    for a, b in zip(alone * 2, together):
        assert torch.equal(a, b)
    assert not real.model.training and not any(p.requires_grad for p in real.model.parameters())


def test_rope_turns_pairs_by_position_and_keeps_lengths():
    """rotate() is a rotation: lengths kept, and q.k depends only on the distance between positions."""
    cfg = LlamaConfig(vocab_size=10, block_size=16, n_layer=1, n_head=2, n_kv_head=1, n_embd=8, n_hidden=8)
    cos, sin = rope_tables(cfg)
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(4, generator=g), torch.randn(4, generator=g)
    rq = rotate(q.expand(16, 4), cos, sin)                                  # (T, hs): q at every position
    rk = rotate(k.expand(16, 4), cos, sin)
    torch.testing.assert_close(rq.norm(dim=-1), q.norm().expand(16))
    torch.testing.assert_close((rq[5] * rk[2]).sum(), (rq[12] * rk[9]).sum())   # both 3 apart


def test_count_params_matches_the_built_model():
    cfg = LlamaConfig(vocab_size=100, block_size=32, n_layer=2, n_head=4, n_kv_head=2, n_embd=32, n_hidden=48)
    assert count_params(cfg) == Llama(cfg).num_params()
    assert count_params(LlamaConfig()) == 134_515_008
