"""Write the sample files in this folder: the sample roster and filled-in returns.

    python samples/make.py [DIR]      (default: this folder)

They are made from the demo's sample data (``pbp demo``: the same roster, the same
seeded values, the same deliberate mistakes) and typed into issued workbooks with
openpyxl, as a person with Excel fills in the yellow cells. Everything is fixed (issue
tokens, times, seeds), so the files only change when the code that makes them does;
tests/test_samples.py fails when the committed files are not what this script makes.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.config import Config, Thresholds
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.demo import annual_samples
from pbp_workbooks.demo import run as demo
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.workbook.generate import period_sources, prefill
from pbp_workbooks.workbook.writer import Identity, WorkbookWriter

HERE = Path(__file__).resolve().parent
YEAR = FinancialYear.parse(demo.YEAR)
PASSWORD = "sample"
ROSTER = "roster.xlsx"
CLEAN = "quarterly-2025-26-q2-north-clean.xlsx"
MISTAKES = "quarterly-2025-26-q2-west-mistakes.xlsx"
ANNUAL = "annual-2025-26-south.xlsx"
# the mistakes typed into MISTAKES: each demo partnership's Q2 mistake (demo.PROBLEMS), all in one return
MISTAKE_CODES = {"East": "Q-E201", "South": "Q-E108", "West": "Q-E203", "Central": "Q-E211"}
ISSUED_AT = {2: datetime(2025, 10, 1, 9, 0, tzinfo=UTC), None: datetime(2026, 4, 1, 9, 0, tzinfo=UTC)}


def issue(spec: spec_mod.Spec, roster: roster_mod.Roster, partnership: str, quarter: int | None,
          path: Path) -> dict[str, Any]:
    """The workbook the LA would issue (a fixed token and time; nothing pre-filled from
    history); returns the values it was pre-filled with."""
    prov = next(p for p in roster.provisions if p.partnership == partnership)
    token = hashlib.sha256(f"sample {YEAR} {quarter} {partnership}".encode()).hexdigest()[:16]
    identity = Identity(spec.id, spec.version, spec.kind, str(YEAR), quarter, prov.partnership, prov.host_school,
                        prov.urn, prov.provision, token)
    cfg = Config()
    writer = WorkbookWriter(spec, identity, password=PASSWORD, params=Thresholds().params(), la_name=cfg.la_name,
                            contact=cfg.finance_contact, due=roster.due(YEAR, f"Q{quarter}" if quarter else "Annual"),
                            generated_at=ISSUED_AT[quarter])
    values = prefill(spec, period_sources(prov, YEAR, quarter, roster.allocation(partnership, YEAR)))
    writer.write(path, values)
    return values


def quarterly_values(spec: spec_mod.Spec, roster: roster_mod.Roster, partnership: str) -> dict[str, Any]:
    """A partnership's clean Q2 return, as in the demo (Q1 first, then Q2 carried forward from it)."""
    params = Thresholds().params()
    i = [p.partnership for p in roster.provisions].index(partnership)
    alloc = roster.allocation(partnership, YEAR)
    q1 = demo.sample_values(spec, YEAR, 1, alloc, params, seed=100 + i)
    fresh = demo.sample_values(spec, YEAR, 2, alloc, params, seed=200 + i)
    return demo.carry_forward(spec, q1, fresh, 2, params, seed=300 + i)


def make(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    roster_path = out / ROSTER
    roster_mod.write_sample(roster_path)
    roster = roster_mod.load(roster_path)
    spec = spec_mod.load("quarterly")
    aspec = spec_mod.load("annual")
    params = Thresholds().params()
    with tempfile.TemporaryDirectory() as tmp:
        issued = Path(tmp) / "issued.xlsx"

        issue(spec, roster, "North", 2, issued)
        demo.type_into(issued, out / CLEAN, demo.typed(spec, quarterly_values(spec, roster, "North"), 2))

        v = quarterly_values(spec, roster, "West")
        for i, partnership in enumerate(MISTAKE_CODES):
            v = demo.with_problem(spec, partnership, v, params, seed=400 + i)
        issue(spec, roster, "West", 2, issued)
        demo.type_into(issued, out / MISTAKES, demo.typed(spec, v, 2))

        prefilled = issue(aspec, roster, "South", None, issued)
        values = annual_samples.filled_values(aspec, YEAR, prefilled, seed=902, params=params, placements=0, ehcp=0)
        demo.type_into(issued, out / ANNUAL, {k: x for k, x in values.items() if k in aspec.by_name
                                                and aspec[k].is_input})
    return [out / name for name in (ROSTER, CLEAN, MISTAKES, ANNUAL)]


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for p in make(target):
        print(p)
