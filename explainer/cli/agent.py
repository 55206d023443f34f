"""The agent sub-commands: `agent` asks a question and prints each step of the loop;
`agent-tune` makes an agent from a tuned model (tool-use fine-tuning) and measures it."""
from __future__ import annotations

from pathlib import Path

from .common import CLIError, drive, load, real_model_errors


def cmd_agent(args):
    import torch

    from ..agents import loop
    from ..gpt.chat import ChatError
    torch.set_num_threads(args.threads)
    with real_model_errors():
        loaded = load(args.model)
    tools = {} if args.no_tools else None
    try:
        for ev in loop.run(loaded, args.question, max_steps=args.max_steps,
                           **({"tools": tools} if tools is not None else {})):
            print(loop.event_line(ev, loaded.tokenizer), flush=True)
    except ChatError as e:
        raise CLIError(f"{args.model}: {e}") from None
    return 0


def print_figures(fig, label: str) -> None:
    print(f"{label} on {fig.n} held-out questions: right tool {fig.right_tool:.0%}, "
          f"right final answer {fig.agent_right:.0%}"
          + ("" if fig.plain_right is None else f"; without tools {fig.plain_right:.0%} right"))
    for kind, d in fig.by_kind().items():
        print(f"  {kind:8s} n={d['n']:3d}  right tool {d['right_tool']:.0%}  right answer {d['agent_right']:.0%}")


def cmd_agent_tune(args):
    import torch
    from tqdm import tqdm

    from ..agents import measure, tuning
    from ..gpt.chat import ChatError
    from ..gpt.paramfile import save_model
    from .train import progress
    torch.set_num_threads(args.threads)
    base = load(args.base)
    spec = tuning.AgentSpec(steps=args.steps, minutes=args.minutes, seed=args.seed,
                            batch_size=args.batch_size, lr=args.lr)
    bar = tqdm(total=args.steps if not args.minutes else None, unit="step", disable=args.quiet)
    show = progress(bar, lambda ev: f"val loss on held-out calls and answers {ev.val_loss:.3f}",
                    lambda ev: f"'{tuning.WATCH_QUESTION}' -> {ev.text[:120]!r}")
    try:
        agent = drive(tuning.run(base, spec, base_name=Path(base.path).stem), show, bar)
    except ChatError as e:
        raise CLIError(f"{args.base}: {e}") from None
    print(f"tool-use tuned {agent.facts['steps']} steps in {agent.facts['train_seconds']} s on "
          f"{agent.facts['conversations']:,} conversations")
    if args.eval:
        print_figures(measure.figures(agent, without=base), "agent")
    if args.out:
        path = save_model(args.out, agent.model, agent.tokenizer, agent.facts)
        print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
