"""Side trip: the context window. A model sees only its last N tokens; the rest is forgotten."""
import streamlit as st

from explainer import i18n
from explainer.app import cached, context_panels, links, real, ui
from explainer.app.classroom import predict_then_reveal
from explainer.gpt.chat import prompt_ids
from explainer.gpt.paramfile import cache_key
from explainer.i18n import N_, _, ngettext
from explainer.phases import context as cx
from explainer.real import beside
from explainer.views import charts
from explainer.views import tokens as tv
from explainer.views.context import window_chart

ui.page_setup(N_("Context window"), "👁️")
st.title(_("👁️ The context window: what the model can see"))
st.markdown(_(
    "A model does not read a whole book at once. Each time it guesses the next word, it looks at "
    "only the **last N tokens**, its **context window**. Anything earlier has fallen out of view "
    "and is simply gone, as if it had never been written. Slide the window below and watch the "
    "model forget the name it needs at the end of the story."))

loaded = real.model_chooser(ui.require_model(), key="cw_model")
big = beside.is_real(loaded)
if big:
    st.caption(_("SmolLM2 sees up to {n} tokens, so the slider reaches {n}; these texts are "
                 "shorter, so past their length it sees all of them. On this server's 2 cores it "
                 "needs seconds per window, so its curve has {points} points and pasted text is "
                 "capped at {chars} characters.").format(
        n=i18n.number(loaded.config.block_size, "#,##0"), points=beside.CURVE_POINTS,
        chars=i18n.number(3000, "#,##0")))
tok, T = loaded.tokenizer, loaded.config.block_size

st.header(_("1 · Slide the window"))
story = cx.example_story()
examples = {"A story": (story.text, story.name), "A chat": (cx.chat_text(cx.CHAT), cx.CHAT_ANSWER),
            "Your own text": ("", "")}
EXAMPLE_LABELS = {"A story": N_("A story"), "A chat": N_("A chat"), "Your own text": N_("Your own text")}
pick = links.radio(st, _("Text"), list(examples), horizontal=True, key="cw_example", param="cw_text",
                   names={"A story": "story", "A chat": "chat", "Your own text": "own"}.get,
                   format_func=lambda v: _(EXAMPLE_LABELS[v]))
text, word = examples[pick]
if pick == "Your own text":
    c1, c2 = st.columns([4, 1])
    text = links.text_input(c1, _("Your text (the model guesses the word after it)"), story.text, area=True,
                            height=110, key="cw_text", param="own_text", max_chars=3000)
    word = links.text_input(c2, _("The right next word"), story.name, key="cw_word", param="own_word",
                            max_chars=40)
ids = prompt_ids(tok, text, chat=False)[0]
answer = cx.answer_ids(tok, text, word) if word.strip() else []
if len(ids) < 9:
    st.info(_("Write a longer text: the window slider starts at 8 tokens."))
    st.stop()
top = min(T, len(ids))
window_label = _("Window: how many of the last tokens the model sees")
window_help = _("This model's hard maximum is {n} tokens.").format(n=i18n.number(T, "#,##0"))
n = links.select_slider(st, window_label, beside.window_choices(len(ids), T), top, key=f"cw_n_{pick}_real",
                        param="window", help=window_help) if big else links.slider(
    st, window_label, 8, top, top, key=f"cw_n_{pick}", param="window", help=window_help)

pieces = ["⟨start⟩"] + [p.text for p in tok.pieces(text)]
mentions = cx.mention_tokens(tok, ids, text, word.strip())
marked = {i for m in mentions for i in m}
n = min(n, len(ids))                 # a window longer than the text sees all of it
st.html(tv.window_tokens_html(pieces, n, marked))
gone = len(ids) - n
st.caption(_("The text is **{total}** tokens, counting ⟨start⟩, the start-of-text token, as token 1 "
             "(hover over a token to see its number).").format(total=len(ids)) + " "
           + (_("The model sees the last **{n}**; the first **{gone}** (struck through) are "
                "forgotten.").format(n=n, gone=gone) if gone
              else _("The model sees the last **{n}**: all of it.").format(n=n))
           + (" " + _("The text is longer than the model's maximum of {max}.").format(max=T)
              if len(ids) > T else ""))

full = cached.rank_window(loaded, ids, T, answer)
win = cached.rank_window(loaded, ids, n, answer)
left, right = ui.wrapping_columns(2, key="cw_bars", narrow="40rem")
for col, r, title, key in ((left, win, _("Only the last {n} tokens").format(n=n), "cw_bars_window"),
                           (right, full, _("All it can see: {n} tokens").format(n=full.n_visible),
                            "cw_bars_full")):
    with col:
        ui.plot(charts.next_word_bars(r.top, title=title, highlight=[word] if word else []), key=key)
        if r.answer:
            st.markdown(_('"{word}": probability **{prob}**, its first token ranks **#{rank}**').format(
                word=word.strip(), prob=charts.percent_text(r.answer.prob),
                rank=i18n.number(r.answer.first_rank, "#,##0")))
