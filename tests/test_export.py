"""Our models out into the ecosystem (explainer.export): a Hugging Face folder that transformers
loads with none of our code, the same token IDs and logits within 1e-4; a GGUF in llama.cpp's GPT-2
layout that the numpy run file runs with torch's greedy tokens. transformers is the oracle here
only (the exporter never imports it)."""
import ast
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from explainer import corpus
from explainer.export import to_gguf, to_hf, vocab
from explainer.gpt.model import GPT, preset
from explainer.gpt.paramfile import LoadedModel, load_model, models_dir
from explainer.gpt.tokenizer import SPECIALS, char_tokenizer, cl100k, train_bpe
from explainer.real import gguffile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "explainer" / "runfile"))
import run  # noqa: E402  (the numpy run file, as a learner runs it)

TEXTS = [
    "A flash flood watch will be in effect all night.",                  # ordinary text
    "Party time 🎉🤖! Über naïve café, 東京 and ½ Ⅻ",                       # emoji, accents, CJK
    "def f(x):\n    return x ** 2  # 12345678\n\n\tprint(f(3))\r\n",     # code, tabs, long numbers
    "It's   we'll\n\n\nspaces   ",
]


def untrained(tok, seed=1, **kw) -> LoadedModel:
    m = GPT(preset("tiny", vocab_size=tok.n_vocab, seed=seed, **kw)).eval()
    return LoadedModel(m, tok, m.config, {"name": "learner"}, None)


@pytest.fixture(scope="module")
def learners_bpe():
    """A learner's own: a BPE learned here from another text, with an extra special token."""
    text = corpus.get_corpus("everyday").text[:30_000]
    return train_bpe(text, 300 + len(SPECIALS) + 1, specials=SPECIALS + ("<|tool|>",), name="mine")[0]


def shipped(name):
    path = models_dir() / f"{name}.safetensors"
    if not path.exists():
        pytest.skip(f"{path} is not shipped here")
    return load_model(path)


def agent():
    """The agent's model: the tuned one grown by the tool-call tokens <|call|> and <|result|>."""
    from explainer.agents.calls import with_call_tokens
    return with_call_tokens(shipped("tuned"), seed=0)


def models(learners_bpe):
    return {"base": lambda: shipped("base"), "tuned": lambda: shipped("tuned"),
            "feedback": lambda: shipped("feedback"), "agent": agent, "learner": lambda: untrained(learners_bpe)}


# --------------------------------------------------------------------------------------------------
# The tokenizer as a merge list

