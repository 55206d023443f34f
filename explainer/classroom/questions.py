"""Predict, then reveal: one question per step of the journey, answered by the real model.

A learner commits a guess first; only then does the page compute the model's answer, with the
same library function the page itself uses (no canned answers: a retrained model can answer
differently, and the reveal says so). Research with students training small transformers in class
found that predicting first moves explanations from "the AI thinks" to reasons about data and
model. Each `Question` has an id (stored with the guesses, explainer/classroom/classes.py), its text, the
choices, and `answer(*inputs) -> Answer`; `inputs` names what the page hands it.

Texts are marked with N_() and translated where shown: `q.text` and `q.label(choice)` in the
session's language; the choices themselves (stored with the guesses, compared with the answer)
stay English. An answer is computed once per server for every session, so it keeps how to say it
(`Answer.describe`) rather than one language's sentence: `answer.shown()` says it in the current
language, `answer.detail` is the English one. What stays English in any language (the model's
input and what it wrote) goes through `quote`, so that `as_html` can mark it `lang="en"`.

    >>> from explainer.gpt.tokenizer import cl100k
    >>> TOKENS.answer(cl100k())
    Answer(choice='6', detail='6 tokens: What | ␣should | ␣I | ␣eat | ␣today | ?', value=6)
"""
from __future__ import annotations

import html
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import i18n
from ..gpt import chat
from ..gpt.paramfile import LoadedModel
from ..gpt.scoring import rank_next
from ..i18n import N_, _, ngettext
from ..phases import context as cx
from ..phases.judge import logprob_per_token
from ..phases.pretrain import DEFAULT_PROMPT
from ..phases.tokentax import headline, row_of, token_tax
from ..phases.twofiles import mb
from ..views.charts import show_piece

Quote = Callable[[str], str]


def as_html(build: Callable[[Quote], str]) -> str:
    """`build(quote)` as HTML: escaped, and each quoted text marked `lang="en"` (a screen reader
    reads it as English on a Spanish or German page; the translation test knows it is not ours)."""
    quoted: list[str] = []

    def quote(text: str) -> str:
        quoted.append(str(text))
        return f"\x00{len(quoted) - 1}\x00"
    body = html.escape(build(quote), quote=False)
    return re.sub("\x00(\\d+)\x00", lambda m: f'<span lang="en">{html.escape(quoted[int(m[1])], quote=False)}'
                  "</span>", body)


def _plain(text: str) -> str:
    return text


@dataclass(frozen=True)
class Answer:
    choice: str          # the right one of the question's choices
    detail: str          # what the model really did, in a sentence (English)
    value: Any = None    # the raw figure behind it (a count, a word, a window size, bytes)
    describe: Callable[[Quote], str] | None = field(default=None, repr=False, compare=False)

    def shown(self) -> str:
        """`detail` in the current language."""
        return self.describe(_plain) if self.describe is not None else self.detail

    def shown_html(self) -> str:
        """`shown()` as HTML, the model's own words marked English."""
        return as_html(self.describe if self.describe is not None else lambda q: self.detail)


def _answered(choice: str, value: Any, describe: Callable[[Quote], str]) -> Answer:
    """An Answer whose detail is `describe(quote)` in English, and in any language when shown."""
    with i18n.language(i18n.SOURCE):
        detail = describe(_plain)
    return Answer(choice, detail, value, describe)


@dataclass(frozen=True)
class Question:
    id: str                              # stored with every guess: never rename
    page: str                            # the page's name (N_: translated where shown)
    template: str                        # the question (N_), its {names} filled by `args`
    choices: tuple[str, ...]             # stored with the guesses: English, never translated
    answer: Callable[..., Answer]        # computes the real answer from `inputs`
    inputs: str                          # what the page passes to `answer`
    args: Callable[[Quote], dict] = lambda quote: {}   # the template's {names}, English ones quoted
    words: bool = False                  # the choices are the model's own words: shown as they are

    @property
    def text(self) -> str:
        """The question in the current language."""
        return _(self.template).format(**self.args(_plain))

    @property
    def html(self) -> str:
        """`text` as HTML, the model's input marked English."""
        return as_html(lambda quote: _(self.template).format(**self.args(quote)))

    @property
    def page_name(self) -> str:
        return _(self.page)

    def label(self, choice: str) -> str:
        """A choice as shown (the stored choice stays English)."""
        return choice if self.words else _(choice)


