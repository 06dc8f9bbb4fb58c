"""Shared fixtures: a real workspace on disk, real generated workbooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main

# Property tests judge correctness, not speed: on a loaded 2-core machine Hypothesis's
# "generating inputs was too slow" check and per-example deadlines failed runs at random.
settings.register_profile("pbp", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("pbp")

pytest_plugins = ["libreoffice"]  # the session-wide headless LibreOffice fixture (tests/libreoffice.py)

PASSWORD = "test-pw"
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    root = tmp_path / "ws"
    assert main(["init", str(root), "--password", PASSWORD]) == 0
    monkeypatch.chdir(root)
    monkeypatch.delenv("PBP_WORKSPACE", raising=False)
    return Workspace(root.resolve())


@pytest.fixture
def q2_files(workspace: Workspace) -> list[Path]:
    assert main(["generate", "quarterly", "--year", "2025-26", "--quarter", "2"]) == 0
    files = sorted((workspace.root / "outbox" / "2025-26 Q2").glob("*.xlsx"))
    assert len(files) == 5
    return files
