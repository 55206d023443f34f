"""Jupyter glue for the notebooks in notebooks/: a progress bar for the training generators,
the app's figures from their events, and ipywidgets for what the app makes interactive (the
context window, temperature and top-k, merges, thumbs up/down into the app's ratings store).

No streamlit here; ipywidgets is imported only by the functions that build widgets.

    >>> short({"EXPLAINER_NB_SHORT": "1"}), short({})
    (True, False)
"""
from __future__ import annotations

import os
from typing import Any, Iterator, Mapping, Sequence

import plotly.graph_objects as go
import plotly.io as pio

from . import chat, charts
from . import context as cx
from .app.progress import summarize
from .paramfile import LoadedModel, load_model, models_dir
from .ratings import RatingsStore
from .tokenizer import Tokenizer, char_tokenizer, cl100k, printable, replay_merges
from .training import drain
from .views import tokens as vt
from .views.context import window_chart

BATCH_ENV = "EXPLAINER_NB_BATCH"      # "1": run by nbclient top to bottom, nobody moves a slider
SHORT_ENV = "EXPLAINER_NB_SHORT"      # "1": every training cell runs for seconds, not minutes
SESSION = "notebook"                  # the ratings' session column for thumbs given in a notebook


# ---------------------------------------------------------------------------------------------
# Setup

