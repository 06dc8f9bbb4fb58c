"""docs/rules.md is generated from the code: it must not go stale, and codes are unique."""

from __future__ import annotations

from pathlib import Path

from pbp_workbooks.cli import catalogue

DOC = Path(__file__).resolve().parents[1] / "docs" / "rules.md"


def test_rule_catalogue_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == catalogue.markdown(), (
        "docs/rules.md is stale: run  python -m pbp_workbooks.cli.catalogue > docs/rules.md")


def test_codes_are_unique_and_well_formed() -> None:
    codes = [e.code for e in catalogue.entries()]
    assert len(codes) == len(set(codes))
    for e in catalogue.entries():
        assert e.severity in ("error", "warning")
        assert (e.code.split("-")[1][0] == "E") == (e.severity == "error"), e.code
        assert e.message and "\n" not in e.message


def test_catalogue_lists_every_level() -> None:
    levels = {e.level for e in catalogue.entries()}
    assert levels == {"file", "email", "template", "field", "cross-field", "cross-return"}
    assert {"F-E005", "T-E004", "Q-E101", "Q-E201", "Q-W220"} <= {e.code for e in catalogue.entries()}


def test_field_rules_are_listed_only_where_an_input_can_break_them() -> None:
    codes = {e.code for e in catalogue.entries()}
    assert "Q-E104" in codes  # the quarterly return has per-quarter actuals
    assert "A-E104" not in codes  # the annual report has none
    assert {"A-E101", "A-E108", "Q-E106", "Q-W109"} <= codes
