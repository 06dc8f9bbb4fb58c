"""Benchmark: generate 1,000 quarterly workbooks end to end (roster -> files + ledger).

Target (issue 3): <= 15 s on the 2-core machine. Prints the total, the median per
workbook of the stamped path `pbp generate` uses (stamp.py) and of the writer building
a workbook directly, and their ratios to a baseline measured in the same run: a bare
xlsxwriter workbook with the same number of cells, no formats, names or validation.

    python benchmarks/generate.py [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import xlsxwriter

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.cli.main import main
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.workbook.generate import period_sources, prefill
from pbp_workbooks.workbook.stamp import Stamp
from pbp_workbooks.workbook.writer import Identity, WorkbookWriter


def big_roster(n: int) -> None:
    """Make the sample roster describe n provisions."""
    base = roster_mod.SAMPLE_PROVISIONS
    provs = [roster_mod.Provision(f"P{i:04d}", f"School {i:04d}", f"{800000 + i}", f"Provision {i:04d}", None)
             for i in range(n)]
    roster_mod.SAMPLE_PROVISIONS = provs
    roster_mod.SAMPLE_ALLOCATIONS = {p.partnership: roster_mod.SAMPLE_ALLOCATIONS[base[i % 5].partnership]
                                     for i, p in enumerate(provs)}


def baseline(path: Path, cells: int) -> None:
    wb = xlsxwriter.Workbook(str(path), {"in_memory": True})
    ws = wb.add_worksheet()
    for i in range(cells):
        ws.write_number(i // 12, i % 12, i)
    wb.close()


def main_bench(n: int) -> None:
    spec = spec_mod.load("quarterly")
    fy = FinancialYear.parse("2025-26")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        big_roster(n)
        main(["init", str(root), "--password", "bench"])
        import os

        os.chdir(root)
        t0 = time.perf_counter()
        assert main(["generate", "quarterly", "--year", "2025-26", "--quarter", "2", "--out", str(Path(tmp) / "out")]) == 0
        total = time.perf_counter() - t0

        # per-workbook timings of the writer alone, and the same-run baseline
        prov = roster_mod.SAMPLE_PROVISIONS[0]
        values = prefill(spec, period_sources(prov, fy, 2, roster_mod.SAMPLE_ALLOCATIONS[prov.partnership][1]))
        writer = WorkbookWriter(spec, Identity(spec.id, spec.version, spec.kind, "2025-26", 2, prov.partnership,
                                               prov.host_school, prov.urn, prov.provision, "0" * 16),
                                password="bench", params=Thresholds().params(), la_name="LA", contact="x@y",
                                due=None, generated_at=datetime.now(UTC))
        stamp = Stamp(spec, financial_year="2025-26", quarter=2, password="bench", params=Thresholds().params(),
                      la_name="LA", contact="x@y", due=None, generated_at=datetime.now(UTC))
        ours, stamped, base = [], [], []
        cells = len(spec.fields) + len(spec.texts)
        for i in range(50):
            t = time.perf_counter()
            writer.write(Path(tmp) / f"one{i}.xlsx", values)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            stamp.write(Path(tmp) / f"stamped{i}.xlsx", writer.identity, values)
            stamped.append(time.perf_counter() - t)
            t = time.perf_counter()
            baseline(Path(tmp) / f"base{i}.xlsx", cells)
            base.append(time.perf_counter() - t)
    print(f"generate {n} workbooks end to end: total {total:.2f} s ({total / n * 1000:.1f} ms per workbook incl. ledger)")
    b = statistics.median(base)
    print(f"baseline (bare xlsxwriter, {cells} cells): median {b * 1000:.1f} ms per workbook (50 runs)")
    print(f"stamped from the batch's prototype (what generate does): median {statistics.median(stamped) * 1000:.1f} ms;"
          f" ratio {statistics.median(stamped) / b:.2f}x")
    print(f"writer building it directly (feedback workbooks): median {statistics.median(ours) * 1000:.1f} ms; "
          f"ratio {statistics.median(ours) / b:.1f}x")
    print(f"target <= 15 s for 1000: {'met' if total <= 15 * n / 1000 else 'NOT met'}")


if __name__ == "__main__":
    main_bench(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
