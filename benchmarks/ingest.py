"""Benchmark: ingest and validate 1,000 returns; `pbp validate one.xlsx`; `pbp --help`.

Targets (issue 4): ingest 1,000 <= 10 s wall, and <= 8x a calamine-only read of the same
files measured in the same run; `pbp validate one.xlsx` <= 1.5 s; `pbp --help` <= 0.3 s.

    python benchmarks/ingest.py [N]
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

sys.path.insert(0, str(Path(__file__).parent))
from generate import big_roster

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main
from pbp_workbooks.demo import samples
from pbp_workbooks.intake.ingest import ingest
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.workbook.writer import Identity, WorkbookWriter


class Phases:
    """A progress hook for ingest() that notes when its Archiving and Recording loops run."""

    def __init__(self) -> None:
        self.spans: dict[str, tuple[float, float]] = {}

    def __call__(self, items: Any, total: int, label: str) -> Any:
        start = time.perf_counter()
        yield from items
        self.spans[label] = (start, time.perf_counter())


def cpu() -> tuple[float, float]:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


# An installed package runs from compiled bytecode (pip compiles it); a shell that sets
# PYTHONDONTWRITEBYTECODE would make every run recompile the checkout instead.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(argv: list[str], cwd: Path, runs: int = 5) -> float:
    times = []
    for i in range(runs + 1):  # the first run writes the bytecode and warms the disk cache: not counted
        t = time.perf_counter()
        subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                       check=False, env=_ENV)
        if i:
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def installed_python(venv: Path) -> Path | None:
    """A fresh virtual environment with the package installed as the README's demo command
    installs it; None when pip cannot install (no network and no cache)."""
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, stdin=subprocess.DEVNULL)
    python = venv / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", str(root)], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return python if done.returncode == 0 else None


def make_returns(tmp: Path, n: int) -> tuple[Workspace, list[Path]]:
    """A workspace in tmp/ws with n quarterly returns issued, and n filled returns in tmp/inbox
    (every tenth with a problem, so it gets a feedback workbook). Leaves the current folder in the workspace."""
    spec = spec_mod.load("quarterly")
    fy = FinancialYear.parse("2025-26")
    params = Thresholds().params()
    root = tmp / "ws"
    big_roster(n)
    main(["init", str(root), "--password", "bench"])
    os.chdir(root)
    main(["generate", "quarterly", "--year", "2025-26", "--quarter", "2", "--out", str(tmp / "out")])
    inbox = tmp / "inbox"
    inbox.mkdir()
    ws = Workspace(root)
    with Ledger(ws.ledger_path) as ledger:
        issued = ledger.issued_for("quarterly", "2025-26", 2)
    alloc = {p.partnership: Decimal(roster_mod.SAMPLE_ALLOCATIONS[p.partnership][1])
             for p in roster_mod.SAMPLE_PROVISIONS}
    for i, iss in enumerate(issued):
        prov = next(p for p in roster_mod.SAMPLE_PROVISIONS if p.partnership == iss.partnership)
        pre = {"partnership": prov.partnership, "host_school": prov.host_school, "urn": prov.urn,
               "provision": prov.provision, "financial_year": "2025-26", "quarter": "Q2 (July to September)",
               "dsg_allocation": alloc[prov.partnership]}
        values = samples.filled_values(spec, fy, 2, pre, seed=i, params=params)
        if i % 10 == 0:
            values["email"] = "not an email"  # every tenth return has a problem: feedback is written
        ident = Identity(spec.id, spec.version, spec.kind, "2025-26", 2, prov.partnership, prov.host_school,
                         prov.urn, prov.provision, iss.token)
        WorkbookWriter(spec, ident, password="bench", params=params, la_name="LA", contact="x", due=None,
                       generated_at=datetime.now(UTC)).write(inbox / f"return-{i:04d}.xlsx", values)
    return ws, sorted(inbox.glob("*.xlsx"))


def run(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws, files = make_returns(Path(tmp), n)
        root, inbox = ws.root, Path(tmp) / "inbox"

        t = time.perf_counter()
        for f in files:
            CalamineWorkbook.from_path(str(f)).get_sheet_by_name("Return").to_python()
        calamine = time.perf_counter() - t

        phases = Phases()
        cpu0 = cpu()
        t = time.perf_counter()
        reports = ingest(ws, [inbox], progress=phases)
        end = time.perf_counter()
        ours = end - t
        cpu1 = cpu()
        (a0, a1), (r0, r1) = phases.spans["Archiving"], phases.spans["Recording"]
        breakdown = (f"archiving {a1 - a0:.2f} s (workers reading meanwhile), rest of reading + batch checks "
                     f"{r0 - a1:.2f} s, recording + feedback {r1 - r0:.2f} s, other {a0 - t + end - r1:.2f} s; "
                     f"CPU: this process {cpu1[0] - cpu0[0]:.2f} s, workers {cpu1[1] - cpu0[1]:.2f} s")
        statuses = {s: sum(r.status == s for r in reports) for s in {r.status for r in reports}}

        one = files[1]
        validate_one = wall([sys.executable, "-m", "pbp_workbooks", "validate", str(one)], root)
        help_time = wall([sys.executable, "-m", "pbp_workbooks", "--help"], root)
        python_start = wall([sys.executable, "-c", "pass"], root)
        pandera_import = wall([sys.executable, "-c", "import pandas, pandera.pandas"], root)
        installed = installed_python(Path(tmp) / "venv")
        if installed is not None:  # as a user runs it: pip install . (no test extras)
            validate_installed = wall([str(installed), "-m", "pbp_workbooks", "validate", str(one)], root)
            import_installed = wall([str(installed), "-c", "import pandas, pandera.pandas"], root)
    print(f"ingest + validate {n} returns: {ours:.2f} s wall ({ours / n * 1000:.1f} ms per return); {statuses}")
    print(f"  phases: {breakdown}")
    print(f"calamine-only read of the same files: {calamine:.2f} s; ratio {ours / calamine:.1f}x (target <= 8x)")
    print(f"target <= 10 s for 1000: {'met' if ours <= 10 * n / 1000 else 'NOT met'}")
    print(f"pbp validate one.xlsx: median {validate_one:.2f} s (target <= 1.5 s); of which importing pandas and "
          f"pandera alone takes {pandera_import:.2f} s in the same run (the floor for any pandera validation)")
    if installed is not None:
        print(f"  installed as a user installs it (no test extras): median {validate_installed:.2f} s; importing "
              f"pandas and pandera there takes {import_installed:.2f} s (pandera imports hypothesis when it is "
              f"installed, as it is for the tests)")
    print(f"pbp --help: median {help_time:.2f} s (target <= 0.3 s); bare python start {python_start:.2f} s")


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
