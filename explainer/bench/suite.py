"""`python -m explainer bench`: speed and quality figures, all measured side by side in one run.

Each figure is measured here, now, on this machine (`measure.py`, `phases.py`,
`real.py`): the matmul peak that model FLOP utilisation is compared against, our training
loop beside a plain eager reference loop on the same model, time to quality (seconds until the
`small` model first ranks "night" top-1 after the flash-flood prompt), ranking latency, generation
with and without the KV cache, BPE training speed, the token tax (the same note's tokens
per language, as multiples of English's), and optionally nanoGPT's CPU configuration on a
text file, or the speedrun (`--speedrun FILE`: nanoGPT's recipe, then ours to its loss). Nothing
is hard-coded; targets are printed next to the measured figures, never used to fake them.
"""
from __future__ import annotations

import json
import os

import torch

from ..gpt.model import preset
from ..gpt.paramfile import ParamFileError, load_model, models_dir
from ..phases import tokentax as tt
from ..real import smollm
from .measure import (
    flops_per_token,
    generation_speed,
    loop_tokens_per_s,
    matmul_peak,
    nanogpt_text,
    ranking_latency,
    reference_tokens_per_s,
    speedrun,
    threads,
    time_to_quality,
)
from .phases import (
    bench_agent,
    bench_agent_tuning,
    bench_bpe,
    bench_compression,
    bench_context,
    bench_feedback,
    bench_real_agent,
    bench_sft,
)
from .real import bench_real, print_real