if answer:
    sizes = cx.window_sizes(len(ids), T, points=beside.CURVE_POINTS if big else 40)
    probs = cached.window_curve(loaded, ids, answer, sizes)
    leaves = cx.mention_windows(tok, ids, text, word.strip())
    ui.plot(window_chart(sizes, probs, word.strip(), n, leaves), key="cw_curve")
    if cx.mentions_in_reach(sizes, leaves):
        st.caption(_("Dotted lines: a mention of the word leaves the window to their left. Once no "
                     "mention is left in view, the model can only guess."))
    else:
        st.caption((_('No window shows "{word}": every mention is further back than the model\'s '
                      "maximum window, so the model can only guess.") if leaves else
                    _('No window shows "{word}": it is not in the text, so the model can only '
                      "guess.")).format(word=word.strip()))
st.markdown(_("**Name recall, measured now on {model}**: held-out stories that end right before a name "
              "said earlier. Can it write the name back?").format(model=loaded.name))
real.recall_panel(loaded)
ui.explain(cx.keep_last, cx.rank_window, cx.score_answers, cx.prob_vs_window, cx.name_recall,
           tv.window_tokens_html)

st.header(_("2 · Where the last token looks"))
st.markdown(_(
    "To guess the next word, the newest token **pays attention** to the tokens it can see: each "
    "attention head spreads 100% of its attention over them. Some heads learn to look back at an "
    "earlier mention of a name and copy it. The stronger the blue, the more attention."))
att = cached.last_token_attention(loaded, cx.keep_last(ids, n)[0])
in_view = [i - gone for i in sorted(marked) if i >= gone]
mentions_in_view = sum(any(i >= gone for i in m) for m in mentions)
best_layer, best_head, share = cx.copy_head(att, in_view)
# The pickers start on the head that looks most at the name, for this model and text: their keys
# change with them, so a new text starts on its own best head again, while sliding the window
# keeps the head picked (to follow one head as the name leaves the window).
seen = ui.key_part(cache_key(loaded), text, word)
c1, c2 = st.columns(2)
one_based = lambda i: str(i + 1)          # noqa: E731  (?layer=1 is the first layer, as shown)
layer = links.selectbox(c1, _("Layer"), range(loaded.config.n_layer), best_layer, key=f"cw_layer_{seen}",
                        param="layer", names=one_based,
                        format_func=lambda i: _("layer {i} of {n}").format(i=i + 1, n=loaded.config.n_layer))
head = links.selectbox(c2, _("Head"), range(loaded.config.n_head), best_head, key=f"cw_head_{seen}",
                       param="head", names=one_based,
                       format_func=lambda i: _("head {i} of {n}").format(i=i + 1, n=loaded.config.n_head))
w = att[layer, head].tolist()
best = max(range(len(w)), key=w.__getitem__)
visible = pieces[-n:]
st.markdown(_("**Where the last token looks: layer {layer}, head {head}**").format(layer=layer + 1,
                                                                                     head=head + 1))
st.html(tv.attention_html(visible, w, first=gone + 1))
on_name = sum(w[i] for i in in_view)
st.caption(_("This head looks most at “{piece}” (token {i}, {share} of its attention).").format(
    piece=charts.show_piece(visible[best]), i=gone + best + 1, share=charts.percent_text(w[best]))
    + (" " + _("On “{word}” it puts {share} in all, adding up the name's {tokens} in view ({mentions}). "
               "The head that puts the most there is layer {layer}, head {head}: {best}.").format(
        word=word.strip(), share=charts.percent_text(on_name),
        tokens=ngettext("{n} token", "{n} tokens", len(in_view)).format(n=len(in_view)),
        mentions=ngettext("{n} mention", "{n} mentions", mentions_in_view).format(n=mentions_in_view),
        layer=best_layer + 1, head=best_head + 1, best=charts.percent_text(share)) if in_view else ""))
ui.explain(cx.last_token_attention, tv.attention_html)

st.header(_("3 · Why there is a hard maximum"))
if big:
    st.markdown(_(
        "SmolLM2 has no table of position vectors. It turns each query and key by an angle that "
        "grows with the position (**rotary embeddings**, RoPE), so any position has a vector. Its "
        "limit, **{n}** tokens, is the longest text it was trained on: past it, nothing breaks, "
        "but it has never learned what such distant positions mean, so its guesses get worse.").format(
        n=i18n.number(T, "#,##0")))
else:
    st.markdown(_(
        "Before the first layer, every token gets a **position vector** added to it: one for position "
        "1, one for position 2, and so on. This model learned exactly **{n}** of them (a table of "
        "{n} × {width} numbers, `wpe`). For position {next} there is no vector at all, so {n} tokens "
        "is a hard limit, fixed when the model was built. Big models have the same kind of limit, "
        "only larger: thousands to hundreds of thousands of tokens.").format(
        n=T, width=loaded.config.n_embd, next=T + 1))

st.header(_("4 · When a chat outgrows the window"))
st.markdown(_(
    "A chat app sends the whole conversation to the model every time. When it no longer fits, "
    "the app **drops the oldest turns**, and whatever was said in them is forgotten. Here you "
    "and the assistant write a story together; the hero's name was only said in the first turn."))
context_panels.chat_panel(loaded)

predict_then_reveal("context-name", loaded)
