"""The context window: a model sees only its last N tokens, and whatever falls out is forgotten.

Everything the "Context window" page computes comes from here: cutting a token list to its last N
tokens, the next-word ranking with only that window visible, the probability of the right word
as the window grows, the last token's attention over what it can see, and a chat that loses its
oldest turns when it outgrows the window. (Its pictures are in views/tokens.py and views/context.py.)

The hard maximum is the position embedding table `wpe` (block_size rows): the model has no vector
for position block_size, so it cannot look further back even if we wanted it to.

The measurement behind the page, `name_recall`: on held-out stories that introduce a name and ask
for it at the end, how often the model produces the name with the whole story in view, and how
often when the window starts after the last mention (Olsson et al. 2022, "In-context Learning and
Induction Heads", on why a two-layer transformer can copy a name it has seen once).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from ..gpt.chat import prompt_ids
from ..gpt.model import GPT
from ..gpt.scoring import next_token_probs, score_continuations

# --------------------------------------------------------------------------------------------------
# Windows and rankings


def keep_last(ids: Sequence[int], n: int) -> tuple[list[int], int]:
    """The last n tokens and how many were dropped: keep_last([1, 2, 3, 4, 5], 3) -> ([3, 4, 5], 2)."""
    if n < 1:
        raise ValueError(f"a window holds at least 1 token, got {n}")
    ids = list(ids)
    cut = max(0, len(ids) - n)
    return ids[cut:], cut


def answer_ids(tok, text: str, word: str) -> list[int]:
    """Tokens of the word that should come next, with its leading space: 'Mila' -> ids(' Mila')."""
    word = word.strip()
    return tok.encode(word if not text or text[-1:].isspace() else " " + word)


@dataclass
class Score:
    prob: float          # P(whole answer | context), chain rule over its tokens
    greedy: bool         # greedy decoding from the context writes exactly the answer's tokens
    first_rank: int      # 1-based rank of the answer's first token
    first_prob: float


def score_answers(model: GPT, contexts: Sequence[Sequence[int]], answers: Sequence[Sequence[int]],
                  batch: int = 16) -> list[Score]:
    """Score each answer after its context, in batched forward passes (`score_continuations`:
    each context's last tokens, so that context + answer fit the window).

    Because we feed the right tokens (teacher forcing), "every position's top token is the
    answer's token" is exactly "greedy decoding writes the answer".
    """
    s = score_continuations(model, contexts, answers, batch=batch)
    out = []
    for lp, a in zip(s.split(s.log_softmax()), answers):                   # lp: (m, V)
        target = lp[torch.arange(len(a)), torch.tensor(a)]                  # (m,)
        first = lp[0]
        out.append(Score(float(target.sum().exp()), bool((lp.argmax(-1) == torch.tensor(a)).all()),
                         int((first > first[a[0]]).sum()) + 1, float(first[a[0]].exp())))
    return out


@dataclass
class WindowRanking:
    top: list[tuple[str, float]]       # (piece, probability), most likely first
    answer: Score | None               # the right word, if one was given
    n_visible: int


def rank_window(model: GPT, tok, ids: Sequence[int], n: int, answer: Sequence[int] = (),
                k: int = 8) -> WindowRanking:
    """The next-token ranking when the model sees only the last n of `ids` (at most block_size)."""
    visible, _ = keep_last(ids, min(n, model.config.block_size))
    probs = next_token_probs(model, visible)
    p, i = probs.topk(k)
    top = [(tok.decode([int(t)]), float(q)) for q, t in zip(p, i)]
    score = score_answers(model, [visible], [list(answer)])[0] if answer else None
    return WindowRanking(top, score, len(visible))


def prob_vs_window(model: GPT, ids: Sequence[int], answer: Sequence[int],
                   sizes: Sequence[int]) -> list[float]:
    """P(right word) when the model sees only the last n tokens, for each n in `sizes`."""
    ctxs = [keep_last(ids, n)[0] for n in sizes]
    return [s.prob for s in score_answers(model, ctxs, [list(answer)] * len(ctxs))]


def window_sizes(n_tokens: int, block_size: int, lo: int = 8, points: int = 40) -> list[int]:
    """Window sizes for the chart, from `lo` to everything the model can see: about `points` of them.

    window_sizes(20, 128, points=5) -> [8, 11, 14, 17, 20]
    """
    hi = min(n_tokens, block_size)
    if hi <= lo:
        return [hi]
    step = max(1, round((hi - lo) / (points - 1)))
    return sorted(set(range(lo, hi, step)) | {hi})


def token_starts(tok, ids: Sequence[int]) -> list[int]:
    """Character offset where each token starts in the decoded text (specials take no characters).

    Used to find which tokens a character range (a mention of the name) falls in.
    """
    starts, pos, raw = [], 0, b""
    special = set(tok.special_tokens.values())
    for t in ids:
        starts.append(pos)
        if t not in special:
            raw += tok.token_bytes(t)
            pos = len(raw.decode("utf-8", errors="ignore"))
    return starts


def mention_tokens(tok, ids: Sequence[int], text: str, word: str) -> list[list[int]]:
    """Token indices (into `ids` = [eot] + tokens of text) of each mention of `word` in `text`.

    With tokens [eot, "Mila", " fed", " Mila"] and word "Mila": [[1], [3]].
    """
    starts = token_starts(tok, ids) + [len(text) + 1]
    out, at = [], text.find(word) if word else -1
    while at >= 0:
        end = at + len(word)
        out.append([i for i in range(1, len(ids)) if starts[i] < end and starts[i + 1] > at])
        at = text.find(word, end)
    return out


def mention_windows(tok, ids: Sequence[int], text: str, word: str) -> list[int]:
    """For each mention of `word`: the smallest window (counted back from the end of `ids`) that
    still contains the mention's first token."""
    return [len(ids) - m[0] for m in mention_tokens(tok, ids, text, word) if m]


def mentions_in_reach(sizes: Sequence[int], leaves: Sequence[int]) -> list[int]:
    """Of the windows at which mentions leave (`mention_windows`), those that some window of
    these sizes still shows, in order; a mention further back is never in view.

    >>> mentions_in_reach([8, 16, 64], [70, 12, 40])
    [12, 40]
    """
    return sorted(m for m in set(leaves) if m <= max(sizes, default=0))


@torch.no_grad()
def last_token_attention(model: GPT, ids: Sequence[int]) -> torch.Tensor:
    """(n_layer, n_head, T): how much the last token attends to each visible token; rows sum to 1."""
    model.eval()
    out = model(torch.tensor([list(ids)[-model.config.block_size:]]), return_attn=True)
    return torch.stack([a[0, :, -1, :] for a in out.attn])


def copy_head(att: torch.Tensor, positions: Sequence[int]) -> tuple[int, int, float]:
    """(layer, head, share) of the head that puts the most attention on `positions` (the name's
    tokens): in a model that copies names, one head puts nearly all of it there.

    att: (n_layer, n_head, T) from last_token_attention; positions index its last axis.
    """
    mass = att[:, :, list(positions)].sum(-1) if positions else torch.zeros(att.shape[:2])  # (L, H)
    layer, head = divmod(int(mass.argmax()), att.shape[1])
    return layer, head, float(mass[layer, head])


# --------------------------------------------------------------------------------------------------
# The name-recall measurement


def recall_contexts(tok, case, block_size: int) -> tuple[list[int], list[int], list[int]]:
    """(full context, windowed context, answer) token ids for one NameCase.

    full: <|endoftext|> + the story (its last block_size tokens); windowed: only the tokens that
    start at or after case.last_mention_end, so no mention of the name is in view.
    """
    ids, _ = prompt_ids(tok, case.text, chat=False)
    starts = token_starts(tok, ids)
    first_after = next(i for i, s in enumerate(starts) if i > 0 and s >= case.last_mention_end)
    return keep_last(ids, block_size)[0], ids[first_after:], answer_ids(tok, case.text, case.name)


def name_recall(model: GPT, tok, cases) -> dict:
    """Top-1 name recall with the whole story in view vs with a window that starts after the last
    mention of the name (so the window contains no mention at all).

    A case counts as recalled when greedy decoding writes the whole name (every token of " Name"
    is the top token), the strict measure; `*_first_token` counts only the name's first token being
    top-1, which is easier for names split into several tokens. Cases are explainer.corpus
    NameCase: text cut right before the final " Name", with last_mention_end (char offset).
    Example result: {"n": 50, "full": 0.74, "windowed": 0.0, ...}.
    """
    full_ctx, win_ctx, answers = zip(*(recall_contexts(tok, c, model.config.block_size) for c in cases))
    full = score_answers(model, full_ctx, answers)
    win = score_answers(model, win_ctx, answers)
    n = len(answers)
    return {
        "n": n, "measure": "greedy decoding writes the whole name",
        "full": sum(s.greedy for s in full) / n, "windowed": sum(s.greedy for s in win) / n,
        "full_first_token": sum(s.first_rank == 1 for s in full) / n,
        "windowed_first_token": sum(s.first_rank == 1 for s in win) / n,
        "full_mean_prob": sum(s.prob for s in full) / n, "windowed_mean_prob": sum(s.prob for s in win) / n,
        "mean_tokens_full": sum(map(len, full_ctx)) / n, "mean_tokens_windowed": sum(map(len, win_ctx)) / n,
    }


def example_story():
    """The page's default text: a held-out story (seed 16) that names its gardener, Riya, in the
    first two sentences and needs the name again at the very end."""
    from ..corpus import name_recall_cases
    return name_recall_cases(1, seed=16)[0]


# --------------------------------------------------------------------------------------------------
# Chat: what apps do when a conversation outgrows the window

# A chat in which user and assistant write a story together: the hero's name is said only in the
# first turn and needed at the end (the base model learned that pattern from stories).
CHAT = [
    ("User", "Once upon a time there was a beekeeper named Sven."),
    ("Assistant", "Where did he live?"),
    ("User", "He lived in a small village by the sea."),
    ("Assistant", "One stormy night, the wind damaged the hives."),
    ("User", "Who fixed them?"),
]
CHAT_ANSWER_PREFIX = "Assistant: At the end of the day,"
CHAT_ANSWER = "Sven"


def chat_text(turns: Sequence[tuple[str, str]], prefix: str = CHAT_ANSWER_PREFIX) -> str:
    """Turns in plain text, one per line, ending with the reply the model should continue.

    chat_text([("User", "Hi")], "Assistant:") -> "User: Hi\\nAssistant:"
    """
    return "\n".join([f"{who}: {said}" for who, said in turns] + [prefix])


def fit_chat(tok, turns: Sequence[tuple[str, str]], max_tokens: int,
             prefix: str = CHAT_ANSWER_PREFIX) -> int:
    """How many of the oldest turns a chat app drops so the conversation fits in `max_tokens`
    (the newest turn is always kept). Returns the number dropped."""
    for dropped in range(len(turns)):
        if len(prompt_ids(tok, chat_text(turns[dropped:], prefix), chat=False)[0]) <= max_tokens:
            return dropped
    return len(turns) - 1
