"""The package is laid out by stage (README, "How it is built"): each stage may import only from itself
and earlier stages, every stage says so in its docstring, and no module is over 800 lines."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pbp_workbooks"
STAGES = ["base", "spec", "ledger", "workbook", "intake", "reports", "demo", "cli"]
MAX_LINES = 800


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "_data" not in p.parts)


def _stage(path: Path) -> str | None:
    rel = path.relative_to(PACKAGE).parts
    return rel[0] if len(rel) > 1 else None  # None: the package's own __init__/__main__


def _imported_stages(path: Path) -> set[tuple[str, int]]:
    return _imports(path.read_text(encoding="utf-8"), path.relative_to(PACKAGE).with_suffix("").parts)


def _imports(source: str, here: tuple[str, ...]) -> set[tuple[str, int]]:
    """(stage, line) of every pbp_workbooks import in a module, wherever it is (TYPE_CHECKING too);
    ``here`` is the module's path below pbp_workbooks, for relative imports."""
    tree = ast.parse(source)
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[:-node.level])
                names = [".".join(["pbp_workbooks", *base, *([node.module] if node.module else [])])]
                if not node.module:
                    names = [f"{names[0]}.{a.name}" for a in node.names]
            elif node.module:
                names = [node.module] if node.module != "pbp_workbooks" else [f"pbp_workbooks.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "pbp_workbooks" and len(parts) > 1 and parts[1] in STAGES:
                found.add((parts[1], node.lineno))
    return found


def test_every_module_sits_in_a_stage_or_is_the_package_entry() -> None:
    loose = [p.name for p in _modules() if _stage(p) is None]
    assert sorted(loose) == ["__init__.py", "__main__.py"]
    assert sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))) \
        == sorted(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_says_what_it_holds_and_may_import(stage: str) -> None:
    doc = importlib.import_module(f"pbp_workbooks.{stage}").__doc__ or ""
    assert "May import" in doc, f"pbp_workbooks/{stage}/__init__.py must say what the stage may import"
    if stage != "base":
        previous = STAGES[STAGES.index(stage) - 1]
        assert f"``{previous}``" in doc or "every earlier stage" in doc


def test_no_stage_imports_a_later_stage() -> None:
    wrong = []
    for path in _modules():
        stage = _stage(path)
        if stage is None:
            continue
        for other, line in sorted(_imported_stages(path)):
            if STAGES.index(other) > STAGES.index(stage):
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {other} (a later stage than {stage})")
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_every_form_of_import() -> None:
    """Absolute, relative, ``from pbp_workbooks import x`` and TYPE_CHECKING imports are all seen
    (so the test above can fail)."""
    source = ("from typing import TYPE_CHECKING\nfrom ..reports import figures\nfrom pbp_workbooks import cli\n"
              "import pbp_workbooks.demo.run\nif TYPE_CHECKING:\n    from pbp_workbooks.intake.reader import x\n")
    assert {s for s, _ in _imports(source, ("spec", "model"))} == {"reports", "cli", "demo", "intake"}


def test_no_module_is_over_800_lines() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"
