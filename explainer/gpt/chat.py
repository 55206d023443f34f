"""The chat template: how a question and its answer become one row of tokens, and how to ask.

A conversation turn is written with the special tokens the tokenizer reserved from the start:

    <|endoftext|><|user|>What should I eat today?<|assistant|>How about porridge ...<|end|>

<|endoftext|> opens it like any document in pretraining; <|user|> and <|assistant|> say who
speaks; <|end|> says the answer is over, so generation stops there. The special tokens are
added as ids, never by encoding their text: a user typing "<|end|>" gets 7 ordinary characters.

Instruction tuning learns only from the answer: the loss mask is 1 on the answer's tokens and
on <|end|>, 0 on everything before. (In `training.Batches` a mask marks *target* positions,
i.e. tokens the model must predict; the first answer token is predicted from <|assistant|>.)

    >>> ids, mask = encode_pair(tok, "Hi", "Hello!")        # doctest: +SKIP
    >>> [tok.decode([i]) for i in ids], mask                 # doctest: +SKIP
    (['<|endoftext|>', '<|user|>', 'Hi', '<|assistant|>', 'Hello', '!', '<|end|>'], [0, 0, 0, 0, 1, 1, 1])

References: OpenAI's ChatML and the Llama-2/nanochat chat formats (special tokens around each
turn, loss only on the assistant's tokens: Ouyang et al. 2022, "InstructGPT").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from ..i18n import N_

EOT, USER, ASSISTANT, END = "<|endoftext|>", "<|user|>", "<|assistant|>", "<|end|>"
TEMPLATE = EOT + USER + "{prompt}" + ASSISTANT + "{response}" + END
MAX_NEW_TOKENS = 64              # the benchmark's limit for "ends its answer"
MEANINGS = {EOT: N_("start of a new text (as between documents in pretraining)"),      # shown through _()
            USER: N_("the person's question follows"), ASSISTANT: N_("the model's answer follows"),
            END: N_("the answer is over: generation stops here")}


class ChatError(ValueError):
    """The model cannot chat (e.g. its tokenizer has no chat tokens); the message says why."""


def special_ids(tok) -> dict[str, int]:
    """{"<|endoftext|>": 2044, "<|user|>": 2045, "<|assistant|>": 2046, "<|end|>": 2047} for our BPE."""
    missing = [s for s in (EOT, USER, ASSISTANT, END) if s not in tok.special_tokens]
    if missing:
        raise ChatError(f"this tokenizer has no {', '.join(missing)} token(s): it cannot hold a chat")
    return {s: tok.special_tokens[s] for s in (EOT, USER, ASSISTANT, END)}


def format_text(prompt: str, response: str | None = None) -> str:
    """The template as text: format_text("Hi", "Hello!") ->
    '<|endoftext|><|user|>Hi<|assistant|>Hello!<|end|>'; without a response it stops after
    <|assistant|> (what the model is given to answer)."""
    if response is None:
        return EOT + USER + prompt + ASSISTANT
    return TEMPLATE.format(prompt=prompt, response=response)


def prompt_ids(tok, text: str, max_tokens: int | None = None, *, chat: bool = True) -> tuple[list[int], int]:
    """The token ids a model is given for `text`, and how many tokens were cut to fit.

    chat=True, a question in the chat template: <|endoftext|><|user|>question<|assistant|>, the
    question cut to its first `max_tokens` tokens (its beginning says what is asked; see
    `question_room`). chat=False, text read as in pretraining: <|endoftext|> + text, only its last
    `max_tokens` ids (the model continues from the end, so the start, <|endoftext|> first, goes).
    Special tokens are added as ids, never by encoding their text. Examples (our BPE):

        prompt_ids(tok, "Hi") -> ([2044, 2045, <Hi>, 2046], 0)
        prompt_ids(tok, "", chat=False) -> ([2044], 0)          # "the first token of a text"
        prompt_ids(tok, "night day " * 40, 64, chat=False) -> (last 64 ids, 337)
    """
    if not chat:
        ids = [tok.eot_id] + tok.encode(text)
        cut = 0 if max_tokens is None else max(0, len(ids) - max_tokens)
        return ids[cut:], cut
    sp = special_ids(tok)
    q = tok.encode(text)
    cut = 0 if max_tokens is None else max(0, len(q) - max(0, max_tokens))
    return [sp[EOT], sp[USER]] + q[:len(q) - cut] + [sp[ASSISTANT]], cut


def question_room(block_size: int, max_new_tokens: int) -> int:
    """How many question tokens fit so that the chat head (3 special tokens around the question)
    and an answer of `max_new_tokens` fit in the context (at least 1):
    question_room(128, 64) -> 61."""
    return max(1, block_size - max_new_tokens - 3)


def encode_pair(tok, prompt: str, response: str) -> tuple[list[int], list[int]]:
    """(ids, mask) of one turn; mask[i] = 1 exactly for the answer's tokens and <|end|>."""
    head, _ = prompt_ids(tok, prompt)
    answer = tok.encode(response) + [special_ids(tok)[END]]
    return head + answer, [0] * len(head) + [1] * len(answer)


