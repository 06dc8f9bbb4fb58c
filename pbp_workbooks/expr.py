"""A tiny expression language shared by Excel and Python.

Formulas in the template spec and conditions in the rule files are written once, in a
safe subset of Python syntax, and rendered two ways: to an Excel formula for the
workbook (so the officer sees live totals and checks) and evaluated in Python with
Decimal (so cached values are right and the validator never trusts the file).

Grammar: numbers, "strings", names, + - * /, comparisons, and/or/not,
``x if cond else y`` and the functions below. A blank cell is None; in arithmetic
it counts as 0, as in Excel.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from .errors import SpecError
from .money import round_pence

FUNCTIONS = {"sum", "abs", "max", "min", "ratio", "blank", "money", "count_blank"}


@dataclass(frozen=True)
class Expr:
    source: str
    tree: ast.Expression

    @cached_property
    def names(self) -> set[str]:
        funcs = {id(n.func) for n in ast.walk(self.tree) if isinstance(n, ast.Call)}
        return {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name) and id(n) not in funcs}


def parse(source: str) -> Expr:
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as err:
        raise SpecError(f"bad expression {source!r}: {err.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise SpecError(f"bad expression {source!r}: unknown function")
            if node.keywords:
                raise SpecError(f"bad expression {source!r}: no keyword arguments")
        elif not isinstance(node, _ALLOWED):
            raise SpecError(f"bad expression {source!r}: {type(node).__name__} not allowed")
    return Expr(source, tree)


_ALLOWED = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Name,
    ast.Constant, ast.Load, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub, ast.UAdd,
    ast.Not, ast.And, ast.Or, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
)

# --------------------------------------------------------------------------- Excel

_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CMP = {ast.Eq: "=", ast.NotEq: "<>", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


def to_excel(expr: Expr, ref: Callable[[str], str]) -> str:
    """Render as an Excel formula body (no leading '='). ``ref`` maps a name to a cell
    reference or a literal (for parameters)."""

    def r(node: ast.AST) -> str:
        if isinstance(node, ast.Expression):
            return r(node.body)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                return '"' + node.value.replace('"', '""') + '"'
            if isinstance(node.value, bool):
                return "TRUE" if node.value else "FALSE"
            return str(node.value)
        if isinstance(node, ast.Name):
            return ref(node.id)
        if isinstance(node, ast.BinOp):
            return f"({r(node.left)}{_OPS[type(node.op)]}{r(node.right)})"
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return f"NOT({r(node.operand)})"
            return f"(-{r(node.operand)})" if isinstance(node.op, ast.USub) else r(node.operand)
        if isinstance(node, ast.BoolOp):
            fn = "AND" if isinstance(node.op, ast.And) else "OR"
            return f"{fn}({','.join(r(v) for v in node.values)})"
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise SpecError(f"{expr.source!r}: chain comparisons with 'and'")
            return f"({r(node.left)}{_CMP[type(node.ops[0])]}{r(node.comparators[0])})"
        if isinstance(node, ast.IfExp):
            return f"IF({r(node.test)},{r(node.body)},{r(node.orelse)})"
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            args = [r(a) for a in node.args]
            fn = node.func.id
            if fn == "sum":
                return f"SUM({','.join(args)})"
            if fn in ("abs", "max", "min"):
                return f"{fn.upper()}({','.join(args)})"
            if fn == "ratio":
                return f'IF(N({args[1]})=0,"",{args[0]}/{args[1]})'
            if fn == "blank":
                return f"(LEN(TRIM({args[0]}))=0)"
            if fn == "count_blank":
                return "(" + "+".join(f"(LEN(TRIM({a}))=0)" for a in args) + ")"
            if fn == "money":
                return f"ROUND({args[0]},2)"
        raise SpecError(f"{expr.source!r}: cannot render {type(node).__name__}")

    return r(expr.tree)


# --------------------------------------------------------------------------- Python


def _num(v: Any) -> Decimal:
    if v is None or v == "":
        return Decimal(0)
    if isinstance(v, bool):
        return Decimal(int(v))
    if isinstance(v, Decimal):
        return v
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, str):
        raise _TextInArithmetic(v)
    raise TypeError(f"not a number: {v!r}")


class _TextInArithmetic(Exception):
    pass


def _is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def evaluate(expr: Expr, lookup: Mapping[str, Any] | Callable[[str], Any]) -> Any:
    """Evaluate with Decimal arithmetic. Returns None where Excel would show "" and
    raises ValueError where Excel would show #VALUE! (text in arithmetic)."""
    get = lookup if callable(lookup) else lookup.get
    try:
        return _compiled(expr)(get)
    except _TextInArithmetic as err:
        raise ValueError(f"text {err.args[0]!r} where a number is needed") from None


_COMPILED: dict[str, Callable[[Callable[[str], Any]], Any]] = {}


def _compiled(expr: Expr) -> Callable[[Callable[[str], Any]], Any]:
    """The expression as a tree of Python closures, built once per source text (the
    interpreter below walks the AST on every call; this is several times faster)."""
    fn = _COMPILED.get(expr.source)
    if fn is None:
        fn = _COMPILED[expr.source] = _build(expr.tree.body, expr.source)
    return fn


Getter = Callable[[str], Any]


