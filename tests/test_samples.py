"""samples/: the committed sample roster and returns are what samples/make.py makes today,
and `pbp validate` gives each the verdict samples/README.md promises."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from xlsx_compare import parts

from pbp_workbooks.base import roster as roster_mod

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _make_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("samples_make", SAMPLES / "make.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make = _make_module()


# which program wrote the file (openpyxl names its own version since 3.1.5): not the sample's content
_WRITER = re.compile(rb"<(Application|AppVersion)>[^<]*</\1>")


def content(path: Path) -> dict[str, bytes]:
    """The file's parts, without timestamps and the writing program's name and version."""
    return {name: _WRITER.sub(b"", data) if name == "docProps/app.xml" else data for name, data in parts(path).items()}


def validate(path: Path, cwd: Path) -> tuple[int, list[dict[str, object]]]:
    """`pbp validate --json FILE` as a person runs it, outside any workspace."""
    run = subprocess.run([sys.executable, "-m", "pbp_workbooks", "validate", "--json", str(path)], cwd=cwd,
                         capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert "Traceback" not in run.stderr, run.stderr
    return run.returncode, json.loads(run.stdout)


def test_the_committed_samples_are_what_the_generator_makes_today(tmp_path: Path) -> None:
    made = make.make(tmp_path / "made")
    committed = sorted(p.name for p in SAMPLES.glob("*.xlsx"))
    assert committed == sorted(p.name for p in made)
    for p in made:
        assert content(p) == content(SAMPLES / p.name), f"samples/{p.name} is stale: run 'python samples/make.py'"


@pytest.mark.parametrize("name", [make.CLEAN, make.ANNUAL])
def test_a_clean_sample_is_accepted(name: str, tmp_path: Path) -> None:
    rc, reports = validate(SAMPLES / name, tmp_path)
    assert rc == 0 and reports[0]["status"] == "accepted" and reports[0]["findings"] == [], reports


def test_the_sample_with_mistakes_is_rejected_with_each_mistake(tmp_path: Path) -> None:
    rc, reports = validate(SAMPLES / make.MISTAKES, tmp_path)
    assert rc == 1 and reports[0]["status"] == "rejected"
    findings = reports[0]["findings"]
    assert isinstance(findings, list)
    assert sorted(f["code"] for f in findings) == sorted(make.MISTAKE_CODES.values())
    assert reports[0]["return"]["partnership"] == "West"


def test_the_sample_roster_is_the_demo_roster() -> None:
    roster = roster_mod.load(SAMPLES / make.ROSTER)
    assert roster.provisions == roster_mod.SAMPLE_PROVISIONS
    assert len(roster.members) == len(roster_mod.sample_rows()["Member schools"])


def test_the_samples_readme_names_every_file() -> None:
    text = (SAMPLES / "README.md").read_text(encoding="utf-8")
    for name in (make.ROSTER, make.CLEAN, make.MISTAKES, make.ANNUAL, *make.MISTAKE_CODES.values()):
        assert name in text, name
