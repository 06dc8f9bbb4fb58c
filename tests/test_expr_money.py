"""The expression language renders to Excel and evaluates exactly; money parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbp_workbooks import expr
from pbp_workbooks.errors import SpecError
from pbp_workbooks.money import format_gbp, parse_text_number


def test_render_to_excel() -> None:
    e = expr.parse("money(a + b) if not blank(c) else ratio(a, b)")
    assert expr.to_excel(e, lambda n: n.upper() + "1") == 'IF(NOT((LEN(TRIM(C1))=0)),ROUND((A1+B1),2),IF(N(B1)=0,"",A1/B1))'
    assert expr.to_excel(expr.parse("x != 'Yes' and y >= 3"), str.upper) == 'AND((X<>"Yes"),(Y>=3))'


def test_evaluate_blank_as_zero_and_exact() -> None:
    e = expr.parse("money(a + b + c)")
    assert expr.evaluate(e, {"a": Decimal("0.10"), "b": Decimal("0.20"), "c": None}) == Decimal("0.30")
    assert expr.evaluate(expr.parse("ratio(a, b)"), {"a": Decimal(1), "b": None}) is None
    assert expr.evaluate(expr.parse("x != 'Yes'"), {"x": None}) is True
    assert expr.evaluate(expr.parse("count_blank(a, b) > 0"), {"a": " ", "b": 1}) is True
    with pytest.raises(ValueError, match="text"):
        expr.evaluate(expr.parse("a + 1"), {"a": "12 pounds"})


@pytest.mark.parametrize("bad", ["__import__('os')", "a.b", "f(x)", "[1, 2]", "lambda: 1", "a if"])
def test_only_the_safe_subset_parses(bad: str) -> None:
    with pytest.raises(SpecError):
        expr.parse(bad)


@given(st.lists(st.decimals(min_value=-(10**6), max_value=10**6, places=2, allow_nan=False), min_size=1, max_size=12))
def test_sum_is_exact_to_the_penny(xs: list[Decimal]) -> None:
    names = {f"v{i}": x for i, x in enumerate(xs)}
    total = expr.evaluate(expr.parse(f"money(sum({', '.join(names)}))"), names)
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


_money = st.one_of(st.none(), st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False))


@given(st.data())
def test_compiled_evaluation_agrees_with_the_interpreter(data: st.DataObject) -> None:
    """Every formula of the spec and every rule condition, on random inputs."""
    from pbp_workbooks import rules, spec
    from pbp_workbooks.config import Thresholds

    s = spec.load("quarterly")
    params = Thresholds().params()
    exprs = [f.formula for f in s.fields if f.formula is not None] + [r.when for r in rules.expand(s)]
    e = data.draw(st.sampled_from(exprs))
    env: dict[str, object] = dict(params)
    for name in e.names - env.keys():
        ftype = s[name].type
        if ftype in ("yesno", "choice"):
            env[name] = data.draw(st.one_of(st.none(), st.sampled_from(list(s[name].choices or ()))))
        elif ftype in ("text", "email", "date"):
            env[name] = data.draw(st.one_of(st.none(), st.text(max_size=5)))
        else:
            env[name] = data.draw(_money)
    try:
        expected = expr._interpret(e, env)
    except (ValueError, ZeroDivisionError) as err:
        with pytest.raises(type(err)):
            expr.evaluate(e, env)
        return
    assert expr.evaluate(e, env) == expected
