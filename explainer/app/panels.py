"""Page sections used by the Tokens and Pretraining pages: each reads a few widgets, calls one
or two library functions and draws. Kept here so the pages stay short.
"""
from __future__ import annotations

import unicodedata

import streamlit as st

from .. import i18n
from ..corpus import (
    CORPORA,
    CorpusError,
    corpus_stats,
    describe_stats,
    get_corpus,
    user_text,
)
from ..gpt.tokenizer import Tokenizer, printable
from ..i18n import N_, _, ngettext
from ..phases import pretrain
from ..serve import registry, runs
from ..serve.jobs import JobView
from ..serve.progress import end_word, summarize
from ..views import charts
from ..views import tokens as tokens_view
from . import cached, links, ui

SHOW_TOKENS = 400           # tokens drawn as coloured pieces and listed as IDs (counts: all)
PIECES_CHARS = 4_000        # the pieces come from this much of the text (ordinary text: >400)
MAX_TEXT_CHARS = 1_000_000  # longer pastes are cut here, and the page says so
UPLOAD, PASTE = N_("Upload a file"), N_("Paste text")      # the corpus radio's own two options
PASTED = N_("pasted text")  # a pasted corpus's title


# ---------------------------------------------------------------------------------------------
# Tokens


def corpus_bpe() -> Tokenizer:
    """A BPE tokenizer learned from Everyday English: used when no model is loaded yet."""
    with st.spinner(_("Learning a BPE vocabulary from Everyday English (once) ...")):   # after 0.5 s
        return _corpus_bpe()


@st.cache_resource(show_spinner=False)
def _corpus_bpe() -> Tokenizer:
    return pretrain.learn_tokenizer(get_corpus("everyday").text)


def tokenizers(model_tok: Tokenizer | None) -> list[tuple[str, Tokenizer]]:
    out = []
    if model_tok is not None:
        name = (_("This app's BPE ({n} tokens)") if model_tok.kind == "bpe" else
                _("The active model's tokenizer ({n} tokens)"))
        out.append((name.format(n=i18n.number(model_tok.n_vocab, "#,##0")), model_tok))
    out += [(_("GPT-4's cl100k_base ({n} tokens)").format(n=i18n.number(ui.gpt4_tok().n_vocab, "#,##0")),
             ui.gpt4_tok()),
            (_("Characters (one token each; an unknown one becomes its bytes)"), ui.char_tok())]
    return out


def token_column(title: str, tok: Tokenizer, text: str, show_ws: bool) -> None:
    """Coloured pieces with their IDs, counts, and the ID list the model sees."""
    ids = tok.encode(text)
    st.markdown(f"**{title}**")
    st.markdown(ngettext("**{n}** token · **{per}** characters per token",
                         "**{n}** tokens · **{per}** characters per token", len(ids)).format(
        n=i18n.number(len(ids), "#,##0"), per=i18n.number(len(text) / max(1, len(ids)), "0.00")))
    pieces = tok.pieces(text[:PIECES_CHARS])
    if len(text) > PIECES_CHARS:
        pieces = pieces[:-1]                            # the cut may have split the last one
    st.html(tokens_view.token_pieces_html(
        [(p.text, p.id, p.bytes) for p in pieces], show_whitespace=show_ws,
        max_pieces=SHOW_TOKENS, total=len(ids)))
    if tok.kind == "char":
        n_chars = len(tok.chars)
        unknown = sorted({c for c in text if c not in tok.stoi})
        if unknown:
            listed = ", ".join(map(_char_label, unknown[:12])) + (", …" if len(unknown) > 12 else "")
            st.caption(_("Its alphabet is the {n} characters of the Everyday English corpus. "
                         "{unknown} of yours are not in it, so each is spelled out as its UTF-8 "
                         "bytes: {listed}.").format(n=i18n.number(n_chars, "#,##0"),
                                                    unknown=i18n.number(len(unknown), "#,##0"),
                                                    listed=listed))
    shown = ids[:SHOW_TOKENS]
    more = (_(", ... {n} more").format(n=i18n.number(len(ids) - len(shown), "#,##0"))
            if len(ids) > len(shown) else "")
    st.caption(_("The IDs, as the model sees them:"))
    st.code("[" + ", ".join(map(str, shown)) + more + "]", language=None, wrap_lines=True)


