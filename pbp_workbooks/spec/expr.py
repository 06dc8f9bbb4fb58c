"""A tiny, typed expression language shared by Excel and Python.

Formulas in the template spec and conditions in the rule files are written once, in a
safe subset of Python syntax, and rendered two ways: to an Excel formula for the
workbook (so the officer sees live totals and checks) and evaluated in Python with
Decimal (so cached values are right and the validator never trusts the file).

Grammar: numbers, "strings", True/False, names, + - * /, one comparison at a time,
and/or/not, ``x if cond else y`` and the functions in ``FUNCTIONS``.

**Excel is the reference.** Finance officers use Microsoft Excel, whose rules differ
from LibreOffice's and from Python's. Every expression is type-checked when its spec or
rule file loads (``typed``), so only constructs that mean the same in Excel, LibreOffice,
Gnumeric and the Python evaluator below can be written:

- types are number, text, date, logical, and "number or blank" (what ``ratio`` gives);
  a comparison needs two operands of the same type (Excel ranks every logical above every
  number and every text above every number, so ``(a=b)>0`` or ``"5"=5`` never mean what
  they seem); text is compared with ``==``/``!=`` only, as Excel does, ignoring case;
- a name must be a field of the spec or a threshold: a misspelt name fails the load;
- a number or date a person typed (any cell that is not a formula) is read through a
  guard, ``IF(ISTEXT(x)+ISLOGICAL(x),#VALUE!,x)``, so text or TRUE/FALSE in it is an
  error in every program rather than a number in some (Excel converts "1,200" and
  "£5"; the formulas engine and LibreOffice do not) — Python raises ``ValueError``;
- a blank is 0 in arithmetic and in a number comparison, "" in a text comparison;
- ``max``/``min`` skip blank (and text) cells given by name, as Excel does; of nothing
  they give 0;
- ``and``/``or`` evaluate every argument, as Excel's AND/OR do: an error in any is the
  result, so a division guarded by ``and`` still fails;
- ``x if c else y`` evaluates only the branch it takes, as Excel's IF does;
- ``round(x, n)`` is Excel's ROUND (half away from zero, on the decimal value);
- ``idiv(n, d, s)`` is the whole part of n*s/d, 0 where d is 0, worked out without any
  rounding in every program (see "Sharing an amount"); ``count_greater(x, y...)`` and
  ``count_equal(x, y...)`` count the ys above / equal to x (a rank, for whole numbers);
- ``blank(x)`` is ``LEN(TRIM(x))=0`` (blank or only spaces) and ``count_blank`` /
  ``count_text`` add up 1s, never logicals, so their results are numbers everywhere.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cache, cached_property
from typing import Any

from pbp_workbooks.base.addresses import EMAIL  # one address as the Checks sheet can test it (see not_email)
from pbp_workbooks.base.errors import SpecError
from pbp_workbooks.base.money import PENCE_SLACK, pence_places, round_pence

NUMBER, TEXT, DATE, LOGICAL, MAYBE = "number", "text", "date", "logical", "number or blank"

# name -> (minimum arguments, maximum arguments or None)
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "sum": (1, None), "abs": (1, 1), "max": (1, None), "min": (1, None), "ratio": (2, 2),
    "blank": (1, 1), "money": (1, 1), "count_blank": (1, None), "count_text": (1, None),
    # a field's own limits, as the Checks sheet tests them (1 = a problem, 0 = none); the
    # first argument is the cell, the rest are literals
    "outside": (3, 4), "too_long": (2, 2), "not_one_of": (2, None), "not_email": (1, 1), "not_pence": (1, 1),
    "nospace": (1, 1),  # a text cell without its spaces, to compare names ignoring spacing
    # exact whole-number arithmetic for sharing an amount (see "Sharing an amount" below)
    "round": (2, 2), "idiv": (3, 3), "count_greater": (1, None), "count_equal": (1, None),
}
_LITERAL_LAST = {"round": 1, "idiv": 1}  # functions whose last argument is a whole-number literal
_NAME_ONLY = {"blank", "count_blank", "count_text", "nospace"}  # functions of cells, not of values
_LIMITS = {"outside", "too_long", "not_one_of", "not_email", "not_pence"}  # (cell, literal...) -> 0 or 1

TypeOf = Callable[[str], str | None]


@dataclass(frozen=True)
class Expr:
    source: str
    tree: ast.Expression
    # the type of every node (by id), filled in by ``typed``; evaluation needs it
    types: Mapping[int, str] = field(default_factory=dict, compare=False, hash=False, repr=False)
    signature: str = field(default="", compare=False, hash=False, repr=False)  # source and types, for caching

    @cached_property
    def names(self) -> set[str]:
        funcs = {id(n.func) for n in ast.walk(self.tree) if isinstance(n, ast.Call)}
        return {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name) and id(n) not in funcs}

    @property
    def type(self) -> str:
        return self.types[id(self.tree.body)]


@cache
def blank_tested(e: Expr) -> frozenset[str]:
    """The names a condition tests with blank(): the cells a rule asks to be filled in."""
    return frozenset(arg.id for node in ast.walk(e.tree)
                     if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "blank"
                     for arg in node.args if isinstance(arg, ast.Name))


def parse(source: str, types: Mapping[str, str] | TypeOf | None = None) -> Expr:
    """Parse, refusing anything outside the language; with ``types`` (a name's type, or
    None for an unknown name), also type-check it."""
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
            low, high = FUNCTIONS[node.func.id]
            if len(node.args) < low or (high is not None and len(node.args) > high):
                raise SpecError(f"bad expression {source!r}: wrong number of arguments to {node.func.id}()")
            if node.func.id in _NAME_ONLY and not all(isinstance(a, ast.Name) for a in node.args):
                raise SpecError(f"bad expression {source!r}: {node.func.id}() takes cell names only")
            if node.func.id in _LITERAL_LAST and not (
                    isinstance(node.args[-1], ast.Constant) and type(node.args[-1].value) is int
                    and 0 <= node.args[-1].value <= 10**9):
                raise SpecError(f"bad expression {source!r}: the last argument of {node.func.id}() must be a whole "
                                "number written out")
            if node.func.id in _LIMITS and not (isinstance(node.args[0], ast.Name) and all(
                    _literal(a) is not None for a in node.args[1:])):
                raise SpecError(f"bad expression {source!r}: {node.func.id}() takes a cell name, then literals")
        elif isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise SpecError(f"bad expression {source!r}: one comparison at a time "
                                "(write '0 < x and x < 10', not '0 < x < 10')")
        elif isinstance(node, ast.Constant):
            v = node.value
            if not (isinstance(v, str | bool | int) or (isinstance(v, float) and math.isfinite(v))):
                raise SpecError(f"bad expression {source!r}: {v!r} is not a number, text or True/False")
        elif not isinstance(node, _ALLOWED):
            raise SpecError(f"bad expression {source!r}: {type(node).__name__} not allowed")
    e = Expr(source, tree)
    return e if types is None else typed(e, types)


def _literal(node: ast.AST) -> Any:
    """A literal argument (a number, possibly negative, or a text), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        v = node.operand.value
        return -v if isinstance(v, int | float) and not isinstance(v, bool) else None
    return None


