"""Predict, then reveal: one question per step of the journey, answered by the real model.

A learner commits a guess first; only then does the page compute the model's answer, with the
same library function the page itself uses (no canned answers: a retrained model can answer
differently, and the reveal says so). Research with students training small transformers in class
found that predicting first moves explanations from "the AI thinks" to reasons about data and
model. Each `Question` has an id (stored with the guesses, explainer/classroom/classes.py), its text, the
choices, and `answer(*inputs) -> Answer`; `inputs` names what the page hands it.

    >>> from explainer.gpt.tokenizer import cl100k
    >>> TOKENS.answer(cl100k())
    Answer(choice='6', detail='6 tokens: What | ␣should | ␣I | ␣eat | ␣today | ?', value=6)
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Callable

from ..gpt import chat
from ..gpt.paramfile import LoadedModel
from ..gpt.scoring import rank_next
from ..phases import context as cx
from ..phases.judge import logprob_per_token
from ..phases.pretrain import DEFAULT_PROMPT
from ..phases.tokentax import headline, row_of, token_tax
from ..phases.twofiles import mb
from ..views.charts import show_piece


@dataclass(frozen=True)
class Answer:
    choice: str          # the right one of the question's choices
    detail: str          # what the model really did, in a sentence
    value: Any = None    # the raw figure behind it (a count, a word, a window size, bytes)


@dataclass(frozen=True)
class Question:
    id: str                              # stored with every guess: never rename
    page: str
    text: str
    choices: tuple[str, ...]
    answer: Callable[..., Answer]        # computes the real answer from `inputs`
    inputs: str                          # what the page passes to `answer`


# --------------------------------------------------------------------------------------------------
# 1 · Tokens

TOKENS_TEXT = "What should I eat today?"
TOKEN_CHOICES = ("≤ 5", "6", "7", "8", "9", "≥ 10")   # short: six buttons in a row


def count_tokens(tok) -> Answer:
    """How many tokens TOKENS_TEXT is for this tokenizer (the app's BPE, cl100k or characters)."""
    pieces = [p.text for p in tok.pieces(TOKENS_TEXT)]
    n = len(pieces)
    choice = TOKEN_CHOICES[0] if n <= 5 else TOKEN_CHOICES[-1] if n >= 10 else str(n)
    return Answer(choice, f"{n} tokens: " + " | ".join(map(show_piece, pieces)), n)


TAX_LANGUAGE = "Hindi"
TAX_CHOICES = ("Under 2×", "2× to 4×", "4× to 8×", "8× or more")


def hindi_tax(tok) -> Answer:
    """How many times the English weather note's tokens the Hindi one needs in `tok` (the real
    LLM's tokenizer on the page; tokentax.token_tax counts)."""
    rows = token_tax([(tok.name, tok)])
    x = row_of(rows, TAX_LANGUAGE).ratio[tok.name]
    k = 0 if x < 2 else 1 if x < 4 else 2 if x < 8 else 3
    return Answer(TAX_CHOICES[k], headline(rows, tok.name, TAX_LANGUAGE), x)


# --------------------------------------------------------------------------------------------------
# 2 · Pretraining

RANK_WORDS = ("night", "day", "giraffe")


def first_word(loaded: LoadedModel) -> Answer:
    """Which of RANK_WORDS the model finds likeliest after DEFAULT_PROMPT (scoring.rank_next)."""
    r = rank_next(loaded.model, loaded.tokenizer, DEFAULT_PROMPT, k=1, candidates=RANK_WORDS)
    best = max(r.candidates, key=lambda c: c.prob)
    return Answer(best.word, ", ".join(f"{c.word} {c.prob:.2%}" for c in
                                       sorted(r.candidates, key=lambda c: -c.prob)), best.word)


# --------------------------------------------------------------------------------------------------
# 3 · Instruction tuning

STOP_QUESTION = "What should I eat today?"
STOP_CHOICES = ("Yes, it stops", "No, it keeps going")


def base_stops(base: LoadedModel) -> Answer:
    """Does the base model close its answer with <|end|> (chat.answer, greedy)? Only instruction
    tuning teaches that token's use; ending a document with <|endoftext|> is not stopping."""
    reply = chat.answer(base.model, base.tokenizer, STOP_QUESTION)
    sp = chat.special_ids(base.tokenizer)
    last = base.tokenizer.decode([reply.ids[-1]]) if reply.ids and reply.ids[-1] in sp.values() else None
    how = ("and then closed its answer with <|end|>" if reply.ended else
           f"and then {last}: it ended a document, not an answer" if last else
           f"and was still going at the limit of {chat.MAX_NEW_TOKENS} tokens")
    text = reply.text if len(reply.text) <= 90 else reply.text[:90] + " …"
    return Answer(STOP_CHOICES[0 if reply.ended else 1],
                  f"It wrote {len(reply.ids)} tokens (“{text}”) {how}.", reply.ended)


# --------------------------------------------------------------------------------------------------
# 4 · Human feedback

FEEDBACK_PAIR = ("Can I touch a hot stove?", "No, it can burn you.")
LIKELY_CHOICES = ("More likely", "Less likely")


def feedback_likelier(tuned: LoadedModel, after: LoadedModel) -> Answer:
    """Is FEEDBACK_PAIR's answer likelier per token after feedback (judge.logprob_per_token)?"""
    before, now = (logprob_per_token(m, *FEEDBACK_PAIR) for m in (tuned, after))
    return Answer(LIKELY_CHOICES[0 if now > before else 1],
                  f"Chance per token of writing exactly this answer: {math.exp(before):.3f} before "
                  f"feedback, {math.exp(now):.3f} after.", (before, now))


# --------------------------------------------------------------------------------------------------
# 5 · Context window

WINDOW_CHOICES = ("While every mention is still in view", "When the first mention falls out",
                  "When the last mention falls out", "Never, even at 8 tokens",
                  "It never had it, even seeing everything")


def loses_name(loaded: LoadedModel) -> Answer:
    """The smallest window with which the model still writes the story's name (greedy, every
    bigger window too), compared with the windows at which the name's mentions leave view
    (context.example_story, score_answers, mention_windows)."""
    model, tok = loaded.model, loaded.tokenizer
    story = cx.example_story()
    ids, _ = chat.prompt_ids(tok, story.text, chat=False)
    answer = cx.answer_ids(tok, story.text, story.name)
    sizes = list(range(8, min(len(ids), model.config.block_size) + 1))
    ok = [s.greedy for s in cx.score_answers(model, [cx.keep_last(ids, n)[0] for n in sizes],
                                             [answer] * len(sizes))]
    leaves = sorted(cx.mention_windows(tok, ids, story.text, story.name))   # last mention first
    if not ok[-1]:
        return Answer(WINDOW_CHOICES[4], f"Even with all {sizes[-1]} tokens in view it does not "
                      f"write “{story.name}”.", None)
    keeps = sizes[-1]                      # the smallest window from which on every bigger one works
    for n, good in zip(reversed(sizes), reversed(ok)):
        if not good:
            break
        keeps = n
    if keeps == sizes[0]:
        return Answer(WINDOW_CHOICES[3], f"It writes “{story.name}” with every window, even 8 tokens.", 8)
    lost = keeps - 1
    k = (0 if lost >= leaves[-1] else 2 if lost < leaves[0] else 1) if leaves else 2
    where = "; ".join(f"mention {i + 1} leaves the window below {n} tokens"
                      for i, n in enumerate(leaves[::-1]))
    return Answer(WINDOW_CHOICES[k], f"It writes “{story.name}” with {keeps} or more tokens in view "
                  f"and loses it at {lost} ({where}).", lost)


# --------------------------------------------------------------------------------------------------
# 6 · Two files

SIZE_CHOICES = ("Under 100 KB", "100 KB to 1 MB", "1 to 10 MB", "10 to 100 MB", "Over 100 MB")


def file_size(loaded: LoadedModel) -> Answer:
    """The parameter file's size on disk (a model trained in this session: the bytes it would
    take, 4 per parameter, as its saved file would)."""
    if loaded.path and os.path.exists(loaded.path):
        size, where = os.path.getsize(loaded.path), os.path.basename(loaded.path)
    else:
        size = 4 * sum(p.numel() for p in loaded.model.parameters())
        where = "this session's model (4 bytes per parameter, unsaved)"
    k = min(4, max(0, math.floor(math.log10(max(size, 1))) - 4))   # 1e5 -> 1, 1e6 -> 2, ...
    return Answer(SIZE_CHOICES[k], f"{where}: {mb(size)} ({size:,} bytes).", size)


# --------------------------------------------------------------------------------------------------
# 7 · Agents

AGENT_QUESTION = "What is 23 times 47?"
AGENT_CHOICES = ("Yes: 1081", "No: a wrong number")


def plain_multiplies(loaded: LoadedModel) -> Answer:
    """Whether the model alone (no tools) answers AGENT_QUESTION with 1081."""
    from ..agents.measure import is_right, plain_answer
    text = plain_answer(loaded, AGENT_QUESTION)
    return Answer(AGENT_CHOICES[0 if is_right(text, "1081") else 1], f"Without tools it answered: “{text}”", text)


# --------------------------------------------------------------------------------------------------

TOKENS = Question("tokens-count", "Tokens", f"How many tokens is “{TOKENS_TEXT}” for this model's "
                  "tokenizer?", TOKEN_CHOICES, count_tokens, "tokenizer")
TOKEN_TAX = Question("tokens-tax", "Tokens", f"The same weather note in {TAX_LANGUAGE} and in English: "
                     f"how many times as many tokens does {TAX_LANGUAGE} cost a real LLM's tokenizer?",
                     TAX_CHOICES, hindi_tax, "tokenizer")
PRETRAINING = Question("pretrain-first", "Pretraining", f"Which word will the model rank first after "
                       f"“…{DEFAULT_PROMPT[-13:]}”?", RANK_WORDS, first_word, "model")
INSTRUCTION = Question("sft-stop", "Instruction tuning", f"Asked “{STOP_QUESTION}”, will the base "
                       "model stop after its answer?", STOP_CHOICES, base_stops, "base model")
FEEDBACK = Question("feedback-likelier", "Human feedback", f"After feedback, will the answer "
                    f"“{FEEDBACK_PAIR[1]}” to “{FEEDBACK_PAIR[0]}” become more or less likely?",
                    LIKELY_CHOICES, feedback_likelier, "tuned model, feedback model")
CONTEXT = Question("context-name", "Context window", "Shrink the window from the end of the story: "
                   "at which window size does the model lose the name?", WINDOW_CHOICES,
                   loses_name, "model")
TWO_FILES = Question("twofiles-size", "Two files", "How big is the parameter file of this model?",
                     SIZE_CHOICES, file_size, "model")

AGENTS = Question("agents-plain", "Agents", f"Will the model without tools get “{AGENT_QUESTION}” right?",
                  AGENT_CHOICES, plain_multiplies, "model")

QUESTIONS = {q.id: q for q in (TOKENS, TOKEN_TAX, PRETRAINING, INSTRUCTION, FEEDBACK, CONTEXT, TWO_FILES, AGENTS)}
