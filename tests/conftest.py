"""Suite-wide settings: one torch thread per test process.

The machines this runs on are small and shared; torch's default of one thread per core makes
tests that overlap with anything else collapse (a 0.2 s test took 12 s). One thread is also what
the app's training workers use.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # subprocesses (the numpy run file) too

import torch  # noqa: E402

torch.set_num_threads(1)
