"""Instruction tuning (explainer/phases/sft.py): batches start at turns and learn only from answers, a
tiny model learns to answer and stop, the result is a tuned parameter file; the CLI `sft` and
`chat` commands; the shipped tuned model's end-token property."""
import builtins
import json
from pathlib import Path

import pytest
import torch

from explainer import cli
from explainer.corpus import instructions as ins
from explainer.gpt import chat
from explainer.gpt.paramfile import LoadedModel, load_model, read_metadata
from explainer.gpt.training import Eval, Sample
from explainer.phases import sft
from explainer.serve import runs
from explainer.serve.jobs import JobManager

ROOT = Path(__file__).resolve().parents[1]
PAIRS = [ins.Pair("Hi", "Hello there!", "small_talk"), ins.Pair("Bye", "Goodbye, friend!", "small_talk"),
         ins.Pair("Can I touch a hot stove?", "No, it can burn you.", "safety"),
         ins.Pair("What do owls eat?", "Owls eat mice.", "animals")]


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def base(one_layer_dir):
    return load_model(one_layer_dir / "base.safetensors")


def run_to_end(gen):
    events = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as stop:
            return events, stop.value


def test_batches_start_at_turns_and_learn_only_from_answers(base):
    tok = base.tokenizer
    data, skipped = sft.make_batches(tok, PAIRS * 5, PAIRS, 128)
    sp = chat.special_ids(tok)
    x, y, m = data.sample(32, torch.Generator().manual_seed(0))
    assert skipped == 0 and (x[:, 0] == sp[chat.EOT]).all() and (x[:, 1] == sp[chat.USER]).all()
    learned = set(y[m == 1].tolist())
    assert not learned & {sp[chat.EOT], sp[chat.USER], sp[chat.ASSISTANT]}
    answer_tokens = {i for p in PAIRS for i in tok.encode(p.response)} | {sp[chat.END]}
    assert learned <= answer_tokens
    # every target right after <|assistant|> is learned; every target inside a question is not
    xs, ys, ms = x.flatten(), y.flatten(), m.flatten()
    assert (ms[xs == sp[chat.ASSISTANT]] == 1).all() and (ms[ys == sp[chat.ASSISTANT]] == 0).all()
    vx, vy, vm = data.val_set(8)
    assert (vx[:, 1] == sp[chat.USER]).all()


def test_tiny_model_learns_to_answer_and_stop(base):
    before = {k: v.clone() for k, v in base.model.state_dict().items()}
    spec = sft.SFTSpec(steps=80, batch_size=8, lr=1e-2, warmup=5, eval_every=40)
    events, tuned = run_to_end(sft.run(base, PAIRS * 10, spec, val_pairs=PAIRS, base_name="tiny-base"))
    assert isinstance(tuned, LoadedModel)
    evals = [e.val_loss for e in events if isinstance(e, Eval)]
    assert evals[-1] < evals[0] / 3
    assert any(isinstance(e, Sample) for e in events)
    for p in PAIRS:
        r = chat.answer(tuned.model, tuned.tokenizer, p.prompt)
        assert r.ended and r.text == p.response
    base_reply = chat.answer(base.model, base.tokenizer, "Hi", max_new_tokens=20)
    assert not base_reply.ended                      # the untouched base never says <|end|>
    assert all(torch.equal(v, base.model.state_dict()[k]) for k, v in before.items())
    f = tuned.facts
    assert f["kind"] == "tuned" and f["base_model"] == "tiny-base" and f["pairs"] == 40
    assert f["steps"] == 80 and f["seed"] == 0 and f["val_loss"] == round(evals[-1], 4)
    assert f["special_tokens"] == chat.special_ids(base.tokenizer) and f["chat_template"] == chat.TEMPLATE
    shipped = read_metadata(ROOT / "models" / "tuned.safetensors")["facts"]
    assert set(f) == set(shipped)                                        # the same model card


def test_only_good_pairs_can_be_selected():
    pairs = PAIRS + [ins.Pair("Hi", "Bye.", "small_talk", "weak", "curt")]
    assert sft.select_pairs(pairs, include_weak=False) == PAIRS
    assert len(sft.select_pairs(pairs)) == 5


def test_runs_as_a_background_job(base):
    jm = JobManager(max_workers=1)
    try:
        job = jm.submit("me", "tune", runs.sft_job(base, PAIRS * 3, sft.SFTSpec(steps=5, batch_size=4)))
        view = jm.wait(job, timeout=60)
    finally:
        jm.shutdown()
    assert view.state == "done", view.error
    assert view.result.facts["kind"] == "tuned" and view.result.facts["name"].startswith("tuned")


def test_cli_sft_with_a_jsonl_file_and_a_bad_line(base, tmp_path, capsys):
    data = tmp_path / "mine.jsonl"
    data.write_text("\n".join(json.dumps({"prompt": p.prompt, "response": p.response}) for p in PAIRS)
                    + "\nnot json\n")
    out = tmp_path / "tuned.safetensors"
    rc = cli.main(["sft", "--base", base.path, "--no-generated", "--data", str(data), "--steps", "3",
                   "--batch-size", "4", "--threads", "1", "--quiet", "--out", str(out), "--eval", "1"])
    assert rc == 0
    captured = capsys.readouterr()
    assert "line 5" in captured.err and "saved" in captured.out and "held-out questions" in captured.out
    tuned = load_model(out)
    assert tuned.facts["kind"] == "tuned" and tuned.facts["pairs"] == 4 and tuned.facts["user_pairs"] == 4
    assert tuned.tokenizer.special_tokens == base.tokenizer.special_tokens


def test_cli_chat_loop_handles_long_input_ctrl_c_and_eof(base, monkeypatch, capsys):
    lines = iter(["Hello!", "giraffe " * 2000, KeyboardInterrupt()])

    def fake_input(prompt=""):
        print(prompt, end="")
        item = next(lines)
        if isinstance(item, BaseException):
            raise item
        return item
    monkeypatch.setattr(builtins, "input", fake_input)
    assert cli.main(["chat", base.path, "--max-tokens", "8"]) == 0
    out = capsys.readouterr().out
    assert "not instruction-tuned" in out and out.count("bot> ") == 2
    assert "only the first 2,000 are used" in out and "fit in the model's 128-token context" in out
    monkeypatch.setattr(builtins, "input", lambda prompt="": (_ for _ in ()).throw(EOFError()))
    assert cli.main(["chat", base.path]) == 0


SHIPPED = ROOT / "models" / "tuned.safetensors"


@pytest.mark.skipif(not SHIPPED.is_file(), reason="models/tuned.safetensors not shipped yet")
def test_shipped_tuned_model_answers_and_stops_on_heldout_questions():
    tuned = load_model(SHIPPED)
    assert tuned.facts["kind"] == "tuned" and tuned.facts["special_tokens"] == chat.special_ids(tuned.tokenizer)
    prompts = ins.heldout_prompts(ins.instruction_data(tuned.facts.get("seed", 0)), per_topic=3)
    replies = [chat.answer(tuned.model, tuned.tokenizer, q) for q, _ in prompts]
    ended = sum(r.ended for r in replies) / len(replies)
    assert ended >= 0.9, [(q, r.text) for (q, _), r in zip(prompts, replies) if not r.ended]
    # and every held-out question really is held out
    train = {p.prompt for p in ins.instruction_data(tuned.facts.get("seed", 0)).train}
    assert not {q for q, _ in prompts} & train
