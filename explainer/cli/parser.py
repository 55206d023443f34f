"""`python -m explainer ...`: the engine from the command line.

pretrain  train a model on a corpus and save its parameter file
rank      the next-word ranking for a prompt (and candidate words)
generate  sample text from a model
tokenize  show how a text becomes tokens
info      summary of a parameter file
export    save a smaller copy (fp16, int8), or the model for transformers or llama.cpp (hf, gguf)
runfile   write the standalone numpy run file (run.py)
sft       instruction tuning: a base model learns to answer, then stop
chat      talk to a tuned model
agent     ask the agent: the model with tools (calculator, lookup), step by step
agent-tune  tool-use fine-tuning: a tuned model learns to call tools
feedback  learn from thumbs up/down ratings: reward model, then policy optimisation
demo      train for about a minute and show the ranking improve (no files written)
bench     speed and quality figures measured side by side
serve     the app's server (streamlit run Home.py), warmed up before its first visitor
catalogs  how complete the Spanish and German texts are; --update brings the .po files in step
"""
from __future__ import annotations

import argparse
import os

from .common import (
    MODEL_HELP,
    REAL,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    probability,
    temperature,
    training_flags,
)
from .agent import cmd_agent, cmd_agent_tune
from .train import NO_REWARD, cmd_demo, cmd_feedback, cmd_pretrain, cmd_sft
from .use import (
    cmd_catalogs,
    cmd_serve,
    cmd_bench,
    cmd_chat,
    cmd_export,
    cmd_generate,
    cmd_info,
    cmd_rank,
    cmd_runfile,
    cmd_tokenize,
)


def build_parser() -> argparse.ArgumentParser:
    from ..corpus import CORPORA
    from ..gpt.chat import MAX_NEW_TOKENS
    from ..gpt.model import PRESETS
    from ..phases.pretrain import DEFAULT_CANDIDATES, DEFAULT_PROMPT
    from ..phases.pretrain import PretrainSpec as P
    from ..phases.sft import SFTSpec as S
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
    s.add_argument("--optimizer", choices=["adamw", "muon"], default=P.optimizer,
                   help="muon: Muon for the blocks' matrices, AdamW for the rest (docs/speedrun.md); "
                   "(default: %(default)s)")
    s.add_argument("--schedule", choices=["cosine", "wsd"], default=P.schedule,
                   help="learning rate: cosine decay, or warmup-stable-decay (default: %(default)s)")
    s.add_argument("--warmup", type=non_negative_int, default=P.warmup,
                   help="steps of linear warmup (default: %(default)s)")
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

    s = sub.add_parser("export", help="save a smaller copy of a model (--dtype fp16 or int8), or the "
                                      "model for other tools (--format hf or gguf)")
    s.add_argument("model", help="parameter file, or a name in models/")
    s.add_argument("target", nargs="?", metavar="OUT", help="where to write: the same as --out")
    s.add_argument("--dtype", choices=["fp32", "fp16", "int8"],
                   help="fp16 = half-size floats, int8 = per-channel quantised matrices")
    # nargs="+": `export base --format gguf base.gguf` (a positional after a flag is not argparse's OUT)
    s.add_argument("--format", nargs="+", metavar="{hf,gguf} [OUT]", help="hf = a Hugging Face folder that "
                   "transformers loads; gguf = one GGUF file in llama.cpp's GPT-2 layout, which run.py runs too")
    s.add_argument("--out", help="where to write: a .safetensors file (--dtype), a folder (hf), a .gguf file")
    s.set_defaults(fn=cmd_export)

    s = sub.add_parser("serve", help="the app's server, ready before its first visitor; other options go "
                       "to streamlit (e.g. --server.port 8501)", add_help=False)
    s.set_defaults(fn=cmd_serve)

    s = sub.add_parser("catalogs", help="translations: completeness per language, texts still missing")
    s.add_argument("--update", action="store_true", help="first bring every .po file in step with the "
                   "sources (new texts come in empty, unused ones go, translations stay)")
    s.add_argument("--area", nargs="*", default=None, help="only these areas (explainer/i18n/catalogs.py AREAS)")
    s.add_argument("--strict", action="store_true", help="exit 1 unless every language is 100%% complete")
    s.set_defaults(fn=cmd_catalogs)

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

    from ..agents.loop import MAX_STEPS
    from ..agents.tuning import AgentSpec
    s = sub.add_parser("agent", help="ask the agent a question; prints each step, then 'answer: ...'")
    s.add_argument("question", help='e.g. "What is 23 times 47?"')
    s.add_argument("--model", default="agent", help=MODEL_HELP.replace("e.g. base", "default: agent"))
    s.add_argument("--no-tools", action="store_true", help="the same model without tools")
    s.add_argument("--max-steps", type=positive_int, default=MAX_STEPS, help="most model turns (calls + answer)")
    s.add_argument("--threads", type=positive_int, default=1, help="torch threads")
    s.set_defaults(fn=cmd_agent)

    s = sub.add_parser("agent-tune", help="tool-use fine-tuning: a tuned model learns to call tools")
    s.add_argument("--base", default="tuned", help="the chat model to start from (file, or a name in models/)")
    s.add_argument("--out", help="where to save the agent (.safetensors)")
    training_flags(s, AgentSpec, "seed for the generated conversations, new token rows and batch order",
                   "windows of a context length each per step")
    s.add_argument("--eval", action="store_true",
                   help="afterwards, measure the agent (and --base without tools) on the held-out questions")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(fn=cmd_agent_tune)

    from ..phases.feedback import FeedbackSpec
    from ..phases.raters import RATERS
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
    s.add_argument("--speedrun", metavar="FILE", help="nanoGPT's CPU recipe for 2000 steps on this "
                   "text, then ours until its validation loss <= 1.886; prints the time ratio")
    s.add_argument("--threads", type=positive_int, default=os.cpu_count() or 1,
                   help="torch threads for --speedrun (both runs)")
    s.add_argument("--json", help="also write the results as JSON to this file")
    s.add_argument("--skip", nargs="*", default=[],
                   choices=["bpe", "quality", "context", "compression", "real", "agents"],
                   help="sections to skip: bpe quality context compression real agents (real = SmolLM2 "
                   "beside ours, about a minute; skipped with its reason when not installed)")
    s.add_argument("--with", dest="with_", nargs="*", default=[], choices=["sft", "feedback", "agents"],
                   help="also run the minutes-long phase benchmarks (sft ~4 min, feedback ~8 min, "
                   "agents ~5 min: tool-use tuning, and SmolLM2 as an agent)")
    s.set_defaults(fn=cmd_bench)
    return p
