"""A progress line on stderr for long work (only when stderr is a terminal)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], total: int, label: str, *, min_items: int = 5) -> Iterator[T]:
    show = total > min_items and sys.stderr.isatty()
    start = time.monotonic()
    for i, item in enumerate(items, start=1):
        yield item
        if show:
            width = 30
            done = width * i // total
            rate = i / max(time.monotonic() - start, 1e-6)
            sys.stderr.write(f"\r{label} [{'#' * done}{'.' * (width - done)}] {i}/{total} ({rate:.0f}/s)")
            sys.stderr.flush()
    if show:
        sys.stderr.write("\n")
