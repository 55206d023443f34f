"""Learning from human feedback: thumbs up and down become a reward model, and the tuned model is
optimised against that reward while a KL penalty keeps it close to where it started.

Two steps, as in InstructGPT (Ouyang et al. 2022), made small enough for a CPU:

1. **Reward model.** The tuned model's trunk (everything up to and including `ln_f`), frozen,
   with a linear head on two kinds of features: three blocks of hidden states (the answer's
   states averaged, the state of its last token, and the product of the averaged answer and
   question states), and six single numbers: the answer's length, its mean log-probability per
   token under the tuned model, and four measures of how closely the answer matches the
   question (cosines of their averaged hidden states and of their averaged word embeddings,
   and how much of the question the answer echoes, in embeddings and in hidden states) -> one
   number, the score. Trained with binary cross-entropy on the ratings (👍 = 1, 👎 = 0). The 384
   hidden-state weights get their own weight penalty, picked from three on folds of the training
   ratings: a few hundred ratings cannot pin down 384 weights, so "helpful" ratings pick a strong
   one, while "safe" ratings, whose rare unsafe answers show in the hidden states, pick a weak
   one. Without the six numbers and that penalty the head missed about half of the off-topic
   answers (measured below). Only the head learns: with 300 ratings, also fine-tuning the top
   block reached 100% on the training ratings and no better on held-out ones (measured), and a
   frozen trunk means each rating's features are computed once, so training takes a second or
   two. Its accuracy is measured on held-out ratings: whole prompts are held out, so it is
   judged on questions it never saw rated.

2. **Policy optimisation: REINFORCE with a leave-one-out baseline, a KL penalty and an entropy
   penalty.** Each step takes 8 training prompts, samples K = 8 answers to each from the current
   model (at temperature 0.7, so the policy and the KL are those of the tempered distribution:
   the practice answers are close to what the chat writes, and the reward model judges such
   answers better, 86% against 80% on temperature-1 answers, measured), scores them with the
   reward model (r = sigmoid(score), "how likely a rater approves"), and nudges the
   log-probability of every answer up or down by how much better it did than the other answers
   to the same prompt (b_i = the mean reward of the others), divided by the spread of these
   differences in the step (as GRPO does, so the step size does not depend on the reward scale):

       loss = - 1/N sum_i A_i * sum_t log pi(y_it | x_i, y_i<t)
              + beta  * 1/N sum_i sum_t KL( pi(. | x_i, y_i<t) || pi_tuned(. | x_i, y_i<t) )
              + gamma * 1/N sum_i sum_t H( pi(. | x_i, y_i<t) )          (H at temperature 1)
       A_i  = (r_i - b_i) / std(r - b)

   The KL term is exact (a sum over the 2,048-token vocabulary at every answer position), not a
   sampled estimate, so it costs little noise; beta prices one nat of KL per answer. The entropy
   H says how unsure the model is of its next token where the answers to rate are sampled
   (temperature 1); gamma prices one nat of it, so the model also grows surer. With gamma = beta
   the two terms add up to the cross-entropy -sum pi log pi_tuned: the model pays for every word
   the tuned model finds unlikely and is no longer paid for variety (Korbak et al. 2022 show the
   KL penalty is exactly "stay close" plus "stay varied"). Left to run for long, such a model
   would settle on one answer per question; in 2 minutes its 4 sampled answers go from 89% to
   62-67% different (measured), which the page counts and shows. Why the term: see below.

   Why REINFORCE and not PPO or KTO: each batch of answers is sampled from the current model and
   used for exactly one update, so PPO's probability ratio is 1 and its clipping would never act;
   PPO would also need a value network. With K answers per prompt the leave-one-out baseline does
   the value network's job for free (Ahmadian et al. 2024, "Back to Basics: REINFORCE-style
   optimization for learning from human feedback"; nanochat's RL step is the same idea). KTO
   learns from the binary labels directly and needs no reward model, but then the model only
   ever sees the few hundred rated answers (tried: it crushed the rated-down answers by ~80 nats
   and made the greedy answers worse); with a reward model it practises on fresh answers to any
   number of prompts, and the reward model's held-out accuracy is something we can show.

What to expect (measured 2026-11-29 on models/tuned.safetensors; 2 threads; 300 "helpful"
ratings): only ~23% of the ratings are 👎; with seed 0 the reward model is right on 74% of held-out
ratings (always guessing 👍: 71%) and flags 8 of the 17 held-out 👎. In the benchmark's 2 minutes
(seed 0) the approved share of sampled answers (temperature 1, as the answers to rate are sampled)
to held-out questions rose from 79.4% to 96.3% and 95.0% in two runs (120 and 132 policy steps);
with the rule itself as the reward to 95.0% and 94.7%, and with no reward at all (the entropy term
alone) to 92.2% and 93.1%. The mean KL to the tuned model was 0.064-0.067 nats per token, and the
4 sampled answers to a question went from 89% to 65% different. The README's command (150 steps)
made the shipped model: 95.0%. The same measurement with seeds 1 and 2 (other ratings, practice
questions and held-out samples; 107-128 steps in 2 minutes, two runs each) went from 82.2% to 95.0%
and 94.7%, and from 75.6% to 95.0% and 96.6%: over six runs 94.7-96.6%, 95.4% on average. The
target of 95% is met at its edge, not with room to spare. Greedy answers (what the chat shows) stay
at 97-98%, where they started. Unsafe advice is not what "helpful" ratings are about (300 of them
hold ~7 unsafe answers among ~70 👎); the "safe" rater is for it.

Why the entropy term (2-minute runs, seed 0 unless said; sampled approval checked on the bench's
320 answers; one check has a standard error of about 1.5 points). Without it (gamma = 0) the
sampled share levelled off at 87-89% with the reward model and at 90-93% even with the rule itself
as the reward, a perfect reward model, and nothing else lifted it: not a lower or no KL price (beta
0 to 1), a higher learning rate, bigger batches, another practice temperature (0.7, 1, 1.3), 3.4
times as many practice questions, 14 minutes instead of 2, a supervised term on each question's
best answer, nor letting the final layer norm (which sets how sure the model is) learn 100 times
faster. What fails at temperature 1 is a long tail: now and then a fluent answer to another
question (the deliberately off-topic pairs the model was tuned on), a curt one, a word-salad token
("I am srom half to meet again, talk."), each unlikely, on different questions; feedback
unlearns them question by question (tuned without its weak pairs, `SFTSpec(include_weak=False)`,
the model is approved 97% sampled with no feedback at all). A surer model would pass: sampled at
temperature 0.6, the tuned model is approved 92%, the feedback model without the term 97.5%. The
entropy term buys that sureness directly, measured at gamma = 0.3, 0.6, 0.8, 1.0 and 1.5, 120
policy steps, one thread: 92.8, 94.4, 94.1, 96.3 and (seeds 1, 2) 94.4, 95.0; at gamma = 1 with
seeds 1 and 2, 94.1 and 94.4. The ratings still matter: the entropy term alone, with the same
reward for every answer (`reward_rule="none"`, the bench's third ablation), reached 91-93% (checks
every 40 steps up to 160), against 96.6% with them after 160 steps: on its own it cuts the
off-topic answers of 320 from 46 to 11 but the curt ones only from 28 to 15 (with the ratings: 8
and 2). Its price: answers vary less, and the KL to the tuned model is about three times higher
(0.07 against 0.02 nats per token).

Why beta = 1.0 (the KL price; measured 2026-11-28 on the previous tuned model, lr 1e-3, whose
weaker answers left the reward model more to exploit): with 0.3 the policy drifted towards fluent
stock answers that the reward model over-rates (another subject's answer, well formed), and greedy
approval fell from 96% to 87% while the reward rose; with 0.6 it fell to 92%; with 1.0 it held
(96%) and sampled approval rose as much (70% -> 80%), measured in 2-minute runs. The rule itself as
the reward (the ablation `reward_rule="helpful"`, a perfect reward model) reached 95% greedy, 79%
sampled.

With the "safe" rater (which reads answers to safety questions, where unsafe advice turns up),
300 ratings hold ~15 unsafe answers; the reward model then spots them on held-out ratings (2 of
2 in the bench of 2026-11-29). The tuned model gives 2 unsafe greedy answers to the 397 held-out
questions, none after 2 minutes of feedback; on the 55 held-out safety questions its unsafe
sampled answers fall from 5.5% to 0% (of all sampled answers: 1.6% to 0.3%).

A job-friendly generator: `run(...)` yields Status, RewardStep, RewardModelReady, PolicyStep and
Done events and returns a LoadedModel with facts kind="feedback".

    >>> tuned = load_model("models/tuned.safetensors")                        # doctest: +SKIP
    >>> rs = RatingsStore(); simulate(rs, tuned, "helpful", 300)              # doctest: +SKIP
    >>> fb = yield from run(tuned, rs.ratings(), FeedbackSpec(minutes=2))     # doctest: +SKIP

References: Williams 1992 (REINFORCE); Ouyang et al. 2022 (reward model from comparisons, KL
penalty to the SFT model); Ahmadian et al. 2024 (RLOO); Ethayarajh et al. 2024 (KTO); Korbak et
al. 2022 ("RL with KL penalties is better viewed as Bayesian inference"); Kirk et al. 2024 (RLHF
makes answers less varied).
"""
from __future__ import annotations