def _char_label(c: str) -> str:
    """One character, quoted; one that shows as nothing or as something else on its own (a joiner,
    a variation selector, half of a flag) by its code point and name.

    >>> _char_label("ü"), _char_label("\u200d")
    ('“ü”', 'U+200D zero width joiner')
    """
    if unicodedata.category(c) in ("Cf", "Cc", "Mn", "Me", "Zs", "Zl", "Zp") or 0x1F1E6 <= ord(c) <= 0x1F1FF:
        return f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed').lower()}"
    return f"“{_escape(c)}”"


def checked_text(text: str) -> str | None:
    """The text to tokenize, or None (with a message) when there is nothing to show."""
    if not text:
        st.info(_("Type or paste some text above to see its tokens."))
        return None
    if len(text) > MAX_TEXT_CHARS:
        st.warning(_("Your text has {n} characters; only the first {max} are counted here.").format(
            n=i18n.number(len(text), "#,##0"), max=i18n.number(MAX_TEXT_CHARS, "#,##0")))
        text = text[:MAX_TEXT_CHARS]
    if len(text) > SHOW_TOKENS:
        st.caption(_("Long text: the counts cover all {n} characters; each tokenizer draws and "
                     "lists at most its first {max} tokens.").format(n=i18n.number(len(text), "#,##0"),
                                                                      max=SHOW_TOKENS))
    return text


def merge_replay(tok: Tokenizer, text: str) -> None:
    """Slider over the first N learned merges: how the text's bytes glue into tokens."""
    merges = tok.merges
    if not merges:
        st.info(_("This model's tokenizer has no merge list (it is not a BPE tokenizer)."))
        return
    sentence = text[:300]
    n = links.slider(st, _("Merges learned so far"), 0, len(merges), min(len(merges), 40),
                     key=f"tok_merges_{len(merges)}", param="merges",   # another model: starts afresh
                     help=_("0 = every byte is its own token. Each merge glues the most frequent pair."))
    boxes, parts = tokens_view.replayed_html(sentence, merges, n)
    st.markdown(ngettext("After **{n}** merge, the first {chars} characters are **{pieces}** pieces "
                         "(they were {bytes} bytes).",
                         "After **{n}** merges, the first {chars} characters are **{pieces}** pieces "
                         "(they were {bytes} bytes).", n).format(
        n=i18n.number(n, "#,##0"), chars=len(sentence), pieces=i18n.number(len(parts), "#,##0"),
        bytes=i18n.number(len(sentence.encode("utf-8")), "#,##0")))
    st.html(boxes)
    used = set(parts)
    step, merge, new, new_id, count, now = (_("step"), _("merge"), _("new token"), _("new ID"),
                                            _("pair count in corpus"), _("in your text now"))
    rows = [{step: i + 1, merge: f"{_show(m.pair_bytes[0])} + {_show(m.pair_bytes[1])}",
             new: _show(m.pair_bytes[0] + m.pair_bytes[1]), new_id: m.new_id,
             count: m.count,
             now: (m.pair_bytes[0] + m.pair_bytes[1]) in used}
            for i, m in enumerate(merges[:n])]
    st.dataframe(rows[::-1], hide_index=True, height=260, width="stretch", column_config={
        count: st.column_config.NumberColumn(
            _("count"), help=_("How often the pair stood side by side in the corpus when it was merged.")),
        now: st.column_config.CheckboxColumn(
            _("in your text"), help=_("Whether the new token is one of the pieces of your text above."))})


def _show(b: bytes) -> str:
    return charts.show_piece(printable(b))


# ---------------------------------------------------------------------------------------------
# Pretraining: the corpus


@st.cache_data(show_spinner=False, max_entries=8)
def _stats_rows(key: str, language: str) -> list[tuple[str, str]]:
    """describe_stats of a built-in corpus (its words in `language`: part of the cache key)."""
    return describe_stats(corpus_stats(get_corpus(key).text))


def _checked_user_text(raw: bytes | str) -> tuple[str, list[tuple[str, str]]]:
    """user_text() and its statistics, once per distinct upload (a 20 MB file takes seconds)."""
    with st.spinner(_("Reading your text ...")):
        return _checked_user_text_in(raw, i18n.current())