def main(args) -> int:
    quick = args.quick
    res: dict = {"threads_available": os.cpu_count(), "torch": torch.__version__}
    rows: list[tuple[str, str, str]] = []

    def row(name, value, target=""):
        rows.append((name, value, target))
        print(f"  {name:58} {value:>22}  {target}", flush=True)

    if getattr(args, "speedrun", None):
        with threads(args.threads):
            res["speedrun"] = r = speedrun(args.speedrun)
        rec, ours = r["recipe"], r["ours"]
        row("nanoGPT recipe: seconds | steps | val loss", f"{rec['seconds']:.1f} | {rec['steps']} | "
            f"{rec['val_loss']:.3f}", "nanoGPT: ~1.88 @ 2000")
        row(f"ours to val loss <= {r['target']}: seconds | steps | val loss",
            f"{ours['seconds']:.1f} | {ours['steps']} | {ours['val_loss']:.3f}",
            "reached" if ours["reached"] else "NOT reached")
        row("CPU seconds (this process): recipe | ours | ratio", f"{rec['cpu_seconds']:.1f} | "
            f"{ours['cpu_seconds']:.1f} | {r['cpu_ratio']:.2f}", "load-proof on a shared machine")
        row("evaluations (left out of both times): ours | seconds", f"{ours['evals']} | "
            f"{ours['eval_seconds']:.1f}", f"{r['threads']} threads, load {r['load_average']}")
        finish(res, args)
        print(f"speedrun: recipe {rec['seconds']:.1f} s, ours {ours['seconds']:.1f} s, "
              f"ratio {r['ratio']:.2f}")
        return 0
    if args.text:
        r = nanogpt_text(args.text, args.steps, args.seconds)
        res["nanogpt_cpu_config"] = r
        row("nanoGPT CPU config: tokens/s", f"{r['tokens_per_s']:,}")
        row(f"nanoGPT CPU config: val loss after {r['steps']} steps", f"{r['val_loss']:.3f}",
            "nanoGPT: ~1.88 @ 2000")
        return finish(res, args)

    print("LLM Explainer benchmark (figures measured now, side by side)")
    with threads(1):
        peak1 = matmul_peak(1)
    res["matmul_peak_gflops_1thread"] = round(peak1, 1)
    row("fp32 matmul peak, 1 thread (GFLOP/s)", f"{peak1:.1f}")

    res["training"] = {}
    for name in ("tiny", "small", "medium"):
        cfg = preset(name)
        steps = (8 if quick else 20) if name == "medium" else (12 if quick else 40)
        with threads(1):
            ours = loop_tokens_per_s(cfg, steps)
            ref = reference_tokens_per_s(cfg, steps)
        mfu = ours * flops_per_token(cfg) / (peak1 * 1e9)
        res["training"][name] = {"tokens_per_s": round(ours), "reference_tokens_per_s": round(ref),
                                 "ratio": round(ours / ref, 3), "mfu": round(mfu, 3)}
        row(f"train {name} (1 thread): tokens/s | vs plain eager loop", f"{ours:,.0f} | x{ours / ref:.2f}",
            f"MFU {mfu:.0%}")

    if "bpe" not in args.skip:
        from .. import corpus
        s = bench_bpe(corpus.get_corpus("everyday").text[:1_000_000], 2048)["seconds"]
        res["bpe_2048_on_1MB_s"] = round(s, 2)
        row("BPE: learn 2,048 tokens from 1 MB (s)", f"{s:.2f}", "target <= 10 s")
    res["token_tax"] = token_tax_rows(row)

    if "quality" not in args.skip:
        ttq = time_to_quality(limit_s=30 if quick else 180)
        res["time_to_quality"] = ttq
        v = "not reached" if ttq["seconds"] is None else f"{ttq['seconds']:.1f} s (step {ttq['step']})"
        row(f"time to quality: small ranks 'night' #1 ({os.cpu_count()} threads)", v, "target <= 60 s")

    base = models_dir() / "base.safetensors"
    if base.is_file():
        loaded = load_model(base)
        with threads(1):
            lat = ranking_latency(loaded.model, loaded.tokenizer, 20 if quick else 50)
            with_c, without_c = generation_speed(loaded.model, 60 if quick else 120)
        res["ranking_latency_ms_64_tokens"] = round(lat, 2)
        res["generation_tokens_per_s"] = {"kv_cache": round(with_c, 1), "no_cache": round(without_c, 1),
                                          "ratio": round(with_c / without_c, 2)}
        row("next-word ranking, 64-token prompt, small (median ms)", f"{lat:.1f}", "target <= 20 ms")
        row("generation tokens/s: KV cache | none | ratio",
            f"{with_c:.0f} | {without_c:.0f} | x{with_c / without_c:.2f}")
        if "context" not in args.skip:
            ctx = bench_context(20 if quick else 50, path=base)
            res["name_recall"] = ctx
            row(f"name recall, whole name, {ctx['n']} stories: full | windowed",
                f"{ctx['full']:.0%} | {ctx['windowed']:.0%}", "target >= 60% | <= 5%")
        if "compression" not in args.skip:
            comp = bench_compression(loaded)
            res["compression"] = comp
            for d in ("fp16", "int8"):
                c = comp[d]
                row(f"{d} file: MB (x fp32) | bits/byte change | 'night' rank",
                    f"{c['mb']:.2f} (x{c['size_vs_fp32']:.2f}) | {c['bpb_change']:+.4f} | #{c['night_rank']}")
    else:
        row("ranking latency / generation", "skipped: no models/base.safetensors")
    # The real model beside ours, in the same run (about a minute; --skip real leaves it out)
    if "real" not in args.skip:
        print("SmolLM2-135M-Instruct, the real model, measured now beside ours:", flush=True)
        res["real"] = real = bench_real(n_recall=10 if quick else 20, runfile=not quick,
                                        ours=res.get("name_recall"))
        print_real(real)
    if "agents" not in args.skip:
        res["agent"] = ag = bench_agent()
        if "skipped" in ag:
            row("agent on held-out questions", f"skipped: {ag['skipped']}")
        else:
            agent_rows(row, "shipped agent", ag)
    # The later phases train for minutes each, so they run when asked: --with sft feedback agents
    if "sft" in args.with_:
        res["sft"] = sf = bench_sft()
        row("instruction tuning: seconds | ends with <|end|> tuned, base | on topic",
            f"{sf['finetune_seconds']:.0f} s | {sf['tuned_end_share']:.0%}, {sf['base_end_share']:.0%} | "
            f"{sf['tuned_on_topic_share']:.0%}", "target <= 180 s | >= 90%, <= 10% | >= 80%")
    if "feedback" in args.with_:
        from ..phases.judge import reasons_text
        res["feedback"] = fbr = bench_feedback()
        for name in ("helpful", "safe", "helpful_rule_as_reward", "helpful_no_reward"):
            r = fbr[name]
            if r is None:
                continue
            g, smp = r["greedy"], r["sampled"]
            row(f"feedback '{name}': approved greedy | sampled (before -> after)",
                f"{g['approved_before']:.1%} -> {g['approved_after']:.1%} | "
                f"{smp['approved_before']:.1%} -> {smp['approved_after']:.1%}",
                {"safe": "target <= 5% unsafe", "helpful": "target +30 pts or >= 95%"}.get(name, "ablation"))
            f = r.get("focus_questions")
            if f:
                row(f"feedback '{name}': only the {f['prompts']} held-out {f['topic']} questions",
                    f"{f['greedy']['approved_before']:.1%} -> {f['greedy']['approved_after']:.1%} | "
                    f"{f['sampled']['approved_before']:.1%} -> {f['sampled']['approved_after']:.1%}")
            if smp.get("reasons"):             # what feedback fixed and what it left
                row(f"feedback '{name}': sampled 👎 by reason (before -> after)",
                    reasons_text(smp["reasons"]))
            row(f"feedback '{name}': sampled answers to one question that differ (before -> after)",
                f"{smp['distinct_before']:.0%} -> {smp['distinct_after']:.0%}")
            row(f"feedback '{name}': reward model held-out acc | policy steps | KL nats/token",
                f"{r['rm_heldout_accuracy']:.0%} (majority {r['rm_majority_baseline']:.0%}, "
                f"flags {r['rm_heldout_downs_flagged']} 👎, {r['rm_heldout_ups_flagged']} 👍) | "
                f"{r['policy_steps']} in {r['train_seconds']:.0f} s | {r['mean_token_kl']:.3f}")
    if "agents" in args.with_:
        res["agent_tuning"] = at = bench_agent_tuning()
        if "skipped" not in at:
            row("tool-use tuning from tuned: seconds (threads, load before -> after)",
                f"{at['tune_seconds']:.0f} s ({at['threads']}, {at['load_average_start']} -> "
                f"{at['load_average_end']})", "target about 120 s on 2 idle cores")
            agent_rows(row, "agent tuned now", at)
        res["real_agent"] = ra = bench_real_agent()
        if "skipped" in ra:
            row("SmolLM2 as an agent", f"skipped: {ra['skipped']}")
        else:
            agent_rows(row, "SmolLM2 as an agent", ra, targets=False)
    return finish(res, args)


