"""The reward model: thumbs up and down become a score for any (question, answer).

The tuned model, frozen, reads the rated question and answer; a linear head on its hidden states
and six single numbers (the answer's length, how natural it is to the tuned model, and four
measures of whether it answers this question) gives one number, the score (the logit of 👍).
Only the head learns, with binary cross-entropy on the ratings (👍 = 1, 👎 = 0): the features
are computed once per rating, so training takes a second or two. Its accuracy is measured on
held-out ratings, split by prompt, so it is judged on questions it never saw rated. What was
tried and measured: docs/feedback-experiments.md.

    >>> check_ratings([])
    'There are no ratings yet: rate some answers with 👍 or 👎, or let a simulated rater rate 200.'

References: Ouyang et al. 2022 (InstructGPT: a reward model from human ratings).
"""
from __future__ import annotations

import copy
import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..gpt import chat
from ..gpt.events import RewardModelReady, RewardStep
from ..gpt.model import GPT
from ..gpt.paramfile import LoadedModel
from ..gpt.training import drain
from ..i18n import _, ngettext
from .answers import answer_head, pad
from .ratings import Rating

MIN_RATINGS = 20          # fewer, and the held-out accuracy means nothing
MIN_EACH = 3              # at least this many thumbs up AND thumbs down
N_SUMMARY = 6             # answer length, naturalness, and four "does it answer this question?" figures


@dataclass
class RewardSpec:
    steps: int = 200                # full-batch Adam steps on the head (a second or two)
    lr: float = 1e-2
    l2: float = 1e-2                # weight decay on the 6 summary features
    # and on the 3C hidden-state features: the one of these that predicts best on held-out folds
    # of the training ratings (helpful ratings want a strong one, safe ratings a weak one)
    l2_states: tuple[float, ...] = (0.01, 0.1, 0.3)
    folds: int = 4
    heldout: float = 0.2            # share of rated prompts held out for the accuracy


# --------------------------------------------------------------------------------------------------
# The ratings it learns from

def check_ratings(ratings: Sequence[Rating]) -> str | None:
    """Why these ratings cannot train a reward model yet, or None if they can.

    >>> check_ratings([Rating("Hi", "Hello.", 1, "tuned", "s")])[:24]
    'The only rating is 👍: th'
    """
    n = len(ratings)
    up = sum(r.rating > 0 for r in ratings)
    if n == 0:
        return _("There are no ratings yet: rate some answers with 👍 or 👎, or let a simulated "
                 "rater rate 200.")
    if up == n:
        return ngettext("The only rating is 👍: the reward model cannot learn what a bad answer "
                        "looks like. Give at least {each} 👎 too.",
                        "All {n} ratings are 👍: the reward model cannot learn what a bad answer "
                        "looks like. Give at least {each} 👎 too.", n).format(n=n, each=MIN_EACH)
    if up == 0:
        return ngettext("The only rating is 👎: the reward model cannot learn what a good answer "
                        "looks like. Give at least {each} 👍 too.",
                        "All {n} ratings are 👎: the reward model cannot learn what a good answer "
                        "looks like. Give at least {each} 👍 too.", n).format(n=n, each=MIN_EACH)
    if n < MIN_RATINGS:
        return ngettext("Only {n} rating so far: the reward model needs at least {least} (some of "
                        "them are kept aside to test it).",
                        "Only {n} ratings so far: the reward model needs at least {least} (some of "
                        "them are kept aside to test it).", n).format(n=n, least=MIN_RATINGS)
    if min(up, n - up) < MIN_EACH:
        few = "👎" if up > n - up else "👍"
        return _("Only {k} {thumb} so far: give at least {each} of each.").format(
            k=min(up, n - up), thumb=few, each=MIN_EACH)
    if len({r.prompt for r in ratings}) < 2:
        return _("All ratings are for one question: rate answers to at least two different questions.")
    return None