@st.cache_data(show_spinner=False, max_entries=4)
def _checked_user_text_in(raw: bytes | str, language: str) -> tuple[str, list[tuple[str, str]]]:
    text = user_text(raw)
    return text, describe_stats(corpus_stats(text))


def shown_in_language(fn):
    """A widget's format_func that writes its labels in the language of the page run that drew it,
    also when called from outside that run (AppTest formats a chosen value to find its label)."""
    code = i18n.current()
    return lambda value: i18n.with_language(code, fn, value)


def corpus_picker(disabled: bool = False) -> tuple[str, str] | None:
    """Radio for the four sources, a preview and statistics. Returns (title, text) or None."""
    sources = list(CORPORA.values()) + [UPLOAD, PASTE]
    names = {v: k for k, v in CORPORA.items()} | {UPLOAD: "upload", PASTE: "paste"}
    choice = links.radio(st, _("Corpus"), sources, key="pt_corpus", param="corpus", names=names.get,
                         horizontal=True, disabled=disabled, format_func=shown_in_language(_),
                         help=_("The text the model learns from. It only ever sees this text."))
    key = next((k for k, v in CORPORA.items() if v == choice), None)
    try:
        if key is not None:
            corpus = get_corpus(key)
            title, text, rows = corpus.title, corpus.text, _stats_rows(key, i18n.current())
            st.caption(_(corpus.description))
        else:
            if choice == UPLOAD:
                f = st.file_uploader(_("A UTF-8 .txt or .md file"), type=["txt", "md"], disabled=disabled)
                if f is None:
                    return None
                title, raw = f.name, f.getvalue()
            else:
                raw = st.text_area(_("Your text (at least 2 KB, about a page)"), height=160,
                                   disabled=disabled)
                if not raw.strip():
                    return None
                title = PASTED            # data (the model's facts name it); shown: _(title)
            text, rows = _checked_user_text(raw)
    except CorpusError as e:
        st.error(str(e))
        return None
    left, right = ui.wrapping_columns([1, 1], key="corpus_preview", narrow="40rem")
    left.text_area(_("Preview (the first {n} characters)").format(n=i18n.number(1500, "#,##0")),
                   text[:1500], height=300, disabled=True)
    right.table({_("This text"): {k: v for k, v in rows}})
    return title, text


# ---------------------------------------------------------------------------------------------
# Pretraining: the live run


def run_panel(view: JobView) -> None:
    """Everything about one training job: queue, progress, loss, samples, next-word ranking."""
    if view.state == "queued":
        running = ui.get_job_manager().stats()["running"]
        st.info(_("Waiting in line: you are number **{position}**.").format(position=view.queue_position)
                + " " + ngettext("{n} training is running on this server; yours starts as soon as "
                                 "one finishes (in about {time}).",
                                 "{n} trainings are running on this server; yours starts as soon as "
                                 "one finishes (in about {time}).", running).format(
                    n=running, time=charts.eta_text(runs.queue_wait(ui.get_job_manager(), view.id)[0])))
        return
    s = summarize(view.events)
    if view.state == "failed":
        problem = _(view.error) if view.error else view.error          # our own messages: translated
        st.error(_("The training stopped with a problem: {error}").format(error=problem))
    elif view.state == "cancelled" and view.started is None:
        st.warning(_("You left the queue before your training started."))
    elif view.state == "cancelled":
        st.warning(_("You stopped the training at step {step}.").format(step=i18n.number(s.step, "#,##0")))
    if s.total_steps is None:                                # still preparing: nothing to plot yet
        if not view.ended:
            st.info(_(s.status) if s.status else _("Starting ..."), icon="⏳")
        return
    fraction, line = progress_line(view.state, s)
    st.progress(fraction, text=line)
    m = st.columns(4)
    m[0].metric(_("Training loss"), i18n.number(s.train_loss[1][-1], "0.000") if s.train_loss[1] else "…")
    m[1].metric(_("Validation loss"), i18n.number(s.val_loss[1][-1], "0.000") if s.val_loss[1] else "…")
    m[2].metric(_("Tokens / s"), charts.count_text(s.tokens_per_s) if s.tokens_per_s else "…",
                help=_("Tokens read per second of training, on this server's CPU."))
    m[3].metric(_("Tokens seen"), charts.count_text(s.tokens_seen),
                help=_("{n} tokens so far.").format(n=i18n.number(s.tokens_seen, "#,##0")))
    left, right = st.columns([3, 2])
    with left:
        ui.plot(charts.loss_chart(*s.train_loss, *s.val_loss), key="loss_chart")
    with right:
        st.markdown("**" + _("What the model writes as it learns") + "**")
        st.caption(_("With no prompt: each time, it starts a new text from nothing and writes a "
                     "few dozen tokens."))
        shown = s.samples if len(s.samples) <= 6 else s.samples[:1] + s.samples[-5:]   # keep step 0
        for step, text in shown:
            st.markdown("*" + _("step {step}:").format(step=i18n.number(step, "#,##0")) + "* "
                        + _quote(text), unsafe_allow_html=True)
        if any(BROKEN in _readable(text) for _step, text in shown):
            st.caption(_(BROKEN_NOTE).format(broken=BROKEN))
    if s.ranking is not None:
        ranking_view(s.ranking, _("after step {step}").format(step=i18n.number(s.ranking_step, "#,##0")),
                     key="live_bars")
        if len(s.candidate_steps) > 1 and s.candidate_probs:
            ui.plot(charts.candidates_chart(s.candidate_steps, s.candidate_probs), key="cand_chart")