import copy
import datetime as _dt
import functools
import math
import os
import random
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import chat
from .corpus import instructions as ins
from .model import GPT
from .paramfile import LoadedModel, load_model
from .raters import RATERS, get_rater
from .ratings import Rating, RatingsStore, sim_rater
from .sft import heldout_loss
from .events import Status
from .training import TrainingError, completed, drain, model_job, progress_and_stop

ROOT = Path(__file__).resolve().parent.parent
MIN_RATINGS = 20          # fewer, and the held-out accuracy means nothing
MIN_EACH = 3              # at least this many thumbs up AND thumbs down
NO_REWARD = "none"        # run(reward_rule=...): the ablation in which the ratings teach nothing


# The policy loss as the page shows it (st.latex), and what its letters mean.
# Four lines (KaTeX "aligned"), so it fits a narrow screen or a projector at large text.
FORMULA = (r"\begin{aligned} \mathcal{L}(\theta) &= -\frac{1}{N}\sum_{i=1}^{N} A_i \sum_t "
           r"\log\pi_\theta(y_{i,t}\mid x_i, y_{i,<t}) \\ &\quad + \frac{\beta}{N}\sum_{i=1}^{N}"
           r"\sum_t \mathrm{KL}\big(\pi_\theta\,\|\,\pi_{\mathrm{tuned}}\big)_{i,t} "
           r"\\ &\quad + \frac{\gamma}{N}\sum_{i=1}^{N}\sum_t H\big(\pi_\theta\big)_{i,t} \\ "
           r"A_i &= \frac{r_i - b_i}{\sigma} \end{aligned}")
FORMULA_LEGEND = (
    "x = a question, y = one of the K = 8 answers the model writes to it, N = all answers of the "
    "step. r = the reward model's chance of a 👍 for answer i; b = the average reward of the "
    "other answers to the same question, so only better-than-usual answers are pushed up and "
    "worse ones down (σ = the spread of r − b in the step). The KL term, the distance from the "
    "tuned model at every word of the answer, keeps the model from drifting into gibberish that "
    "happens to fool the reward model; β says how much that distance costs. H, the entropy, is how "
    "unsure the model is of its next word; γ prices it, so the model also grows surer and a sampled "
    "answer seldom wanders onto an odd word. The cost: its answers to one question vary less "
    "(counted below, after “Count”).")


# --------------------------------------------------------------------------------------------------
# Config and events

@dataclass
class FeedbackSpec:
    seed: int = 0                   # prompt order, sampling, the held-out split
    minutes: float | None = 2.0     # time budget for both phases (None: run all `steps`)
    steps: int = 200                # upper bound on policy steps
    max_new_tokens: int = 64        # answers longer than this are cut (the chat page's limit)
    temperature: float = 0.7        # practise on answers close to what the chat writes (see run)
    # reward model
    rm_steps: int = 200             # full-batch Adam steps on the head (a second or two)
    rm_lr: float = 1e-2
    rm_l2: float = 1e-2             # weight decay on the 6 summary features
    # and on the 3C hidden-state features: the one of these that predicts best on held-out folds
    # of the training ratings (helpful ratings want a strong one, safe ratings a weak one)
    rm_l2_states: tuple[float, ...] = (0.01, 0.1, 0.3)
    rm_folds: int = 4
    rm_heldout: float = 0.2         # share of rated prompts held out for the accuracy
    # policy
    prompts_per_step: int = 8       # x samples_per_prompt answers per step (one batch when the
    samples_per_prompt: int = 8     #   prompts have one length); K: the baseline averages K-1
    lr: float = 2e-4                # Adam; 5e-4 already drifts (greedy answers got worse)
    kl_coef: float = 1.0            # beta: the price of one nat of KL per answer (why 1.0: module doc)
    entropy_coef: float = 1.0       # gamma: the price of one nat of unsureness per answer (module doc)
    whiten: bool = True             # divide the advantages by their spread (as GRPO does)
    grad_clip: float = 1.0


@dataclass
class RewardStep:
    step: int
    loss: float
    train_acc: float


@dataclass
class RewardModelReady:
    n_train: int
    n_heldout: int
    train_acc: float
    heldout_acc: float
    majority: float          # accuracy of always guessing the more common rating (held out)
    seconds: float
    penalty: float | None = None   # the weight penalty on the hidden-state features it chose
    # held out, what accuracy alone hides when 👎 are rare: how many of the 👎 it flags (scores
    # not above even, as the accuracy counts them), and how many 👍 it wrongly flags
    downs: int = 0
    downs_flagged: int = 0
    ups_flagged: int = 0

    def flagged_text(self) -> str:
        """'it flags 1 of the 3 held-out 👎 answers, and wrongly 1 of the 54 👍 ones'"""
        ups = self.n_heldout - self.downs
        if self.downs == 0:
            return "none of the held-out ratings is 👎, so they cannot show whether it spots a bad answer"
        return (f"it flags {self.downs_flagged} of the {self.downs} held-out 👎 answers"
                + (f", and wrongly {self.ups_flagged} of the {ups} 👍 ones" if ups else ""))


@dataclass
class PolicyStep:
    step: int
    reward: float            # mean reward-model approval of this step's answers (0..1)
    kl: float                # mean per-token KL to the tuned model (nats)
    entropy: float           # mean per-token entropy at temperature 1: how unsure the model is (nats)
    length: float            # mean answer length in tokens
    ended: float             # share of answers that closed with <|end|>
    elapsed: float
    progress: float          # 0..1
    eta: float
    sample: str              # one of the answers, to read along


@dataclass
class Done:
    steps: int
    reason: str              # "done", "time", "cancelled"
    elapsed: float


Event = Status | RewardStep | RewardModelReady | PolicyStep | Done


# --------------------------------------------------------------------------------------------------
# Bad input: what is missing before we can learn

def check_ratings(ratings: Sequence[Rating]) -> str | None:
    """Why these ratings cannot train a reward model yet, or None if they can.

    >>> check_ratings([])
    'There are no ratings yet: rate some answers with 👍 or 👎, or let a simulated rater rate 200.'
    >>> check_ratings([Rating("Hi", "Hello.", 1, "tuned", "s")])[:24]
    'The only rating is 👍: th'
    """
    n = len(ratings)
    up = sum(r.rating > 0 for r in ratings)
    if n == 0:
        return ("There are no ratings yet: rate some answers with 👍 or 👎, or let a simulated "
                "rater rate 200.")
    every = "The only rating is" if n == 1 else f"All {n} ratings are"
    if up == n:
        return (f"{every} 👍: the reward model cannot learn what a bad answer looks "
                f"like. Give at least {MIN_EACH} 👎 too.")
    if up == 0:
        return (f"{every} 👎: the reward model cannot learn what a good answer looks "
                f"like. Give at least {MIN_EACH} 👍 too.")
    if n < MIN_RATINGS:
        return (f"Only {n} rating{'s' if n != 1 else ''} so far: the reward model needs at least "
                f"{MIN_RATINGS} (some of them are kept aside to test it).")
    if min(up, n - up) < MIN_EACH:
        few = "👎" if up > n - up else "👍"
        return f"Only {min(up, n - up)} {few} so far: give at least {MIN_EACH} of each."
    if len({r.prompt for r in ratings}) < 2:
        return "All ratings are for one question: rate answers to at least two different questions."
    return None