def short(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the notebooks run their short setting (tests, handouts made in a hurry)."""
    return environ.get(SHORT_ENV, "").strip() not in ("", "0", "false", "no")


def setup() -> None:
    """Figures as JupyterLab's plotly view and, for exported HTML, a div with plotly.js embedded
    in the page (not loaded from a CDN: a handout works offline)."""
    pio.renderers.default = "plotly_mimetype+notebook"


def shipped(name: str) -> LoadedModel | None:
    """A model shipped in models/ ("base", "tuned", "feedback"), or None if it is not there."""
    path = models_dir() / f"{name}.safetensors"
    return load_model(path) if path.exists() else None


def html(markup: str):
    """Show HTML (token boxes, the chat, attention) as a cell's output."""
    from IPython.display import HTML
    return HTML(markup)


# ---------------------------------------------------------------------------------------------
# Training with a progress bar

def run(gen: Iterator, desc: str = "training") -> tuple[Any, list]:
    """Drive a training generator (pretrain.run, sft.run, feedback.run) to its end with a tqdm
    bar; returns (its result, the events). Status messages show beside the bar."""
    from tqdm.auto import tqdm
    events: list = []
    bar = tqdm(total=100, desc=desc, unit="%", bar_format="{l_bar}{bar}| {n:.0f}% [{elapsed}<{remaining}] {postfix}")

    def each(ev):
        events.append(ev)
        if hasattr(ev, "message"):
            bar.set_postfix_str(ev.message[:60])
        progress = getattr(ev, "progress", None)
        if progress is not None:
            bar.update(max(0.0, 100 * progress - bar.n))
            if hasattr(ev, "train_loss"):
                bar.set_postfix_str(f"loss {ev.train_loss:.3f}")
    try:
        result = drain(gen, each)
    finally:
        bar.close()
    return result, events


def loss_figure(events: Sequence) -> go.Figure:
    """The Pretraining and Instruction tuning pages' loss chart, from a run's events."""
    s = summarize(events)
    return charts.loss_chart(*s.train_loss, *s.val_loss)


def candidates_figure(events: Sequence) -> go.Figure:
    """The candidate words' probabilities over training (the Pretraining page's second chart)."""
    s = summarize(events)
    return charts.candidates_chart(s.candidate_steps, s.candidate_probs)


def samples(events: Sequence) -> list[tuple[int, str]]:
    """(step, text) the model wrote during training."""
    return summarize(events).samples


# ---------------------------------------------------------------------------------------------
# Tokens

def tokenizers(model_tok: Tokenizer | None, corpus_text: str) -> list[tuple[str, Tokenizer]]:
    """The Tokens page's three (the model's BPE, GPT-4's cl100k_base, one per character) and,
    where the real model is installed (explainer.smollm), SmolLM2's."""
    from . import smollm
    out = [(f"This model's BPE ({model_tok.n_vocab:,} tokens)", model_tok)] if model_tok else []
    gpt4 = cl100k()
    out += [(f"GPT-4's cl100k_base ({gpt4.n_vocab:,} tokens)", gpt4),
            ("Characters (one token each)", char_tokenizer(corpus_text))]
    if smollm.available():
        real = smollm.tokenizer()
        out.append((f"The real model {smollm.NAME}'s BPE ({real.n_vocab:,} tokens)", real))
    return out


def pieces_html(tok: Tokenizer, text: str, show_whitespace: bool = False) -> str:
    """The text's pieces as the Tokens page draws them (coloured boxes with their IDs)."""
    return vt.token_pieces_html([(p.text, p.id, p.bytes) for p in tok.pieces(text)],
                                show_whitespace=show_whitespace)


def compare_tokenizers(text: str, toks: Sequence[tuple[str, Tokenizer]]):
    """One block per tokenizer: its name, token count and boxes."""
    return html("".join(f"<p><b>{title}</b>: {len(tok.encode(text)):,} tokens</p>" + pieces_html(tok, text)
                        for title, tok in toks))


def merge_slider(tok: Tokenizer, text: str):
    """A slider over the first N learned merges: how the text's bytes glue into tokens."""
    import ipywidgets as w
    merges = tok.merges
    slider = w.IntSlider(value=min(40, len(merges)), min=0, max=len(merges), description="merges",
                         continuous_update=False, layout=w.Layout(width="90%"))
    out = w.HTML()

    def draw(_=None):
        parts = replay_merges(text, merges, slider.value)
        id_of = {bytes([b]): b for b in range(256)} | {m.pair_bytes[0] + m.pair_bytes[1]: m.new_id
                                                       for m in merges[:slider.value]}
        out.value = (f"<p>After {slider.value:,} merges: {len(parts):,} pieces "
                     f"({len(text.encode('utf-8')):,} bytes)</p>" +
                     vt.token_pieces_html([(printable(p), id_of.get(p, -1), p) for p in parts], True))
    slider.observe(draw, names="value")
    draw()
    return w.VBox([slider, out])


# ---------------------------------------------------------------------------------------------
# Writing text: temperature and top-k

def write(loaded: LoadedModel, prompt: str, n_tokens: int = 60, temperature: float = 0.8,
          top_k: int | None = 40, seed: int = 0) -> str:
    """What the model writes after `prompt`: a chat model answers the question (chat.answer), a
    base model continues the text until <|endoftext|> (chat.continue_text)."""
    ask = chat.answer if chat.is_chat_model(loaded) else chat.continue_text
    return ask(loaded.model, loaded.tokenizer, prompt, n_tokens, temperature, top_k, seed).text


def sampling_sliders(loaded: LoadedModel, prompt: str, n_tokens: int = 60):
    """Temperature, top-k and seed sliders; the model writes again whenever one moves."""
    import ipywidgets as w
    temp = w.FloatSlider(value=0.8, min=0.0, max=2.0, step=0.1, description="temperature",
                         continuous_update=False)
    top_k = w.IntSlider(value=40, min=1, max=100, description="top-k", continuous_update=False)
    seed = w.IntSlider(value=0, min=0, max=20, description="seed", continuous_update=False)
    out = w.HTML()

    def draw(_=None):
        import html as h
        text = write(loaded, prompt, n_tokens, temp.value, top_k.value, seed.value)
        out.value = f"<p><b>{h.escape(prompt)}</b> {h.escape(text)}</p>"
    for s in (temp, top_k, seed):
        s.observe(draw, names="value")
    draw()
    return w.VBox([w.HBox([temp, top_k, seed]), out])


# ---------------------------------------------------------------------------------------------
# The context window

def window_figures(loaded: LoadedModel, text: str, word: str, n: int) -> tuple[str, go.Figure, go.Figure | None]:
    """What the Context window page shows for a window of the last `n` tokens: the tokens (the
    forgotten ones struck through) as HTML, the top next words, and the right word's probability
    against the window size (None without a word)."""
    tok, T = loaded.tokenizer, loaded.config.block_size
    ids, _ = chat.prompt_ids(tok, text, chat=False)
    n = min(n, len(ids))                  # a window longer than the text sees the whole text
    answer = cx.answer_ids(tok, text, word) if word.strip() else []
    pieces = ["⟨start⟩"] + [p.text for p in tok.pieces(text)]
    marked = {i for m in cx.mention_tokens(tok, ids, text, word.strip()) for i in m}
    r = cx.rank_window(loaded.model, tok, ids, n, answer)
    bars = charts.next_word_bars(r.top, title=f"Only the last {n} tokens", highlight=[word] if word else [])
    curve = None
    if answer:
        sizes = cx.window_sizes(len(ids), T)
        probs = cx.prob_vs_window(loaded.model, ids, answer, sizes)
        curve = window_chart(sizes, probs, word.strip(), n, cx.mention_windows(tok, ids, text, word.strip()))
    return vt.window_tokens_html(pieces, n, marked), bars, curve


def window_slider(loaded: LoadedModel, text: str, word: str):
    """The Context window page's slider: how many of the last tokens the model sees."""
    import ipywidgets as w
    from IPython.display import display
    n_ids = len(chat.prompt_ids(loaded.tokenizer, text, chat=False)[0])
    top = min(loaded.config.block_size, n_ids)
    slider = w.IntSlider(value=top, min=min(8, top), max=top, description="window",
                         continuous_update=False, layout=w.Layout(width="90%"))
    out = w.Output()

    def draw(_=None):
        tokens, bars, curve = window_figures(loaded, text, word, slider.value)
        shown = [x for x in (html(tokens), bars, curve) if x is not None]
        if os.environ.get(BATCH_ENV):
            # run by nbclient (tests, handouts): after a `with out:` capture it lost the cell's
            # reply in about half the runs, so the outputs are set directly
            out.outputs = ()
            for x in shown:
                out.append_display_data(x)
            return
        out.clear_output(wait=True)
        with out:
            for x in shown:
                display(x)
    slider.observe(draw, names="value")
    draw()
    return w.VBox([slider, out])


# ---------------------------------------------------------------------------------------------
# Human feedback: thumbs up or down

def thumbs(loaded: LoadedModel, prompt: str, answers: Sequence[str], store: RatingsStore | None = None,
           session: str = SESSION):
    """One row per answer with 👍 / 👎 buttons; a click stores the rating in the app's ratings
    store (the same SQLite file; EXPLAINER_RATINGS_DB picks another); a change of mind replaces it."""
    import ipywidgets as w
    store = store or RatingsStore()
    rows = []
    for text in answers:
        buttons = w.ToggleButtons(options=[("👍", 1), ("👎", -1)], value=None, style={"button_width": "3em"})
        said = w.Label("")

        def rate(change, text=text, said=said):
            if change["new"] is not None:
                store.add(prompt, text, change["new"], loaded.name, session)
                said.value = "saved"
        buttons.observe(rate, names="value")
        rows.append(w.HBox([buttons, w.HTML(f"<span>{_escape(text) or '(an empty answer)'}</span>"), said]))
    return w.VBox(rows)


def _escape(text: str) -> str:
    import html as h
    return h.escape(text)