# --------------------------------------------------------------------------------------------------
# 1 · Tokens

TOKENS_TEXT = "What should I eat today?"
TOKEN_CHOICES = ("≤ 5", "6", "7", "8", "9", "≥ 10")   # short: six buttons in a row


def count_tokens(tok) -> Answer:
    """How many tokens TOKENS_TEXT is for this tokenizer (the app's BPE, cl100k or characters)."""
    pieces = [p.text for p in tok.pieces(TOKENS_TEXT)]
    n = len(pieces)
    choice = TOKEN_CHOICES[0] if n <= 5 else TOKEN_CHOICES[-1] if n >= 10 else str(n)
    shown = " | ".join(map(show_piece, pieces))
    return _answered(choice, n, lambda quote: ngettext("{n} token: {pieces}", "{n} tokens: {pieces}", n)
                     .format(n=n, pieces=shown))


TAX_LANGUAGE = N_("Hindi")
TAX_CHOICES = (N_("Under 2×"), N_("2× to 4×"), N_("4× to 8×"), N_("8× or more"))


def hindi_tax(tok) -> Answer:
    """How many times the English weather note's tokens the Hindi one needs in `tok` (the real
    LLM's tokenizer on the page; tokentax.token_tax counts)."""
    rows = token_tax([(tok.name, tok)])
    x = row_of(rows, TAX_LANGUAGE).ratio[tok.name]
    k = 0 if x < 2 else 1 if x < 4 else 2 if x < 8 else 3
    return _answered(TAX_CHOICES[k], x, lambda quote: headline(rows, tok.name, TAX_LANGUAGE))


# --------------------------------------------------------------------------------------------------
# 2 · Pretraining

RANK_WORDS = ("night", "day", "giraffe")


def first_word(loaded: LoadedModel) -> Answer:
    """Which of RANK_WORDS the model finds likeliest after DEFAULT_PROMPT (scoring.rank_next)."""
    r = rank_next(loaded.model, loaded.tokenizer, DEFAULT_PROMPT, k=1, candidates=RANK_WORDS)
    best = max(r.candidates, key=lambda c: c.prob)
    ranked = sorted(r.candidates, key=lambda c: -c.prob)
    return _answered(best.word, best.word, lambda quote: ", ".join(
        f"{quote(c.word)} {i18n.percent(c.prob, '0.00%')}" for c in ranked))


# --------------------------------------------------------------------------------------------------
# 3 · Instruction tuning

STOP_QUESTION = "What should I eat today?"
STOP_CHOICES = (N_("Yes, it stops"), N_("No, it keeps going"))


def base_stops(base: LoadedModel) -> Answer:
    """Does the base model close its answer with <|end|> (chat.answer, greedy)? Only instruction
    tuning teaches that token's use; ending a document with <|endoftext|> is not stopping."""
    reply = chat.answer(base.model, base.tokenizer, STOP_QUESTION)
    sp = chat.special_ids(base.tokenizer)
    last = base.tokenizer.decode([reply.ids[-1]]) if reply.ids and reply.ids[-1] in sp.values() else None
    text = reply.text if len(reply.text) <= 90 else reply.text[:90] + " …"
    n = len(reply.ids)

    def describe(quote: Quote) -> str:
        if reply.ended:
            said = ngettext("It wrote {n} token (“{text}”) and then closed its answer with <|end|>.",
                            "It wrote {n} tokens (“{text}”) and then closed its answer with <|end|>.", n)
        elif last:
            said = ngettext("It wrote {n} token (“{text}”) and then {last}: it ended a document, "
                            "not an answer.", "It wrote {n} tokens (“{text}”) and then {last}: it "
                            "ended a document, not an answer.", n)
        else:
            said = ngettext("It wrote {n} token (“{text}”) and was still going at the limit of "
                            "{limit} tokens.", "It wrote {n} tokens (“{text}”) and was still going "
                            "at the limit of {limit} tokens.", n)
        return said.format(n=n, text=quote(text), last=last and quote(last), limit=chat.MAX_NEW_TOKENS)
    return _answered(STOP_CHOICES[0 if reply.ended else 1], reply.ended, describe)


