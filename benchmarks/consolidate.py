"""Benchmark: consolidate 1,000 accepted quarterly returns (ledger -> recompute -> workbook + CSV),
then the same with the 1,000 headteacher summary workbooks.

Target (consolidation issue): <= 10 s for 1,000 accepted returns. Prints the median of a few
runs and the phases of one (load + recompute, workbook, CSV).

    python benchmarks/consolidate.py [N] [RUNS]
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from generate import big_roster  # the same roster maker as the generate benchmark

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main
from pbp_workbooks.demo import samples
from pbp_workbooks.intake.ingest import ingest
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.reports.consolidate import consolidate
from pbp_workbooks.reports.consolidation import load
from pbp_workbooks.reports.csv_export import CATEGORIES, write_csv
from pbp_workbooks.reports.la_workbook import category_rows, write_workbook
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.workbook.writer import Identity, WorkbookWriter


def setup(tmp: Path, n: int) -> Workspace:
    spec = spec_mod.load("quarterly")
    fy = FinancialYear.parse("2025-26")
    params = Thresholds().params()
    root = tmp / "ws"
    big_roster(n)
    with contextlib.redirect_stdout(io.StringIO()):  # one line per workbook: not the point here
        main(["init", str(root), "--password", "bench"])
        os.chdir(root)
        main(["generate", "quarterly", "--year", "2025-26", "--quarter", "2", "--out", str(tmp / "out")])
    ws = Workspace(root)
    with Ledger(ws.ledger_path) as ledger:
        issued = ledger.issued_for("quarterly", "2025-26", 2)
    provs = {p.partnership: p for p in roster_mod.SAMPLE_PROVISIONS}
    inbox = tmp / "inbox"
    inbox.mkdir()
    for i, iss in enumerate(issued):
        prov = provs[iss.partnership]
        alloc = Decimal(roster_mod.SAMPLE_ALLOCATIONS[prov.partnership][1])
        pre = {"partnership": prov.partnership, "host_school": prov.host_school, "urn": prov.urn,
               "provision": prov.provision, "financial_year": "2025-26", "quarter": "Q2 (July to September)",
               "dsg_allocation": alloc}
        values = samples.filled_values(spec, fy, 2, pre, seed=i, params=params)
        ident = Identity(spec.id, spec.version, spec.kind, "2025-26", 2, prov.partnership, prov.host_school,
                         prov.urn, prov.provision, iss.token)
        WorkbookWriter(spec, ident, password="bench", params=params, la_name="LA", contact="x", due=None,
                       generated_at=datetime.now(UTC)).write(inbox / f"return-{i:04d}.xlsx", values)
    reports = ingest(ws, [inbox])
    accepted = sum(r.ok for r in reports)
    print(f"setup: {n} returns generated, filled and ingested; {accepted} accepted")
    return ws


def run(n: int, runs: int) -> None:
    fy = FinancialYear.parse("2025-26")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ws = setup(tmp, n)
        plain, full = [], []
        for i in range(runs):
            t = time.perf_counter()
            out = consolidate(ws, fy, 2, tmp / f"plain{i}", summaries=False)
            plain.append(time.perf_counter() - t)
        assert len(out.data.accepted()) == n
        for i in range(runs):
            t = time.perf_counter()
            out = consolidate(ws, fy, 2, tmp / f"full{i}", summaries=True)
            full.append(time.perf_counter() - t)
        assert len(out.summaries) == n
        # the phases of one run
        t0 = time.perf_counter()
        data = load(ws, fy, 2)
        t1 = time.perf_counter()
        write_workbook(data, tmp / "phase.xlsx")
        t2 = time.perf_counter()
        write_csv(tmp / "phase.csv", CATEGORIES, category_rows(data))
        t3 = time.perf_counter()
        size = (tmp / "phase.xlsx").stat().st_size
    med = statistics.median(plain)
    print(f"consolidate {n} accepted returns (workbook + 2 CSV): median {med:.2f} s over {runs} runs "
          f"({', '.join(f'{x:.2f}' for x in plain)})")
    print(f"  phases: load + recompute {t1 - t0:.2f} s, workbook {t2 - t1:.2f} s ({size / 2**20:.1f} MB), "
          f"categories CSV {t3 - t2:.2f} s")
    print(f"  with {n} headteacher summaries: median {statistics.median(full):.2f} s "
          f"({', '.join(f'{x:.2f}' for x in full)})")
    print(f"target <= 10 s for 1000: {'met' if med <= 10 * n / 1000 else 'NOT met'} (workbook + CSV); "
          f"{'met' if statistics.median(full) <= 10 * n / 1000 else 'NOT met'} including the summaries")


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
