"""Field names live only in the specs: the code asks a spec for a field or a grid by its role
(``[roles]`` in workbook_templates/*.toml), so a field can be renamed, or a new return given the
same roles, without editing Python."""

from __future__ import annotations

import ast
import re
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from fill import clean_values

from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.errors import SpecError
from pbp_workbooks.base.resources import data_dir
from pbp_workbooks.reports.figures import figures
from pbp_workbooks.spec import calc
from pbp_workbooks.spec import model as spec_mod

PACKAGE = Path(__file__).resolve().parents[1] / "pbp_workbooks"

# Where a spec's name may appear in the package, and why:
# - demo/: the sample data fills a return the way a finance officer types into named cells;
# - CSV declarations (csv_export's Table, Column and _m, and a row's "kpi_status" column): the
#   published CSV's own vocabulary, documented in its datapackage.json, which reuses some names;
# - the identity every return carries (the _meta stamp, the ledger's columns, the roster's), a
#   protocol every spec follows (checked below), not a return's content;
# - words that are also the machinery's own: a field type ("email"), the JSON key "role" of
#   `pbp spec --json`, and the roster's SEND column.
EXEMPT_FOLDERS = ("demo",)
CSV_DECLARATIONS = {"Table", "Column", "_m"}
IDENTITY = {"partnership", "host_school", "urn", "provision", "financial_year", "quarter"}
ALSO_MACHINERY = set(spec_mod.TYPES) | {"role"} | IDENTITY
ALLOWED = {("base/roster.py", "send"), ("reports/csv_export.py", "kpi_status")}


def _vocabulary() -> tuple[set[str], tuple[str, ...]]:
    """Every field name and grid section key of the shipped specs, and the grids' name prefixes."""
    words: set[str] = set()
    prefixes: list[str] = []
    for kind in spec_mod.available():
        s = spec_mod.load(kind)
        words |= {f.name for f in s.fields}
        for section in s.sections:
            if section.kind == "grid":
                words.add(section.key)
                prefixes.append(f"{section.key}_")
    return words - ALSO_MACHINERY, tuple(prefixes)


def spec_names_in(source: str, words: set[str], prefixes: tuple[str, ...]) -> list[tuple[int, str]]:
    """(line, text) of every string constant that is a spec field name, a grid section or a grid
    name prefix (an f-string's "exp_" part), outside docstrings and CSV column declarations."""
    tree = ast.parse(source)
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and node.body \
                and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
            skip.add(id(node.body[0].value))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CSV_DECLARATIONS:
            skip |= {id(n) for n in ast.walk(node) if isinstance(n, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text = node.value
            if text in words or any(text.startswith(p) and re.fullmatch(r"[a-z0-9_]+", text) for p in prefixes):
                found.append((node.lineno, text))
    return found


def test_no_spec_field_name_appears_in_the_package() -> None:
    words, prefixes = _vocabulary()
    named = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in EXEMPT_FOLDERS:
            continue
        for line, text in spec_names_in(path.read_text(encoding="utf-8"), words, prefixes):
            if (str(rel), text) not in ALLOWED:
                named.append(f"{rel}:{line} {text!r}")
    assert not named, "ask the spec for these by role ([roles] in workbook_templates/*.toml):\n" + "\n".join(named)


def test_every_spec_carries_the_identity_the_code_names() -> None:
    for kind in spec_mod.available():
        s = spec_mod.load(kind)
        assert IDENTITY - {"quarter"} <= s.by_name.keys(), kind
        assert all(s[name].locked and s[name].source for name in IDENTITY & s.by_name.keys()), kind


def test_the_scan_sees_a_name_in_code_and_not_in_a_docstring() -> None:
    words, prefixes = _vocabulary()
    source = ('"""Reads balance_bf."""\n'
              'def f(values, row):\n    """exp_total_budget"""\n'
              '    return values.get("balance_bf"), values.get(f"exp_{row}_q1"), Column("dsg_allocation")\n')
    assert spec_names_in(source, words, prefixes) == [(4, "balance_bf"), (4, "exp_")]


def test_every_role_names_a_field_or_grid_of_its_spec() -> None:
    quarterly, annual = spec_mod.load("quarterly"), spec_mod.load("annual")
    assert quarterly.role("allocation") in quarterly.by_name and annual.role("allocation") in annual.by_name
    spending = quarterly.grid("spending")
    assert spending is not None and len(spending.cells(spending.rows[0][0], "actuals")) == 4
    assert all(n in quarterly.by_name for n in spending.totals("actuals"))
    assert quarterly.grid("kpis") is None and annual.role("year_end_forecast") is None
    with pytest.raises(SpecError, match="list of 4 fields"):
        quarterly.role("surplus_uses")


@pytest.mark.parametrize("roles, reason", [
    ('allocation = "dsg_alocation"', "there is no field 'dsg_alocation'"),
    ('[spending]\nsection = "exp"\nbudget = "budgit"', "exp has no column 'budgit'"),
    ('[spending]\nsection = "details"', "not a grid section"),
])
def test_a_role_naming_nothing_stops_the_spec_loading(roles: str, reason: str) -> None:
    data = tomllib.loads((data_dir("workbook_templates") / "quarterly.toml").read_text(encoding="utf-8"))
    data["roles"] = tomllib.loads(roles)
    with pytest.raises(SpecError, match=re.escape(reason)):
        spec_mod.build(data, "quarterly.toml")


def test_renaming_fields_in_the_spec_alone_keeps_the_figures() -> None:
    """Rename fields the reports read (and the formula that uses one) in the TOML only: the
    figures of the same return come out the same, because the code asks by role."""
    text = (data_dir("workbook_templates") / "quarterly.toml").read_text(encoding="utf-8")
    renames = {"balance_bf": "carried_in", "total_income": "income_all", "surplus_approach": "approach",
               "other_income_description": "income_from"}
    renamed_text = text
    for old, new in renames.items():
        renamed_text = re.sub(rf'\b{old}\b', new, renamed_text)
    original = spec_mod.load("quarterly")
    renamed = spec_mod.build(tomllib.loads(renamed_text), "quarterly.toml")
    assert "carried_in" in renamed.by_name and "balance_bf" not in renamed.by_name
    inputs = clean_values(original, 2, Decimal("400000.00"), seed=3)
    inputs.update(dsg_allocation=Decimal("400000.00"), surplus_approach="Needs-based",
                  other_income_description="Partnership schools' contributions")
    moved = {renames.get(k, k): v for k, v in inputs.items()}
    th = Thresholds()
    before = figures(original, calc.compute(original, inputs), 2, th)
    after = figures(renamed, calc.compute(renamed, moved), 2, th)
    assert after == before
    assert before.balance_bf == inputs["balance_bf"] and before.surplus_approach == "Needs-based"
    assert before.total_income == inputs["dsg_allocation"] + inputs["balance_bf"] + inputs["other_income"]
