"""Benchmark: read one filled quarterly return (the per-file cost of `pbp ingest` / `validate`).

Times pbp_workbooks.intake.validation.read_one (open_workbook + read_workbook: vetting, parsing the
sheets the reader needs, converting the inputs) on one filled return, and, as a baseline
measured in the same run on the same file, python-calamine reading the Return sheet's
values. Another process may be using the CPU, so compare ratios, not absolute times.
Target (ingest issue): 1,000 returns in <= 7 s on the 2-core machine.

    python benchmarks/read.py [RUNS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from python_calamine import CalamineWorkbook

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.demo import samples
from pbp_workbooks.intake.validation import read_one
from pbp_workbooks.intake.xlsx_safe import Limits
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.workbook.writer import Identity, WorkbookWriter


def write_return(path: Path) -> None:
    spec = spec_mod.load("quarterly")
    fy = FinancialYear.parse("2025-26")
    params = Thresholds().params()
    prov = roster_mod.SAMPLE_PROVISIONS[0]
    pre = {"partnership": prov.partnership, "host_school": prov.host_school, "urn": prov.urn,
           "provision": prov.provision, "financial_year": "2025-26", "quarter": "Q2 (July to September)",
           "dsg_allocation": Decimal(100000)}
    values = samples.filled_values(spec, fy, 2, pre, seed=1, params=params)
    ident = Identity(spec.id, spec.version, spec.kind, "2025-26", 2, prov.partnership, prov.host_school,
                     prov.urn, prov.provision, "0" * 16)
    WorkbookWriter(spec, ident, password="b", params=params, la_name="LA", contact="x", due=None,
                   generated_at=datetime.now(UTC)).write(path, values)


def times_ms(fn: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main(argv: list[str]) -> None:
    runs = int(argv[0]) if argv else 300
    limits = Limits()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.xlsx"
        write_return(path)
        checked = read_one(path, "r.xlsx", limits)
        assert checked.data is not None and checked.report.status != "unreadable", checked.report

        def ours() -> object:
            return read_one(path, "r.xlsx", limits)

        def calamine() -> object:
            return CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Return").to_python()

        for fn in (ours, calamine):  # warm up imports and caches
            for _ in range(10):
                fn()
        # Interleave the two so a busy neighbour slows both alike.
        # The min is the least disturbed read; on a shared machine quote it with the median.
        ours_ms: list[float] = []
        cal_ms: list[float] = []
        for _ in range(5):
            ours_ms += times_ms(ours, runs // 5 or 1)
            cal_ms += times_ms(calamine, runs // 5 or 1)
        a, b = statistics.median(ours_ms), statistics.median(cal_ms)
        a_min, b_min = min(ours_ms), min(cal_ms)
        print(f"file: {path.stat().st_size:,} bytes; {runs} runs each")
        print(f"read_one:  {a:.2f} ms median, {a_min:.2f} ms min per read")
        print(f"calamine:  {b:.2f} ms median, {b_min:.2f} ms min per read (Return sheet values)")
        print(f"ratio:     {a / b:.1f}x calamine (median), {a_min / b_min:.1f}x (min)")
        print(f"1,000 reads at this rate: {a:.1f} s on one core (target <= 7 s for 1,000)")


if __name__ == "__main__":
    main(sys.argv[1:])
