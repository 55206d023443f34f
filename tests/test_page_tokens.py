"""The Tokens page under AppTest: three tokenizers on the default text, odd and huge input, and
unknown characters named one by one."""
import pytest
from pagetest import open_page, texts

pytestmark = pytest.mark.usefixtures("models_dir")


def test_tokens_default_text_three_tokenizers(models_dir):
    at = open_page("pages/1_Tokens.py")
    assert at.text_area(key="tok_text").value == "What should I eat today?"
    assert at.toggle(key="tok_ws") is not None
    md = texts(at.markdown)
    assert "GPT-4's cl100k_base" in md and "Characters (one token each; an unknown one becomes its bytes)" in md
    assert "characters per token" in md
    from explainer.gpt.tokenizer import cl100k
    ids = cl100k().encode("What should I eat today?")
    assert "[" + ", ".join(map(str, ids)) + "]" in texts(at.code)
    assert "def train_bpe_simple(" in texts(at.code)            # "show the code": the teaching BPE loop
    assert at.slider[0].label == "Merges learned so far"
    at.slider[0].set_value(0).run()
    assert not at.exception
    assert "After **0** merges" in texts(at.markdown)


@pytest.mark.parametrize("text", [
    "",
    "🦒🌧️ emoji 👩‍👩‍👧 and flags 🇯🇵",
    "Здравствуйте, 你好世界, مرحبا بالعالم, नमस्ते, שלום, e\u0301\u0301 \t\r\n<|endoftext|>",
])
def test_tokens_odd_input(text):
    at = open_page("pages/1_Tokens.py")
    at.text_area(key="tok_text").set_value(text).run()
    assert not at.exception, [e.value for e in at.exception]
    if not text:
        assert "Type or paste some text" in texts(at.info)
    else:
        assert "characters per token" in texts(at.markdown)


def test_tokens_names_each_unknown_character_on_its_own():
    at = open_page("pages/1_Tokens.py")
    at.text_area(key="tok_text").set_value("12 bananas 🍌 in Zürich.").run()
    assert "“🍌”" in texts(at.caption)            # quoted one by one, not run together as "ü🍌"
    at.text_area(key="tok_text").set_value("A family 👩‍👧 and a flag 🇩🇪").run()   # invisible on their own:
    shown = texts(at.caption)                                              # named by code point
    assert "U+200D zero width joiner" in shown and "U+1F1E9 regional indicator symbol letter d" in shown


def test_tokens_long_paste_counts_agree():
    """Pieces drawn, IDs listed and "... more" all count the same tokens (the whole text's)."""
    from explainer.gpt.tokenizer import cl100k
    text = "The giraffe eats leaves, 12 of them. " * 135                   # 4,995 characters
    at = open_page("pages/1_Tokens.py")
    at.text_area(key="tok_text").set_value(text).run()
    drawn = " ".join(h.proto.body for h in at.get("html"))
    for n in (len(text), len(cl100k().encode(text))):                  # characters; GPT-4's
        assert f"… and {n - 400:,} more tokens" in drawn and f", ... {n - 400:,} more]" in texts(at.code)
    assert "draws and lists at most its first 400 tokens" in texts(at.caption)


def test_tokens_huge_paste_is_cut_and_says_so():
    at = open_page("pages/1_Tokens.py")
    at.text_area(key="tok_text").set_value("The giraffe eats leaves. " * 44_000).run()  # 1.1 MB
    assert not at.exception
    assert "only the first 1,000,000" in texts(at.warning)


def test_tokens_page_shows_the_token_tax_with_its_computed_sentence():
    from explainer.app.real import real_tokenizer
    from explainer.corpus.languages import NOTES
    from explainer.phases import tokentax as tt
    from explainer.real import smollm
    at = open_page("pages/1_Tokens.py")
    toks = tt.tokenizers(real_tokenizer() if smollm.available() else None)
    rows = tt.token_tax(toks)
    llm = tt.SMOL if smollm.available() else tt.GPT4
    assert f"The token tax: one note in {len(NOTES)} languages" in texts(at.header)
    md = texts(at.markdown)
    assert f"**{tt.headline(rows, llm)}**" in md and "Petrov et al. (2023) measured up to 15 times" in md
    table = at.table[0].value                               # the chart's text alternative
    assert list(table["Language"]) == [n.language for n in NOTES]
    hindi = table[table["Language"] == "Hindi"].iloc[0]
    r = tt.row_of(rows, "Hindi")
    assert hindi[llm] == f"{r.tokens[llm]} ({tt.times(r.ratio[llm])}×)"
    assert "how many times as many tokens does Hindi cost" in md
    at.button(key="ptr_tokens-tax_c0").click().run()                   # guess "Under 2×"
    tok = real_tokenizer() if smollm.available() else dict(toks)[tt.GPT4]
    a = tt.token_tax([(tok.name, tok)])
    assert f"In {tok.name}, Hindi costs {tt.times(tt.row_of(a, 'Hindi').ratio[tok.name])} times" in texts(at.caption)
    from explainer.classroom.questions import QUESTIONS
    assert f"**The model: {QUESTIONS['tokens-tax'].answer(tok).choice}.**" in texts(at.markdown)