# --------------------------------------------------------------------------------------------------
# 4 · Human feedback

FEEDBACK_PAIR = ("Can I touch a hot stove?", "No, it can burn you.")
LIKELY_CHOICES = (N_("More likely"), N_("Less likely"))


def feedback_likelier(tuned: LoadedModel, after: LoadedModel) -> Answer:
    """Is FEEDBACK_PAIR's answer likelier per token after feedback (judge.logprob_per_token)?"""
    before, now = (logprob_per_token(m, *FEEDBACK_PAIR) for m in (tuned, after))
    return _answered(LIKELY_CHOICES[0 if now > before else 1], (before, now), lambda quote: _(
        "Chance per token of writing exactly this answer: {before} before feedback, {after} after.")
        .format(before=i18n.number(math.exp(before), "0.000"), after=i18n.number(math.exp(now), "0.000")))


# --------------------------------------------------------------------------------------------------
# 5 · Context window

WINDOW_CHOICES = (N_("While every mention is still in view"), N_("When the first mention falls out"),
                  N_("When the last mention falls out"), N_("Never, even at 8 tokens"),
                  N_("It never had it, even seeing everything"))


def loses_name(loaded: LoadedModel) -> Answer:
    """The smallest window with which the model still writes the story's name (greedy, every
    bigger window too), compared with the windows at which the name's mentions leave view
    (context.example_story, score_answers, mention_windows)."""
    model, tok = loaded.model, loaded.tokenizer
    story = cx.example_story()
    ids, _mask = chat.prompt_ids(tok, story.text, chat=False)
    answer = cx.answer_ids(tok, story.text, story.name)
    sizes = list(range(8, min(len(ids), model.config.block_size) + 1))
    ok = [s.greedy for s in cx.score_answers(model, [cx.keep_last(ids, n)[0] for n in sizes],
                                             [answer] * len(sizes))]
    leaves = sorted(cx.mention_windows(tok, ids, story.text, story.name))   # last mention first
    name = story.name
    if not ok[-1]:
        return _answered(WINDOW_CHOICES[4], None, lambda quote: _(
            "Even with all {n} tokens in view it does not write “{name}”.").format(n=sizes[-1],
                                                                                 name=quote(name)))
    keeps = sizes[-1]                      # the smallest window from which on every bigger one works
    for n, good in zip(reversed(sizes), reversed(ok)):
        if not good:
            break
        keeps = n
    if keeps == sizes[0]:
        return _answered(WINDOW_CHOICES[3], 8, lambda quote: _(
            "It writes “{name}” with every window, even 8 tokens.").format(name=quote(name)))
    lost = keeps - 1
    k = (0 if lost >= leaves[-1] else 2 if lost < leaves[0] else 1) if leaves else 2

    def describe(quote: Quote) -> str:
        where = "; ".join(_("mention {i} leaves the window below {n} tokens").format(i=i + 1, n=n)
                          for i, n in enumerate(leaves[::-1]))
        return _("It writes “{name}” with {keeps} or more tokens in view and loses it at {lost} "
                 "({where}).").format(name=quote(name), keeps=keeps, lost=lost, where=where)
    return _answered(WINDOW_CHOICES[k], lost, describe)


# --------------------------------------------------------------------------------------------------
# 6 · Two files

SIZE_CHOICES = (N_("Under 100 KB"), N_("100 KB to 1 MB"), N_("1 to 10 MB"), N_("10 to 100 MB"),
                N_("Over 100 MB"))


