"""Worker processes that leave Ctrl-C to the parent (see interrupts.py). Imported only when a
pool is started: multiprocessing costs ~30 ms to import."""

from __future__ import annotations

import signal
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from pbp_workbooks.base.interrupts import quiet_worker


def _start(initializer: Callable[..., object] | None, initargs: tuple[Any, ...]) -> None:
    quiet_worker()
    if initializer is not None:
        initializer(*initargs)


class QuietPool(ProcessPoolExecutor):
    """A process pool whose workers ignore SIGINT. Workers are forked on the first submit;
    SIGINT is blocked in the submitting thread meanwhile, so a Ctrl-C during the fork reaches
    the parent just after it (pending) and never a half-started worker."""

    def __init__(self, max_workers: int, initializer: Callable[..., object] | None = None,
                 initargs: tuple[Any, ...] = ()) -> None:
        super().__init__(max_workers=max_workers, initializer=_start, initargs=(initializer, initargs))

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return super().submit(fn, *args, **kwargs)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def stop(self) -> None:
        """Cancel what has not started, wait for what has (a worker ends its current file), with
        Ctrl-C ignored meanwhile: no worker is left behind."""
        from pbp_workbooks.base.interrupts import sigint_ignored

        with sigint_ignored():
            self.shutdown(wait=True, cancel_futures=True)