def encode_rated(tok, prompt: str, answer: str, block_size: int) -> tuple[list[int], list[int]]:
    """(ids, roles) for the reward model: the chat template with the answer and <|end|>, cut to
    the context; roles are 1 for the question's tokens, 2 for the answer's (and <|end|>), 0 for
    the other special tokens. Example: "Hi", "Hello." -> roles [0, 0, 1, 0, 2, 2, 2]."""
    sp = chat.special_ids(tok)
    a = tok.encode(answer)[: block_size // 2 - 1] + [sp[chat.END]]
    head = answer_head(tok, prompt, len(a), block_size)
    return head + a, [0, 0] + [1] * (len(head) - 3) + [0] + [2] * len(a)


def split_heldout(ratings: Sequence[Rating], share: float, seed: int) -> tuple[list[Rating], list[Rating]]:
    """(train, held out), split by prompt: all ratings of a held-out prompt are held out."""
    prompts = sorted({r.prompt for r in ratings})
    random.Random(seed).shuffle(prompts)
    n_out = min(len(prompts) - 1, max(1, round(share * len(prompts))))
    out = set(prompts[:n_out])
    return [r for r in ratings if r.prompt not in out], [r for r in ratings if r.prompt in out]


# --------------------------------------------------------------------------------------------------
# The model

class RewardModel(nn.Module):
    """The tuned model, frozen, + a linear head: (question, answer) -> a score (the logit of 👍).

    The head reads the answer's hidden states averaged; the state at the answer's last token (it
    has seen everything); the product of the averaged question and answer states (large where
    they agree); and six single numbers: the answer's length (log tokens: an average cannot
    count), how natural the answer is to the tuned model (its mean log-probability per token:
    gibberish is improbable), and four answers to "is this answer about the question?": the
    cosine of the averaged question and answer states, the same for their word embeddings, and
    how much of the question the answer echoes (`echo`) in word embeddings and in hidden states.
    Only the head learns: with a few hundred ratings, fine-tuning the model too just memorises
    them (measured: no better on held-out ratings), and a frozen model means the features are
    computed once."""

    def __init__(self, gpt: GPT):
        super().__init__()
        self.gpt = copy.deepcopy(gpt).eval().requires_grad_(False)
        self.n_states = 3 * gpt.config.n_embd
        n = self.n_states + N_SUMMARY
        self.head = nn.Linear(n, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.register_buffer("mu", torch.zeros(n))                        # feature scaling, set
        self.register_buffer("sd", torch.ones(n))                         # from the training set
        self.ready: RewardModelReady | None = None                         # its figures, once trained

    @torch.no_grad()
    def features(self, idx: torch.Tensor, roles: torch.Tensor) -> torch.Tensor:
        """idx (B, T), roles (B, T) (1 = question, 2 = answer) -> features (B, 3C + 6)."""
        out = self.gpt(idx, return_hidden=True)
        h = self.gpt.ln_f(out.hidden[-1])                                  # (B, T, C) as lm_head sees it
        a, q = (roles == 2).unsqueeze(-1).float(), (roles == 1).unsqueeze(-1).float()
        n = a.sum(1)                                                       # (B, 1) answer tokens
        mean_a = (h * a).sum(1) / n.clamp(min=1.0)                         # (B, C)
        mean_q = (h * q).sum(1) / q.sum(1).clamp(min=1.0)
        last = h[torch.arange(h.size(0)), (roles == 2).long().cumsum(1).argmax(1)]
        logp = out.logits[:, :-1].log_softmax(-1).gather(-1, idx[:, 1:, None])[..., 0]
        per_token = (logp * a[:, 1:, 0]).sum(1, keepdim=True) / n.clamp(min=1.0)  # (B, 1)
        e = F.normalize(self.gpt.wte(idx), dim=-1)                         # (B, T, C) word meanings
        summary = [torch.log1p(n), per_token,
                   F.cosine_similarity(mean_a, mean_q)[:, None],
                   F.cosine_similarity((e * a).sum(1), (e * q).sum(1))[:, None],
                   echo(e, q, a), echo(F.normalize(h, dim=-1), q, a)]
        return torch.cat([mean_a, last, mean_a * mean_q] + summary, dim=-1)

    def score_features(self, f: torch.Tensor) -> torch.Tensor:
        return self.head((f - self.mu) / self.sd).squeeze(-1)

    def forward(self, idx: torch.Tensor, roles: torch.Tensor) -> torch.Tensor:
        return self.score_features(self.features(idx, roles))


def echo(v: torch.Tensor, q: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """How much of the question the answer echoes: for each question token, the cosine of the most
    similar answer token, averaged over the question. v (B, T, C) unit vectors; q, a (B, T, 1)
    masks -> (B, 1)."""
    sim = v @ v.transpose(1, 2)                                            # (B, T, T)
    best = sim.masked_fill(a.transpose(1, 2) == 0, -1.0).max(-1).values    # (B, T)
    return (best * q[..., 0]).sum(1, keepdim=True) / q[..., 0].sum(1, keepdim=True).clamp(min=1.0)


@torch.no_grad()
def reward(rm: RewardModel, tok, prompt: str, answers: Sequence[str], block_size: int) -> torch.Tensor:
    """The reward of each answer: sigmoid(score), the reward model's chance of a 👍. (len(answers),)"""
    enc = [encode_rated(tok, prompt, a, block_size) for a in answers]
    return torch.sigmoid(rm(pad([e[0] for e in enc], tok.eot_id), pad([e[1] for e in enc])))


# --------------------------------------------------------------------------------------------------
# Training the head

def train_reward_model(loaded: LoadedModel, ratings: Sequence[Rating], spec: RewardSpec = RewardSpec(),
                       seed: int = 0, cancel: threading.Event | None = None) -> Iterator:
    """Fit the reward model's head to the ratings (binary cross-entropy, 👍 = 1, 👎 = 0, a little
    L2); `seed` picks the held-out prompts and the folds. Yields RewardStep events and a
    RewardModelReady, returns the RewardModel."""
    t0 = time.perf_counter()
    tok, bs = loaded.tokenizer, loaded.config.block_size
    train, held = split_heldout(ratings, spec.heldout, seed)
    rm = RewardModel(loaded.model)

    def tensors(rs):
        enc = [encode_rated(tok, r.prompt, r.answer, bs) for r in rs]
        f = torch.cat([rm.features(pad([e[0] for e in enc[i:i + 64]], tok.eot_id),
                                   pad([e[1] for e in enc[i:i + 64]])) for i in range(0, len(enc), 64)])
        return f, torch.tensor([1.0 if r.rating > 0 else 0.0 for r in rs])

    x, y = tensors(train)
    hx, hy = tensors(held) if held else (None, None)
    penalty = choose_penalty(rm, x, y, [r.prompt for r in train], spec, seed)
    yield from _fit_head(rm, x, y, spec, penalty, cancel)
    rm.eval()
    majority = float(max(hy.mean(), 1 - hy.mean())) if held else float("nan")
    with torch.no_grad():
        flagged = rm.score_features(hx) <= 0 if held else torch.zeros(0, dtype=torch.bool)
    down = hy == 0 if held else torch.zeros(0, dtype=torch.bool)
    rm.ready = RewardModelReady(len(train), len(held), _accuracy(rm, x, y),
                                _accuracy(rm, hx, hy) if held else float("nan"), majority,
                                time.perf_counter() - t0, penalty, int(down.sum()),
                                int((flagged & down).sum()), int((flagged & ~down).sum()))
    yield rm.ready
    return rm


def choose_penalty(rm: RewardModel, x: torch.Tensor, y: torch.Tensor, prompts: Sequence[str],
                   spec: RewardSpec, seed: int = 0) -> float:
    """The weight penalty on the hidden-state features (one of spec.l2_states) whose head
    predicts best on held-out folds of the training ratings (k-fold by prompt, cross-entropy).
    The held-out ratings of the accuracy figure are never used. x (N, F), y (N,)."""
    options = list(spec.l2_states)
    order = sorted(set(prompts))
    random.Random(seed).shuffle(order)
    fold_of = {p: i % spec.folds for i, p in enumerate(order)}
    fold = torch.tensor([fold_of[p] for p in prompts])
    if len(options) == 1 or len(order) < spec.folds:
        return options[0]
    loss = []
    for penalty in options:
        total = 0.0
        for k in range(spec.folds):
            out = fold == k
            if y[~out].min() == y[~out].max():           # a fold without both ratings: skip it
                continue
            drain(_fit_head(rm, x[~out], y[~out], spec, penalty, None))
            with torch.no_grad():
                total += float(F.binary_cross_entropy_with_logits(rm.score_features(x[out]), y[out],
                                                                  reduction="sum"))
        loss.append(total)
    return options[min(range(len(options)), key=loss.__getitem__)]


def _fit_head(rm: RewardModel, x: torch.Tensor, y: torch.Tensor, spec: RewardSpec, penalty: float,
              cancel: threading.Event | None) -> Iterator[RewardStep]:
    """Full-batch Adam on the head (features scaled to the training set, bias at the base rate);
    `penalty` weighs the squared hidden-state weights, spec.l2 the six summary weights."""
    rm.mu.copy_(x.mean(0))
    rm.sd.copy_(x.std(0) + 1e-4)
    with torch.no_grad():
        p = y.mean().clamp(0.02, 0.98)
        rm.head.weight.zero_()
        rm.head.bias.fill_(math.log(p / (1 - p)))                        # start at the base rate
    opt = torch.optim.Adam(rm.head.parameters(), lr=spec.lr)
    for step in range(1, spec.steps + 1):                                 # full batch: it is small
        if cancel is not None and cancel.is_set():
            break
        loss = F.binary_cross_entropy_with_logits(rm.score_features(x), y)
        opt.zero_grad(set_to_none=True)
        w = rm.head.weight[0]
        l2 = penalty * w[:rm.n_states].square().sum() + spec.l2 * w[rm.n_states:].square().sum()
        (loss + l2).backward()
        opt.step()
        if step % 25 == 0 or step == spec.steps:
            yield RewardStep(step, loss.item(), _accuracy(rm, x, y))


@torch.no_grad()
def _accuracy(rm: RewardModel, x, y) -> float:
    return float(((rm.score_features(x) > 0).float() == y).float().mean())
