"""Small-number suppression for published pupil counts.

Rule (the one every published pupil breakdown uses -- headteacher summaries, the annual
overview sheets of the LA workbook and the annual CSV):

1. **Primary.** A count of 1 to 4 pupils (``1 <= n < THRESHOLD``) is shown as the marker
   ``MARKER`` ("c"). Zero stays 0: an empty group identifies nobody. A total of 1 to 4 is
   suppressed too.
2. **Secondary.** A breakdown is a *line*: its cells and the total they add up to
   (``sum(cells) == total``). If a line has exactly one suppressed member, the value
   would come back as total - sum(visible cells), so the smallest other visible non-zero
   member of the line (a cell, or the total itself when nothing else is left) is suppressed
   as well. If the total is visible and every suppressed cell is 1 (hidden sum == number
   of hidden cells), the hidden cells could still be worked out -- each is at least 1
   because 0 is shown -- so one more member is suppressed.
3. Lines that share members (a partnership's row and the LA's column in a table,
   several breakdowns of the same pupils sharing one total) are checked again and
   again until no line needs anything: the hidden set only grows, so this ends.
4. A share (percentage) of a suppressed count is suppressed too.

The same marker is used for primary and secondary suppression, so a reader cannot tell
which suppressed cell is the small one. Zero is never suppressed (rule 2 picks a
non-zero member first, and a line whose only hidden member is a cell always has a
non-zero total). This protects against recovering a count from one published total;
it is not a full linear-programming audit of every combination of published tables.

Pure functions on lists of ints: ``protect`` is the general form (values plus the lines
they must satisfy), ``suppress`` one breakdown with its total, ``suppress_table`` a
rows x columns table with row totals, column totals and a grand total.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

THRESHOLD = 5
MARKER = "c"
LEGEND = (f"{MARKER} = suppressed: 1 to {THRESHOLD - 1} pupils, or hidden so that a small number cannot be worked "
          "out from a total. 0 means no pupils.")


def is_small(n: int, threshold: int = THRESHOLD) -> bool:
    return 1 <= n < threshold


def protect(values: Sequence[int], lines: Sequence[Sequence[int]], threshold: int = THRESHOLD,
            forced: Iterable[int] = ()) -> list[bool]:
    """Which of ``values`` to suppress. ``lines``: lists of indexes into ``values`` whose
    LAST member is the total of the others. ``forced``: indexes suppressed whatever their value."""
    hidden = [is_small(v, threshold) for v in values]
    for i in forced:
        hidden[i] = True
    changed = True
    while changed:
        changed = False
        for line in lines:
            h = [i for i in line if hidden[i]]
            if not h:
                continue
            total_visible = not hidden[line[-1]]
            needs = len(h) == 1 or (total_visible and sum(values[i] for i in h) <= len(h))
            if not needs:
                continue
            candidates = sorted((i for i in line if not hidden[i]), key=lambda i: (values[i] == 0, values[i], i))
            if candidates:
                hidden[candidates[0]] = True
                changed = True
    return hidden


@dataclass(frozen=True)
class Line:
    cells: tuple[bool, ...]
    total: bool


def suppress(counts: Sequence[int], threshold: int = THRESHOLD) -> Line:
    """One breakdown whose total (``sum(counts)``) is published: which cells, and whether the total, to hide."""
    values = [*counts, sum(counts)]
    hidden = protect(values, [list(range(len(values)))], threshold)
    return Line(tuple(hidden[:-1]), hidden[-1])


@dataclass(frozen=True)
class Table:
    cells: tuple[tuple[bool, ...], ...]
    row_totals: tuple[bool, ...]
    col_totals: tuple[bool, ...]
    grand: bool


def suppress_table(rows: Sequence[Sequence[int]], threshold: int = THRESHOLD,
                   row_totals: Sequence[int] | None = None) -> Table:
    """A table with row totals (``sum`` of each row unless given), column totals and a grand total."""
    n = len(rows)
    m = len(rows[0]) if rows else 0
    rt = list(row_totals) if row_totals is not None else [sum(r) for r in rows]
    ct = [sum(r[j] for r in rows) for j in range(m)]
    values = [v for r in rows for v in r] + rt + ct + [sum(rt)]
    cell = lambda i, j: i * m + j  # noqa: E731
    rti = lambda i: n * m + i  # noqa: E731
    cti = lambda j: n * m + n + j  # noqa: E731
    g = n * m + n + m
    lines = [[*(cell(i, j) for j in range(m)), rti(i)] for i in range(n)]
    lines += [[*(cell(i, j) for i in range(n)), cti(j)] for j in range(m)]
    lines += [[*(cti(j) for j in range(m)), g], [*(rti(i) for i in range(n)), g]]
    hidden = protect(values, lines, threshold)
    return Table(tuple(tuple(hidden[cell(i, j)] for j in range(m)) for i in range(n)),
                 tuple(hidden[rti(i)] for i in range(n)), tuple(hidden[cti(j)] for j in range(m)), hidden[g])


def shown(n: int | None, hidden: bool) -> int | str | None:
    """What a published cell holds: the count, or the marker."""
    return MARKER if hidden and n is not None else n


def apply(counts: Sequence[int], threshold: int = THRESHOLD) -> tuple[list[int | str], int | str]:
    """A breakdown as published: cells and total, suppressed cells replaced by the marker."""
    s = suppress(counts, threshold)
    total = sum(counts)
    return [MARKER if h else n for n, h in zip(counts, s.cells, strict=True)], (MARKER if s.total else total)


Count = int | str | None  # a published count: a number, MARKER or blank
