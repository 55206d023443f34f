"""Predict-then-reveal questions: each answer is what the library computes directly, for the
shipped models and for models that answer differently."""
import doctest
import math
import os

import pytest
import torch

from explainer.classroom import questions as Q
from explainer.gpt import chat
from explainer.gpt.model import GPT, PRESETS
from explainer.gpt.paramfile import LoadedModel, load_model
from explainer.gpt.scoring import rank_next
from explainer.gpt.tokenizer import char_tokenizer, cl100k
from explainer.phases import context as cx
from explainer.phases.judge import logprob_per_token
from explainer.phases.pretrain import DEFAULT_PROMPT

MODELS = os.path.join(os.path.dirname(__file__), "..", "models")


@pytest.fixture(scope="module")
def shipped():
    return {n: load_model(os.path.join(MODELS, f"{n}.safetensors")) for n in ("base", "tuned", "feedback")}


@pytest.fixture(scope="module")
def untrained(shipped):
    """A random network with the base model's tokenizer and no file: a model that answers badly."""
    base = shipped["base"]
    torch.manual_seed(0)
    model = GPT(PRESETS["tiny"].__class__(**{**PRESETS["tiny"].__dict__,
                                             "vocab_size": base.tokenizer.n_vocab})).eval()
    return LoadedModel(model, base.tokenizer, model.config, {}, None)


def test_doctests():
    assert doctest.testmod(Q).failed == 0


def test_every_question_has_an_id_text_and_its_answers_among_the_choices():
    assert len(Q.QUESTIONS) == 8 and len({q.page for q in Q.QUESTIONS.values()}) == 7   # Tokens has two
    for q in Q.QUESTIONS.values():
        assert q.text.endswith("?") and len(q.choices) >= 2 and len(set(q.choices)) == len(q.choices)


@pytest.mark.parametrize("tok", [cl100k(), char_tokenizer("What should I eat today?")],
                         ids=["cl100k", "chars"])
def test_token_count_is_the_tokenizers(tok, shipped):
    for t in (tok, shipped["base"].tokenizer):
        a = Q.count_tokens(t)
        n = len(t.encode(Q.TOKENS_TEXT))
        assert a.value == n and a.choice in Q.TOKEN_CHOICES
        assert a.choice == (str(n) if 5 < n < 10 else "≤ 5" if n <= 5 else "≥ 10")
    assert Q.count_tokens(cl100k()).choice == "6"                       # What|should|I|eat|today|?
    assert Q.count_tokens(char_tokenizer("x")).choice == "≥ 10"   # 24 characters


def test_first_word_is_rank_nexts_likeliest(shipped, untrained):
    for m in (shipped["base"], untrained):
        r = rank_next(m.model, m.tokenizer, DEFAULT_PROMPT, candidates=Q.RANK_WORDS)
        best = max(r.candidates, key=lambda c: c.prob).word
        assert Q.first_word(m).choice == best
    assert Q.first_word(shipped["base"]).choice == "night"


def test_base_stops_is_whether_the_chat_answer_ends_with_end(shipped):
    for name in ("base", "tuned"):
        m = shipped[name]
        reply = chat.answer(m.model, m.tokenizer, Q.STOP_QUESTION)
        a = Q.base_stops(m)
        assert a.value is reply.ended
        assert a.choice == Q.STOP_CHOICES[0 if reply.ended else 1]
    assert Q.base_stops(shipped["tuned"]).value != Q.base_stops(shipped["base"]).value


def test_feedback_likelier_compares_the_two_models_log_probs(shipped):
    tuned, fb = shipped["tuned"], shipped["feedback"]
    before, after = (logprob_per_token(m, *Q.FEEDBACK_PAIR) for m in (tuned, fb))
    a = Q.feedback_likelier(tuned, fb)
    assert a.value == (before, after)
    assert a.choice == ("More likely" if after > before else "Less likely")
    assert Q.feedback_likelier(fb, tuned).choice != a.choice           # swapped: the other answer
    assert f"{math.exp(before):.3f}" in a.detail


def test_loses_name_is_where_greedy_recall_stops(shipped):
    m = shipped["base"]
    a = Q.loses_name(m)
    story = cx.example_story()
    ids, _ = chat.prompt_ids(m.tokenizer, story.text, chat=False)
    ans = cx.answer_ids(m.tokenizer, story.text, story.name)
    full = min(len(ids), m.config.block_size)

    def recalls(n):
        return cx.score_answers(m.model, [cx.keep_last(ids, n)[0]], [ans])[0].greedy
    assert isinstance(a.value, int) and 8 <= a.value < full
    assert not recalls(a.value)
    assert all(recalls(n) for n in range(a.value + 1, full + 1))
    leaves = cx.mention_windows(m.tokenizer, ids, story.text, story.name)
    expected = (Q.WINDOW_CHOICES[2] if a.value < min(leaves) else
                Q.WINDOW_CHOICES[0] if a.value >= max(leaves) else Q.WINDOW_CHOICES[1])
    assert a.choice == expected


def test_file_size_is_the_files_size(shipped, untrained):
    base = shipped["base"]
    a = Q.file_size(base)
    assert a.value == os.path.getsize(base.path) and a.choice == "1 to 10 MB"
    b = Q.file_size(untrained)                                          # never saved: 4 B/param
    assert b.value == 4 * sum(p.numel() for p in untrained.model.parameters())
    assert b.choice == Q.SIZE_CHOICES[min(4, max(0, int(math.log10(b.value)) - 4))]
