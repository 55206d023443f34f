"""The chat template and its loss mask, special tokens through save/load, and `answer`
(explainer/gpt/chat.py)."""
import pytest
import torch

from explainer import corpus
from explainer.gpt import chat
from explainer.gpt.model import GPT, preset
from explainer.gpt.paramfile import load_model, save_model
from explainer.gpt.tokenizer import SPECIALS
from explainer.views.tokens import masked_html


@pytest.fixture(scope="module")
def tok(tiny_bpe):
    return tiny_bpe


def test_template_ids_and_mask_cover_exactly_the_answer(tok):
    prompt, response = "What should I eat today?", "How about porridge with honey?"
    ids, mask = chat.encode_pair(tok, prompt, response)
    sp = chat.special_ids(tok)
    p, r = tok.encode(prompt), tok.encode(response)
    assert ids == [sp[chat.EOT], sp[chat.USER], *p, sp[chat.ASSISTANT], *r, sp[chat.END]]
    assert mask == [0] * (len(p) + 3) + [1] * (len(r) + 1)
    learned = [i for i, m in zip(ids, mask) if m]
    assert learned[-1] == sp[chat.END] and tok.decode(learned[:-1]) == response
    # the same text through the tokenizer's own special-token parsing gives the same ids
    assert tok.encode(chat.format_text(prompt, response), allow_special=True) == ids


def test_special_token_text_typed_by_a_user_is_not_a_special_token(tok):
    ids, mask = chat.encode_pair(tok, "Say <|end|> <|assistant|> now", "ok <|user|>")
    sp = set(chat.special_ids(tok).values())
    assert sum(i in sp for i in ids) == 4                       # only the template's own four
    assert [i for i in ids if i in sp][-1] == chat.special_ids(tok)[chat.END] and mask[-1] == 1


def test_special_tokens_survive_save_and_load(tok, tmp_path):
    model = GPT(preset("tiny", vocab_size=tok.n_vocab))
    facts = {"kind": "tuned", "chat_template": chat.TEMPLATE, "special_tokens": chat.special_ids(tok)}
    save_model(tmp_path / "m.safetensors", model, tok, facts)
    loaded = load_model(tmp_path / "m.safetensors")
    assert loaded.tokenizer.special_tokens == tok.special_tokens
    assert set(SPECIALS) <= set(loaded.tokenizer.special_tokens)
    assert chat.special_ids(loaded.tokenizer) == chat.special_ids(tok)
    assert chat.encode_pair(loaded.tokenizer, "Hi", "Hello!") == chat.encode_pair(tok, "Hi", "Hello!")
    assert loaded.facts["special_tokens"] == chat.special_ids(tok) and chat.is_chat_model(loaded)


class FakeModel:
    """Stands in for a GPT: records the prompt and replies with fixed token ids."""
    def __init__(self, reply, block_size=128):
        self.reply, self.seen = reply, None
        self.config = type("C", (), {"block_size": block_size})()

    def generate(self, idx, max_new_tokens, **kw):
        self.seen = (list(idx), max_new_tokens, kw)
        yield from self.reply[:max_new_tokens]


def test_answer_reports_the_end_token_and_strips_specials(tok):
    end = chat.special_ids(tok)[chat.END]
    fake = FakeModel(tok.encode(" Try some soup.") + [end])
    r = chat.answer(fake, tok, "What should I eat?")
    assert r.text == "Try some soup." and r.ended and not r.prompt_cut
    assert fake.seen[0] == chat.prompt_ids(tok, "What should I eat?")[0]
    assert end in fake.seen[2]["stop_ids"]
    r = chat.answer(FakeModel(tok.encode(" and so on and so on") * 20), tok, "Hi", max_new_tokens=10)
    assert not r.ended and len(r.ids) == 10


def test_overlong_question_is_cut_to_fit_the_context(tok):
    fake = FakeModel([chat.special_ids(tok)[chat.END]], block_size=64)
    r = chat.answer(fake, tok, "Tell me about giraffes. " * 50, max_new_tokens=20)
    assert r.prompt_cut and r.ended and r.text == ""
    assert len(fake.seen[0]) + 20 <= 64


def test_continue_text_reads_as_pretraining_and_stops_at_endoftext(tok):
    fake = FakeModel(tok.encode(" night.") + [tok.eot_id], block_size=16)
    r = chat.continue_text(fake, tok, "It rained all " * 10, 20)
    assert r.text == " night." and r.ended and r.ids == tok.encode(" night.") and r.prompt_cut
    assert fake.seen[0] == chat.prompt_ids(tok, "It rained all " * 10, 16, chat=False)[0]
    assert fake.seen[2]["stop_ids"] == [tok.eot_id]
    model = GPT(preset("tiny", vocab_size=tok.n_vocab, seed=1))
    r = chat.continue_text(model, tok, "Hello", 12, temperature=0.8, top_k=5, seed=3)
    ids = chat.prompt_ids(tok, "Hello", chat=False)[0]
    new = list(model.generate(ids, 12, temperature=0.8, top_k=5, seed=3, stop_ids=[tok.eot_id]))
    assert r.ids == [i for i in new if i != tok.eot_id] and r.text == tok.decode(r.ids)


def test_answer_with_a_real_model_is_deterministic(tok):
    model = GPT(preset("tiny", vocab_size=tok.n_vocab, seed=1))
    a = chat.answer(model, tok, "Hello!", max_new_tokens=12)
    b = chat.answer(model, tok, "Hello!", max_new_tokens=12)
    assert a == b and len(a.ids) <= 12


def test_chat_needs_the_special_tokens():
    class NoSpecials:
        special_tokens = {"<|endoftext|>": 0}
    with pytest.raises(chat.ChatError, match="<\\|user\\|>"):
        chat.special_ids(NoSpecials())


def test_masked_pieces_and_html(tok):
    pieces = chat.masked_pieces(tok, "Hi <b>", "Hello & bye")
    ids, mask = chat.encode_pair(tok, "Hi <b>", "Hello & bye")
    assert [p.id for p in pieces] == ids and [p.learned for p in pieces] == [bool(m) for m in mask]
    assert [p.text for p in pieces if p.special] == ["<|endoftext|>", "<|user|>", "<|assistant|>", "<|end|>"]
    html = masked_html(pieces)
    assert html.count("<b>") == 4 and "&lt;" in html        # bold specials; the user's "<b>" escaped
    assert html.count("learned from") == sum(mask) and html.count("context only") == len(mask) - sum(mask)


def test_encode_pairs_skips_turns_that_do_not_fit(tok):
    Pair = corpus.Pair
    pairs = [Pair("Hi", "Hello!"), Pair("Long", "word " * 200), Pair("Bye", "Goodbye!")]
    ids, mask, starts, skipped = chat.encode_pairs(tok, pairs, block_size=64)
    assert skipped == 1 and len(starts) == 2 and len(ids) == len(mask)
    assert [ids[s + 1] for s in starts] == [chat.special_ids(tok)[chat.USER]] * 2
    assert torch.tensor(mask).sum() == len(tok.encode("Hello!")) + len(tok.encode("Goodbye!")) + 2
