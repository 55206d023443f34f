"""The pictures: one token-box renderer drawing four pictures, and the pages' own charts."""
import doctest

from explainer.phases import context as cx
from explainer.views import tokens as tv
from explainer.views.context import window_chart


def test_doctests():
    assert doctest.testmod(tv).failed == 0


def test_token_pieces_html_escapes_and_hovers():
    out = tv.token_pieces_html([("<b>", 1, b"<b>"), (" é", 2, " é".encode())], show_whitespace=True)
    assert "&lt;b&gt;" in out and "ID 2 · bytes 20 c3 a9" in out and "␣é" in out
    many = tv.token_pieces_html([("a", 1, b"a")] * 30, max_pieces=10)
    assert many.count('class="tok"') == 10 and "20 more tokens" in many
    start = tv.token_pieces_html([("a", 1, b"a")] * 30, max_pieces=10, total=5000)   # the text's start
    assert start.count('class="tok"') == 10 and "4,990 more tokens" in start


def test_token_html_strikes_through_exactly_the_forgotten_tokens():
    html = tv.window_tokens_html(["a", " b", " <c>", "\n", " e"], 2, marked={4})
    assert html.count("cw-out") - tv.TOKEN_CSS.count("cw-out") == 3
    assert html.count('class="cw-tok cw-in') == 2 and "cw-mark" in html.split("</style>")[1]
    assert "&lt;c&gt;" in html
    chat = tv.chat_html(cx.CHAT, 2, cx.CHAT_ANSWER_PREFIX)
    assert chat.count("cw-turn cw-out") == 2


def test_attention_shades_follow_the_weights_and_hover_counts_tokens():
    weights = [0.1, 0.6, 0.0, 0.3]
    out = tv.attention_html(["<b>", " Mia", "\n", " ran"], weights, first=11)
    spans = out.split('<div class="at-row">')[1].split("</div>")[0].split("</span>")[:-1]
    assert len(spans) == 4
    shades = [float(sp.split("rgba(0,114,178,")[1].split(")")[0]) for sp in spans]
    assert shades[1] == 1.0 and shades[2] < shades[0] < shades[3] < shades[1]   # strongest = most
    assert ["at-strong" in sp for sp in spans] == [False, True, False, False]    # white text on dark
    assert [sp.split('title="token ')[1].split(":")[0] for sp in spans] == ["11", "12", "13", "14"]
    assert "&lt;b&gt;" in spans[0] and "↵" in spans[2]                           # text is escaped
    assert "strongest: 60.0% of the attention" in out


def test_token_numbers_count_from_one_and_every_speaker_is_bold():
    html = tv.window_tokens_html(["⟨start⟩", "Hi", " there"], 2)
    assert 'title="token 1: outside' in html and 'title="token 3: visible' in html
    rows = tv.chat_html(cx.CHAT, 1, cx.CHAT_ANSWER_PREFIX).split("</style>")[1].split('<span class="cw-turn')[1:]
    assert len(rows) == len(cx.CHAT) + 1
    assert all(r.split(">", 1)[1].startswith("<b>") for r in rows), rows
    assert "<b>Assistant:</b> At the end of the day, …" in rows[-1]


def test_window_chart_names_its_lines_in_the_legend_and_spans_the_text():
    fig = window_chart([8, 20, 40, 82], [0.01, 0.02, 0.5, 0.9], "Riya", current=52, mentions=[58, 66, 90])
    assert [s.x0 for s in fig.layout.shapes] == [57.5, 65.5, 52]       # a mention past 82 is never in view
    assert not fig.layout.annotations                                   # no labels on the plot to collide
    assert [t.name for t in fig.data] == ['P("Riya")', 'a "Riya" leaves the window', "your window"]
    assert list(fig.layout.xaxis.range) == [6, 84]
    bare = window_chart([8, 82], [0.1, 0.2], "Riya")
    assert [t.name for t in bare.data] == ['P("Riya")'] and not bare.layout.shapes
    assert fig.layout.yaxis.type == "log" and fig.layout.legend.yref == "container"   # under the plot


def test_replayed_merges_end_with_the_tokenizers_own_ids():
    """The merge slider's boxes (page and notebook): no merges = one box per byte, its byte value
    as ID; all merges = the tokenizer's own pieces and IDs."""
    from explainer.corpus import get_corpus
    from explainer.phases.pretrain import learn_tokenizer
    from explainer.views.tokens import replayed_html
    tok = learn_tokenizer(get_corpus("everyday").text[:50_000], 300)
    text = "A flash flood watch, é!"
    html0, parts0 = replayed_html(text, tok.merges, 0)
    assert parts0 == [bytes([b]) for b in text.encode("utf-8")] and ">65<" in html0
    html_all, parts = replayed_html(text, tok.merges, len(tok.merges))
    assert parts == [p.bytes for p in tok.pieces(text)]
    assert all(f">{i}<" in html_all for i in tok.encode(text))
