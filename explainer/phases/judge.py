"""Before and after: a simulated rater (`raters.py`) judges the tuned model's answers and the
feedback-trained model's, to held-out questions, with the same dice for both.

The measurements the page, the CLI's `--eval` and the benchmark share: the approved share of
greedy answers (as the chat answers) and of sampled ones (as the answers to rate are sampled),
the 👎 counted by the rule's reasons, how much a model's answers to one question vary, the mean
KL to the tuned model, and how likely each model is to write one rated answer.

    >>> variety([Judged("Hi?", "small talk", ["Hello.", "Hello.", "Hi.", "Hey."], [1, 1, 1, 1])])
    0.75
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from ..corpus import instructions as ins
from ..gpt import chat
from ..gpt.model import GPT
from ..gpt.paramfile import LoadedModel
from ..i18n import N_
from .answers import (
    answer_head,
    answer_logprobs,
    answer_text,
    sample_answers,
    sample_batch,
)
from .raters import get_rater
from .reward import encode_rated


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


def variety(judged: Sequence[Judged]) -> float:
    """How much a model's sampled answers to one question vary: the share of them that differ
    from each other (4 answers, 3 of them the same: 2/4), averaged over the questions. Feedback
    makes a model surer, so its answers vary less (as with large assistants: Kirk et al. 2024)."""
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


# --------------------------------------------------------------------------------------------------
# Both models on the held-out questions

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


def before_after(tuned: LoadedModel, after: LoadedModel, rater: str, seed: int = 0,
                 per_topic: int = 10, samples: int = 4) -> BeforeAfter:
    """The benchmark's before/after measurement (the page shows the same figures): 397 greedy and
    80 x 4 sampled answers per model with the defaults; about 20 s on one core."""
    data = ins.instruction_data(seed)
    every = ins.heldout_prompts(data, 10_000, seed)                 # all distinct held-out prompts
    some = ins.heldout_prompts(data, per_topic, seed)
    return BeforeAfter(rater, (judge(tuned, rater, every, 1, seed, 0.0), judge(after, rater, every, 1, seed, 0.0)),
                       (judge(tuned, rater, some, samples, seed), judge(after, rater, some, samples, seed)))


def compare_table(tuned: LoadedModel, fb: LoadedModel | None, rater: str,
                  prompts: Sequence[tuple[str, str]], seed: int = 0) -> list[dict]:
    """One sampled answer per prompt from each model (same seed), with the rater's verdict. The
    column names are English (marked with N_: the page shows them translated)."""
    a = judge(tuned, rater, prompts, 1, seed)
    b = judge(fb, rater, prompts, 1, seed) if fb is not None else None
    mark = {1: "👍", -1: "👎"}
    rows = []
    for i, j in enumerate(a):
        row = {N_("question"): j.prompt, N_("tuned model"): f"{mark[j.verdicts[0]]} {j.answers[0]}"}
        if b is not None:
            row[N_("after feedback")] = f"{mark[b[i].verdicts[0]]} {b[i].answers[0]}"
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------------
# How far the model moved

@torch.no_grad()
def mean_kl(model: GPT, ref: GPT, tok, prompts: Sequence[str], samples: int = 4, seed: int = 0,
            max_new_tokens: int = chat.MAX_NEW_TOKENS) -> float:
    """Mean per-token KL(model || ref) on the model's own sampled answers (nats per token)."""
    gen = torch.Generator().manual_seed(seed)
    total, n = 0.0, 0.0
    for prompt in prompts:
        ans = sample_answers(model, tok, prompt, samples, max_new_tokens, 1.0, gen)
        head = answer_head(tok, prompt, max_new_tokens, model.config.block_size)
        _, n_tok, kl, _ = answer_logprobs(model, ref, [head] * len(ans), ans)
        total, n = total + float(kl.sum()), n + float(n_tok.sum())
    return total / max(n, 1.0)


@torch.no_grad()
def logprob_per_token(loaded: LoadedModel, prompt: str, answer: str) -> float:
    """Mean log-probability of the answer's tokens (and <|end|>) after the prompt: how likely the
    model is to write exactly this answer, per token. exp() of it is the typical token's chance."""
    tok = loaded.tokenizer
    ids, roles = encode_rated(tok, prompt, answer, loaded.config.block_size)
    head_len = roles.index(2)
    logp, n, _, _ = answer_logprobs(loaded.model, None, [ids[:head_len]], [ids[head_len:]])
    return float(logp[0] / n[0])
