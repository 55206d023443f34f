"""The sub-commands that train: pretrain, sft (instruction tuning), feedback, and the one-minute
demo. Each runs the library's training generator to its end with a progress bar, then saves."""
from __future__ import annotations

import sys
from pathlib import Path

from .common import CLIError, drive, load, read_corpus
from .use import print_ranking


def progress(bar, eval_line, sample_line, also=None):
    """The progress printer pretrain and sft share: Status lines, the bar with the loss and speed,
    and a line per evaluation and per sample (their text from the phase); `also` sees the rest."""
    from ..gpt.events import Eval, Sample, Status, Step

    def show(ev):
        if isinstance(ev, Status):
            bar.write(ev.message)
        elif isinstance(ev, Step):
            bar.update(1)
            bar.set_postfix(loss=f"{ev.train_loss:.3f}", tok_s=f"{ev.tokens_per_s:,.0f}")
        elif isinstance(ev, Eval):
            bar.write(f"step {ev.step:5d}  {eval_line(ev)}")
        elif isinstance(ev, Sample):
            bar.write(f"step {ev.step:5d}  {sample_line(ev)}")
        elif also is not None:
            also(ev)
    return show


def cmd_pretrain(args):
    import torch
    from tqdm import tqdm

    from ..gpt.events import RankSnapshot
    from ..gpt.paramfile import save_model
    from ..phases import pretrain
    torch.set_num_threads(args.threads)
    text, name = read_corpus(args)
    spec = pretrain.PretrainSpec(preset=args.preset, steps=args.steps, minutes=args.minutes,
                                 seed=args.seed, vocab_size=args.vocab_size,
                                 batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
                                 schedule=args.schedule, warmup=args.warmup)
    tok = load(args.tokenizer_from).tokenizer if args.tokenizer_from else None
    gen = pretrain.run(text, spec, tokenizer=tok, corpus_name=name, candidates=args.candidates)
    bar = tqdm(total=args.steps if not args.minutes else None, unit="step", disable=args.quiet)

    def ranking(ev):
        if isinstance(ev, RankSnapshot) and ev.step % (spec.rank_every * 4) == 0:
            top = ", ".join(f"{w.strip()} {p:.2f}" for w, _, p in ev.ranking.top[:3])
            bar.write(f"step {ev.step:5d}  '{ev.ranking.prompt} ___': {top}")

    show = progress(bar, lambda ev: f"val loss {ev.val_loss:.3f}  bits/byte {ev.val_bpb:.3f}",
                    lambda ev: f"sample: {ev.text[:150]!r}", also=ranking)
    loaded = drive(gen, show, bar)
    if args.out:
        path = save_model(args.out, loaded.model, loaded.tokenizer, loaded.facts)
        print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB)")
    print_ranking(loaded, pretrain.DEFAULT_PROMPT, args.candidates)
    return 0


def cmd_demo(args):
    """Pretrain `small` for about a minute and print the ranking as it improves."""
    import torch

    from ..gpt.training import Finished, RankSnapshot
    from ..phases import pretrain
    torch.set_num_threads(args.threads)
    from .. import corpus
    text = corpus.get_corpus("everyday").text
    print("LLM Explainer demo: a ~1M-parameter GPT learns Everyday English for about a minute.")
    spec = pretrain.PretrainSpec(preset="small", steps=10_000, minutes=args.minutes, rank_every=50)
    for ev in pretrain.run(text, spec, corpus_name="Everyday English"):
        if isinstance(ev, pretrain.Status):
            print(ev.message)
        elif isinstance(ev, RankSnapshot) and ev.step % 100 == 0:
            top = ", ".join(f"{w.strip() or repr(w)} {p:.0%}" for w, _, p in ev.ranking.top[:5])
            cands = ", ".join(f"{c.word} #{c.rank}" for c in ev.ranking.candidates)
            print(f"step {ev.step:5d}  top: {top}   |  {cands}")
        elif isinstance(ev, Finished):
            print(f"done: {ev.step} steps, {ev.tokens_seen:,} tokens, val loss {ev.val_loss:.3f}")
    return 0


