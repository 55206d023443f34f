"""Learning from human feedback: the tuned model practises against the reward model, while a KL
penalty keeps it close to where it started and an entropy penalty makes it surer.

REINFORCE with a leave-one-out baseline (Ahmadian et al. 2024, "Back to Basics"). Each step
samples K = 8 answers to each of 8 training questions, scores them with the reward model
(`reward.py`: r = its chance of a 👍), and nudges each answer's log-probability up or down by
how much better it did than the other answers to the same question:

    loss = - 1/N sum_i A_i * sum_t log pi(y_it | x_i, y_i<t)
           + beta  * 1/N sum_i sum_t KL( pi(. | x_i, y_i<t) || pi_tuned(. | x_i, y_i<t) )
           + gamma * 1/N sum_i sum_t H( pi(. | x_i, y_i<t) )          (H at temperature 1)
    A_i  = (r_i - b_i) / std(r - b),   b_i = the mean reward of the other answers to x_i

The KL is exact (a sum over the vocabulary), not a sampled estimate. Each batch is used for one
update, so PPO's ratio would be 1 and its clipping idle; the K answers per question do a value
network's job for free. Why these choices, and what each lever gave when measured:
docs/feedback-experiments.md.

`run(...)` yields Status, RewardStep, RewardModelReady, PolicyStep and Finished events
(`explainer.gpt.events`) and returns a LoadedModel with facts kind="feedback".

    >>> tuned = load_model("models/tuned.safetensors")                        # doctest: +SKIP
    >>> rs = RatingsStore(); drain(simulate(rs, tuned, "helpful", 300))       # doctest: +SKIP
    >>> fb = yield from run(tuned, rs.ratings(), FeedbackSpec(minutes=2))     # doctest: +SKIP

References: Williams 1992 (REINFORCE); Ouyang et al. 2022 (KL penalty to the SFT model); Korbak
et al. 2022 (KL penalty = stay close + stay varied); Kirk et al. 2024 (RLHF makes answers less
varied).
"""
from __future__ import annotations

import copy
import functools
import math
import random
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Sequence

import torch

from ..corpus import instructions as ins
from ..gpt import chat
from ..gpt.card import card
from ..gpt.events import Event, Finished, PolicyStep, Status
from ..gpt.model import GPT
from ..gpt.paramfile import LoadedModel
from ..gpt.training import TrainingError, progress_and_stop
from ..i18n import N_
from .answers import answer_head, answer_logprobs, answer_text, sample_batch
from .raters import get_rater
from .ratings import Rating
from .reward import RewardSpec, check_ratings, reward, train_reward_model
from .sft import heldout_loss

# --------------------------------------------------------------------------------------------------
# Config

# What the run says before its first policy step (Status; English here, in a worker: the page
# shows them translated, feedback_panels.status_text).
REWARD_STATUS = N_("Training the reward model on {n} ratings ...")
PRACTISE_STATUS = N_("Practising: the model answers training questions, the reward model scores "
                     "the answers, and the model leans towards the better ones ...")


@dataclass
class FeedbackSpec:
    seed: int = 0                   # prompt order, sampling, the held-out split
    minutes: float | None = 2.0     # time budget for both phases (None: run all `steps`)
    steps: int = 200                # upper bound on policy steps
    max_new_tokens: int = 64        # answers longer than this are cut (the chat page's limit)
    temperature: float = 0.7        # practise on answers close to what the chat writes
    reward: RewardSpec = field(default_factory=RewardSpec)
    # policy
    prompts_per_step: int = 8       # x samples_per_prompt answers per step (one batch when the
    samples_per_prompt: int = 8     #   prompts have one length); K: the baseline averages K-1
    lr: float = 2e-4                # Adam; 5e-4 already drifts (greedy answers got worse)
    kl_coef: float = 1.0            # beta: the price of one nat of KL per answer
    entropy_coef: float = 1.0       # gamma: the price of one nat of unsureness per answer
    grad_clip: float = 1.0


# --------------------------------------------------------------------------------------------------
# What the policy is rewarded by: the reward model, or (ablations) something else

@dataclass(frozen=True)
class Scorer:
    """fn(prompt, answers) -> (len(answers),) rewards in 0..1; `name` goes in the model's facts."""
    name: str
    fn: Callable[[str, list[str]], torch.Tensor]

    def __call__(self, prompt: str, answers: list[str]) -> torch.Tensor:
        return self.fn(prompt, answers)


def rule_as_reward(rater: str) -> Scorer:
    """Ablation: the simulated rater's rule itself as the reward (1 = 👍, 0 = 👎), a perfect
    reward model: what the policy could reach in the same time."""
    rule = get_rater(rater)
    return Scorer(f"the '{rater}' rule itself (ablation)",
                  lambda prompt, texts: torch.tensor([float(rule.rate(prompt, t) > 0) for t in texts]))


# Ablation: the same reward for every answer, so every advantage is 0 and only the KL and entropy
# terms act: what the push to be sure does on its own.
NO_REWARD = Scorer("none: the same for every answer (ablation)",
                   lambda prompt, texts: torch.full((len(texts),), 0.5))


# --------------------------------------------------------------------------------------------------
# The policy step