def encode_pairs(tok, pairs, block_size: int) -> tuple[list[int], list[int], list[int], int]:
    """Many turns as one stream: (ids, mask, starts, n_skipped).

    `starts` are the offsets where each turn begins (the training batches start there, so a
    window never begins in the middle of a question). Turns longer than `block_size` are skipped
    and counted. `pairs` need .prompt and .response.
    """
    ids, mask, starts, skipped = [], [], [], 0
    for p in pairs:
        i, m = encode_pair(tok, p.prompt, p.response)
        if len(i) > block_size:
            skipped += 1
            continue
        starts.append(len(ids))
        ids += i
        mask += m
    return ids, mask, starts, skipped


# --------------------------------------------------------------------------------------------------
# Asking the model

@dataclass
class Reply:
    text: str                    # the answer, without special tokens
    ended: bool                  # the model itself closed it with <|end|>
    ids: list[int] = field(default_factory=list)   # generated ids (including a final <|end|>)
    prompt_cut: bool = False     # the question was too long and was shortened


def stream(model, tok, question: str, max_new_tokens: int = MAX_NEW_TOKENS,
           temperature: float = 0.0, top_k: int | None = None, seed: int = 0) -> Iterator[int]:
    """Generated token ids after the chat prompt, ending with <|end|> (or <|endoftext|>) if the
    model produces one. The question is cut so that question + answer fit the context."""
    sp = special_ids(tok)
    ids, _ = prompt_ids(tok, question, question_room(model.config.block_size, max_new_tokens))
    yield from model.generate(ids, max_new_tokens, temperature=temperature, top_k=top_k, seed=seed,
                              stop_ids=(sp[END], sp[EOT]))


def answer(model, tok, question: str, max_new_tokens: int = MAX_NEW_TOKENS,
           temperature: float = 0.0, top_k: int | None = None, seed: int = 0) -> Reply:
    """Ask `question` in the chat template; the reply and whether it ended with <|end|>.

    temperature 0 (default) is greedy: the same question always gets the same answer.
    Works for a base model too: it has never seen the template, so it just continues the text.
    """
    sp = special_ids(tok)
    _, cut = prompt_ids(tok, question, question_room(model.config.block_size, max_new_tokens))
    out = list(stream(model, tok, question, max_new_tokens, temperature, top_k, seed))
    ended = bool(out) and out[-1] == sp[END]
    words = [i for i in out if i not in sp.values()]
    return Reply(tok.decode(words).strip(), ended, out, cut > 0)


def continue_text(model, tok, text: str, max_new_tokens: int, temperature: float = 0.0,
                  top_k: int | None = None, seed: int = 0) -> Reply:
    """What a model writes after `text` read as in pretraining (`prompt_ids` with chat=False): up
    to `max_new_tokens` tokens, stopping at <|endoftext|>. Reply.ended: the model chose
    <|endoftext|> (it thinks the document ends here); Reply.ids leave that token out."""
    ids, cut = prompt_ids(tok, text, model.config.block_size, chat=False)
    eot = tok.eot_id
    new = list(model.generate(ids, max_new_tokens, temperature=temperature, top_k=top_k, seed=seed,
                              stop_ids=[eot]))
    words = [i for i in new if i != eot]
    return Reply(tok.decode(words), len(words) < len(new), words, cut > 0)


def is_chat_model(loaded) -> bool:
    """A parameter file made by instruction tuning (facts kind 'tuned' or later phases)."""
    return loaded.facts.get("kind") in ("tuned", "feedback", "agent")


# --------------------------------------------------------------------------------------------------
# Showing the template

@dataclass(frozen=True)
class MaskedPiece:
    text: str          # printable piece ("<|user|>" for special tokens)
    id: int
    learned: bool      # in the loss (the model is trained to produce it) or context only
    special: bool


def masked_pieces(tok, prompt: str, response: str) -> list[MaskedPiece]:
    """The turn's tokens with their mask, for drawing ("learned from" vs "context only",
    views.tokens.masked_html)."""
    from .tokenizer import printable
    ids, mask = encode_pair(tok, prompt, response)
    names = {v: k for k, v in tok.special_tokens.items()}
    return [MaskedPiece(names.get(i) or printable(tok.token_bytes(i)), i, bool(m), i in names)
            for i, m in zip(ids, mask)]
