"""A progress line on stderr for long work (only when stderr is a terminal)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

REDRAW_EVERY = 0.25  # seconds: a few redraws a second, however fast the items go


def progress(items: Iterable[T], total: int, label: str, *, min_items: int = 5) -> Iterator[T]:
    """``items``, drawing ``label [###...] i/total (rate/s)``; the line is ended however the loop
    ends (Ctrl-C included), so the next message starts on a line of its own."""
    show = total > min_items and sys.stderr.isatty()
    start = last = time.monotonic()
    drawn = False
    try:
        for i, item in enumerate(items, start=1):
            yield item
            if show:
                now = time.monotonic()
                if now - last >= REDRAW_EVERY or i == total:
                    last = now
                    width = 30
                    done = width * min(i, total) // total
                    rate = i / max(now - start, 1e-6)
                    sys.stderr.write(f"\r{label} [{'#' * done}{'.' * (width - done)}] {i}/{total} ({rate:.0f}/s)")
                    sys.stderr.flush()
                    drawn = True
    finally:
        if drawn:
            sys.stderr.write("\n")