def progress_line(state: str, s) -> tuple[float, str]:
    """The progress bar's fill (0..1) and its line for a job in `state` with RunSummary `s`.

    A run that was stopped or failed shows how far it really got (summarize() fills the bar
    only for a finished run): ("cancelled", step 327 of 2,000) -> (0.1635, "Step 327 of 2,000 · stopped").
    """
    total = max(s.total_steps or 1, 1)
    step, total = i18n.number(s.step, "#,##0"), i18n.number(total, "#,##0")
    if state == "running" or state == "queued":
        return min(1.0, s.progress), _("Step {step} of {total} · about {time} left").format(
            step=step, total=total, time=charts.eta_text(s.eta))
    word = end_word(state, getattr(s.finished, "reason", None))
    return ((1.0 if word == "done" else min(1.0, s.progress)),
            _("Step {step} of {total} · {word}").format(step=step, total=total, word=_(word)))


BROKEN = "\ufffd"     # U+FFFD, the replacement character
BROKEN_NOTE = N_("What is “{broken}”? The model writes in small pieces called bytes, and some "
                 "letters (like é, or an emoji) need two to four of them. When it writes only some "
                 "of a letter's pieces, or a code that is not a letter at all, your screen shows "
                 "{broken}. As it learns, it stops doing that.")     # shown: _(BROKEN_NOTE).format(broken=BROKEN)


def _readable(text: str) -> str:
    """Model text with every character a screen cannot draw (control codes, unassigned or private
    code points) shown as U+FFFD, like the half letters the decoder already shows that way; line
    breaks and tabs become spaces. "a\x01b\nc" -> "a\ufffdb c"."""
    text = "".join(BROKEN if c not in "\n\t\r" and unicodedata.category(c) in ("Cc", "Cn", "Co", "Cs")
                   else c for c in text)
    return " ".join(text.split())


def _escape(text: str) -> str:
    """Model text shown as plain text inside markdown (no accidental bold, code or links)."""
    text = _readable(text)
    for c in "\\*_`[]<>#|$~":
        text = text.replace(c, "\\" + c)
    return text


def _quote(text: str) -> str:
    """A sample in quotes: the model's words marked as such, or the app's "(nothing yet)"."""
    said = _escape(text)[:240]
    return "“" + (_model_span(said) if said else _("(nothing yet)")) + "”"


def _model_span(markdown: str) -> str:
    """The model's own words (already escaped by _escape) inside a line of the app's: marked
    `lang="en"` like ui.model_text, never translated."""
    return f'<span lang="en" class="model-text">{markdown}</span>'