def cmd_sft(args):
    """Instruction tuning: fine-tune a base model on the generated question/answer pairs."""
    import torch
    from tqdm import tqdm

    from ..corpus import instructions as ins
    from ..gpt.paramfile import save_model
    from ..phases import sft
    torch.set_num_threads(args.threads)
    base = load(args.base)
    data = ins.instruction_data(args.seed)
    pairs = [] if args.no_generated else list(data.train)
    if args.data:
        try:
            raw = Path(args.data).read_bytes()
        except OSError as e:
            raise CLIError(f"cannot read {args.data}: {e.strerror}") from None
        mine, errors = ins.parse_jsonl(raw)
        for e in errors[:20]:
            print(f"{args.data}, {e}: skipped", file=sys.stderr)
        if len(errors) > 20:
            print(f"... and {len(errors) - 20} more bad lines", file=sys.stderr)
        pairs += mine
    if not pairs:
        raise CLIError("no pairs to learn from (use the generated pairs, or --data with valid lines)")
    spec = sft.SFTSpec(steps=args.steps, minutes=args.minutes, seed=args.seed,
                       batch_size=args.batch_size, lr=args.lr, include_weak=not args.only_good)
    val = [p for p in data.heldout if p.quality == "good"]
    gen = sft.run(base, pairs, spec, val_pairs=val, base_name=Path(base.path).stem)
    bar = tqdm(total=args.steps if not args.minutes else None, unit="step", disable=args.quiet)

    show = progress(bar, lambda ev: f"val loss on held-out answers {ev.val_loss:.3f}",
                    lambda ev: f"'{sft.WATCH_QUESTION}' -> {ev.text[:120]!r}")
    tuned = drive(gen, show, bar)
    print(f"fine-tuned {tuned.facts['steps']} steps in {tuned.facts['train_seconds']} s on "
          f"{tuned.facts['pairs']:,} pairs ({tuned.facts['weak_pairs']:,} weak)")
    if args.eval:
        rows = sft.compare(base, tuned, ins.heldout_prompts(data, args.eval, args.seed))
        for which in ("tuned", "base"):
            sc = sft.scores(rows, which)
            print(f"{which:5s} on {sc['n']} held-out questions: {sc['end_share']:.0%} end with <|end|> "
                  f"within 64 tokens, {sc['on_topic_share']:.0%} on topic")
    if args.out:
        path = save_model(args.out, tuned.model, tuned.tokenizer, tuned.facts)
        print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


NO_REWARD = "none"        # --reward-rule none: the ablation in which the ratings teach nothing


def cmd_feedback(args):
    import torch

    from ..gpt.events import Finished, PolicyStep, RewardModelReady, Status
    from ..gpt.paramfile import save_model
    from ..gpt.training import drain
    from ..phases import feedback as fb
    from ..phases.judge import before_after, mean_kl, reasons_text
    from ..phases.ratings import RatingsError, RatingsStore
    from ..phases.reward import check_ratings
    from ..phases.simulate import simulate
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
    spec = fb.FeedbackSpec(seed=args.seed, minutes=args.minutes or None, steps=args.steps, lr=args.lr,
                           kl_coef=args.kl, entropy_coef=args.entropy, temperature=args.temperature)
    score = (None if args.reward_rule is None else fb.NO_REWARD if args.reward_rule == NO_REWARD
             else fb.rule_as_reward(args.reward_rule))
    print(f"learning from {len(ratings):,} ratings ({sum(r.rating > 0 for r in ratings):,} up) "
          f"in {store.path}")
    gen = fb.run(tuned, ratings, spec, base_name=Path(tuned.path).stem if tuned.path else None, score=score)

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
        elif isinstance(ev, Finished):
            print(f"done: {ev.step} policy steps ({ev.reason}), {ev.elapsed:.0f} s")

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