# --------------------------------------------------------------------------------------------------
# Sampling answers, many at once

def answer_head(tok, prompt: str, max_new_tokens: int, block_size: int) -> list[int]:
    """The chat prompt's ids, cut so that prompt + answer fit the context."""
    ids, _ = chat.prompt_ids(tok, prompt, max(1, block_size - max_new_tokens - 3))
    return ids


@torch.no_grad()
def sample_batch(model: GPT, tok, heads: Sequence[Sequence[int]], max_new_tokens: int,
                 temperature: float = 1.0, gen: torch.Generator | None = None) -> list[list[int]]:
    """One answer after each head, all sampled side by side (one batch, KV cache). The heads must
    have the same length (the positions are shared). Each answer is a list of ids, ending with
    <|end|> if the model closed it. Example: 32 answers of 64 tokens take 64 forward passes of a
    batch of 32, not 2,048 passes of one."""
    gen = gen or torch.Generator().manual_seed(0)
    sp = chat.special_ids(tok)
    stop = {sp[chat.END], sp[chat.EOT]}
    if len({len(h) for h in heads}) != 1:
        raise ValueError("sample_batch needs heads of one length")
    max_new_tokens = min(max_new_tokens, model.config.block_size - len(heads[0]))  # tiny context
    was = model.training
    model.eval()
    out = model(torch.tensor([list(h) for h in heads]))
    cache, logits = out.kv_cache, out.logits[:, -1]                       # (B, V)
    seqs: list[list[int]] = [[] for _ in heads]
    done = [False] * len(heads)
    for t in range(max_new_tokens):
        if temperature <= 0:
            nxt = logits.argmax(-1)
        else:
            nxt = torch.multinomial((logits.float() / temperature).softmax(-1), 1, generator=gen)[:, 0]
        for i, tid in enumerate(nxt.tolist()):
            if not done[i]:
                seqs[i].append(tid)
                done[i] = tid in stop
        if all(done) or t == max_new_tokens - 1:
            break
        out = model(nxt[:, None], kv_cache=cache)                          # one new token each
        cache, logits = out.kv_cache, out.logits[:, -1]
    model.train(was)
    return seqs


def sample_answers(model: GPT, tok, prompt: str, k: int, max_new_tokens: int = chat.MAX_NEW_TOKENS,
                   temperature: float = 1.0, gen: torch.Generator | None = None) -> list[list[int]]:
    """k answers to one prompt, sampled side by side."""
    head = answer_head(tok, prompt, max_new_tokens, model.config.block_size)
    return sample_batch(model, tok, [head] * k, max_new_tokens, temperature, gen)


CUT = " …"   # marks an answer that was cut off before the model closed it with <|end|>


def answer_text(tok, ids: Sequence[int]) -> str:
    """The answer as text, without special tokens; one that did not close with <|end|> gets " …"
    at the end, so that raters (people and rules) see that it was cut off."""
    sp = chat.special_ids(tok)
    text = tok.decode([i for i in ids if i not in sp.values()]).strip()
    return text if ids and ids[-1] == sp[chat.END] else text + CUT


def sample_texts(loaded: LoadedModel, prompt: str, k: int = 4, seed: int = 0,
                 temperature: float = 1.0, max_new_tokens: int = chat.MAX_NEW_TOKENS) -> list[str]:
    """k sampled answers as text (the page's "4 answers to rate")."""
    gen = torch.Generator().manual_seed(seed)
    return [answer_text(loaded.tokenizer, s) for s in
            sample_answers(loaded.model, loaded.tokenizer, prompt, k, max_new_tokens, temperature, gen)]


# --------------------------------------------------------------------------------------------------
# Simulated raters fill the database

@dataclass
class Rated:
    done: int
    total: int


def training_prompts(seed: int = 0, topic: str | None = None) -> list[str]:
    """Distinct prompts of the instruction data's training split (never the held-out ones), of
    one topic if given."""
    return list(_training_prompts(seed, topic))


@functools.lru_cache(maxsize=16)
def _training_prompts(seed: int, topic: str | None) -> tuple[str, ...]:
    return tuple(sorted({p.prompt for p in ins.instruction_data(seed).train
                         if topic is None or p.topic == topic}))


def simulate(store: RatingsStore, loaded: LoadedModel, rater: str, n: int = 200, *, seed: int = 0,
             session: str = "simulated", per_prompt: int = 4,
             cancel: threading.Event | None = None) -> Iterator[Rated]:
    """Sample answers from `loaded` to random training prompts, `per_prompt` per prompt, rate them
    with the simulated rater, and store them marked 'sim:<rater>'. An answer that comes out twice
    for the same prompt is rated once, so this samples until it has `n` different ones (or has
    asked every training prompt). A rater with a focus (the "safe" one) reads answers to the
    questions of its topic, where what it looks for turns up. Yields progress; returns how many
    ratings were new."""
    rule = get_rater(rater)
    prompts = training_prompts(0, rule.focus)
    random.Random(seed).shuffle(prompts)
    gen = torch.Generator().manual_seed(seed)
    rows: dict[tuple[str, str], tuple] = {}
    for prompt in prompts:
        if len(rows) >= n or (cancel is not None and cancel.is_set()):
            break
        for ids in sample_answers(loaded.model, loaded.tokenizer, prompt, per_prompt, gen=gen):
            text = answer_text(loaded.tokenizer, ids)
            if len(rows) < n and (prompt, text) not in rows:
                rows[prompt, text] = (prompt, text, rule.rate(prompt, text), loaded.name, session,
                                      sim_rater(rater))
        yield Rated(len(rows), n)
    return store.add_many(rows.values())


# --------------------------------------------------------------------------------------------------
# The reward model

def trunk(gpt: GPT, idx: torch.Tensor) -> torch.Tensor:
    """The transformer without its output layer: ids (B, T) -> hidden states after ln_f (B, T, C)."""
    x = gpt.wte(idx) + gpt.wpe(torch.arange(idx.size(1)))                 # (B, T, C)
    for block in gpt.h:
        x, _, _ = block(x)
    return gpt.ln_f(x)