def ranking_view(ranking, when: str = "", key: str = "bars") -> None:
    """Top-10 bar chart and the candidates' probability and rank."""
    left, right = st.columns([3, 2])
    cands = [c.word for c in ranking.candidates]
    with left:
        title = (_("Top 10 next tokens {when}").format(when=when) if when else _("Top 10 next tokens"))
        ui.plot(charts.next_word_bars([(p, q) for p, _p, q in ranking.top],
                                      title=title, highlight=cands),
                key=key)
    with right:
        shown = _model_span(_escape(ranking.prompt)) if ranking.prompt else _("(empty: the start of a text)")
        st.markdown("**" + _("Prompt:") + "** " + shown, unsafe_allow_html=True)
        if ranking.truncated:
            st.caption(_("The prompt is longer than the model's context: it sees only the last "
                         "{n} tokens.").format(n=ranking.n_prompt_tokens))
        if ranking.candidates:
            word, prob, rank = _("word"), _("probability"), _("rank")
            st.dataframe([{word: c.word, prob: charts.percent_text(c.prob),
                           rank: "-" if c.rank is None else i18n.number(c.rank, "#,##0")}
                          for c in ranking.candidates], hide_index=True, width="stretch")
        st.caption(_("␣ marks a space at the start of a token: “␣night” is the word after a space. "
                     "A rank is the word's place among all the tokens the model could write next."))


# ---------------------------------------------------------------------------------------------
# Using the current model


def try_model(loaded) -> tuple[str, list[str]]:
    """Next-word ranking for any prompt, and sampled text, from the active model. Returns the
    prompt and candidate words asked, for the sections below to ask another model the same."""
    c1, c2 = st.columns([3, 2])
    prompt = links.text_input(c1, _("Prompt"), "A flash flood watch will be in effect all",
                              key="try_prompt", param="prompt", max_chars=2000)
    cands = runs.parse_candidates(links.text_input(c2, _("Candidate words (comma separated)"),
                                                   "night, day, giraffe", key="try_cands",
                                                   param="words", max_chars=300))
    ranking_view(cached.ranking(loaded, prompt, cands), _("now"), key="try_bars")
    st.markdown("**" + _("Let it write") + "**")
    cols = st.columns(4 if not ui.presenting() else 2)
    temperature = links.slider(cols[0], _("Temperature"), 0.0, 2.0, 0.8, 0.1, key="gen_temp",
                               param="temperature",
                               help=_("0 = always the most likely token; higher = more surprising."))
    top_k = links.slider(cols[1], "Top-k", 1, 100, 40, key="gen_topk", param="top_k",
                         help=_("Only the k most likely tokens can be picked."))
    n_tokens, seed = 80, 0
    if not ui.presenting():
        n_tokens = links.slider(cols[2], _("Tokens to write"), 10, 300, 80, 10, key="gen_len",
                                param="length")
        seed = links.number_input(cols[3], _("Seed"), 0, 10_000, 0, key="gen_seed", param="write_seed",
                                  help=_("Same seed, same text."))
    if st.button(_("Generate"), key="generate", type="primary"):
        st.session_state.generated = (prompt, n_tokens, *generate_text(loaded, prompt, n_tokens,
                                                                       temperature, top_k, seed))
    if st.session_state.get("generated"):
        given, asked, written, n_written, ended = st.session_state.generated
        gap = " " if written[:1].isspace() else ""           # " night" continues after a space
        st.markdown("> " + _model_span(f"**{_escape(given)}**{gap}{_escape(written)}"),
                    unsafe_allow_html=True)
        st.caption(_("Bold: your prompt. The rest: written by the model, one token at a time. It "
                     "wrote {n} of the {asked} tokens asked for, then chose the end-of-text token: "
                     "it thinks the document ends here.").format(n=n_written, asked=asked) if ended
                   else _("Bold: your prompt. The rest: written by the model, one token at a time."))
    return prompt, cands


def generate_text(loaded, prompt: str, n_tokens: int, temperature: float, top_k: int,
                  seed: int) -> tuple[str, int, bool]:
    """(text written after `prompt`, tokens written, whether it stopped at <|endoftext|>)."""
    from ..gpt.chat import continue_text
    r = continue_text(loaded.model, loaded.tokenizer, prompt, n_tokens, temperature, top_k, seed)
    return r.text, len(r.ids), r.ended


def save_panel(loaded) -> None:
    """Save the session's model under a validated name in models/."""
    with st.form("save_model", border=True):
        name = st.text_input(_("Save this model as"), placeholder=_("e.g. my-weather-model"),
                             max_chars=60, key="save_name")
        if st.form_submit_button(_("Save to models/")):
            try:
                path = registry.save_trained(loaded, name)
            except ValueError as e:
                st.error(str(e))
            else:
                ui.models_changed()
                st.success(_("Saved as {name}. Everyone on this server can now pick it in the "
                             "sidebar.").format(name=path.name))