def _build(node: ast.AST, source: str) -> Callable[[Getter], Any]:
    if isinstance(node, ast.Constant):
        v: Any = node.value
        if isinstance(v, float):
            v = Decimal(repr(v))
        elif isinstance(v, int) and not isinstance(v, bool):
            v = Decimal(v)
        return lambda get: v
    if isinstance(node, ast.Name):
        name = node.id
        return lambda get: get(name)
    if isinstance(node, ast.BinOp):
        a, b = _build(node.left, source), _build(node.right, source)
        if isinstance(node.op, ast.Add):
            return lambda get: _num(a(get)) + _num(b(get))
        if isinstance(node.op, ast.Sub):
            return lambda get: _num(a(get)) - _num(b(get))
        if isinstance(node.op, ast.Mult):
            return lambda get: _num(a(get)) * _num(b(get))

        def div(get: Getter) -> Any:
            den = _num(b(get))
            if den == 0:
                raise ZeroDivisionError(source)
            return _num(a(get)) / den

        return div
    if isinstance(node, ast.UnaryOp):
        x = _build(node.operand, source)
        if isinstance(node.op, ast.Not):
            return lambda get: not x(get)
        if isinstance(node.op, ast.USub):
            return lambda get: -_num(x(get))
        return lambda get: _num(x(get))
    if isinstance(node, ast.BoolOp):
        parts = [_build(v, source) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda get: all(bool(p(get)) for p in parts)
        return lambda get: any(bool(p(get)) for p in parts)
    if isinstance(node, ast.Compare):
        left, right, op = _build(node.left, source), _build(node.comparators[0], source), node.ops[0]
        return lambda get: _compare(left(get), op, right(get))
    if isinstance(node, ast.IfExp):
        test, body, other = (_build(n, source) for n in (node.test, node.body, node.orelse))
        return lambda get: body(get) if test(get) else other(get)
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        args = [_build(a, source) for a in node.args]
        fn = node.func.id
        if fn == "sum":
            return lambda get: sum((_num(v) for v in (a(get) for a in args) if not isinstance(v, str)), Decimal(0))
        if fn == "abs":
            return lambda get: abs(_num(args[0](get)))
        if fn == "max":
            return lambda get: max(_num(a(get)) for a in args)
        if fn == "min":
            return lambda get: min(_num(a(get)) for a in args)
        if fn == "ratio":
            def ratio(get: Getter) -> Any:
                den = _num(args[1](get))
                return None if den == 0 else _num(args[0](get)) / den

            return ratio
        if fn == "blank":
            return lambda get: _is_blank(args[0](get))
        if fn == "count_blank":
            return lambda get: Decimal(sum(1 for a in args if _is_blank(a(get))))
        if fn == "money":
            return lambda get: round_pence(_num(args[0](get)))
    raise SpecError(f"{source!r}: cannot evaluate {type(node).__name__}")


def _interpret(expr: Expr, lookup: Mapping[str, Any] | Callable[[str], Any]) -> Any:
    """The reference interpreter (kept for tests: compiled and interpreted must agree)."""
    get = lookup if callable(lookup) else lookup.get

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, float):
                return Decimal(repr(v))
            if isinstance(v, int) and not isinstance(v, bool):
                return Decimal(v)
            return v
        if isinstance(node, ast.Name):
            return get(node.id)
        if isinstance(node, ast.BinOp):
            a, b = _num(ev(node.left)), _num(ev(node.right))
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            if b == 0:
                raise ZeroDivisionError(expr.source)
            return a / b
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return not ev(node.operand)
            num = _num(ev(node.operand))
            return -num if isinstance(node.op, ast.USub) else num
        if isinstance(node, ast.BoolOp):
            vals = (bool(ev(v)) for v in node.values)
            return all(vals) if isinstance(node.op, ast.And) else any(vals)
        if isinstance(node, ast.Compare):
            return _compare(ev(node.left), node.ops[0], ev(node.comparators[0]))
        if isinstance(node, ast.IfExp):
            return ev(node.body) if ev(node.test) else ev(node.orelse)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            fn = node.func.id
            args = [ev(a) for a in node.args]
            if fn == "sum":
                return sum((_num(a) for a in args if not isinstance(a, str)), Decimal(0))
            if fn == "abs":
                return abs(_num(args[0]))
            if fn == "max":
                return max(_num(a) for a in args)
            if fn == "min":
                return min(_num(a) for a in args)
            if fn == "ratio":
                den = _num(args[1])
                return None if den == 0 else _num(args[0]) / den
            if fn == "blank":
                return _is_blank(args[0])
            if fn == "count_blank":
                return Decimal(sum(1 for a in args if _is_blank(a)))
            if fn == "money":
                return round_pence(_num(args[0]))
        raise SpecError(f"{expr.source!r}: cannot evaluate {type(node).__name__}")

    try:
        return ev(expr.tree)
    except _TextInArithmetic as err:
        raise ValueError(f"text {err.args[0]!r} where a number is needed") from None


def _compare(a: Any, op: ast.cmpop, b: Any) -> bool:
    # Excel compares a blank with a string as "" and with a number as 0.
    if isinstance(a, str) or isinstance(b, str):
        sa = "" if a is None else str(a)
        sb = "" if b is None else str(b)
        sa, sb = sa.casefold(), sb.casefold()
        x: Any = sa
        y: Any = sb
    else:
        x, y = _num(a), _num(b)
    if isinstance(op, ast.Eq):
        return bool(x == y)
    if isinstance(op, ast.NotEq):
        return bool(x != y)
    if isinstance(op, ast.Lt):
        return bool(x < y)
    if isinstance(op, ast.LtE):
        return bool(x <= y)
    if isinstance(op, ast.Gt):
        return bool(x > y)
    return bool(x >= y)


__all__ = ["Expr", "evaluate", "parse", "to_excel"]
