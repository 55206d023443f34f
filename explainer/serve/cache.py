"""A value computed once per key, shared by every session of a server: a cache, not a job."""
from __future__ import annotations

import threading
from typing import Any, Callable


class OncePerKey:
    """A value computed once per key, however many threads ask at the same time: the first one
    computes, the others wait for it and share its result (a workshop's 30 clicks on "Count",
    one count). For short work a page may do in its own run (seconds, not minutes: training
    goes to the JobManager).

    >>> counts = OncePerKey()
    >>> counts.compute("k", lambda: 42), counts.compute("k", lambda: 0), "k" in counts
    (42, 42, True)
    """

    def __init__(self):
        self._values: dict = {}
        self._locks: dict = {}
        self._guard = threading.Lock()

    def __contains__(self, key) -> bool:
        return key in self._values

    def __getitem__(self, key) -> Any:
        return self._values[key]

    def compute(self, key, fn: Callable[[], Any]) -> Any:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._values:
                self._values[key] = fn()
        return self._values[key]
