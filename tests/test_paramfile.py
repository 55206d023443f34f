"""The parameter file: round trip, atomic writes, clear errors, no pickle, export sizes."""
import copy
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from explainer.gpt.model import GPT, preset
from explainer.gpt.paramfile import (
    LoadedModel,
    ParamFileError,
    cache_key,
    export,
    load_model,
    read_metadata,
    save_model,
    validate_model_name,
)
from explainer.gpt.tokenizer import char_tokenizer


@pytest.fixture()
def saved(tmp_path):
    tok = char_tokenizer("hello world, the giraffe eats at night")
    m = GPT(preset("tiny", vocab_size=tok.n_vocab, seed=5))
    path = save_model(tmp_path / "m.safetensors", m, tok, {"corpus": "test", "steps": 3})
    return m, tok, path


def test_round_trip_restores_weights_tokenizer_config_and_facts(saved):
    m, tok, path = saved
    got = load_model(path)
    assert got.config == m.config and got.facts == {"corpus": "test", "steps": 3}
    for (k, a), (_, b) in zip(m.state_dict().items(), got.model.state_dict().items()):
        assert torch.equal(a, b), k
    assert got.model.lm_head.weight is got.model.wte.weight           # still tied
    text = "the night 🌙"
    assert got.tokenizer.encode(text) == tok.encode(text)
    x = torch.tensor([tok.encode("hello")])
    assert torch.equal(got.model(x).logits, m.eval()(x).logits)


def test_metadata_is_readable_without_loading_tensors(saved):
    _, _, path = saved
    meta = read_metadata(path)
    assert meta["config"]["n_layer"] == 2 and "wte.weight" in meta["tensors"]
    assert "lm_head.weight" not in meta["tensors"]


def test_write_is_atomic_no_temp_files_left(saved, tmp_path):
    m, tok, path = saved
    save_model(path, m, tok, {"again": True})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[: len(b) // 2], "truncated|corrupted"),
    (lambda b: b"garbage" * 10, "truncated|corrupted|readable"),
    (lambda b: b"", "truncated|corrupted|readable"),
])
def test_damaged_files_give_clear_errors(saved, damage, message):
    _, _, path = saved
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ParamFileError, match=message):
        load_model(path)


def test_foreign_and_mismatched_files_are_named(tmp_path, saved):
    foreign = tmp_path / "foreign.safetensors"
    save_file({"x": torch.zeros(2)}, str(foreign))
    with pytest.raises(ParamFileError, match="not an LLM Explainer model"):
        load_model(foreign)
    m, tok, _ = saved
    bad = tmp_path / "bad.safetensors"
    sd = {k: v for k, v in m.state_dict().items() if k != "lm_head.weight"}
    sd["wpe.weight"] = torch.zeros(3, 64)
    meta = {"format": "llm-explainer/1", "config": json.dumps(m.config.to_dict()),
            "tokenizer": json.dumps(tok.to_metadata()), "facts": "{}"}
    save_file(sd, str(bad), metadata=meta)
    with pytest.raises(ParamFileError, match="wpe.weight has shape"):
        load_model(bad)
    with pytest.raises(ParamFileError, match="no such file"):
        load_model(tmp_path / "missing.safetensors")


def test_no_pickle_anywhere_in_the_file(saved):
    _, _, path = saved
    assert b"\x80\x04" not in path.read_bytes()[:64]                     # no pickle protocol header
    header_len = int.from_bytes(path.read_bytes()[:8], "little")
    json.loads(path.read_bytes()[8: 8 + header_len])                      # header is plain JSON


def test_fp16_and_int8_exports_are_smaller_and_close(saved, tmp_path):
    m, tok, path = saved
    loaded = load_model(path)
    sizes = {d: export(loaded, tmp_path / f"m-{d}.safetensors", d).stat().st_size
             for d in ("fp32", "fp16", "int8")}
    assert sizes["fp16"] < 0.6 * sizes["fp32"] and sizes["int8"] < 0.4 * sizes["fp32"]
    x = torch.tensor([tok.encode("the giraffe")])
    ref = loaded.model(x).logits
    for d in ("fp16", "int8"):
        got = load_model(tmp_path / f"m-{d}.safetensors")
        assert got.facts["stored_as"] == d
        assert (got.model(x).logits - ref).abs().max() < 0.05


@pytest.mark.parametrize("name", ["../evil", "/etc/passwd", "a/b", ".hidden", "", "x" * 60, "a b",
                                  "base"])
def test_model_names_are_validated(name, tmp_path):
    with pytest.raises(ValueError):
        validate_model_name(name, tmp_path, shipped={"base"})


def test_good_model_name(tmp_path):
    assert validate_model_name("my-model_2", tmp_path) == Path(tmp_path) / "my-model_2.safetensors"


def test_cache_key_names_the_model_not_the_object(saved, tmp_path):
    """Equal weights, equal key, whatever the object (id() and hash() reuse numbers once an object
    is gone, and differ between processes); a changed weight or a rewritten file, a new key."""
    m, tok, path = saved
    a, b = load_model(path), load_model(path)
    assert cache_key(a) == cache_key(b) and str(path) in cache_key(a)
    twin = GPT(preset("tiny", vocab_size=tok.n_vocab, seed=5))
    mem = [LoadedModel(x, tok, x.config) for x in (m, twin)]       # in memory only, no file
    assert cache_key(mem[0]) == cache_key(mem[1]) != cache_key(a)
    changed = copy.deepcopy(twin)
    with torch.no_grad():
        changed.wte.weight[0, 0] += 1.0
    assert cache_key(LoadedModel(changed, tok, twin.config)) != cache_key(mem[0])
    save_model(path, changed, tok, {})
    assert cache_key(load_model(path)) != cache_key(a)
    assert cache_key(None) == "none"