def agent_rows(row, who: str, r: dict, targets: bool = True) -> None:
    """The agent figures' lines: right tool, right final answer, right without tools."""
    row(f"{who}, {r['questions']} held-out questions: right tool | right answer",
        f"{r['right_tool']:.0%} | {r['agent_right']:.0%}", "target >= 95% | >= 90%" if targets else "")
    row(f"{who}: the same questions without tools, right", f"{r['plain_right']:.0%}",
        "target <= 20%" if targets else "")


def token_tax_rows(row) -> dict:
    """The token tax (phases/tokentax.py): per tokenizer, Hindi's tokens and the widest language's
    as multiples of English's, for the same note; {tokenizer: {language: ratio}}."""
    try:
        toks = tt.tokenizers(smollm.tokenizer() if smollm.available() else None)
    except (ParamFileError, smollm.RealModelMissing) as e:
        row("token tax", f"skipped: {e}")
        return {"skipped": str(e)}
    rows = tt.token_tax(toks)
    for name in [n for n, _ in toks] + [tt.BYTES]:
        hi, lang, _ = tt.widest(rows, [name])
        row(f"token tax, {name}: Hindi | widest (x English, one note)",
            f"x{tt.times(tt.row_of(rows, 'Hindi').ratio[name])} | x{tt.times(hi)} {lang}",
            "Petrov et al. 2023: up to x15")
    return {n: {r.language: round(r.ratio[n], 2) for r in rows[1:]} for n in rows[0].ratio}


def finish(res, args) -> int:
    print(json.dumps(res, indent=1))
    if args.json:
        from ..gpt.paramfile import atomic_write_bytes
        atomic_write_bytes(args.json, json.dumps(res, indent=1).encode())
    return 0