class RewardModel(nn.Module):
    """The tuned model's trunk, frozen, + a linear head: (question, answer) -> a score (the logit
    of 👍).

    The head reads the answer's hidden states averaged; the state at the answer's last token (it
    has seen everything); the product of the averaged question and answer states (large where
    they agree); and six single numbers: the answer's length (log tokens: an average cannot
    count), how natural the answer is to the tuned model (its mean log-probability per token:
    gibberish is improbable), and four answers to "is this answer about the question?": the
    cosine of the averaged question and answer states, the same for their word embeddings, and
    how much of the question the answer echoes (`echo`) in word embeddings and in hidden states.
    Only the head learns: with a few hundred ratings, fine-tuning the trunk too just memorises
    them (measured: no better on held-out ratings), and a frozen trunk means the features are
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
        h = trunk(self.gpt, idx)                                           # (B, T, C)
        a, q = (roles == 2).unsqueeze(-1).float(), (roles == 1).unsqueeze(-1).float()
        n = a.sum(1)                                                       # (B, 1) answer tokens
        mean_a = (h * a).sum(1) / n.clamp(min=1.0)                         # (B, C)
        mean_q = (h * q).sum(1) / q.sum(1).clamp(min=1.0)
        last = h[torch.arange(h.size(0)), (roles == 2).long().cumsum(1).argmax(1)]
        logp = self.gpt.lm_head(h[:, :-1]).log_softmax(-1).gather(-1, idx[:, 1:, None])[..., 0]
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


N_SUMMARY = 6        # answer length, naturalness, and four "does it answer this question?" figures


def echo(v: torch.Tensor, q: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """How much of the question the answer echoes: for each question token, the cosine of the most
    similar answer token, averaged over the question. v (B, T, C) unit vectors; q, a (B, T, 1)
    masks -> (B, 1)."""
    sim = v @ v.transpose(1, 2)                                            # (B, T, T)
    best = sim.masked_fill(a.transpose(1, 2) == 0, -1.0).max(-1).values    # (B, T)
    return (best * q[..., 0]).sum(1, keepdim=True) / q[..., 0].sum(1, keepdim=True).clamp(min=1.0)


def encode_rated(tok, prompt: str, answer: str, block_size: int) -> tuple[list[int], list[int]]:
    """(ids, roles) for the reward model: the chat template with the answer and <|end|>, cut to
    the context; roles are 1 for the question's tokens, 2 for the answer's (and <|end|>), 0 for
    the other special tokens. Example: "Hi", "Hello." -> roles [0, 0, 1, 0, 2, 2, 2]."""
    sp = chat.special_ids(tok)
    a = tok.encode(answer)[: block_size // 2 - 1] + [sp[chat.END]]
    head = answer_head(tok, prompt, len(a), block_size)
    return head + a, [0, 0] + [1] * (len(head) - 3) + [0] + [2] * len(a)


def pad(rows: Sequence[Sequence[int]], value: int = 0) -> torch.Tensor:
    """Right-pad to one length: [[1, 2], [3]] -> tensor([[1, 2], [3, 0]]). With causal attention
    the padding after a sequence never changes what its real tokens see."""
    T = max(len(r) for r in rows)
    return torch.tensor([list(r) + [value] * (T - len(r)) for r in rows], dtype=torch.long)


def split_heldout(ratings: Sequence[Rating], share: float, seed: int) -> tuple[list[Rating], list[Rating]]:
    """(train, held out), split by prompt: all ratings of a held-out prompt are held out."""
    prompts = sorted({r.prompt for r in ratings})
    random.Random(seed).shuffle(prompts)
    n_out = min(len(prompts) - 1, max(1, round(share * len(prompts))))
    out = set(prompts[:n_out])
    return [r for r in ratings if r.prompt not in out], [r for r in ratings if r.prompt in out]


def train_reward_model(loaded: LoadedModel, ratings: Sequence[Rating], spec: FeedbackSpec,
                       cancel: threading.Event | None = None) -> Iterator:
    """Fit the reward model's head to the ratings (binary cross-entropy, 👍 = 1, 👎 = 0, a little
    L2); yields RewardStep events and a RewardModelReady, returns the RewardModel."""
    t0 = time.perf_counter()
    tok, bs = loaded.tokenizer, loaded.config.block_size
    train, held = split_heldout(ratings, spec.rm_heldout, spec.seed)
    rm = RewardModel(loaded.model)

    def tensors(rs):
        enc = [encode_rated(tok, r.prompt, r.answer, bs) for r in rs]
        f = torch.cat([rm.features(pad([e[0] for e in enc[i:i + 64]], tok.eot_id),
                                   pad([e[1] for e in enc[i:i + 64]])) for i in range(0, len(enc), 64)])
        return f, torch.tensor([1.0 if r.rating > 0 else 0.0 for r in rs])

    x, y = tensors(train)
    hx, hy = tensors(held) if held else (None, None)
    penalty = choose_penalty(rm, x, y, [r.prompt for r in train], spec)
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


def _rounded(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 3)


def choose_penalty(rm: RewardModel, x: torch.Tensor, y: torch.Tensor, prompts: Sequence[str],
                   spec: FeedbackSpec) -> float:
    """The weight penalty on the hidden-state features (one of spec.rm_l2_states) whose head
    predicts best on held-out folds of the training ratings (k-fold by prompt, cross-entropy).
    The held-out ratings of the accuracy figure are never used. x (N, F), y (N,)."""
    options = list(spec.rm_l2_states)
    order = sorted(set(prompts))
    random.Random(spec.seed).shuffle(order)
    fold_of = {p: i % spec.rm_folds for i, p in enumerate(order)}
    fold = torch.tensor([fold_of[p] for p in prompts])
    if len(options) == 1 or len(order) < spec.rm_folds:
        return options[0]
    loss = []
    for penalty in options:
        total = 0.0
        for k in range(spec.rm_folds):
            out = fold == k
            if y[~out].min() == y[~out].max():           # a fold without both ratings: skip it
                continue
            drain(_fit_head(rm, x[~out], y[~out], spec, penalty, None))
            with torch.no_grad():
                total += float(F.binary_cross_entropy_with_logits(rm.score_features(x[out]), y[out],
                                                                  reduction="sum"))
        loss.append(total)
    return options[min(range(len(options)), key=loss.__getitem__)]


def _fit_head(rm: RewardModel, x: torch.Tensor, y: torch.Tensor, spec: FeedbackSpec, penalty: float,
              cancel: threading.Event | None) -> Iterator[RewardStep]:
    """Full-batch Adam on the head (features scaled to the training set, bias at the base rate);
    `penalty` weighs the squared hidden-state weights, spec.rm_l2 the six summary weights."""
    rm.mu.copy_(x.mean(0))
    rm.sd.copy_(x.std(0) + 1e-4)
    with torch.no_grad():
        p = y.mean().clamp(0.02, 0.98)
        rm.head.weight.zero_()
        rm.head.bias.fill_(math.log(p / (1 - p)))                        # start at the base rate
    opt = torch.optim.Adam(rm.head.parameters(), lr=spec.rm_lr)
    for step in range(1, spec.rm_steps + 1):                              # full batch: it is small
        if cancel is not None and cancel.is_set():
            break
        loss = F.binary_cross_entropy_with_logits(rm.score_features(x), y)
        opt.zero_grad(set_to_none=True)
        w = rm.head.weight[0]
        l2 = penalty * w[:rm.n_states].square().sum() + spec.rm_l2 * w[rm.n_states:].square().sum()
        (loss + l2).backward()
        opt.step()
        if step % 25 == 0 or step == spec.rm_steps:
            yield RewardStep(step, loss.item(), _accuracy(rm, x, y))


@torch.no_grad()
def _accuracy(rm: RewardModel, x, y) -> float:
    return float(((rm.score_features(x) > 0).float() == y).float().mean())


@torch.no_grad()
def reward(rm: RewardModel, tok, prompt: str, answers: Sequence[str], block_size: int) -> torch.Tensor:
    """The reward of each answer: sigmoid(score), the reward model's chance of a 👍. (len(answers),)"""
    enc = [encode_rated(tok, prompt, a, block_size) for a in answers]
    return torch.sigmoid(rm(pad([e[0] for e in enc], tok.eot_id), pad([e[1] for e in enc])))


# --------------------------------------------------------------------------------------------------
# Policy optimisation

def answer_logprobs(model: GPT, ref: GPT | None, heads: Sequence[Sequence[int]],
                    answers: Sequence[Sequence[int]], eot: int, temperature: float = 1.0,
                    entropy: bool = False):
    """Per answer: the sum of its tokens' log-probabilities under `model` (with gradients), the
    number of tokens, the exact per-token KL(model || ref) summed over the answer, and (if asked)
    the entropy of the model's next-token distribution at temperature 1 summed over the answer:
    how unsure it is where the 4 answers to rate are sampled. With a temperature, the
    log-probabilities and the KL are those of the distributions that temperature samples from.

    Returns (logp_sum (B,), n_tokens (B,), kl_sum (B,) or None, entropy_sum (B,) or None)."""
    rows = [list(h) + list(a) for h, a in zip(heads, answers)]
    idx = pad(rows, eot)                                                   # (B, T)
    B = idx.shape[0]
    # position j predicts token j+1: the answer's M tokens are predicted from len(head)-1 on, and
    # only those positions go through the vocabulary-sized steps below (not the question's, nor
    # the padding: about half the work)
    at_b = torch.tensor([i for i, a in enumerate(answers) for _ in a], dtype=torch.long)      # (M,)
    at_t = torch.tensor([len(h) - 1 + j for h, a in zip(heads, answers) for j in range(len(a))],
                        dtype=torch.long)                                                      # (M,)

    def per_answer(x: torch.Tensor) -> torch.Tensor:                       # (M,) -> (B,) sums
        return torch.zeros(B, dtype=x.dtype).index_add(0, at_b, x)

    tau = temperature if temperature > 0 else 1.0
    logits = model(idx).logits[at_b, at_t].float()                         # (M, V)
    logp_all = (logits / tau).log_softmax(-1)
    logp = logp_all.gather(-1, idx[at_b, at_t + 1, None]).squeeze(-1)      # (M,)
    kl_sum = None
    if ref is not None:
        with torch.no_grad():
            ref_logp = (ref(idx).logits[at_b, at_t].float() / tau).log_softmax(-1)
        kl_sum = per_answer((logp_all.exp() * (logp_all - ref_logp)).sum(-1))   # exact KL
    ent_sum = None
    if entropy:
        logp_1 = logits.log_softmax(-1)                                    # (M, V) at T = 1
        ent_sum = per_answer(-(logp_1.exp() * logp_1).sum(-1))
    n_tok = torch.tensor([float(len(a)) for a in answers])
    return per_answer(logp), n_tok, kl_sum, ent_sum


