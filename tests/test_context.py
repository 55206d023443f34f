"""The context window library: truncation, window rankings, batched scoring, name recall, chat."""
from pathlib import Path

import pytest
import torch

from explainer.corpus import name_recall_cases
from explainer.gpt.chat import prompt_ids
from explainer.gpt.model import GPT, preset
from explainer.gpt.scoring import next_token_probs, rank_next
from explainer.gpt.tokenizer import train_bpe
from explainer.phases import context as cx


def text_ids(tok, text):
    return prompt_ids(tok, text, chat=False)[0]


BASE = Path(__file__).resolve().parents[1] / "models" / "base.safetensors"


@pytest.fixture(scope="module")
def tiny():
    text = " ".join(c.text + " " + c.name + "." for c in name_recall_cases(40, seed=99))
    tok, _ = train_bpe(text + "\n" + cx.chat_text(cx.CHAT), vocab_size=400)
    model = GPT(preset("tiny", vocab_size=tok.n_vocab, seed=1)).eval()
    with torch.no_grad():
        model.wte.weight.mul_(6.0)          # spread the scores: no near-ties for argmax checks
    return model, tok


@pytest.mark.parametrize("n", [1, 2, 5, 9, 10, 50])
def test_keep_last_keeps_exactly_the_last_n_tokens(n):
    ids = list(range(100, 110))
    visible, dropped = cx.keep_last(ids, n)
    assert visible == ids[-n:] and len(visible) == min(n, 10) and dropped == max(0, 10 - n)
    assert ids[:dropped] + visible == ids


def test_keep_last_refuses_an_empty_window():
    with pytest.raises(ValueError):
        cx.keep_last([1, 2], 0)


def test_rank_window_sees_only_the_window(tiny):
    model, tok = tiny
    ids = text_ids(tok, cx.example_story().text)
    r = cx.rank_window(model, tok, ids, 12, k=5)
    probs = next_token_probs(model, ids[-12:])
    assert r.n_visible == 12
    assert [p for _, p in r.top] == pytest.approx(probs.topk(5).values.tolist())
    # the whole window is the library's own ranking of the same text
    full = cx.rank_window(model, tok, ids, model.config.block_size, k=5)
    lib = rank_next(model, tok, cx.example_story().text, k=5)
    assert [p for _, p in full.top] == pytest.approx([p for _, _, p in lib.top])


def test_batched_scores_equal_one_by_one_chain_rule_and_greedy_decoding(tiny):
    model, tok = tiny
    cases = name_recall_cases(6, seed=5)
    ctxs = [text_ids(tok, c.text)[-(20 + 7 * i):] for i, c in enumerate(cases)]   # ragged
    answers = [cx.answer_ids(tok, c.text, c.name) for c in cases]
    # one whose greedy continuation is, by construction, its answer
    greedy = list(model.generate(ctxs[0], 3, temperature=0))
    ctxs.append(ctxs[0])
    answers.append(greedy)
    scores = cx.score_answers(model, ctxs, answers, batch=3)
    for ctx, ans, s in zip(ctxs, answers, scores):
        p, seq = 1.0, list(ctx)
        for t in ans:
            p *= float(next_token_probs(model, seq)[t])
            seq.append(t)
        assert s.prob == pytest.approx(p, rel=1e-4)
        assert s.greedy == (list(model.generate(ctx, len(ans), temperature=0)) == ans)
        first = next_token_probs(model, ctx)
        assert s.first_rank == int((first > first[ans[0]]).sum()) + 1
    assert scores[-1].greedy and scores[-1].first_rank == 1


def test_prob_vs_window_matches_single_windows(tiny):
    model, tok = tiny
    ids = text_ids(tok, cx.example_story().text)
    ans = cx.answer_ids(tok, cx.example_story().text, "Riya")
    sizes = cx.window_sizes(len(ids), model.config.block_size, points=6)
    got = cx.prob_vs_window(model, ids, ans, sizes)
    for n, p in zip(sizes, got):
        assert p == pytest.approx(cx.rank_window(model, tok, ids, n, ans).answer.prob, rel=1e-4)