_ALLOWED = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Name, ast.Call,
    ast.Constant, ast.Load, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub, ast.UAdd,
    ast.Not, ast.And, ast.Or, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
)

# --------------------------------------------------------------------------- types


def typed(e: Expr, types: Mapping[str, str] | TypeOf) -> Expr:
    """The expression with every node's type, or SpecError saying what cannot agree."""
    type_of = types if callable(types) else types.get
    out: dict[int, str] = {}

    def bad(msg: str) -> SpecError:
        return SpecError(f"{e.source!r}: {msg}")

    def want(node: ast.AST, *allowed: str) -> str:
        t = ty(node)
        if t not in allowed:
            shown = ast.unparse(node)
            if t == MAYBE:
                raise bad(f"{shown} may be blank (ratio() of a zero); use it only as a formula's result")
            raise bad(f"{shown} is {t}; {' or '.join(allowed)} needed here")
        return t

    def ty(node: ast.AST) -> str:
        t = infer(node)
        out[id(node)] = t
        return t

    def infer(node: ast.AST) -> str:
        if isinstance(node, ast.Constant):
            v = node.value
            return LOGICAL if isinstance(v, bool) else TEXT if isinstance(v, str) else NUMBER
        if isinstance(node, ast.Name):
            t = type_of(node.id)
            if t is None:
                raise bad(f"unknown name {node.id!r} (not a field of the spec or a threshold)")
            return t
        if isinstance(node, ast.BinOp):
            want(node.left, NUMBER)
            want(node.right, NUMBER)
            return NUMBER
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                want(node.operand, LOGICAL)
                return LOGICAL
            want(node.operand, NUMBER)
            return NUMBER
        if isinstance(node, ast.BoolOp):
            for part in node.values:
                want(part, LOGICAL)
            return LOGICAL
        if isinstance(node, ast.Compare):
            left = want(node.left, NUMBER, TEXT, DATE)
            right = ty(node.comparators[0])
            if right != left:
                raise bad(f"{ast.unparse(node)} compares {left} with {right}; "
                          "spreadsheet programs disagree on what that means")
            if left == TEXT and not isinstance(node.ops[0], ast.Eq | ast.NotEq):
                raise bad(f"{ast.unparse(node)}: compare text with == or != only")
            return LOGICAL
        if isinstance(node, ast.IfExp):
            want(node.test, LOGICAL)
            body, other = ty(node.body), ty(node.orelse)
            if {body, other} == {NUMBER, MAYBE}:
                return MAYBE
            if body != other:
                raise bad(f"the two branches of {ast.unparse(node)} are {body} and {other}")
            return body
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            fn = node.func.id
            if fn in _NAME_ONLY or fn in _LIMITS:
                for a in node.args:
                    ty(a)
                if fn == "nospace":
                    want(node.args[0], TEXT)
                    return TEXT
                return LOGICAL if fn == "blank" else NUMBER
            for a in node.args:
                want(a, NUMBER)
            return MAYBE if fn == "ratio" else NUMBER
        raise bad(f"cannot type {type(node).__name__}")

    ty(e.tree.body)
    signature = e.source + "|" + ",".join(out[id(n)] for n in ast.walk(e.tree.body) if id(n) in out)
    return Expr(e.source, e.tree, out, signature)


