"""Ctrl-C: the parent process alone decides what happens; worker processes never see it.

A terminal's Ctrl-C sends SIGINT to the whole process group, workers included. A worker
that took it would die with a traceback (``Process ForkProcess-1: ... KeyboardInterrupt``)
while the parent was still recording. So workers ignore SIGINT (``pools.QuietPool``), the
parent stops at the next safe point, waits for the work its workers are doing, removes its
temporaries and reports in one line how far it got (``errors.Interrupted``, exit 130).

``pause_point`` is a hook for tests only: with ``PBP_PAUSE_AT=<phase>`` in the environment
the command writes the file named by ``PBP_PAUSE_FILE`` and waits there, so a test can
interrupt it in a known phase (archiving, reading, recording, issuing, summaries).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

PAUSE_FOR = 60.0  # seconds a paused command waits for the test to interrupt it


def pause_point(phase: str) -> None:
    """For tests: wait here when PBP_PAUSE_AT names this phase (else nothing)."""
    if os.environ.get("PBP_PAUSE_AT") != phase:
        return
    marker = os.environ.get("PBP_PAUSE_FILE")
    if marker:
        Path(marker).write_text(f"{os.getpid()} {phase}\n", encoding="utf-8")
    deadline = time.monotonic() + PAUSE_FOR
    while time.monotonic() < deadline:
        time.sleep(0.02)


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """Ctrl-C ignored while the parent cleans up after one (a second press must not leave a
    worker or a temporary behind); the previous handler is restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def quiet_worker() -> None:
    """In a new worker process: ignore SIGINT, then let a signal that arrived while it was being
    started (blocked by QuietPool.submit around the fork) be discarded."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
