"""The spec is the single source of truth; `pbp spec --json` publishes it."""

from __future__ import annotations

import copy
import json
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from pbp_workbooks.base.errors import SpecError
from pbp_workbooks.base.resources import data_dir
from pbp_workbooks.cli.main import main
from pbp_workbooks.spec import model as spec
from pbp_workbooks.spec import rules

GOLDEN = Path(__file__).parent / "golden" / "quarterly-spec.json"


def test_quarterly_spec_has_design_sections_and_categories() -> None:
    s = spec.load("quarterly")
    assert [x.key for x in s.sections] == [
        "details",
        "income",
        "exp",
        "exp_notes",
        "balances",
        "items",
        "placements",
        "signoff",
    ]
    exp = next(x for x in s.sections if x.key == "exp")
    assert len(exp.row_keys) == 12 and "management_overhead" in exp.row_keys and exp.row_keys[-1] == "other"
    assert exp.col_keys[:5] == ("budget", "q1", "q2", "q3", "q4")
    types = {f.type for f in s.inputs()}
    assert types == {"money", "signed_money", "integer", "text", "date", "choice", "email", "yesno"}
    assert s["dsg_allocation"].role == "prefilled" and s["dsg_allocation"].source == "roster.allocation"
    assert s["exp_total_outturn"].role == "formula"


def test_spec_json_lists_every_input_with_its_cell(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "quarterly", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["template"] == "pbp-quarterly-return" and data["version"]
    s = spec.load("quarterly")
    by_name = {f["name"]: f for f in data["fields"]}
    assert by_name.keys() == s.by_name.keys()
    for f in s.inputs():
        j = by_name[f.name]
        assert (j["sheet"], j["cell"], j["type"], j["required"], j["label"], j["section"]) == (
            f.sheet,
            f.cell,
            f.type,
            f.required,
            f.label,
            f.section,
        )
    assert by_name["exp_teaching_staff_q3"]["open_from_quarter"] == 3
    assert by_name["email"]["max_length"] == 254
    assert by_name["declaration"]["choices"] == ["Yes", "No"]
    assert by_name["date_prepared"]["date_window"] == "period"


def layout(published: dict[str, Any]) -> dict[str, list[str]]:
    """Where each field is: name -> [sheet, cell, type]."""
    return {f["name"]: [f["sheet"], f["cell"], f["type"]] for f in published["fields"]}


def check_layout(published: dict[str, Any], folder: Path, update: bool) -> None:
    """Each template version's layout is recorded once, in ``layout-<template>-<version>.json``.
    The update mode records a new version's layout but never rewrites a recorded one, so it
    cannot approve a field that moved without a version bump."""
    cells = layout(published)
    path = folder / f"layout-{published['template']}-{published['version']}.json"
    if not path.exists():
        assert update, (f"no recorded layout for {published['template']} version {published['version']}: "
                        "run PBP_UPDATE_GOLDEN=1 to record it")
        lines = (f" {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}" for k, v in cells.items())
        path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    recorded = json.loads(path.read_text(encoding="utf-8"))
    changed = sorted(k for k in recorded.keys() | cells.keys() if recorded.get(k) != cells.get(k))
    assert not changed, (f"{published['template']} fields moved, were added or removed or changed type without a new "
                         f"version ({', '.join(changed[:5])}): bump [template] version in its spec")


@pytest.mark.parametrize("kind", spec.available())
def test_layout_changes_need_a_new_version(kind: str) -> None:
    """Cells are derived from the spec's order: moving one is a new template version."""
    check_layout(spec.load(kind).to_json(), GOLDEN.parent, bool(os.environ.get("PBP_UPDATE_GOLDEN")))


def test_the_update_mode_cannot_approve_a_moved_field(tmp_path: Path) -> None:
    published = spec.load("quarterly").to_json()
    check_layout(published, tmp_path, update=True)  # a new version: recorded
    recorded = next(tmp_path.glob("layout-*.json"))
    before = recorded.read_bytes()
    check_layout(published, tmp_path, update=False)
    moved = copy.deepcopy(published)
    a, b = moved["fields"][0], moved["fields"][1]
    a["cell"], b["cell"] = b["cell"], a["cell"]
    for update in (False, True):
        with pytest.raises(AssertionError, match="without a new version"):
            check_layout(moved, tmp_path, update=update)
    assert recorded.read_bytes() == before
    moved["version"] = "99.0"  # bumped: recorded in update mode, refused without it
    with pytest.raises(AssertionError, match="no recorded layout"):
        check_layout(moved, tmp_path, update=False)
    check_layout(moved, tmp_path, update=True)
    check_layout(moved, tmp_path, update=False)


@pytest.mark.parametrize("kind", spec.available())
def test_published_spec_matches_its_golden(kind: str) -> None:
    """`pbp spec KIND --json` as published: any change is reviewed (PBP_UPDATE_GOLDEN=1 rewrites it)."""
    current = spec.load(kind).to_json()
    path = GOLDEN.parent / f"{kind}-spec.json"
    if os.environ.get("PBP_UPDATE_GOLDEN"):
        path.write_text(json.dumps(current, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    golden = json.loads(path.read_text(encoding="utf-8"))
    assert golden == current, f"the published {kind} spec changed: review, then PBP_UPDATE_GOLDEN=1"


def test_spec_human_table_and_unknown_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "quarterly"]) == 0
    out = capsys.readouterr().out
    assert "exp_teaching_staff_budget" in out and "B" in out
    assert main(["spec", "weekly"]) == 2
    assert "no template called 'weekly'" in capsys.readouterr().err


def _spec_data() -> dict:
    with (data_dir("workbook_templates") / "quarterly.toml").open("rb") as fh:
        return tomllib.load(fh)


def test_spec_errors_are_caught_when_loading() -> None:
    data = _spec_data()
    data["section"][0]["field"][1]["key"] = "partnership"
    with pytest.raises(SpecError, match="used twice"):
        spec.build(data, "t")
    data = _spec_data()
    data["section"][0]["field"][0]["key"] = "ab12"
    with pytest.raises(SpecError, match="cannot be a defined name"):
        spec.build(data, "t")
    data = _spec_data()
    data["section"][1]["field"][-1]["formula"] = "total_income + 1"
    with pytest.raises(SpecError, match="cycle"):
        spec.build(data, "t")
    data = _spec_data()
    data["section"][1]["field"][-1]["formula"] = "nosuch + 1"
    with pytest.raises(SpecError, match="unknown"):
        spec.build(data, "t")


def test_rules_refer_only_to_spec_fields() -> None:
    s = spec.load("quarterly")
    expanded = rules.expand(s)
    codes = {r.code for r in expanded}
    assert {"Q-E201", "Q-E203", "Q-E206", "Q-E209", "Q-E211"} <= codes
    for r in expanded:
        assert r.when.names - s.by_name.keys() <= set(s_params()), r.code
    per_row = [r for r in expanded if r.code == "Q-E201"]
    assert len(per_row) == 12 and per_row[0].cells[0] == "exp_teaching_staff_commentary"


def s_params() -> list[str]:
    from pbp_workbooks.base.config import Thresholds

    return list(Thresholds().params())


def test_data_folders_ship_in_the_wheel() -> None:
    """pyproject force-includes workbook_templates/ and validators/ into the wheel."""
    with open(Path(__file__).parents[1] / "pyproject.toml", "rb") as fh:
        inc = tomllib.load(fh)["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert inc == {
        "workbook_templates": "pbp_workbooks/_data/workbook_templates",
        "validators": "pbp_workbooks/_data/validators",
    }