# --------------------------------------------------------------------------- Excel

_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CMP = {ast.Eq: "=", ast.NotEq: "<>", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


def to_excel(expr: Expr, ref: Callable[[str], str], typed_by_hand: Callable[[str], bool] = lambda name: False) -> str:
    """Render as an Excel formula body (no leading '='). ``ref`` maps a name to a cell
    reference or a literal (for thresholds); ``typed_by_hand(name)`` is true for a cell a
    person types into, whose number or date is read through the guard."""
    types = expr.types

    def value(node: ast.AST) -> str:
        """A node whose value is used (arithmetic, comparison, a function's argument)."""
        text = r(node)
        if isinstance(node, ast.Name) and types.get(id(node)) in (NUMBER, DATE) and typed_by_hand(node.id):
            return f"IF(ISTEXT({text})+ISLOGICAL({text}),#VALUE!,{text})"
        return text

    def r(node: ast.AST) -> str:
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                return '"' + node.value.replace('"', '""') + '"'
            if isinstance(node.value, bool):
                return "TRUE" if node.value else "FALSE"
            return repr(node.value)
        if isinstance(node, ast.Name):
            return ref(node.id)
        if isinstance(node, ast.BinOp):
            return f"({value(node.left)}{_OPS[type(node.op)]}{value(node.right)})"
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return f"NOT({value(node.operand)})"
            return f"(-{value(node.operand)})" if isinstance(node.op, ast.USub) else f"(+{value(node.operand)})"
        if isinstance(node, ast.BoolOp):
            fn = "AND" if isinstance(node.op, ast.And) else "OR"
            return f"{fn}({','.join(value(v) for v in node.values)})"
        if isinstance(node, ast.Compare):
            return f"({value(node.left)}{_CMP[type(node.ops[0])]}{value(node.comparators[0])})"
        if isinstance(node, ast.IfExp):
            return f"IF({value(node.test)},{value(node.body)},{value(node.orelse)})"
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            fn = node.func.id
            if fn == "blank":
                return f"(LEN(TRIM({r(node.args[0])}))=0)"
            if fn == "nospace":
                return "SUBSTITUTE(" + r(node.args[0]) + '," ","")'
            if fn == "count_blank":
                return "(" + "+".join(f"IF(LEN(TRIM({r(a)}))=0,1,0)" for a in node.args) + ")"
            if fn == "count_text":
                return "(" + "+".join(f"IF(ISTEXT({r(a)})+ISLOGICAL({r(a)}),IF(LEN(TRIM({r(a)}))=0,0,1),0)"
                                      for a in node.args) + ")"
            if fn in _LIMITS:
                return _limit_excel(fn, r(node.args[0]), [_literal(a) for a in node.args[1:]])
            if fn in ("max", "min"):  # a cell given by name is passed as a reference: blanks are skipped
                args = [r(a) if isinstance(a, ast.Name) else value(a) for a in node.args]
                return f"{fn.upper()}({','.join(args)})"
            args = [value(a) for a in node.args]
            if fn in ("sum", "abs"):
                return f"{fn.upper()}({','.join(args)})"
            if fn == "ratio":
                return f'IF({args[1]}=0,"",{args[0]}/{args[1]})'
            if fn == "money":
                return f"ROUND({args[0]},2)"
            if fn == "round":
                return f"ROUND({args[0]},{args[1]})"
            if fn == "idiv":
                n, d, scale = args
                whole = f"INT({n}/{d})"
                return f"IF({d}=0,0,{whole}*{scale}+INT(({n}-{whole}*{d})*{scale}/{d}))"
            if fn in ("count_greater", "count_equal"):
                op = ">" if fn == "count_greater" else "="
                terms = [f"IF({y}{op}{args[0]},1,0)" for y in args[1:]]
                return f"({'+'.join(terms)})" if terms else "0"
        raise SpecError(f"{expr.source!r}: cannot render {type(node).__name__}")

    if not types:
        raise SpecError(f"{expr.source!r}: type-check the expression before rendering it")
    return r(expr.tree)


# --------------------------------------------------------------------------- Python


class _NotANumber(Exception):
    pass


def _num(v: Any) -> Decimal:
    """A value used as a number: blank is 0; text or a logical is an error (#VALUE!)."""
    if v is None:
        return Decimal(0)
    if isinstance(v, Decimal):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return Decimal(v)
    if isinstance(v, float):
        return Decimal(repr(v))
    raise _NotANumber(v)


EXCEL_EPOCH = date(1899, 12, 30)


def _date(v: Any) -> date:
    """A value used as a date: blank is day 0, a number is a serial day, as in Excel."""
    if v is None:
        return EXCEL_EPOCH
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return EXCEL_EPOCH + timedelta(days=int(_num(v)))


def _is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _text(v: Any) -> Any:
    """A value in a text comparison: blank is "", text compares ignoring case."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v.casefold()
    return v


def evaluate(expr: Expr, lookup: Mapping[str, Any] | Callable[[str], Any]) -> Any:
    """Evaluate with Decimal arithmetic. Returns None where Excel would show "",
    raises ValueError where Excel shows #VALUE! (text or a logical used as a number) and
    ZeroDivisionError for #DIV/0!."""
    get = lookup if callable(lookup) else lookup.get
    try:
        return _compiled(expr)(get)
    except _NotANumber as err:
        raise ValueError(f"{err.args[0]!r} where a number is needed") from None


_COMPILED: dict[str, Callable[[Callable[[str], Any]], Any]] = {}

Getter = Callable[[str], Any]


def _compiled(expr: Expr) -> Callable[[Getter], Any]:
    """The expression as a tree of Python closures, built once per source text and types."""
    if not expr.types:
        raise SpecError(f"{expr.source!r}: type-check the expression before evaluating it")
    fn = _COMPILED.get(expr.signature)
    if fn is None:
        fn = _COMPILED[expr.signature] = _result(expr.tree.body, expr)
    return fn


def _result(node: ast.AST, e: Expr) -> Callable[[Getter], Any]:
    """A node whose value is a formula's result: a blank cell given by name shows 0 there,
    as ``=B45`` or ``=IF(c,B45,0)`` shows 0 in Excel when B45 is empty."""
    if isinstance(node, ast.Name):
        name = node.id
        if e.types[id(node)] in (NUMBER, DATE):  # read through the guard: text is #VALUE!
            return lambda get: _typed_value(get(name))
        return lambda get: _zero_if_blank(get(name))
    if isinstance(node, ast.IfExp):
        test, body, other = _build(node.test, e), _result(node.body, e), _result(node.orelse, e)
        return lambda get: body(get) if test(get) else other(get)
    return _build(node, e)


def _typed_value(v: Any) -> Any:
    if isinstance(v, date):
        return v
    return _num(v)


def _zero_if_blank(v: Any) -> Any:
    return Decimal(0) if v is None else v


_CMP_FN: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: lambda x, y: x == y, ast.NotEq: lambda x, y: x != y, ast.Lt: lambda x, y: x < y,
    ast.LtE: lambda x, y: x <= y, ast.Gt: lambda x, y: x > y, ast.GtE: lambda x, y: x >= y,
}