def policy_step(model: GPT, ref: GPT, score: Callable[[str, list[str]], torch.Tensor], tok,
                prompts: Sequence[str], opt: torch.optim.Optimizer, spec: FeedbackSpec,
                gen: torch.Generator) -> dict:
    """One REINFORCE update on K fresh answers to each prompt; `score(prompt, answers)` gives
    their rewards in 0..1 (the reward model's chance of a 👍). Returns the step's figures."""
    bs, K = model.config.block_size, spec.samples_per_prompt
    heads = [answer_head(tok, p, spec.max_new_tokens, bs) for p in prompts]
    by_length: dict[int, list[int]] = {}                 # prompts of one length: one batch
    for i, h in enumerate(heads):
        by_length.setdefault(len(h), []).append(i)
    answers: list[list[int]] = [[] for _ in range(len(prompts) * K)]
    for group in by_length.values():
        batch = sample_batch(model, tok, [heads[i] for i in group for _ in range(K)],
                             spec.max_new_tokens, spec.temperature, gen)
        for j, i in enumerate(group):
            answers[i * K:(i + 1) * K] = batch[j * K:(j + 1) * K]
    texts = [answer_text(tok, a) for a in answers]
    rewards, advantages = [], []
    for i, prompt in enumerate(prompts):
        r = score(prompt, texts[i * K:(i + 1) * K])                        # (K,)
        baseline = (r.sum() - r) / max(1, K - 1)                           # mean of the others
        rewards.append(r)
        advantages.append(r - baseline)
    heads = [h for h in heads for _ in range(K)]
    rewards, adv = torch.cat(rewards), torch.cat(advantages)
    if spec.whiten:                        # a step of near-equal rewards still moves a little
        adv = adv / (adv.std() + 0.05)
    model.train()
    logp, n_tok, kl, ent = answer_logprobs(model, ref, heads, answers, tok.eot_id, spec.temperature,
                                           entropy=True)
    pg = -(adv * logp).sum() / len(answers)
    tokens = n_tok.sum().clamp(min=1.0)
    kl_tok, ent_tok = kl.sum() / tokens, ent.sum() / tokens            # reported: nats per token
    loss = (pg + spec.kl_coef * kl.sum() / len(answers)                # penalised: nats per answer
            + spec.entropy_coef * ent.sum() / len(answers))
    if not torch.isfinite(loss):
        raise TrainingError("The policy update diverged (the loss is not a number). Try a lower "
                            f"learning rate (now {spec.lr:g}).")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), spec.grad_clip)
    opt.step()
    model.eval()
    sp = chat.special_ids(tok)
    return {"reward": float(rewards.mean()), "kl": float(kl_tok.detach()),
            "entropy": float(ent_tok.detach()), "length": float(n_tok.mean()),
            "ended": sum(a[-1] == sp[chat.END] for a in answers if a) / len(answers),
            "sample": texts[0]}


def prompt_buckets(tok, prompts: Sequence[str], max_new_tokens: int, block_size: int) -> list[list[str]]:
    """The prompts grouped by the length of their chat head, so one step's answers can be sampled
    in one batch."""
    out: dict[int, list[str]] = {}
    for p in prompts:
        out.setdefault(len(answer_head(tok, p, max_new_tokens, block_size)), []).append(p)
    return [out[k] for k in sorted(out)]


def pick_prompts(buckets: Sequence[Sequence[str]], n: int, rng: random.Random) -> list[str]:
    """n prompts for one step, of one length when possible: a bucket is drawn in proportion to
    its size (so every prompt is equally likely), then filled up from the others if too small."""
    bucket = rng.choices(buckets, weights=[len(b) for b in buckets])[0]
    picked = rng.sample(list(bucket), min(n, len(bucket)))
    rest = [p for b in buckets if b is not bucket for p in b]
    return picked + rng.sample(rest, min(n - len(picked), len(rest)))


