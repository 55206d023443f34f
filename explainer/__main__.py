import sys

from .cli import main

# Guarded: processes started with "spawn" (the training workers, the step-time stopwatch) import
# the parent's main module again; under `python -m explainer serve` that is this file, and
# unguarded each of them started a server of its own.
if __name__ == "__main__":
    sys.exit(main())