def file_size(loaded: LoadedModel) -> Answer:
    """The parameter file's size on disk (a model trained in this session: the bytes it would
    take, 4 per parameter, as its saved file would)."""
    if loaded.path and os.path.exists(loaded.path):
        size, where = os.path.getsize(loaded.path), os.path.basename(loaded.path)
    else:
        size = 4 * sum(p.numel() for p in loaded.model.parameters())
        where = None
    k = min(4, max(0, math.floor(math.log10(max(size, 1))) - 4))   # 1e5 -> 1, 1e6 -> 2, ...
    return _answered(SIZE_CHOICES[k], size, lambda quote: _("{file}: {size} ({bytes} bytes).").format(
        file=where or _("this session's model (4 bytes per parameter, unsaved)"), size=mb(size),
        bytes=i18n.number(size, "#,##0")))


# --------------------------------------------------------------------------------------------------
# 7 · Agents

AGENT_QUESTION = "What is 23 times 47?"
AGENT_CHOICES = (N_("Yes: 1081"), N_("No: a wrong number"))


def plain_multiplies(loaded: LoadedModel) -> Answer:
    """Whether the model alone (no tools) answers AGENT_QUESTION with 1081."""
    from ..agents.measure import is_right, plain_answer
    text = plain_answer(loaded, AGENT_QUESTION)
    return _answered(AGENT_CHOICES[0 if is_right(text, "1081") else 1], text,
                     lambda quote: _("Without tools it answered: “{text}”").format(text=quote(text)))


# --------------------------------------------------------------------------------------------------

TOKENS = Question("tokens-count", N_("Tokens"), N_("How many tokens is “{text}” for this model's "
                  "tokenizer?"), TOKEN_CHOICES, count_tokens, "tokenizer", lambda quote: {"text": quote(TOKENS_TEXT)})
TOKEN_TAX = Question("tokens-tax", N_("Tokens"), N_("The same weather note in {language} and in English: "
                     "how many times as many tokens does {language} cost a real LLM's tokenizer?"),
                     TAX_CHOICES, hindi_tax, "tokenizer", lambda quote: {"language": _(TAX_LANGUAGE)})
PRETRAINING = Question("pretrain-first", N_("Pretraining"), N_("Which word will the model rank first "
                       "after “…{prompt}”?"), RANK_WORDS, first_word, "model",
                       lambda quote: {"prompt": quote(DEFAULT_PROMPT[-13:])}, words=True)
INSTRUCTION = Question("sft-stop", N_("Instruction tuning"), N_("Asked “{question}”, will the base "
                       "model stop after its answer?"), STOP_CHOICES, base_stops, "base model",
                       lambda quote: {"question": quote(STOP_QUESTION)})
FEEDBACK = Question("feedback-likelier", N_("Human feedback"), N_("After feedback, will the answer "
                    "“{answer}” to “{question}” become more or less likely?"),
                    LIKELY_CHOICES, feedback_likelier, "tuned model, feedback model",
                    lambda quote: {"answer": quote(FEEDBACK_PAIR[1]), "question": quote(FEEDBACK_PAIR[0])})
CONTEXT = Question("context-name", N_("Context window"), N_("Shrink the window from the end of the "
                   "story: at which window size does the model lose the name?"), WINDOW_CHOICES,
                   loses_name, "model")
TWO_FILES = Question("twofiles-size", N_("Two files"), N_("How big is the parameter file of this model?"),
                     SIZE_CHOICES, file_size, "model")

AGENTS = Question("agents-plain", N_("Agents"), N_("Will the model without tools get “{question}” right?"),
                  AGENT_CHOICES, plain_multiplies, "model", lambda quote: {"question": quote(AGENT_QUESTION)})

QUESTIONS = {q.id: q for q in (TOKENS, TOKEN_TAX, PRETRAINING, INSTRUCTION, FEEDBACK, CONTEXT, TWO_FILES, AGENTS)}