def test_window_sizes_example():
    assert cx.window_sizes(20, 128, points=5) == [8, 11, 14, 17, 20]
    assert cx.window_sizes(500, 64)[-1] == 64
    assert cx.window_sizes(5, 64) == [5]


def test_mentions_are_found_as_tokens(tiny):
    _, tok = tiny
    story = cx.example_story()
    ids = text_ids(tok, story.text)
    mentions = cx.mention_tokens(tok, ids, story.text, story.name)
    assert len(mentions) == story.text.count(story.name) == 2
    for m in mentions:
        assert tok.decode([ids[i] for i in m]).strip() == story.name
    assert cx.mention_windows(tok, ids, story.text, story.name) == [len(ids) - m[0] for m in mentions]


def test_recall_contexts_leave_every_mention_out_of_the_window(tiny):
    _, tok = tiny
    for case in name_recall_cases(20, seed=3):
        full, win, ans = cx.recall_contexts(tok, case, 1000)     # this tokenizer needs many tokens
        assert case.name in tok.decode(full) and case.name not in tok.decode(win)
        assert tok.decode(ans) == " " + case.name
        assert full[-len(win):] == win and len(win) >= 3          # the window is the story's end


def test_name_recall_reports_rates(tiny):
    model, tok = tiny
    res = cx.name_recall(model, tok, name_recall_cases(8, seed=4))
    assert res["n"] == 8 and "greedy" in res["measure"]
    for k in ("full", "windowed", "full_first_token", "windowed_first_token"):
        assert 0.0 <= res[k] <= 1.0
    assert res["mean_tokens_windowed"] < res["mean_tokens_full"]


@pytest.mark.skipif(not BASE.is_file(), reason="no models/base.safetensors yet")
def test_shipped_base_model_forgets_the_chat_name_with_the_first_turn():
    from explainer.gpt.paramfile import load_model
    m = load_model(BASE)
    probs = []
    for turns in (cx.CHAT, cx.CHAT[1:]):
        text = cx.chat_text(turns)
        ids = text_ids(m.tokenizer, text)
        probs.append(cx.rank_window(m.model, m.tokenizer, ids, 128, cx.answer_ids(m.tokenizer, text, cx.CHAT_ANSWER)).answer)
    assert probs[0].greedy and probs[0].prob > 0.5 and probs[1].prob < 0.01, probs


def test_attention_of_the_last_token_is_a_distribution(tiny):
    model, tok = tiny
    ids = text_ids(tok, cx.example_story().text)[-30:]
    att = cx.last_token_attention(model, ids)
    assert att.shape == (model.config.n_layer, model.config.n_head, 30)
    assert torch.allclose(att.sum(-1), torch.ones(att.shape[:2]), atol=1e-5)
    full = model(torch.tensor([ids]), return_attn=True).attn
    assert torch.allclose(att[1], full[1][0, :, -1, :])


def test_chat_app_drops_the_oldest_turns_first(tiny):
    _, tok = tiny
    total = len(text_ids(tok, cx.chat_text(cx.CHAT)))
    assert cx.fit_chat(tok, cx.CHAT, total) == 0
    d = cx.fit_chat(tok, cx.CHAT, total - 1)
    assert cx.CHAT_ANSWER in cx.chat_text(cx.CHAT)
    assert d >= 1 and cx.CHAT_ANSWER not in cx.chat_text(cx.CHAT[d:])    # the name was in turn 1
    assert len(text_ids(tok, cx.chat_text(cx.CHAT[d:]))) <= total - 1
    assert cx.fit_chat(tok, cx.CHAT, 3) == len(cx.CHAT) - 1            # the newest turn always stays
    assert cx.chat_text([("User", "Hi")], "Assistant:") == "User: Hi\nAssistant:"


def test_copy_head_finds_the_head_looking_at_the_name():
    att = torch.full((2, 3, 5), 0.2)
    att[1, 2] = torch.tensor([0.0, 0.05, 0.9, 0.05, 0.0])
    assert cx.copy_head(att, [2]) == (1, 2, pytest.approx(0.9))
    assert cx.copy_head(att, [])[:2] == (0, 0)


def test_doctests():
    import doctest
    assert doctest.testmod(cx).failed == 0