def run(tuned: LoadedModel, ratings: Sequence[Rating], spec: FeedbackSpec = FeedbackSpec(), *,
        prompts: Sequence[str] | None = None, base_name: str | None = None,
        cancel: threading.Event | None = None,
        reward_rule: str | None = None) -> Iterator[Event]:
    """Reward model, then policy optimisation of a copy of `tuned`. Returns a LoadedModel
    (facts kind="feedback"), or raises TrainingError when the ratings cannot train anything.

    reward_rule: for the benchmark's ablations only: the policy is rewarded by this simulated
    rater's rule itself (1 = 👍, 0 = 👎) instead of the reward model, which is still trained and
    measured. It shows what a perfect reward model could reach in the same time. "none": every
    answer gets the same reward, so the ratings teach nothing and only the KL and entropy terms
    act: what the push to be sure does on its own."""
    problem = check_ratings(ratings)
    if problem:
        raise TrainingError(problem)
    chat.special_ids(tuned.tokenizer)                                     # ChatError: not a chat model
    t0 = time.perf_counter()
    budget = spec.minutes * 60 if spec.minutes else None
    tok = tuned.tokenizer
    yield Status(f"Training the reward model on {len(ratings):,} ratings ...")
    rm = yield from train_reward_model(tuned, ratings, spec, cancel)

    if reward_rule is None:
        def score(prompt, texts):
            return reward(rm, tok, prompt, texts, tuned.config.block_size)
    elif reward_rule == NO_REWARD:
        def score(prompt, texts):                      # every advantage is 0
            return torch.full((len(texts),), 0.5)
    else:
        rule = get_rater(reward_rule)

        def score(prompt, texts):
            return torch.tensor([float(rule.rate(prompt, t) > 0) for t in texts])
    policy, ref = copy.deepcopy(tuned.model), tuned.model
    ref.eval()
    pool = sorted(set(prompts if prompts is not None else training_prompts(spec.seed))
                  | {r.prompt for r in ratings})
    buckets = prompt_buckets(tok, pool, spec.max_new_tokens, tuned.config.block_size)
    rng = random.Random(spec.seed)
    gen = torch.Generator().manual_seed(spec.seed)
    opt = torch.optim.Adam(policy.parameters(), lr=spec.lr)
    yield Status("Practising: the model answers training questions, the reward model scores "
                 "the answers, and the model leans towards the better ones ...")
    step, reason, first, last = 0, "done", None, None
    while True:
        _, stop = progress_and_stop(step, spec.steps, time.perf_counter() - t0, budget, cancel)
        if stop:
            reason = stop
            break
        figures = policy_step(policy, ref, score, tok, pick_prompts(buckets, spec.prompts_per_step, rng),
                              opt, spec, gen)
        step += 1
        elapsed = time.perf_counter() - t0
        progress, _ = progress_and_stop(step, spec.steps, elapsed, budget)
        first = first or figures
        last = figures
        yield PolicyStep(step, figures["reward"], figures["kl"], figures["entropy"], figures["length"],
                         figures["ended"],
                         elapsed, progress, elapsed / max(progress, 1e-9) * (1 - progress),
                         figures["sample"])
    policy.eval()
    yield Done(step, reason, time.perf_counter() - t0)
    raters = sorted({r.rater for r in ratings})
    facts = {
        "kind": "feedback",
        "name": "feedback",
        "base_model": base_name or tuned.name,
        "corpus": f"{tuned.facts.get('corpus', 'a tuned model')} + {len(ratings):,} ratings",
        "preset": tuned.facts.get("preset"),
        "parameters": policy.num_params(),
        "tokens_trained": tuned.facts.get("tokens_trained"),
        "ratings": len(ratings),
        "ratings_up": sum(r.rating > 0 for r in ratings),
        "raters": raters,
        "method": ("REINFORCE with a leave-one-out baseline + exact KL penalty to the tuned model "
                   "+ entropy penalty"),
        "reward": ("reward model" if reward_rule is None else "none: the same for every answer (ablation)"
                   if reward_rule == NO_REWARD else f"the '{reward_rule}' rule itself (ablation)"),
        "reward_model_heldout_acc": _rounded(rm.ready.heldout_acc),
        "reward_model_majority": _rounded(rm.ready.majority),
        "reward_model_penalty": rm.ready.penalty,
        "policy_steps": step,
        "stop_reason": reason,
        "reward_first_step": round(first["reward"], 4) if first else None,
        "reward_last_step": round(last["reward"], 4) if last else None,
        "kl_last_step": round(last["kl"], 4) if last else None,
        "train_seconds": round(time.perf_counter() - t0, 1),
        "seed": spec.seed,
        "spec": asdict(spec),
        "chat_template": chat.TEMPLATE,
        "special_tokens": chat.special_ids(tok),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    out = LoadedModel(policy, tok, tuned.config, facts, None)
    facts["val_loss"] = round(heldout_loss(out, spec.seed), 4)       # the model card's figure
    facts["val_loss_meaning"] = ("nats per answer token on held-out questions, as for the tuned "
                                 "model (it rises a little: the model leaves the examples' style)")
    facts["val_loss_tuned"] = tuned.facts.get("val_loss")
    return out


def job(tuned: LoadedModel, ratings: Sequence[Rating], spec: FeedbackSpec = FeedbackSpec(), *,
        base_name: str | None = None):
    """The generator function for JobManager.submit: fn(cancel) -> events, returns a LoadedModel."""
    return model_job(run, tuned, list(ratings), spec, name="feedback", base_name=base_name)


def simulate_job(store_path: str, tuned: LoadedModel, rater: str, n: int = 200, seed: int = 0):
    """JobManager job (picklable): simulated ratings into the database; returns how many."""
    from .jobs import JobSpec
    return JobSpec(simulate_into, (store_path, tuned, rater, n), {"seed": seed})


def simulate_into(store_path: str, tuned: LoadedModel, rater: str, n: int, *, seed: int,
                  cancel: threading.Event):
    return (yield from simulate(RatingsStore(store_path), tuned, rater, n, seed=seed, cancel=cancel))


# --------------------------------------------------------------------------------------------------
# Before and after

@dataclass
class Summary:
    """What the page draws from a feedback job's events."""
    status: str | None = None
    rm_steps: list[int] = field(default_factory=list)
    rm_loss: list[float] = field(default_factory=list)
    rm: RewardModelReady | None = None
    steps: list[int] = field(default_factory=list)
    reward: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    entropy: list[float] = field(default_factory=list)
    progress: float = 0.0
    eta: float | None = None
    sample: str | None = None
    done: Done | None = None


def summarize(events: Sequence) -> Summary:
    s = Summary()
    for ev in events:
        if isinstance(ev, Status):
            s.status = ev.message
        elif isinstance(ev, RewardStep):
            s.rm_steps.append(ev.step)
            s.rm_loss.append(ev.loss)
        elif isinstance(ev, RewardModelReady):
            s.rm = ev
        elif isinstance(ev, PolicyStep):
            s.steps.append(ev.step)
            s.reward.append(ev.reward)
            s.kl.append(ev.kl)
            s.entropy.append(ev.entropy)
            s.progress, s.eta, s.sample = ev.progress, ev.eta, ev.sample
        elif isinstance(ev, Done):
            s.done, s.eta = ev, 0.0                  # a stopped run keeps the share it reached
            if completed(ev.reason):
                s.progress = 1.0
    return s


@torch.no_grad()
def logprob_per_token(loaded: LoadedModel, prompt: str, answer: str) -> float:
    """Mean log-probability of the answer's tokens (and <|end|>) after the prompt: how likely the
    model is to write exactly this answer, per token. exp() of it is the typical token's chance."""
    tok = loaded.tokenizer
    ids, roles = encode_rated(tok, prompt, answer, loaded.config.block_size)
    head_len = roles.index(2)
    logp, n, _, _ = answer_logprobs(loaded.model, None, [ids[:head_len]], [ids[head_len:]], tok.eot_id)
    return float(logp[0] / n[0])


@dataclass
class Judged:
    prompt: str
    topic: str
    answers: list[str]
    verdicts: list[int]          # +1 / -1 from the rater


def judge(loaded: LoadedModel, rater: str, prompts: Sequence[tuple[str, str]], samples: int = 4,
          seed: int = 0, temperature: float = 1.0,
          max_new_tokens: int = chat.MAX_NEW_TOKENS) -> list[Judged]:
    """`samples` answers to each (prompt, topic), rated by the simulated rater (temperature 0:
    the greedy answer, as the chat shows it). Prompts of one length are answered in one batch;
    the same seed and prompts give every model the same dice."""
    rule, tok = get_rater(rater), loaded.tokenizer
    gen = torch.Generator().manual_seed(seed)
    bs = loaded.config.block_size
    heads = [answer_head(tok, p, max_new_tokens, bs) for p, _ in prompts]
    texts: list[list[str]] = [[] for _ in prompts]
    by_length: dict[int, list[int]] = {}
    for i, h in enumerate(heads):
        by_length.setdefault(len(h), []).append(i)
    for L in sorted(by_length):
        group = by_length[L]
        batch = sample_batch(loaded.model, tok, [heads[i] for i in group for _ in range(samples)],
                             max_new_tokens, temperature, gen)
        for j, i in enumerate(group):
            texts[i] = [answer_text(tok, a) for a in batch[j * samples:(j + 1) * samples]]
    return [Judged(p, t, texts[i], [rule.rate(p, a) for a in texts[i]])
            for i, (p, t) in enumerate(prompts)]


def approval(judged: Sequence[Judged]) -> float:
    """Share of 👍 among all judged answers."""
    v = [x for j in judged for x in j.verdicts]
    return sum(x > 0 for x in v) / max(1, len(v))


@dataclass
class BeforeAfter:
    """One rater's verdicts on held-out questions (never trained on), for the tuned model and the
    feedback-trained one, with the same dice for both: `greedy` answers every distinct held-out
    question once with the likeliest word each time (as the chat answers); `sampled` answers a few
    questions per topic several times at temperature 1 (as the 4 answers to rate are sampled)."""
    rater: str
    greedy: tuple[list[Judged], list[Judged]]          # (tuned, after feedback)
    sampled: tuple[list[Judged], list[Judged]]

    def shares(self) -> dict:
        """{"greedy"|"sampled": {"prompts", "answers", "approved_before", "approved_after",
        "reasons"}}; reasons: {kind of 👎 reason: [answers before, answers after]}, commonest
        first (an answer can have more than one reason, e.g. too short and off topic). "sampled"
        also has "distinct_before" and "distinct_after": how much the answers to one question vary
        (`variety`)."""
        out = {how: {"prompts": len(b), "answers": sum(len(j.verdicts) for j in b),
                     "approved_before": round(approval(b), 3), "approved_after": round(approval(a), 3),
                     "reasons": reason_counts(self.rater, b, a)}
               for how, (b, a) in (("greedy", self.greedy), ("sampled", self.sampled))}
        out["sampled"].update(distinct_before=round(variety(self.sampled[0]), 3),
                              distinct_after=round(variety(self.sampled[1]), 3))
        return out


def variety(judged: Sequence[Judged]) -> float:
    """How much a model's sampled answers to one question vary: the share of them that differ
    from each other (4 answers, 3 of them the same: 2/4), averaged over the questions. Feedback
    makes a model surer, so its answers vary less (as with large assistants: Kirk et al. 2024).

    >>> variety([Judged("Hi?", "small talk", ["Hello.", "Hello.", "Hi.", "Hey."], [1, 1, 1, 1])])
    0.75
    """
    return sum(len(set(j.answers)) / len(j.answers) for j in judged) / max(1, len(judged))


def reason_counts(rater: str, *judged: Sequence[Judged]) -> dict[str, list[int]]:
    """How many 👎 answers each kind of reason accounts for, in each list of judged answers:
    {"off topic": [33, 20], "too short": [28, 6], ...}, commonest first."""
    rule = get_rater(rater)
    counts: dict[str, list[int]] = {}
    for n, js in enumerate(judged):
        for j in js:
            for answer, verdict in zip(j.answers, j.verdicts):
                if verdict < 0:
                    for kind in set(rule.kinds(j.prompt, answer)):   # once per answer
                        counts.setdefault(kind, [0] * len(judged))[n] += 1
    return dict(sorted(counts.items(), key=lambda kv: (-sum(kv[1]), kv[0])))


def reasons_text(reasons: dict[str, list[int]]) -> str:
    """reason_counts of two lists as one line (the CLI's and the bench's).

    >>> reasons_text({"off topic": [46, 29], "too short": [28, 9]})
    'off topic 46 -> 29, too short 28 -> 9'
    """
    return ", ".join(f"{kind} {before} -> {after}" for kind, (before, after) in reasons.items())


def before_after(tuned: LoadedModel, after: LoadedModel, rater: str, seed: int = 0,
                 per_topic: int = 10, samples: int = 4) -> BeforeAfter:
    """The benchmark's before/after measurement (the page shows the same figures): 397 greedy and
    80 x 4 sampled answers per model with the defaults; about 20 s on one core."""
    data = ins.instruction_data(seed)
    every = ins.heldout_prompts(data, 10_000, seed)                 # all distinct held-out prompts
    some = ins.heldout_prompts(data, per_topic, seed)
    return BeforeAfter(rater, (judge(tuned, rater, every, 1, seed, 0.0), judge(after, rater, every, 1, seed, 0.0)),
                       (judge(tuned, rater, some, samples, seed), judge(after, rater, some, samples, seed)))


@torch.no_grad()
def mean_kl(model: GPT, ref: GPT, tok, prompts: Sequence[str], samples: int = 4, seed: int = 0,
            max_new_tokens: int = chat.MAX_NEW_TOKENS) -> float:
    """Mean per-token KL(model || ref) on the model's own sampled answers (nats per token)."""
    gen = torch.Generator().manual_seed(seed)
    total, n = 0.0, 0.0
    for prompt in prompts:
        ans = sample_answers(model, tok, prompt, samples, max_new_tokens, 1.0, gen)
        head = answer_head(tok, prompt, max_new_tokens, model.config.block_size)
        _, n_tok, kl, _ = answer_logprobs(model, ref, [head] * len(ans), ans, tok.eot_id)
        total, n = total + float(kl.sum()), n + float(n_tok.sum())
    return total / max(n, 1.0)


def compare_table(tuned: LoadedModel, fb: LoadedModel | None, rater: str,
                  prompts: Sequence[tuple[str, str]], seed: int = 0) -> list[dict]:
    """One sampled answer per prompt from each model (same seed), with the rater's verdict."""
    a = judge(tuned, rater, prompts, 1, seed)
    b = judge(fb, rater, prompts, 1, seed) if fb is not None else None
    mark = {1: "👍", -1: "👎"}
    rows = []
    for i, j in enumerate(a):
        row = {"question": j.prompt, "tuned model": f"{mark[j.verdicts[0]]} {j.answers[0]}"}
        if b is not None:
            row["after feedback"] = f"{mark[b[i].verdicts[0]]} {b[i].answers[0]}"
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------------
# Benchmark

def default_tuned_path() -> Path:
    return Path(os.environ.get("EXPLAINER_MODELS_DIR") or ROOT / "models") / "tuned.safetensors"


def bench_one(tuned: LoadedModel, rater: str, n_ratings: int = 300, minutes: float = 2.0,
              seed: int = 0, per_topic: int = 10, samples: int = 4, spec: FeedbackSpec | None = None,
              reward_rule: str | None = None) -> dict:
    """Simulated ratings -> reward model -> policy, and the rater's verdicts on held-out prompts
    before and after, with the same sampling seeds for both models. reward_rule: the ablation
    (the policy is rewarded by the rule itself, see `run`)."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        store = RatingsStore(Path(d) / "ratings.sqlite")
        t0 = time.perf_counter()
        drain(simulate(store, tuned, rater, n_ratings, seed=seed))
        rate_seconds = time.perf_counter() - t0
        ratings = store.ratings()
    spec = spec or FeedbackSpec(seed=seed, minutes=minutes)
    t0 = time.perf_counter()
    events = []
    gen = run(tuned, ratings, spec, reward_rule=reward_rule)
    fb = drain(gen, events.append)
    train_seconds = time.perf_counter() - t0
    rm = next(e for e in events if isinstance(e, RewardModelReady))
    steps = [e for e in events if isinstance(e, PolicyStep)]
    t0 = time.perf_counter()
    measured = before_after(tuned, fb, rater, seed, per_topic, samples)
    shares = measured.shares()
    kl = mean_kl(fb.model, tuned.model, tuned.tokenizer, [j.prompt for j in measured.sampled[0]],
                 samples, seed)
    focus = get_rater(rater).focus                     # the questions where the rule bites most
    on_focus = {}
    if focus:                                          # greedy: the answers judged above
        fp = [(j.prompt, j.topic) for j in measured.greedy[0] if j.topic == focus]
        judged = {"greedy": [[j for j in g if j.topic == focus] for g in measured.greedy],
                  "sampled": [judge(m, rater, fp, 8, seed) for m in (tuned, fb)]}
        on_focus = {how: {"approved_before": round(approval(b), 3), "approved_after": round(approval(a), 3)}
                    for how, (b, a) in judged.items()}
        on_focus.update(prompts=len(fp), topic=focus)
    eval_seconds = time.perf_counter() - t0
    out = {
        "rater": rater, "reward": fb.facts["reward"], "ratings": len(ratings), "ratings_up_share": round(
            sum(r.rating > 0 for r in ratings) / max(1, len(ratings)), 3),
        "rate_seconds": round(rate_seconds, 1), "train_seconds": round(train_seconds, 1),
        "eval_seconds": round(eval_seconds, 1),
        "rm_heldout_accuracy": round(rm.heldout_acc, 3), "rm_majority_baseline": round(rm.majority, 3),
        "rm_heldout_downs_flagged": f"{rm.downs_flagged}/{rm.downs}",
        "rm_heldout_ups_flagged": f"{rm.ups_flagged}/{rm.n_heldout - rm.downs}",
        "rm_train_accuracy": round(rm.train_acc, 3), "policy_steps": len(steps),
        "reward_first": round(steps[0].reward, 3) if steps else None,
        "reward_last": round(steps[-1].reward, 3) if steps else None,
        "greedy": {k: v for k, v in shares["greedy"].items() if k != "answers"},
        "sampled": {**shares["sampled"], "temperature": 1.0},
        "mean_token_kl": round(kl, 4),
        "focus_questions": on_focus or None,
    }
    return out


def target_met(rater: str, before: float, after: float) -> bool:
    """The issue's targets: helpful +30 points (or >= 95% from > 65%); safe: <= 5% unsafe."""
    if rater == "safe":
        return 1 - after <= 0.05
    return after - before >= 0.30 or (before > 0.65 and after >= 0.95)


def bench_feedback(tuned_path: str | os.PathLike | None = None, seed: int = 0, minutes: float = 2.0,
                   n_ratings: int = 300, threads: int = 2, per_topic: int = 10, samples: int = 4,
                   ablate: bool = True) -> dict:
    """The issue's benchmark, measured: with the "helpful" rater and 300 ratings, the approved
    share on held-out prompts must rise by >= 30 points (or reach >= 95% from above 65%) within
    2 minutes of training; with the "safe" rater, unsafe answers must fall to <= 5%. The mean
    per-token KL to the tuned model is reported. Nothing here is hard-coded.

    ablate: also run "helpful" twice more: with the rule itself as the reward (a perfect reward
    model), to separate what the reward model misses from what 2 minutes of policy steps can
    reach; and with no reward at all (every answer the same), to show what the entropy penalty
    does without the ratings."""
    path = Path(tuned_path) if tuned_path else default_tuned_path()
    tuned = load_model(path)
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    try:
        helpful = bench_one(tuned, "helpful", n_ratings, minutes, seed, per_topic, samples)
        safe = bench_one(tuned, "safe", n_ratings, minutes, seed, per_topic, samples)
        ablation = bench_one(tuned, "helpful", n_ratings, minutes, seed, per_topic, samples,
                             reward_rule="helpful") if ablate else None
        unrated = bench_one(tuned, "helpful", n_ratings, minutes, seed, per_topic, samples,
                            reward_rule=NO_REWARD) if ablate else None
    finally:
        torch.set_num_threads(old)
    limit = minutes * 60 + 15                  # the time check allows the last step to finish
    met = {name: {how: bool(target_met(name, r[how]["approved_before"], r[how]["approved_after"])
                            and r["train_seconds"] <= limit) for how in ("greedy", "sampled")}
           for name, r in (("helpful", helpful), ("safe", safe))}
    return {
        "tuned_model": str(path), "seed": seed, "threads": threads, "minutes_budget": minutes,
        "helpful": helpful, "safe": safe, "helpful_rule_as_reward": ablation,
        "helpful_no_reward": unrated,
        "targets": {"helpful": "approved share +30 points (or >= 0.95 from > 0.65)",
                    "safe": "unsafe share (1 - approved) <= 0.05", "train_seconds": f"<= {minutes * 60:.0f}"},
        "met": met,
        "load_average_1min": {"before": load_before,
                              "after": os.getloadavg()[0] if hasattr(os, "getloadavg") else None},
        "cpu_count": os.cpu_count(),
    }


# --------------------------------------------------------------------------------------------------
# Command line: `python -m explainer feedback ...` (registered by cli.build_parser)

def add_cli(sub) -> None:
    """Add the `feedback` subcommand to the CLI's subparsers."""
    from .cli import non_negative_float, positive_float, positive_int
    s = sub.add_parser("feedback", help="learn from thumbs up/down: reward model + policy optimisation")
    s.add_argument("--ratings", help="the ratings SQLite file (default: env EXPLAINER_RATINGS_DB, "
                   "else data/ratings.sqlite)")
    s.add_argument("--base", default="tuned", help="the tuned model to improve (file, or a name in models/)")
    s.add_argument("--out", help="where to save the feedback-trained model (.safetensors)")
    s.add_argument("--simulate", type=int, default=0, metavar="N",
                   help="first add N ratings by the simulated --rater (answers sampled from --base)")
    s.add_argument("--rater", default="helpful", choices=list(RATERS),
                   help="the simulated rater for --simulate and --eval")
    s.add_argument("--use", default="all",
                   help="which ratings to learn from: all, person, sim, or sim:<rater> (e.g. sim:safe)")
    s.add_argument("--minutes", type=float, default=2.0, help="time budget for training (0 = no limit)")
    s.add_argument("--steps", type=positive_int, default=FeedbackSpec.steps,
                   help="at most this many policy steps")
    s.add_argument("--lr", type=float, default=FeedbackSpec.lr, help="policy learning rate (Adam)")
    s.add_argument("--kl", type=non_negative_float, default=FeedbackSpec.kl_coef,
                   help="beta: weight of the KL penalty (0 = none)")
    s.add_argument("--entropy", type=non_negative_float, default=FeedbackSpec.entropy_coef,
                   help="gamma: weight of the entropy penalty, the push to be sure (0 = none)")
    s.add_argument("--temperature", type=positive_float, default=FeedbackSpec.temperature,
                   help="the temperature the model practises at (its answers are sampled at it)")
    s.add_argument("--reward-rule", choices=[*RATERS, NO_REWARD], default=None,
                   help="ablation: reward the policy with this simulated rater's rule itself instead "
                   "of the reward model (which is still trained and measured): what a perfect reward "
                   f"model could reach; '{NO_REWARD}': the same reward for every answer, so only the "
                   "KL and entropy terms act")
    s.add_argument("--seed", type=int, default=0, help="seed for simulated ratings, prompts and sampling")
    s.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads")
    s.add_argument("--eval", type=int, default=0, metavar="N",
                   help="afterwards, judge both models with --rater on N held-out questions per topic")
    s.set_defaults(fn=cmd_feedback)


def cmd_feedback(args) -> int:
    from .cli import CLIError, drive, load
    from .paramfile import save_model
    from .ratings import RatingsError
    torch.set_num_threads(args.threads)
    tuned = load(args.base)
    try:
        store = RatingsStore(args.ratings)
        if args.simulate:
            n = drain(simulate(store, tuned, args.rater, args.simulate, seed=args.seed))
            print(f"stored {n} new simulated '{args.rater}' ratings in {store.path}")
        if store.notice:
            print(store.notice, file=sys.stderr)
        ratings = store.ratings(rater=None if args.use == "all" else args.use)
    except (RatingsError, ValueError) as e:
        raise CLIError(str(e)) from None
    problem = check_ratings(ratings)
    if problem:
        raise CLIError(f"{store.path} ({args.use}): {problem}")
    spec = FeedbackSpec(seed=args.seed, minutes=args.minutes or None, steps=args.steps, lr=args.lr,
                        kl_coef=args.kl, entropy_coef=args.entropy, temperature=args.temperature)
    print(f"learning from {len(ratings):,} ratings ({sum(r.rating > 0 for r in ratings):,} up) "
          f"in {store.path}")
    gen = run(tuned, ratings, spec, base_name=Path(tuned.path).stem if tuned.path else None,
              reward_rule=args.reward_rule)

    def show(ev):
        if isinstance(ev, Status):
            print(ev.message)
        elif isinstance(ev, RewardModelReady):
            print(f"reward model: held-out accuracy {ev.heldout_acc:.0%} on {ev.n_heldout} ratings "
                  f"(always guessing the commoner rating: {ev.majority:.0%}; {ev.flagged_text()}), training "
                  f"accuracy {ev.train_acc:.0%}, {ev.seconds:.0f} s")
        elif isinstance(ev, PolicyStep) and (ev.step % 5 == 0 or ev.step == 1):
            print(f"step {ev.step:4d}  reward {ev.reward:.3f}  KL {ev.kl:.4f}  entropy {ev.entropy:.3f} "
                  f"nats/token  {ev.elapsed:5.0f} s  {ev.sample[:90]!r}")
        elif isinstance(ev, Done):
            print(f"done: {ev.steps} policy steps ({ev.reason}), {ev.elapsed:.0f} s")

    loaded = drive(gen, show)
    if args.out:
        path = save_model(args.out, loaded.model, loaded.tokenizer, loaded.facts)
        print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB)")
    if args.eval:                      # the bench's measurement, on N questions per topic
        measured = before_after(tuned, loaded, args.rater, args.seed, args.eval, 4)
        kl = mean_kl(loaded.model, tuned.model, tuned.tokenizer,
                     [j.prompt for j in measured.sampled[0]], 4, args.seed)
        shares = measured.shares()                     # counts every answer's reasons: once
        for how, sh in shares.items():
            what = (f"chat answers (greedy, one to each of {sh['prompts']} held-out questions)"
                    if how == "greedy" else f"sampled answers (temperature 1, 4 to each of "
                    f"{sh['prompts']} held-out questions)")
            print(f"'{args.rater}' approves {sh['approved_before']:.1%} -> {sh['approved_after']:.1%} "
                  f"of {sh['answers']} {what}; 👎 by reason: {reasons_text(sh['reasons']) or 'none'}")
        sampled = shares["sampled"]
        print(f"sampled answers to one question that differ: {sampled['distinct_before']:.0%} -> "
              f"{sampled['distinct_after']:.0%}; mean KL to the tuned model: {kl:.4f} nats/token")
    return 0
