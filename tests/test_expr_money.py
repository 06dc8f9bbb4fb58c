"""The expression language renders to Excel and evaluates exactly; money parsing."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbp_workbooks.base.errors import SpecError
from pbp_workbooks.base.money import format_gbp, parse_text_number
from pbp_workbooks.spec import expr

N, T, D = expr.NUMBER, expr.TEXT, expr.DATE
TYPES = {"a": N, "b": N, "c": T, "x": T, "y": N, "d1": D, "d2": D}


def test_render_to_excel() -> None:
    e = expr.parse("money(a + b) if not blank(c) else ratio(a, b)", TYPES)
    guard = "IF(ISTEXT({0})+ISLOGICAL({0}),#VALUE!,{0})".format
    assert expr.to_excel(e, lambda n: n.upper() + "1", lambda n: n != "b") == (
        f'IF(NOT((LEN(TRIM(C1))=0)),ROUND(({guard("A1")}+B1),2),IF(B1=0,"",{guard("A1")}/B1))')
    assert expr.to_excel(expr.parse("x != 'Yes' and y >= 3", TYPES), str.upper) == 'AND((X<>"Yes"),(Y>=3))'
    # count_blank adds up 1s, never logicals: (LEN(..)=0)>0 is TRUE in Excel even when FALSE
    assert expr.to_excel(expr.parse("count_blank(a) > 0", TYPES), str.upper) == "((IF(LEN(TRIM(A))=0,1,0))>0)"


def test_evaluate_blank_as_zero_and_exact() -> None:
    e = expr.parse("money(a + b + y)", TYPES)
    assert expr.evaluate(e, {"a": Decimal("0.10"), "b": Decimal("0.20"), "y": None}) == Decimal("0.30")
    assert expr.evaluate(expr.parse("ratio(a, b)", TYPES), {"a": Decimal(1), "b": None}) is None
    assert expr.evaluate(expr.parse("x != 'Yes'", TYPES), {"x": None}) is True
    assert expr.evaluate(expr.parse("count_blank(a, b) > 0", TYPES), {"a": " ", "b": 1}) is True
    with pytest.raises(ValueError, match="number is needed"):
        expr.evaluate(expr.parse("a + 1", TYPES), {"a": "12 pounds"})


def test_excel_semantics_in_python() -> None:
    """Where Excel's rules differ from Python's, the evaluator follows Excel."""
    ev = expr.evaluate

    def p(source: str) -> expr.Expr:
        return expr.parse(source, TYPES)

    assert ev(p("max(a, b)"), {"a": Decimal(-5), "b": None}) == Decimal(-5)  # MAX skips a blank cell
    assert ev(p("min(a, b)"), {"a": Decimal(5), "b": None}) == Decimal(5)
    assert ev(p("max(a, b)"), {"a": None, "b": None}) == 0  # MAX of nothing is 0
    assert ev(p("max(a - 1, b)"), {"a": None, "b": Decimal(-5)}) == Decimal(-1)  # an expression is a value
    assert ev(p("x == '5'"), {"x": Decimal(5)}) is False  # "5"=5 is FALSE in Excel
    assert ev(p("x == 'YES'"), {"x": "yes"}) is True  # text compares ignoring case
    assert ev(p("x == ''"), {"x": None}) is True  # a blank is "" beside text
    with pytest.raises(ValueError):  # text where a number belongs is #VALUE!, not "greater than any number"
        ev(p("a > 10"), {"a": "abc"})
    with pytest.raises(ValueError):  # "5" typed as text: Excel would convert it, LibreOffice would not
        ev(p("a + 0"), {"a": "5"})
    with pytest.raises(ValueError):  # TRUE in a money cell
        ev(p("a + 0"), {"a": True})
    with pytest.raises(ZeroDivisionError):  # AND evaluates every argument, as Excel's does
        ev(p("b != 0 and a / b > 1"), {"a": Decimal(1), "b": Decimal(0)})
    assert ev(p("a / b > 1 if b != 0 else False"), {"a": Decimal(1), "b": Decimal(0)}) is False  # IF is lazy
    assert ev(p("ratio(a, b)"), {"a": "abc", "b": Decimal(0)}) is None  # IF(b=0,"",a/b) never looks at a
    assert ev(p("count_text(a, b, y)"), {"a": "5", "b": " ", "y": Decimal(1)}) == 1
    assert ev(p("d1 < d2"), {"d1": date(2025, 4, 1), "d2": date(2025, 4, 2)}) is True
    assert ev(p("d1 < d2"), {"d1": None, "d2": date(2025, 4, 2)}) is True  # a blank date is day 0


@pytest.mark.parametrize(("bad", "why"), [
    ("__import__('os')", "unknown function"), ("a.b", "Attribute"), ("f(x)", "unknown function"),
    ("[1, 2]", "List"), ("lambda: 1", "Lambda"), ("a if", "bad expression"),
    ("0 < a < 10", "one comparison at a time"), ("None", "not a number"), ("1j", "not a number"),
    ("b'x'", "not a number"), ("...", "not a number"),
    ("amuont > 0", "unknown name 'amuont'"), ("(a == b) > 0", "a == b is logical; number or text or date needed"),
    ("blank(a) + 1 > 0", "logical; number needed"), ("x > 'A'", "with == or != only"),
    ("a == 'Yes'", "compares number with text"), ("x + 1 > 0", "is text; number needed"),
    ("d1 > 0", "compares date with number"), ("ratio(a, b) > 0.1", "may be blank"),
    ("blank(a + b)", "cell names only"), ("ratio(a)", "wrong number of arguments"),
    ("a if b > 0 else x", "branches"), ("a > 0 and 1", "number; logical needed"),
])
def test_the_loader_refuses_what_cannot_agree(bad: str, why: str) -> None:
    with pytest.raises(SpecError, match=re.escape(why)):
        expr.parse(bad, TYPES)


def test_rules_with_a_misspelt_name_fail_to_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pbp_workbooks.spec import model as spec
    from pbp_workbooks.spec import rules

    s = spec.load("quarterly")
    d = rules.RuleDef("Q-E299", "error", "t", "m", "forecast_balanse > 0", None, ("forecast_balance",), None)
    with pytest.raises(SpecError, match="unknown name 'forecast_balanse'"):
        rules._make(s, d, {}, None)


@given(st.lists(st.decimals(min_value=-(10**6), max_value=10**6, places=2, allow_nan=False), min_size=1, max_size=12))
def test_sum_is_exact_to_the_penny(xs: list[Decimal]) -> None:
    names = {f"v{i}": x for i, x in enumerate(xs)}
    total = expr.evaluate(expr.parse(f"money(sum({', '.join(names)}))", dict.fromkeys(names, N)), names)
    assert total == sum(xs, Decimal(0))


@pytest.mark.parametrize(
    ("text", "value", "certain"),
    [
        ("£1,200.50", "1200.50", True),
        ("1,200", "1200", True),
        (" 300 ", "300", True),
        ("(500)", "-500", True),
        ("-£20", "-20", True),
        ("1.200,50", None, False),
        ("1,20", None, False),
        ("12.345", None, False),
        ("n/a", None, True),
        ("", None, True),
        ("£1.2k", None, False),
    ],
)
def test_text_numbers(text: str, value: str | None, certain: bool) -> None:
    got = parse_text_number(text)
    assert (got.value, got.certain) == ((Decimal(value) if value else None), certain)


def test_format_gbp() -> None:
    assert format_gbp(Decimal("-1234.5")) == "-£1,234.50"
    assert format_gbp(None) == "blank"