def _build(node: ast.AST, e: Expr) -> Callable[[Getter], Any]:
    source = e.source
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
        a, b = _build(node.left, e), _build(node.right, e)
        if isinstance(node.op, ast.Add):
            return lambda get: _num(a(get)) + _num(b(get))
        if isinstance(node.op, ast.Sub):
            return lambda get: _num(a(get)) - _num(b(get))
        if isinstance(node.op, ast.Mult):
            return lambda get: _num(a(get)) * _num(b(get))

        def div(get: Getter) -> Any:
            num, den = _num(a(get)), _num(b(get))
            if den == 0:
                raise ZeroDivisionError(source)
            return num / den

        return div
    if isinstance(node, ast.UnaryOp):
        x = _build(node.operand, e)
        if isinstance(node.op, ast.Not):
            return lambda get: not x(get)
        if isinstance(node.op, ast.USub):
            return lambda get: -_num(x(get))
        return lambda get: _num(x(get))
    if isinstance(node, ast.BoolOp):
        parts = [_build(v, e) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda get: all([bool(p(get)) for p in parts])  # every argument, as Excel's AND
        return lambda get: any([bool(p(get)) for p in parts])
    if isinstance(node, ast.Compare):
        left, right = _build(node.left, e), _build(node.comparators[0], e)
        cmp = _CMP_FN[type(node.ops[0])]
        kind = e.types[id(node.left)]
        if kind == NUMBER:
            return lambda get: cmp(_num(left(get)), _num(right(get)))
        if kind == DATE:
            return lambda get: cmp(_date(left(get)), _date(right(get)))

        def text_cmp(get: Getter) -> bool:
            x, y = _text(left(get)), _text(right(get))
            if isinstance(x, str) != isinstance(y, str):  # a number is never equal to a text
                return cmp(0, 1)
            return cmp(x, y)

        return text_cmp
    if isinstance(node, ast.IfExp):
        test, body, other = (_build(n, e) for n in (node.test, node.body, node.orelse))
        return lambda get: body(get) if test(get) else other(get)
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        fn = node.func.id
        if fn in _NAME_ONLY:
            names = [a.id for a in node.args if isinstance(a, ast.Name)]
            if fn == "blank":
                return lambda get: _is_blank(get(names[0]))
            if fn == "nospace":
                return lambda get: _nospace(get(names[0]))
            if fn == "count_blank":
                return lambda get: Decimal(sum(1 for n in names if _is_blank(get(n))))
            return lambda get: Decimal(sum(1 for n in names if _is_typed_text(get(n))))
        if fn in _LIMITS:
            cell = node.args[0].id if isinstance(node.args[0], ast.Name) else ""
            literals = [_literal(a) for a in node.args[1:]]
            test = _limit_python(fn, literals)
            return lambda get: Decimal(1) if test(get(cell)) else Decimal(0)
        args = [_build(a, e) for a in node.args]
        if fn in ("max", "min"):
            by_name = [isinstance(a, ast.Name) for a in node.args]
            pick = max if fn == "max" else min

            def extreme(get: Getter) -> Decimal:
                values = []
                for a, named in zip(args, by_name, strict=True):
                    v = a(get)
                    if named and (v is None or isinstance(v, str | bool)):
                        continue  # Excel skips a blank or text cell given by reference
                    values.append(_num(v))
                return pick(values) if values else Decimal(0)

            return extreme
        if fn == "sum":
            return lambda get: sum([_num(a(get)) for a in args], Decimal(0))
        if fn == "abs":
            return lambda get: abs(_num(args[0](get)))
        if fn == "ratio":
            def ratio(get: Getter) -> Any:
                den = _num(args[1](get))  # IF(den=0,"",num/den): num only when den is not 0
                return None if den == 0 else _num(args[0](get)) / den

            return ratio
        if fn == "money":
            return lambda get: round_pence(_num(args[0](get)))
        if fn == "round":
            places = Decimal(1).scaleb(-int(_literal(node.args[1])))
            return lambda get: excel_round(_num(args[0](get)), places)
        if fn == "idiv":
            scale = int(_literal(node.args[2]))
            return lambda get: _idiv(_num(args[0](get)), _num(args[1](get)), scale)
        if fn in ("count_greater", "count_equal"):
            first, rest = args[0], args[1:]
            above = fn == "count_greater"

            def count(get: Getter) -> Decimal:
                x = _num(first(get))
                ys = [_num(a(get)) for a in rest]
                return Decimal(sum(1 for y in ys if (y > x if above else y == x)))

            return count
    raise SpecError(f"{source!r}: cannot evaluate {type(node).__name__}")


# ---------------------------------------------------------------- sharing an amount
#
# An amount shared by weighted factors must add up to the penny in every program. Doubles
# cannot hold a share exactly, and Excel, LibreOffice, Gnumeric and Python each round a
# near-tie their own way (LibreOffice's INT and comparisons snap to 15 digits, the formulas
# package's ROUND does not), so a remainder compared as a double could rank differently.
# ``idiv`` keeps every quantity a whole number below 2**53, where doubles are exact and no
# program has anything to snap: the whole part of n*s/d is INT(n/d)*s + INT(r*s/d) with
# r = n - INT(n/d)*d, so n*s itself is never formed. Ranking whole numbers with
# ``count_greater``/``count_equal`` is then the same everywhere.


def excel_round(v: Decimal, places: Decimal) -> Decimal:
    """Excel's ROUND: half away from zero, on the value as Excel shows it (15 significant
    digits), so 2.675 rounds to 2.68 as it does in Excel and LibreOffice."""
    shown = v if v.is_zero() else v.quantize(Decimal(1).scaleb(v.adjusted() - 14), rounding=ROUND_HALF_EVEN)
    return shown.quantize(places, rounding=ROUND_HALF_UP)


def _idiv(n: Decimal, d: Decimal, scale: int) -> Decimal:
    if d == 0:
        return Decimal(0)
    q = Fraction(n) * scale / Fraction(d)
    return Decimal(math.floor(q))


# ---------------------------------------------------------------- a field's own limits
#
# outside(x, lo, hi[, whole]): a number below lo or above hi (or, with whole=1, not a
#   whole number); text and TRUE/FALSE are left to count_text, a blank to the required
#   check (it counts as 0 only where 0 is itself outside the limits, as in Excel).
# too_long(x, n): text longer than n characters.
# not_one_of(x, choice...): something other than blank or one of the choices (ignoring
#   case and spaces at either end or doubled, as TRIM does).
# not_pence(x): a number with fractions of a penny (more than a thousandth of a penny
#   from a whole one: money.pence_places).
# not_email(x): something other than blank or one address: one @, no spaces or control
#   characters, and a dot after the @ with something either side of it.


def _limit_excel(fn: str, x: str, lit: list[Any]) -> str:
    def q(v: Any) -> str:
        return '"' + str(v).replace('"', '""') + '"' if isinstance(v, str) else repr(v)

    if fn == "outside":
        lo, hi = lit[0], lit[1]
        tests = [f"{x}<{q(lo)}", f"{x}>{q(hi)}"] + ([f"{x}<>INT({x})"] if len(lit) > 2 and lit[2] else [])
        skip = f"ISTEXT({x})+ISLOGICAL({x})" + ("" if lo <= 0 <= hi else f"+(LEN({x})=0)")
        return f"IF({skip},0,IF(OR({','.join(tests)}),1,0))"
    if fn == "too_long":
        return f"IF(ISTEXT({x}),IF(LEN({x})>{lit[0]},1,0),0)"
    if fn == "not_pence":
        return f"IF(ISNUMBER({x}),IF(ABS({x}*100-ROUND({x}*100,0))>{PENCE_SLACK},1,0),0)"
    if fn == "not_one_of":
        return f"IF(LEN(TRIM({x}))=0,0,IF(OR({','.join(f'TRIM({x})={q(c)}' for c in lit)}),0,1))"
    # not_email, on the text as TRIM leaves it
    t = f"TRIM({x})"
    return (f'IF(LEN({t})=0,0,IF(ISTEXT({x}),IF(LEN({t})-LEN(SUBSTITUTE({t},"@",""))<>1,1,'
            f'IF(ISNUMBER(FIND(" ",{t})),1,IF(CLEAN({t})<>{t},1,IF(FIND("@",{t})=1,1,IF(RIGHT({t},1)=".",1,'
            f'IF(ISERROR(FIND(".",{t},FIND("@",{t})+2)),1,0)))))),1))')


_SPACES = re.compile(" +")


def _trim(v: str) -> str:
    """Excel's TRIM: spaces off both ends, runs of spaces inside made one."""
    return _SPACES.sub(" ", v.strip(" "))


def _limit_python(fn: str, lit: list[Any]) -> Callable[[Any], bool]:
    if fn == "outside":
        lo, hi, whole = Decimal(repr(lit[0])), Decimal(repr(lit[1])), len(lit) > 2 and bool(lit[2])

        def outside(v: Any) -> bool:
            if isinstance(v, str | bool):
                return False
            if v is None:  # a blank is the required check's business
                return False
            n = Decimal((v - EXCEL_EPOCH).days) if isinstance(v, date) else _num(v)
            return n < lo or n > hi or (whole and n != n.to_integral_value())

        return outside
    if fn == "not_pence":
        return lambda v: isinstance(v, Decimal | int | float) and not isinstance(v, bool) and not pence_places(_num(v))
    if fn == "too_long":
        n = int(lit[0])
        return lambda v: isinstance(v, str) and len(v) > n
    if fn == "not_one_of":
        folded = {str(c).casefold() for c in lit}

        def not_one_of(v: Any) -> bool:
            if _is_blank(v):
                return False
            return not (isinstance(v, str) and _trim(v).casefold() in folded)

        return not_one_of
    return lambda v: not _is_blank(v) and not (isinstance(v, str) and EMAIL.match(_trim(v)) is not None)




def _nospace(v: Any) -> Any:
    if v is None:
        return ""
    return v.replace(" ", "") if isinstance(v, str) else v


def _is_typed_text(v: Any) -> bool:
    """Text (or TRUE/FALSE) with something in it, where a number or date belongs."""
    return isinstance(v, bool) or (isinstance(v, str) and bool(v.strip()))


__all__ = ["DATE", "LOGICAL", "MAYBE", "NUMBER", "TEXT", "Expr", "evaluate", "parse", "to_excel", "typed"]
