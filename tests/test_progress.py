"""The progress line redraws a few times a second, not once per item."""

from __future__ import annotations

import io
import itertools

import pytest

from pbp_workbooks.base import progress as progress_mod


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(monkeypatch: pytest.MonkeyPatch, n: int, seconds_per_item: float) -> str:
    term = Terminal()
    clock = itertools.count()
    monkeypatch.setattr(progress_mod.sys, "stderr", term)
    monkeypatch.setattr(progress_mod.time, "monotonic", lambda: next(clock) * seconds_per_item)
    assert list(progress_mod.progress(range(n), n, "Recording")) == list(range(n))
    return term.getvalue()


def test_fast_items_redraw_once(monkeypatch: pytest.MonkeyPatch) -> None:
    out = run(monkeypatch, 400, 0.0001)  # 400 files in 0.04 s: 800 redraws before
    assert out.count("\r") == 1, out.count("\r")
    assert out.endswith("400/400 (10000/s)\n"), out[-200:]


def test_slow_items_redraw_a_few_times_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    out = run(monkeypatch, 400, 0.01)  # 4 seconds
    redraws = out.count("\r")
    assert 4 * 2 <= redraws <= 4 * 4 + 1, redraws
    assert out.endswith("400/400 (100/s)\n")


def test_nothing_drawn_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = io.StringIO()
    monkeypatch.setattr(progress_mod.sys, "stderr", pipe)
    assert list(progress_mod.progress(range(50), 50, "Archiving")) == list(range(50))
    assert pipe.getvalue() == ""


def test_a_loop_stopped_half_way_ends_the_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C in the middle: the 'pbp: interrupted ...' line must not be glued to the bar."""
    term = Terminal()
    clock = itertools.count()
    monkeypatch.setattr(progress_mod.sys, "stderr", term)
    monkeypatch.setattr(progress_mod.time, "monotonic", lambda: next(clock) * 0.1)
    with pytest.raises(KeyboardInterrupt):
        for i in progress_mod.progress(range(100), 100, "Recording"):
            if i == 50:
                raise KeyboardInterrupt
    out = term.getvalue()
    assert out.endswith("48/100 (10/s)\n"), repr(out[-80:])
