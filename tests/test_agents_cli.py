"""`python -m explainer agent` and `agent-tune`: each step printed, then 'answer: ...'; mistakes
give one clear line."""
from pathlib import Path

import pytest

from explainer.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def agent_dir(one_layer_dir, tmp_path_factory):
    """A tool-use tuned one-layer model (a few steps: it answers badly, but through the loop)."""
    d = tmp_path_factory.mktemp("agent")
    code = main(["agent-tune", "--base", str(one_layer_dir / "tuned.safetensors"), "--steps", "3",
                 "--batch-size", "2", "--threads", "1", "--quiet", "--out", str(d / "agent.safetensors")])
    assert code == 0
    return d


def test_agent_tune_saves_a_model_with_the_call_tokens(agent_dir, capsys):
    from explainer.gpt.paramfile import load_model
    m = load_model(agent_dir / "agent.safetensors")
    assert {"<|call|>", "<|result|>"} <= set(m.tokenizer.special_tokens)
    assert m.facts["kind"] == "agent" and m.config.vocab_size == m.tokenizer.n_vocab
    # the card of a fresh agent has the shipped agent's facts (gpt/card.py, as the other phases)
    shipped = load_model(Path(__file__).resolve().parents[1] / "models" / "agent.safetensors")
    assert set(m.facts) == set(shipped.facts)
    assert m.facts["special_tokens"] == dict(m.tokenizer.special_tokens)


def test_agent_prints_each_step_and_the_answer(agent_dir, capsys):
    m = str(agent_dir / "agent.safetensors")
    code, out, _ = run(capsys, "agent", "What is 23 times 47?", "--model", m, "--max-steps", "2")
    assert code == 0 and out.startswith("context: ") and "step 1  model wrote:" in out
    assert out.rstrip().splitlines()[-1].startswith("answer:")
    code, out, _ = run(capsys, "agent", "What is 23 times 47?", "--model", m, "--no-tools")
    assert code == 0 and "answer:" in out and "-> '1081'" not in out


def test_agent_mistakes_are_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLAINER_MODELS_DIR", str(tmp_path))
    code, _, err = run(capsys, "agent", "Hi", "--model", "nosuch")
    assert code == 2 and err.startswith("error: no model file 'nosuch'") and "Traceback" not in err
    with pytest.raises(SystemExit):
        main(["agent", "Hi", "--max-steps", "0"])
