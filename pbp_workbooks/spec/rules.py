"""Cross-field rules, loaded from validators/<kind>.toml and expanded against a spec.

A rule's condition is an expression that is true when there is a problem. The same
expanded rules drive the validator (Python evaluation) and the Checks sheet (Excel
formulas), so the workbook and the LA's verdict cannot disagree on them.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.errors import SpecError
from pbp_workbooks.base.resources import data_dir
from pbp_workbooks.spec import expr
from pbp_workbooks.spec.model import Spec, value_type

SEVERITIES = ("error", "warning")
_CODE = re.compile(r"^[A-Z]-[EW]\d{3}$")


@dataclass(frozen=True)
class RuleDef:
    """A rule as written in the rule file (one entry of the catalogue)."""

    code: str
    severity: str
    title: str
    message: str
    when: str
    each: str | None
    cells: tuple[str, ...]
    check: str | None
    quarters: tuple[int, ...] | None = None  # the reporting quarters it applies to (None: all)


@dataclass(frozen=True)
class Rule:
    """A rule expanded for one grid row (or the whole return): names are field names."""

    code: str
    severity: str
    title: str
    when: expr.Expr
    cells: tuple[str, ...]
    message: str
    check: str | None
    row_label: str | None
    names: dict[str, str]  # placeholder -> field name, for rendering messages
    quarters: tuple[int, ...] | None = None

    def applies(self, quarter: int | None) -> bool:
        return self.quarters is None or quarter in self.quarters


def _qualify(source: str, mapping: dict[str, str]) -> expr.Expr:
    class Rename(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            return ast.copy_location(ast.Name(id=mapping.get(node.id, node.id), ctx=node.ctx), node)

    return expr.parse(ast.unparse(Rename().visit(ast.parse(source, mode="eval"))))


@cache
def rule_file(name: str) -> dict[str, Any]:
    """A rule file of validators/ as data (parsed once); {} when there is none."""
    path = data_dir("validators") / name
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        try:
            return tomllib.load(fh)
        except tomllib.TOMLDecodeError as err:
            raise SpecError(f"{name}: {err}") from None


@cache
def definitions(kind: str) -> tuple[RuleDef, ...]:
    path = data_dir("validators") / f"{kind}.toml"
    data = rule_file(f"{kind}.toml")
    if not data:
        return ()
    out: list[RuleDef] = []
    seen: set[str] = set()
    for raw in data.get("rule", []):
        code = raw["code"]
        if not _CODE.match(code) or code in seen:
            raise SpecError(f"{path.name}: bad or duplicate rule code {code!r}")
        seen.add(code)
        if raw["severity"] not in SEVERITIES or (raw["severity"] == "error") != (code[2] == "E"):
            raise SpecError(f"{path.name}: {code} severity must match its code (E = error, W = warning)")
        expr.parse(raw["when"])
        quarters = raw.get("quarters")
        if quarters is not None and not (isinstance(quarters, list) and set(quarters) <= {1, 2, 3, 4}):
            raise SpecError(f"{path.name}: {code} quarters must be a list of 1-4")
        out.append(RuleDef(code, raw["severity"], raw["title"], raw["message"], raw["when"], raw.get("each"),
                           tuple(raw["cells"]), raw.get("check"), tuple(quarters) if quarters else None))
    return tuple(out)


@cache
def expand(spec: Spec) -> tuple[Rule, ...]:
    """Every rule of the spec's kind, one per grid row where ``each`` is set."""
    out: list[Rule] = []
    for d in definitions(spec.kind):
        if d.each:
            section = next((s for s in spec.sections if s.key == d.each), None)
            if section is None or section.kind != "grid":
                raise SpecError(f"rule {d.code}: {d.each!r} is not a grid section of {spec.id}")
            for rkey, rlabel in zip(section.row_keys, section.row_labels, strict=True):
                mapping = {c: f"{section.key}_{rkey}_{c}" for c in section.col_keys}
                out.append(_make(spec, d, mapping, rlabel))
        else:
            out.append(_make(spec, d, {}, None))
    return tuple(out)


@cache
def types(spec: Spec) -> dict[str, str]:
    """What a rule condition may name, with its type: every field of the spec (a formula
    field has the type its formula gives) and every threshold of pbp.toml (a number)."""
    out = {name: expr.NUMBER for name in Thresholds.__dataclass_fields__}
    for f in spec.fields:
        out[f.name] = f.formula.type if f.formula is not None else value_type(f.type)
    return out


def _make(spec: Spec, d: RuleDef, mapping: dict[str, str], row_label: str | None) -> Rule:
    try:
        when = expr.typed(_qualify(d.when, mapping), types(spec))
    except SpecError as err:
        raise SpecError(f"rule {d.code}{' (' + row_label + ')' if row_label else ''}: {err}") from None
    if when.type != expr.LOGICAL:
        raise SpecError(f"rule {d.code}: 'when' must be a condition (true when there is a problem), not {when.type}")
    cells = tuple(mapping.get(c, c) for c in d.cells)
    for name in cells:
        if name not in spec.by_name:
            raise SpecError(f"rule {d.code}: cell {name!r} is not a field of {spec.id}")
    placeholders = set(_PLACEHOLDER.findall(d.message + (d.check or ""))) - {"row"}
    names = {p: mapping.get(p, p) for p in placeholders}
    for p, n in names.items():
        if n not in spec.by_name and n not in THRESHOLDS:
            raise SpecError(f"rule {d.code}: message placeholder {{{p}}} is neither a field nor a threshold")
    for p in set(_PLACEHOLDER.findall(d.check or "")):
        if p in THRESHOLDS:
            raise SpecError(f"rule {d.code}: a check label cannot name a threshold ({{{p}}}): say it in the message")
    return Rule(d.code, d.severity, d.title, when, cells, d.message, d.check, row_label, names, d.quarters)


# {name} or {name:abs}: a field's value (or a threshold of pbp.toml) formatted for people;
# ":abs" drops the sign where the words already say it ("a deficit of £30,834.22").
_PLACEHOLDER = re.compile(r"{(\w+)(?::abs)?}")
_ANY_PLACEHOLDER = re.compile(r"{(\w+)(:abs)?}")
THRESHOLDS = frozenset(Thresholds.__dataclass_fields__)


def render(template: str, rule: Rule, fmt: Any, params: Mapping[str, Any] | None = None) -> str:
    """Fill a message/check template; ``fmt(field_name)`` formats a value for people, and
    ``params`` are the LA's thresholds (pbp.toml) for the placeholders that name one."""

    def fill(m: re.Match[str]) -> str:
        name, absolute = m.group(1), bool(m.group(2))
        if name == "row":
            return rule.row_label or ""
        if name in THRESHOLDS:
            return threshold_text(name, (params or Thresholds().params())[name])
        text = str(fmt(rule.names[name]))
        return text.lstrip("-") if absolute else text

    return _ANY_PLACEHOLDER.sub(fill, template)


def threshold_text(name: str, value: Any) -> str:
    """A threshold as the LA's texts show it: money as £30,000, percentages as 10%."""
    number = f"{value:,.2f}".removesuffix(".00")
    return f"{number}%" if name.endswith("_pct") else f"£{number}"


def fill_thresholds(text: str, params: Mapping[str, Any]) -> str:
    """A text with the LA's thresholds in it: "{large_item}" becomes "£30,000"."""
    return _ANY_PLACEHOLDER.sub(lambda m: threshold_text(m.group(1), params[m.group(1)])
                                if m.group(1) in THRESHOLDS and m.group(1) in params else m.group(0), text)