def test_merges_reproduce_tiktoken_on_every_token_of_the_base_model():
    """Applying the merge list, lowest first, to each token's bytes rebuilds that very token."""
    tok = shipped("base").tokenizer
    ranks = tok.enc._mergeable_ranks
    order = {p: i for i, p in enumerate(vocab.merges(ranks))}
    for token in ranks:
        parts = [bytes([b]) for b in token]
        while len(parts) > 1:
            pairs = [(order.get((a, b), len(order)), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            best, i = min(pairs)
            if best == len(order):
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        assert parts == [token]


def test_byte_chars_are_gpt2s():
    chars = vocab.byte_chars()
    assert len(set(chars)) == 256 and vocab.spell(b" the\n") == "ĠtheĊ"


# --------------------------------------------------------------------------------------------------
# Hugging Face

def hf_round_trip(loaded, folder, texts=TEXTS):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    to_hf.write(loaded, folder)
    hf_tok = AutoTokenizer.from_pretrained(folder)
    hf_model = AutoModelForCausalLM.from_pretrained(folder).eval()
    for text in texts:
        ids = loaded.tokenizer.encode(text)
        assert hf_tok.encode(text) == ids, text
        assert hf_tok.decode(ids) == text
        x = torch.tensor([([loaded.tokenizer.eot_id] + ids)[:loaded.config.block_size]])
        with torch.no_grad():
            ours, theirs = loaded.model(x).logits, hf_model(x).logits
        torch.testing.assert_close(theirs, ours, atol=1e-4, rtol=1e-4)
    return hf_tok, hf_model


@pytest.mark.parametrize("name", ["base", "tuned", "feedback", "agent", "learner"])
def test_transformers_loads_the_folder_with_our_ids_and_logits(name, learners_bpe, tmp_path):
    loaded = models(learners_bpe)[name]()
    hf_tok, hf_model = hf_round_trip(loaded, tmp_path / name)
    assert type(hf_model).__name__ == "GPT2LMHeadModel"
    for s, i in loaded.tokenizer.special_tokens.items():           # every special, extra ones too
        assert hf_tok.convert_tokens_to_ids(s) == i
    # greedy continuation: the same tokens from transformers' generate and ours
    ids = [loaded.tokenizer.eot_id] + loaded.tokenizer.encode("A flash flood watch will be in effect all")
    ours = list(loaded.model.generate(ids, 12, temperature=0))
    x = torch.tensor([ids])       # the mask says so: <|endoftext|> opens the text, it is no padding
    theirs = hf_model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=12, do_sample=False,
                               eos_token_id=None, pad_token_id=loaded.tokenizer.eot_id)[0, len(ids):].tolist()
    assert theirs == ours


def test_the_chat_template_writes_our_chat_format(tmp_path):
    from explainer.gpt import chat
    from transformers import AutoTokenizer
    loaded = shipped("tuned")
    to_hf.write(loaded, tmp_path)
    hf_tok = AutoTokenizer.from_pretrained(tmp_path)
    ids = hf_tok.apply_chat_template([{"role": "user", "content": "What should I eat today?"}], tokenize=True)
    ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
    assert list(ids) == chat.prompt_ids(loaded.tokenizer, "What should I eat today?")[0]


def test_a_character_tokenizer_maps_with_byte_fallback(tmp_path):
    tok = char_tokenizer("abc def, ghi.\nJKL é")
    hf_round_trip(untrained(tok), tmp_path, TEXTS + ["abc é ü 🤖"])


def test_a_cl100k_model_maps(tmp_path):
    hf_round_trip(untrained(cl100k(), n_embd=32, n_head=2), tmp_path)


def test_the_zip_holds_the_folder(tmp_path):
    loaded = shipped("base")
    with zipfile.ZipFile(__import__("io").BytesIO(to_hf.zipped(loaded))) as z:
        assert sorted(z.namelist()) == sorted(f"base/{n}" for n in to_hf.files(loaded))
        z.extractall(tmp_path)
    hf_round_trip(loaded, tmp_path / "base", TEXTS[:1])


def test_the_exporter_never_imports_transformers():
    for path in (ROOT / "explainer" / "export").glob("*.py"):
        names = {a.name.split(".")[0] for n in ast.walk(ast.parse(path.read_text()))
                 if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
        mods = {n.module.split(".")[0] for n in ast.walk(ast.parse(path.read_text()))
                if isinstance(n, ast.ImportFrom) and n.module}
        assert "transformers" not in names | mods, path.name


# --------------------------------------------------------------------------------------------------
# GGUF

@pytest.mark.parametrize("name", ["base", "tuned", "agent", "learner"])
def test_the_run_file_runs_the_gguf_with_torchs_greedy_tokens(name, learners_bpe, tmp_path):
    loaded = models(learners_bpe)[name]()
    path = to_gguf.write(loaded, tmp_path / f"{name}.gguf")
    W, cfg, tok_meta, _ = run.load(str(path))
    tok = run.Tokenizer(tok_meta)
    for text in TEXTS:
        assert tok.encode(text) == loaded.tokenizer.encode(text), text
    ids = [loaded.tokenizer.eot_id] + loaded.tokenizer.encode("A flash flood watch will be in effect all")
    assert list(run.generate(W, cfg, ids, 16)) == list(loaded.model.generate(ids, 16, temperature=0))
    with torch.no_grad():
        ours = loaded.model(torch.tensor([ids])).logits[0, -1].numpy()
    np.testing.assert_allclose(run.forward(W, cfg, ids), ours, atol=1e-4, rtol=1e-4)


def test_the_gguf_is_gpt2_as_llama_cpp_reads_it(tmp_path):
    loaded = shipped("base")
    f = gguffile.summary(to_gguf.write(loaded, tmp_path / "base.gguf"))
    assert f.meta["general.architecture"] == "gpt2" and f.meta["tokenizer.ggml.model"] == "gpt2"
    assert f.n_vocab == loaded.config.vocab_size
    assert f.meta["gpt2.block_count"] == loaded.config.n_layer
    names = {t.name for t in f.tensors}
    assert {"token_embd.weight", "position_embd.weight", "output.weight", "output_norm.bias",
            "blk.0.attn_qkv.weight", "blk.0.ffn_down.bias"} <= names
    qkv = next(t for t in f.tensors if t.name == "blk.0.attn_qkv.weight")
    assert qkv.shape == (3 * loaded.config.n_embd, loaded.config.n_embd) and qkv.type == "F32"
    # every weight once, plus the output layer written out (the embedding again)
    assert f.n_params == loaded.model.num_params() + loaded.model.wte.weight.numel()
    assert f.meta["tokenizer.ggml.add_bos_token"] is True          # <|endoftext|> opens every text
    tuned = gguffile.summary(to_gguf.write(shipped("tuned"), tmp_path / "tuned.gguf"))
    assert tuned.meta["tokenizer.ggml.eot_token_id"] == shipped("tuned").tokenizer.special_tokens["<|end|>"]
    assert "<|assistant|>" in tuned.meta["tokenizer.chat_template"]


def test_a_character_model_has_no_gguf_and_says_why(tmp_path):
    with pytest.raises(ValueError, match="--format hf"):
        to_gguf.write(untrained(char_tokenizer("abc")), tmp_path / "c.gguf")
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------------------------------
# The command line

def test_the_command_line_writes_both_and_says_what_is_missing(tmp_path, capsys):
    from explainer import cli
    shipped("base")
    assert cli.main(["export", "base", "--format", "hf", str(tmp_path / "hf")]) == 0
    assert cli.main(["export", "base", "--format", "gguf", "--out", str(tmp_path / "base.gguf")]) == 0
    assert "from_pretrained" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "hf").iterdir()) == sorted(to_hf.files(shipped("base")))
    assert run.load(str(tmp_path / "base.gguf"))[1]["arch"] == "gpt2"
    for argv in (["export", "base", "--format", "gguf"], ["export", "base", "--format", "onnx", "x"],
                 ["export", "base", "--dtype", "int8", "--format", "hf", "x"]):
        assert cli.main(argv) == 2
        assert "one place to write" in capsys.readouterr().err
