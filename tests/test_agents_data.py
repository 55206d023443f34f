"""Tool-use training data: the held-out countries and sums are in no training set (pretraining
text, instruction pairs, tool-use conversations), the loss mask covers only the model's own
tokens, and the shipped agent's figures (slow)."""
import re

import pytest

from explainer.agents import data
from explainer.agents.calls import CALL, RESULT, with_call_tokens
from explainer.agents.tools import calculator, lookup
from explainer.gpt import chat


@pytest.fixture(scope="module")
def convs():
    return data.conversations()


def mentions(text: str, country: str) -> bool:
    name = country.removeprefix("the ")
    return re.search(rf"\b{re.escape(name)}\b", text) is not None


def test_heldout_countries_are_in_no_training_set(convs):
    from explainer import corpus
    from explainer.corpus.instructions import instruction_data
    assert len(data.HELDOUT_COUNTRIES) >= 25
    everyday = corpus.get_corpus("everyday").text
    pairs = " ".join(p.prompt + " " + p.response for p in instruction_data(0).train + instruction_data(0).heldout)
    tool_use = " ".join(f"{c.question} {c.call} {c.result} {c.answer}" for c in convs)
    from explainer.agents.capitals import CAPITALS
    capital = {c: cap for c, cap, _ in CAPITALS}
    for country in data.HELDOUT_COUNTRIES:
        for name in (country, capital[country]):      # neither the country nor its capital
            assert not mentions(everyday, name), name
            assert not mentions(pairs, name), name
            assert not mentions(tool_use, name), name


def test_heldout_sums_are_not_trained_on(convs):
    trained = {c.call for c in convs if c.kind == "sum"}
    held = data.heldout_questions()
    sums = [q for q in held if q.kind == "sum"]
    assert len(sums) == 40 and not trained & {q.call for q in sums}
    for q in sums:
        a, sym, b = re.match(r"calculator\((\d+)([-+*/])(\d+)\)", q.call).groups()
        op = {v: k for k, v in data.OPS.items()}[sym]
        assert data.is_heldout_sum(int(a), op, int(b)) and max(int(a), int(b)) > 20
    for c in convs:
        if c.kind == "sum":
            a, sym, b = re.match(r"calculator\((\d+)([-+*/])(\d+)\)", c.call).groups()
            assert not data.is_heldout_sum(int(a), {v: k for k, v in data.OPS.items()}[sym], int(b))


def test_conversations_are_right(convs):
    kinds = {c.kind for c in convs}
    assert kinds == {"sum", "capital", "atlas", "unknown", "plain"}
    for c in convs[:500]:
        if c.kind == "sum":
            assert c.result == calculator(c.call[len("calculator("):-1]) and c.result in c.answer
        elif c.kind == "capital":
            assert c.result == lookup(c.call[len("lookup("):-1]) and not c.result.startswith("error")
        elif c.kind == "unknown":
            assert c.result.startswith("error: no entry")
        elif c.kind == "atlas":          # imaginary countries: the real tool knows none of them
            assert lookup(c.call[len("lookup("):-1]).startswith("error: no entry") and c.result in c.answer
        else:
            assert c.call is None and "capital" not in c.question.lower()


def test_the_loss_mask_covers_the_call_and_the_answer_never_the_result(tiny):
    tok = with_call_tokens(tiny).tokenizer
    conv = data.Conversation("What is 23 times 47?", "calculator(23*47)", "1081", "The answer is 1081.", "sum")
    ids, mask = data.encode(tok, conv)
    sp = tok.special_tokens
    learned = tok.decode([i for i, m in zip(ids, mask) if m and i not in sp.values()])
    context = [i for i, m in zip(ids, mask) if not m]
    assert learned == "calculator(23*47)The answer is 1081."
    assert sp[RESULT] in context and tok.encode(" 1081")[0] in context
    assert [i for i, m in zip(ids, mask) if m and i in sp.values()] == [sp[CALL], sp[chat.END], sp[chat.END]]


@pytest.fixture(scope="module")
def shipped_figures(shipped_models):
    """The figures `python -m explainer bench` prints, on the shipped models."""
    from explainer.agents.measure import figures
    from explainer.gpt.paramfile import load_model
    if not (shipped_models / "agent.safetensors").is_file():
        pytest.skip("no shipped models/agent.safetensors")
    return figures(load_model(shipped_models / "agent.safetensors"),
                   load_model(shipped_models / "tuned.safetensors"))


@pytest.mark.slow
def test_the_shipped_agent_calls_the_right_tool_and_the_tuned_model_alone_fails(shipped_figures):
    f = shipped_figures
    assert f.n >= 60 and f.right_tool >= 0.95 and f.plain_right <= 0.20
    assert f.by_kind()["sum"]["agent_right"] >= 0.90


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="missed: 73% (capitals 9/27, copying errors), docs/agents.md")
def test_the_shipped_agent_answers_right_in_nine_of_ten(shipped_figures):
    f = shipped_figures
    assert f.agent_right >= 0.90, [(r.question, r.call, r.agent_answer) for r in f.rows if not r.agent_right]
