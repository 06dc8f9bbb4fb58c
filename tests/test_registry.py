"""One rule registry (pbp_workbooks/spec/registry.py over validators/*.toml): every code the package
raises is declared there once, with its severity and words, and no rule table is left in code."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

from pbp_workbooks.base.errors import SpecError
from pbp_workbooks.base.resources import data_dir
from pbp_workbooks.cli import catalogue
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.spec import registry, rules

PACKAGE = Path(__file__).resolve().parents[1] / "pbp_workbooks"
CODE = re.compile(r"\b[A-Z]-[EWR]\d{3}\b")


def _string_constants(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(n.lineno, n.value) for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_every_code_the_package_names_is_declared() -> None:
    undeclared = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, text in _string_constants(path):
            for code in CODE.findall(text):
                try:
                    registry.rule(code)
                except KeyError:
                    undeclared.append(f"{path.relative_to(PACKAGE)}:{line} {code}")
    assert not undeclared, undeclared


def test_no_rule_table_is_left_in_code() -> None:
    """A dict literal keyed by rule codes (or field-rule suffixes) is a second home for rules."""
    tables = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
                if sum(bool(CODE.fullmatch(k) or re.fullmatch(r"[EW]\d{3}", k)) for k in keys) >= 2:
                    tables.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not tables, tables


def test_each_code_is_declared_once_and_the_catalogue_lists_it_once() -> None:
    entries = registry.entries()
    codes = [e.code for e in entries]
    assert len(codes) == len(set(codes))
    assert {e.level for e in entries} == set(registry.LEVELS)
    doc = catalogue.markdown()
    for e in entries:
        assert doc.count(f"| {e.code} |") == 1, e.code
        assert registry.rule(e.code) == e
        assert e.title and e.message and "\n" not in e.message
        if e.level != "rating":
            assert e.severity == ("error" if e.code.split("-")[1][0] == "E" else "warning")


def test_a_field_rule_takes_each_spec_prefix_and_applies_only_where_a_field_can_break_it() -> None:
    quarterly, annual = spec_mod.load("quarterly"), spec_mod.load("annual")
    assert registry.rule("Q-E101").message == registry.rule("A-E101").message
    assert registry.rule("Q-E104").code == "Q-E104"
    assert registry.field_rule_applies(quarterly, "E104")  # per-quarter actuals
    assert not registry.field_rule_applies(annual, "E104")  # the annual report has none
    codes = {e.code for e in registry.entries()}
    assert "A-E104" not in codes and {"A-E101", "A-E108", "Q-E106", "Q-W109"} <= codes


def test_the_registry_refuses_a_rule_file_that_contradicts_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    """A duplicate code, a severity that is not its code's, or a rating on an unknown field stops
    the load with the reason, rather than a second rule quietly winning."""
    validators = tmp_path / "validators"
    shutil.copytree(data_dir("validators"), validators)
    monkeypatch.setattr(rules, "data_dir", lambda name: validators if name == "validators" else data_dir(name))
    caches = (rules.rule_file, rules.definitions, registry._common, registry._kind_rules, registry.ratings)

    def load_fails(file: str, text: str, reason: str) -> None:
        original = (validators / file).read_text(encoding="utf-8")
        (validators / file).write_text(original + text, encoding="utf-8")
        for c in caches:
            c.cache_clear()
        try:
            with pytest.raises(SpecError, match=reason):
                registry.entries()
        finally:
            (validators / file).write_text(original, encoding="utf-8")
            for c in caches:
                c.cache_clear()

    load_fails("common.toml", '\n[[file]]\ncode = "F-E001"\ntitle = "x"\nmessage = "y"\n', "duplicate")
    load_fails("common.toml", '\n[[template]]\ncode = "T-E077"\nseverity = "warning"\ntitle = "x"\nmessage = "y"\n',
               "severity must match")
    load_fails("common.toml", '\n[[field]]\ncode = "E177"\ntitle = "x"\nmessage = "y"\napplies = "colour"\n',
               "unknown kinds of field")
    load_fails("quarterly.toml", '\n[[rating]]\ncode = "Q-R009"\nrating = "Amber"\nmeans = "x"\ntitle = "x"\n'
               'when = "forecast_balanse < 0"\nreason = "x"\n', "Q-R009")
    load_fails("quarterly.toml", '\n[[cross_return]]\ncode = "Q-E302"\nseverity = "error"\ntitle = "x"\n'
               'message = "y"\n', "duplicate")
    registry.entries()  # the real files load again


def test_pbp_spec_rules_lists_the_registry_for_one_return(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from pbp_workbooks.cli.main import main

    assert main(["spec", "annual", "--rules", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    expected = [e for e in registry.entries() if e.kind in (None, "annual")]
    assert [r["code"] for r in listed] == [e.code for e in expected]
    assert not any(r["code"].startswith("Q-") for r in listed) and any(r["code"] == "A-W302" for r in listed)
    assert main(["spec", "quarterly", "--rules"]) == 0
    out = capsys.readouterr().out
    assert "Q-R002  amber    rating" in out and "F-E001  error    file" in out
