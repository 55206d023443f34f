"""`python -m explainer ...`: the engine from the command line.

parser.py lists the commands and their flags; common.py holds what they share (errors, loading a
model by name, the number types); train.py the commands that train, use.py the ones that use a model.
"""
from __future__ import annotations

import sys

from .common import REAL, CLIError, NotInstalled, load, resolve_model
from .parser import build_parser

__all__ = ["main", "build_parser", "load", "resolve_model", "CLIError", "NotInstalled", "REAL"]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["serve"]:              # the rest are Streamlit's options, not ours
        from .use import cmd_serve
        return cmd_serve(argv[1:])
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