def policy_step(model: GPT, ref: GPT, score: Callable[[str, list[str]], torch.Tensor], tok,
                prompts: Sequence[str], opt: torch.optim.Optimizer, spec: FeedbackSpec,
                gen: torch.Generator, step: int) -> PolicyStep:
    """One REINFORCE update on K fresh answers to each prompt; `score(prompt, answers)` gives
    their rewards in 0..1 (the reward model's chance of a 👍). Returns the figures of `step` (the
    run adds where it stands: elapsed, progress, eta)."""
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
    adv = adv / (adv.std() + 0.05)         # as GRPO; a step of near-equal rewards still moves a little
    model.train()
    logp, n_tok, kl, ent = answer_logprobs(model, ref, heads, answers, spec.temperature,
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
    return PolicyStep(step, reward=float(rewards.mean()), kl=float(kl_tok.detach()),
                      entropy=float(ent_tok.detach()), length=float(n_tok.mean()),
                      ended=sum(a[-1] == sp[chat.END] for a in answers if a) / len(answers),
                      sample=texts[0])


# --------------------------------------------------------------------------------------------------
# The questions it practises on

def training_prompts(seed: int = 0, topic: str | None = None) -> list[str]:
    """Distinct prompts of the instruction data's training split (never the held-out ones), of
    one topic if given."""
    return list(_training_prompts(seed, topic))


@functools.lru_cache(maxsize=16)
def _training_prompts(seed: int, topic: str | None) -> tuple[str, ...]:
    return tuple(sorted({p.prompt for p in ins.instruction_data(seed).train
                         if topic is None or p.topic == topic}))


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


# --------------------------------------------------------------------------------------------------
# The run: reward model, then policy steps until the budget is spent

def run(tuned: LoadedModel, ratings: Sequence[Rating], spec: FeedbackSpec = FeedbackSpec(), *,
        prompts: Sequence[str] | None = None, base_name: str | None = None,
        cancel: threading.Event | None = None, score: Scorer | None = None) -> Iterator[Event]:
    """Reward model, then policy optimisation of a copy of `tuned`. Returns a LoadedModel
    (facts kind="feedback"), or raises TrainingError when the ratings cannot train anything.

    score: for the benchmark's ablations only (`rule_as_reward`, `NO_REWARD`): the policy is
    rewarded by it instead of the reward model, which is still trained and measured."""
    problem = check_ratings(ratings)
    if problem:
        raise TrainingError(problem)
    chat.special_ids(tuned.tokenizer)                                     # ChatError: not a chat model
    t0 = time.perf_counter()
    budget = spec.minutes * 60 if spec.minutes else None
    tok = tuned.tokenizer
    yield Status(REWARD_STATUS.format(n=f"{len(ratings):,}"))
    rm = yield from train_reward_model(tuned, ratings, spec.reward, spec.seed, cancel)
    score = score or Scorer("reward model", lambda p, texts: reward(rm, tok, p, texts, tuned.config.block_size))
    policy, ref = copy.deepcopy(tuned.model), tuned.model
    ref.eval()
    pool = sorted(set(prompts if prompts is not None else training_prompts(spec.seed))
                  | {r.prompt for r in ratings})
    buckets = prompt_buckets(tok, pool, spec.max_new_tokens, tuned.config.block_size)
    rng = random.Random(spec.seed)
    gen = torch.Generator().manual_seed(spec.seed)
    opt = torch.optim.Adam(policy.parameters(), lr=spec.lr)
    yield Status(PRACTISE_STATUS)
    step, reason, first, last = 0, "done", None, None
    while True:
        _, stop = progress_and_stop(step, spec.steps, time.perf_counter() - t0, budget, cancel)
        if stop:
            reason = stop
            break
        step += 1
        ev = policy_step(policy, ref, score, tok, pick_prompts(buckets, spec.prompts_per_step, rng),
                         opt, spec, gen, step)
        elapsed = time.perf_counter() - t0
        progress, _ = progress_and_stop(step, spec.steps, elapsed, budget)
        last = replace(ev, elapsed=elapsed, progress=progress,
                       eta=elapsed / max(progress, 1e-9) * (1 - progress))
        first = first or last
        yield last
    policy.eval()
    yield Finished(step, reason, elapsed=time.perf_counter() - t0)
    facts = card("feedback", policy, spec, base_model=base_name or tuned.name, tokenizer=tok,
                 corpus=f"{tuned.facts.get('corpus', 'a tuned model')} + {len(ratings):,} ratings",
                 preset=tuned.facts.get("preset"),
                 tokens_trained=tuned.facts.get("tokens_trained"),
                 ratings=len(ratings),
                 ratings_up=sum(r.rating > 0 for r in ratings),
                 raters=sorted({r.rater for r in ratings}),
                 method=("REINFORCE with a leave-one-out baseline + exact KL penalty to the tuned "
                         "model + entropy penalty"),
                 reward=score.name,
                 reward_model_heldout_acc=_rounded(rm.ready.heldout_acc),
                 reward_model_majority=_rounded(rm.ready.majority),
                 reward_model_penalty=rm.ready.penalty,
                 policy_steps=step,
                 stop_reason=reason,
                 reward_first_step=round(first.reward, 4) if first else None,
                 reward_last_step=round(last.reward, 4) if last else None,
                 kl_last_step=round(last.kl, 4) if last else None,
                 train_seconds=round(time.perf_counter() - t0, 1))
    out = LoadedModel(policy, tok, tuned.config, facts, None)
    facts["val_loss"] = round(heldout_loss(out, spec.seed), 4)       # the model card's figure
    facts["val_loss_meaning"] = ("nats per answer token on held-out questions, as for the tuned "
                                 "model (it rises a little: the model leaves the examples' style)")
    facts["val_loss_tuned"] = tuned.facts.get("val_loss")
    return out


def _rounded(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 3)
