"""docs/rules.md is generated from the rule registry and must not go stale (the registry itself:
tests/test_registry.py)."""

from __future__ import annotations

from pathlib import Path

from pbp_workbooks.cli import catalogue

DOC = Path(__file__).resolve().parents[1] / "docs" / "rules.md"


def test_rule_catalogue_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == catalogue.markdown(), (
        "docs/rules.md is stale: run  python -m pbp_workbooks.cli.catalogue > docs/rules.md")
