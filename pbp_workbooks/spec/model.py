"""Load a template spec (workbook_templates/*.toml) and resolve it into fields with cells.

The spec is the single source of truth: the writer lays out exactly these fields, the
reader finds them by ``Field.name`` (the workbook's defined name), the validator derives
its field rules from ``type``/``required``/constraints and ``pbp spec`` prints them.
Cell addresses are derived here from the order of sections, rows and columns, so the
TOML never repeats a position.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache, cached_property
from typing import Any

from xlsxwriter.utility import xl_rowcol_to_cell

from pbp_workbooks.base.errors import SpecError
from pbp_workbooks.base.resources import data_dir
from pbp_workbooks.spec import expr

TYPES = {"money", "signed_money", "integer", "number", "percent", "text", "date", "choice", "email", "yesno"}
NUMERIC = {"money", "signed_money", "integer", "number", "percent"}
YES_NO = ("Yes", "No")

# Sane bounds for money typed by a person: a provision's budget is a few hundred
# thousand pounds, so anything past ten million is a slip of the keyboard.
MONEY_MAX = Decimal("10000000")
# A ``number`` (a percentage, score, weeks...) without its own max.
NUMBER_MAX = Decimal("1000000")
DEFAULT_TEXT_MAX = 500

# Who a return is issued to: one workbook per provision (its host school fills it in) or one
# per member school of each partnership (roster sheet Member schools), e.g. the SLA review.
ISSUED_TO = ("provision", "member school")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_LOOKS_LIKE_CELL = re.compile(r"^([a-z]{1,3}\d+|r\d*c\d*|r|c)$")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    section: str
    type: str
    sheet: str
    row: int  # 0-based
    col: int  # 0-based
    required: bool = False
    locked: bool = False
    formula: expr.Expr | None = None
    source: str | None = None
    quarter: int | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    max_length: int | None = None
    choices: tuple[str, ...] | None = None
    window: str | None = None
    help: str = ""
    span: int = 1
    lines: int = 1
    emphasis: bool = False
    flag_over: bool = False  # a positive value (an overspend) is shown red
    grid_row: str | None = None
    column_label: str | None = None  # a grid cell's column heading
    grid_col: str | None = None
    is_total: bool = False

    @property
    def cell(self) -> str:
        return xl_rowcol_to_cell(self.row, self.col)

    @property
    def abs_ref(self) -> str:
        return f"{quote_sheet(self.sheet)}!{xl_rowcol_to_cell(self.row, self.col, True, True)}"

    @property
    def role(self) -> str:
        if self.formula is not None:
            return "formula"
        if self.locked:
            return "prefilled"
        return "input"

    @property
    def is_input(self) -> bool:
        return self.role == "input"

    def is_open(self, quarter: int | None) -> bool:
        """An input the officer may fill in this period (later quarters stay locked)."""
        if not self.is_input:
            return False
        return self.quarter is None or quarter is None or self.quarter <= quarter

    def is_required(self, quarter: int | None) -> bool:
        return self.required and self.is_open(quarter)

    def constraints(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.min is not None:
            out["min"] = str(self.min)
        if self.max is not None:
            out["max"] = str(self.max)
        if self.max_length is not None:
            out["max_length"] = self.max_length
        if self.choices is not None:
            out["choices"] = list(self.choices)
        if self.window is not None:
            out["date_window"] = self.window
        if self.quarter is not None:
            out["open_from_quarter"] = self.quarter
        return out


@dataclass(frozen=True)
class Text:
    """A fixed label the writer puts on the sheet; part of the locked layout."""

    sheet: str
    row: int
    col: int
    text: str
    style: str  # title | section | help | label | header | total_label
    span: int = 1

    @property
    def cell(self) -> str:
        return xl_rowcol_to_cell(self.row, self.col)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    kind: str
    help: str
    row_keys: tuple[str, ...] = ()
    row_labels: tuple[str, ...] = ()
    col_keys: tuple[str, ...] = ()
    # a bar chart of one column by another, below the sheet: (title, label column, value column)
    chart: tuple[str, str, str] | None = None


CHART_ROWS = 22  # rows below the sheet's last row that a grid's chart takes


@dataclass(frozen=True)
class Grid:
    """A grid section the code asks for by role (``[roles.<role>]`` in the spec): its rows, and the
    defined names of its cells and totals by the role of their column."""

    section: Section
    columns: dict[str, tuple[str, ...]]  # column role -> column keys (several: the quarters' actuals)
    row_sets: dict[str, frozenset[str]] = field(default_factory=dict)  # rows_<name> = [row keys]

    @property
    def rows(self) -> tuple[tuple[str, str], ...]:
        """(row key, row label) of every row, top to bottom."""
        return tuple(zip(self.section.row_keys, self.section.row_labels, strict=True))

    def row_cells(self, row: str) -> tuple[str, ...]:
        """The defined names of every cell of a row, left to right."""
        return tuple(f"{self.section.key}_{row}_{col}" for col in self.section.col_keys)

    def cell(self, row: str, role: str) -> str:
        """The defined name of a row's cell in the column with that role."""
        (col,) = self.columns[role]
        return f"{self.section.key}_{row}_{col}"

    def cells(self, row: str, role: str) -> tuple[str, ...]:
        """The defined names of a row's cells in every column with that role, left to right."""
        return tuple(f"{self.section.key}_{row}_{col}" for col in self.columns[role])

    def total(self, role: str) -> str:
        (col,) = self.columns[role]
        return f"{self.section.key}_total_{col}"

    def totals(self, role: str) -> tuple[str, ...]:
        return tuple(f"{self.section.key}_total_{col}" for col in self.columns[role])

    def has(self, role: str) -> bool:
        return role in self.columns


@dataclass(frozen=True, eq=False)  # identity equality: specs are loaded once and cached
class Spec:
    id: str
    version: str
    kind: str
    code_prefix: str
    title: str
    short_title: str
    return_to: str
    toolkit: str
    file_name: str
    instructions: tuple[str, ...]
    sheet: str
    widths: tuple[int, ...]
    sections: tuple[Section, ...]
    fields: tuple[Field, ...]
    texts: tuple[Text, ...]
    last_col: int
    last_row: int
    by_name: dict[str, Field] = field(repr=False, compare=False, default_factory=dict)
    orientation: str = "landscape"  # of the printed data sheet: landscape | portrait
    issued_to: str = "provision"  # one of ISSUED_TO
    period_label: str = "Annual"  # a yearly return's period: its folders and its row on the roster's Due dates

    @property
    def per_school(self) -> bool:
        """Issued to every member school (versions kept per school), not to each provision."""
        return self.issued_to == "member school"

    def period_name(self, quarter: int | None) -> str:
        """'Q2' for a quarter, else the yearly period ('Annual', 'SLA review')."""
        return f"Q{quarter}" if quarter else self.period_label

    @property
    def quarterly(self) -> bool:
        """A return sent each quarter (issued with --quarter); the others are sent once a year."""
        return any(f.quarter is not None for f in self.fields)
    # role -> field names ([roles] in the spec): what the code asks for instead of naming fields
    field_roles: dict[str, tuple[str, ...]] = field(repr=False, compare=False, default_factory=dict)
    grid_roles: dict[str, Grid] = field(repr=False, compare=False, default_factory=dict)

    def role(self, role: str) -> str | None:
        """The defined name of the one field with this role, or None when this spec has none."""
        names = self.field_roles.get(role)
        if names is None:
            return None
        if len(names) != 1:
            raise SpecError(f"{self.id}: role {role!r} is a list of {len(names)} fields; ask for roles()")
        return names[0]

    def value(self, values: Mapping[str, Any], role: str) -> Any:
        """The value of the field with this role in one return's values (None when this spec has none)."""
        name = self.role(role)
        return None if name is None else values.get(name)

    def roles(self, role: str) -> tuple[str, ...]:
        """The defined names of the fields with this role (a list role), in the spec's order."""
        return self.field_roles.get(role, ())

    def grid(self, role: str) -> Grid | None:
        """The grid section with this role, or None when this spec has none."""
        return self.grid_roles.get(role)

    def __getitem__(self, name: str) -> Field:
        return self.by_name[name]

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """Pickle as a reference to the shipped spec (for worker processes)."""
        return load, (self.kind,)

    def inputs(self) -> Iterator[Field]:
        return (f for f in self.fields if f.is_input)

    @cached_property
    def formula_order(self) -> tuple[Field, ...]:
        return tuple(self.formulas_in_order())

    def formulas_in_order(self) -> list[Field]:
        """Formula fields ordered so each comes after everything it depends on."""
        pending = {f.name: f for f in self.fields if f.formula is not None}
        done: list[Field] = []
        seen: set[str] = set()

        def visit(f: Field, trail: tuple[str, ...]) -> None:
            if f.name in seen:
                return
            if f.name in trail:
                raise SpecError(f"{self.id}: formula cycle through {' -> '.join(trail)}")
            assert f.formula is not None
            for dep in sorted(f.formula.names):
                if dep in pending:
                    visit(pending[dep], (*trail, f.name))
            seen.add(f.name)
            done.append(f)

        for f in pending.values():
            visit(f, ())
        return done

    def to_json(self) -> dict[str, Any]:
        """The published form of the spec (`pbp spec KIND --json`, DESIGN §9)."""
        return {
            "template": self.id,
            "version": self.version,
            "title": self.title,
            "fields": [
                {
                    "name": f.name,
                    "sheet": f.sheet,
                    "cell": f.cell,
                    "type": f.type,
                    "required": f.required,
                    "label": f.label,
                    "section": f.section,
                    "role": f.role,
                    **({"source": f.source} if f.source else {}),
                    **({"formula": f.formula.source} if f.formula else {}),
                    **f.constraints(),
                }
                for f in self.fields
            ],
        }


def quote_sheet(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else "'" + name.replace("'", "''") + "'"


def _check_name(name: str, where: str) -> str:
    if not _NAME.match(name) or _LOOKS_LIKE_CELL.match(name):
        raise SpecError(f"{where}: {name!r} cannot be a defined name")
    return name


def _qualify(e: expr.Expr | str, mapping: dict[str, str], columns: dict[str, list[str]] | None = None,
             row: int = 0) -> expr.Expr:
    """Rewrite column keys in a grid formula to the row's field names. ``rows(c)`` as an
    argument stands for column c's cells in every row and ``rows_before(c)`` for its cells
    in the rows above this one (``row``, 0-based), given in ``columns``."""
    source = e if isinstance(e, str) else e.source

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            return ast.copy_location(ast.Name(id=mapping.get(node.id, node.id), ctx=node.ctx), node)

        def visit_Call(self, node: ast.Call) -> ast.AST:
            args: list[ast.expr] = []
            for a in node.args:
                if isinstance(a, ast.Call) and isinstance(a.func, ast.Name) and a.func.id in ("rows", "rows_before"):
                    if columns is None or len(a.args) != 1 or not isinstance(a.args[0], ast.Name) \
                            or a.args[0].id not in columns:
                        raise SpecError(f"bad expression {source!r}: {a.func.id}() takes one column of its grid")
                    names = columns[a.args[0].id]
                    args += [ast.Name(id=n, ctx=ast.Load()) for n in (names if a.func.id == "rows" else names[:row])]
                else:
                    args.append(self.visit(a))
            return ast.copy_location(ast.Call(func=node.func, args=args, keywords=[]), node)

    tree = Rename().visit(ast.parse(source.strip(), mode="eval"))
    return expr.parse(ast.unparse(tree))


def value_type(ftype: str) -> str:
    """A field type's type in the expression language."""
    if ftype in NUMERIC:
        return expr.NUMBER
    return expr.DATE if ftype == "date" else expr.TEXT


def _typed_formulas(fields: list[Field], by_name: dict[str, Field], origin: str) -> list[Field]:
    """Every formula type-checked (expr.typed), in dependency order: a formula's type is
    what it gives, so one that may be blank (ratio) cannot feed arithmetic."""
    types = {f.name: value_type(f.type) for f in fields if f.formula is None}
    typed: dict[str, expr.Expr] = {}

    def visit(f: Field, trail: tuple[str, ...]) -> str:
        if f.name in types:
            return types[f.name]
        if f.name in trail:
            raise SpecError(f"{origin}: formula cycle through {' -> '.join((*trail, f.name))}")
        assert f.formula is not None
        for dep in sorted(f.formula.names):
            visit(by_name[dep], (*trail, f.name))
        try:
            e = expr.typed(f.formula, types)
        except SpecError as err:
            raise SpecError(f"{origin}: formula of {f.name}: {err}") from None
        expected = value_type(f.type)
        if e.type != expected and not (e.type == expr.MAYBE and expected == expr.NUMBER):
            raise SpecError(f"{origin}: formula of {f.name} gives {e.type}, but the field is {f.type}")
        typed[f.name] = e
        types[f.name] = e.type
        return e.type

    for f in fields:
        visit(f, ())
    return [replace(f, formula=typed[f.name]) if f.name in typed else f for f in fields]


def _decimal(v: Any) -> Decimal | None:
    return None if v is None else Decimal(str(v))


def _field_kwargs(raw: dict[str, Any], where: str, sections: dict[str, dict[str, Any]]) -> dict[str, Any]:
    ftype = raw.get("type", "text")
    if ftype not in TYPES:
        raise SpecError(f"{where}: unknown type {ftype!r}")
    choices: tuple[str, ...] | None = None
    if ftype == "choice":
        if "choices" in raw:
            choices = tuple(raw["choices"])
        elif raw.get("choices_from", "").endswith(".rows"):
            src = sections[raw["choices_from"].split(".")[0]]
            choices = tuple(r["label"] for r in src["row"])
        else:
            raise SpecError(f"{where}: a choice needs choices or choices_from")
    elif ftype == "yesno":
        choices = YES_NO
    lo, hi = _decimal(raw.get("min")), _decimal(raw.get("max"))
    if ftype == "money":
        lo = Decimal(0) if lo is None else lo
        hi = MONEY_MAX if hi is None else hi
    elif ftype == "signed_money":
        lo = -MONEY_MAX if lo is None else lo
        hi = MONEY_MAX if hi is None else hi
    elif ftype == "number":
        lo = Decimal(0) if lo is None else lo
        hi = NUMBER_MAX if hi is None else hi
    elif ftype == "percent" and "formula" not in raw:  # typed as 40%, stored as 0.4 (as Excel does)
        lo = Decimal(0) if lo is None else lo
        hi = Decimal(1) if hi is None else hi
    max_length = raw.get("max_length")
    if ftype in ("text", "email") and max_length is None:
        max_length = DEFAULT_TEXT_MAX
    window = raw.get("window", "year") if ftype == "date" else None
    return {
        "type": ftype,
        "required": bool(raw.get("required", False)),
        "locked": bool(raw.get("locked", False)),
        "source": raw.get("source"),
        "quarter": raw.get("quarter"),
        "min": lo if ftype in NUMERIC else None,
        "max": hi if ftype in NUMERIC else None,
        "max_length": max_length,
        "choices": choices,
        "window": window,
        "help": raw.get("help", ""),
        "emphasis": bool(raw.get("emphasis", False)),
        "flag_over": bool(raw.get("flag_over", False)),
    }


# The source of a grid cell of a ``carried = true`` section (the year's items register): the
# rows of the latest accepted earlier return of the year come pre-filled and locked
# (history.carried_rows); the others are for the officer.
CARRIED = "ledger.carried"


def _grid_rows(s: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """A grid's rows: listed one by one (``[[section.row]]``), or ``rows = N`` of them
    labelled ``row_label`` with {n} for 1..N (an items table long enough for a busy year)."""
    if "rows" not in s:
        return list(s["row"])
    n = s["rows"]
    if "row" in s or not isinstance(n, int) or n < 1 or "{n}" not in s.get("row_label", ""):
        raise SpecError(f"{where}: rows = N needs a row_label with {{n}} and no [[section.row]]")
    return [{"key": str(i), "label": s["row_label"].format(n=i)} for i in range(1, n + 1)]


def build(data: dict[str, Any], origin: str) -> Spec:
    t = data["template"]
    sheet = data["sheet"]["name"]
    widths = tuple(data["sheet"]["widths"])
    sections_raw = data["section"]
    by_key = {s["key"]: s for s in sections_raw}
    fields: list[Field] = []
    texts: list[Text] = []
    sections: list[Section] = []
    last_col = len(widths) - 1

    texts.append(Text(sheet, 0, 0, t["title"], "title", last_col + 1))
    texts.append(Text(sheet, 2, 0, "Yellow cells are for you to fill in. Grey cells come from the LA. "
                      "White cells calculate themselves. See the Checks sheet before you send it.", "help",
                      last_col + 1))
    row = 4
    for s in sections_raw:
        key = _check_name(s["key"], origin)
        where = f"{origin} section {key}"
        texts.append(Text(sheet, row, 0, s["title"], "section", last_col + 1))
        row += 1
        if s.get("help"):
            texts.append(Text(sheet, row, 0, s["help"], "help", last_col + 1))
            row += 1
        if s["kind"] == "form":
            for raw in s["field"]:
                name = _check_name(raw["key"], where)
                kw = _field_kwargs(raw, f"{where} field {name}", by_key)
                formula = expr.parse(raw["formula"]) if "formula" in raw else None
                texts.append(Text(sheet, row, 0, raw["label"], "label"))
                fields.append(Field(name=name, label=raw["label"], section=key, sheet=sheet, row=row, col=1,
                                    formula=formula, span=int(raw.get("span", 1)), lines=int(raw.get("lines", 1)),
                                    **kw))
                row += 1
            sections.append(Section(key, s["title"], "form", s.get("help", "")))
        elif s["kind"] == "grid":
            cols = s["column"]
            rows = _grid_rows(s, where)
            if s.get("carried"):  # rows carried over from the earlier returns the LA accepted
                cols = [{**c, "source": CARRIED} for c in cols]
            # a column may span several sheet columns (a wide commentary); positions follow
            spans = [int(c.get("span", 1)) for c in cols]
            positions = [1 + sum(spans[:i]) for i in range(len(cols))]
            if sum(spans) > last_col:
                raise SpecError(f"{where}: {len(cols)} columns do not fit the sheet's widths")
            texts.append(Text(sheet, row, 0, s.get("corner", ""), "header"))
            for j, c, w in zip(positions, cols, spans, strict=True):
                texts.append(Text(sheet, row, j, c["label"], "header", w))
            row += 1
            col_keys = [str(c["key"]) for c in cols]
            row_names: dict[str, list[str]] = {c: [f"{key}_{r['key']}_{c}" for r in rows] for c in col_keys}
            for i, r in enumerate(rows):
                texts.append(Text(sheet, row, 0, r["label"], "label"))
                mapping = {ck: f"{key}_{r['key']}_{ck}" for ck in col_keys}
                # a row may narrow its numeric inputs (a percentage row: max = 100) and explain them
                over = {k: r[k] for k in ("min", "max", "help") if k in r}
                for j, c, w in zip(positions, cols, spans, strict=True):
                    name = _check_name(mapping[c["key"]], where)
                    raw_c = {**c, **over} if over and c.get("type") in NUMERIC and "formula" not in c else c
                    kw = _field_kwargs(raw_c, f"{where} column {c['key']}", by_key)
                    if kw["source"] and "{row}" in kw["source"]:
                        kw["source"] = kw["source"].replace("{row}", str(r["key"]))
                    formula = _qualify(c["formula"], mapping, row_names, i) if "formula" in c else None
                    fields.append(Field(name=name, label=f"{r['label']}: {c['label']}", section=key, sheet=sheet,
                                        row=row, col=j, formula=formula, grid_row=r["key"], grid_col=c["key"],
                                        column_label=c["label"], span=w, lines=int(c.get("lines", 1)), **kw))
                row += 1
            if any(c.get("total") or c.get("total_formula") for c in cols):
                texts.append(Text(sheet, row, 0, s.get("total_label", "Total"), "total_label"))
                tmap = {ck: f"{key}_total_{ck}" for ck in col_keys}
                for j, c in zip(positions, cols, strict=True):
                    if c.get("total_formula"):
                        formula = _qualify(expr.parse(c["total_formula"]), tmap)
                    elif c.get("total"):
                        inner = f"sum({', '.join(row_names[c['key']])})"
                        formula = expr.parse(f"money({inner})" if c.get("type") in ("money", "signed_money")
                                             else inner)
                    else:
                        continue
                    kw = _field_kwargs(c, f"{where} total {c['key']}", by_key)
                    kw.update(required=False, locked=False, source=None, quarter=None, emphasis=True)
                    fields.append(Field(name=_check_name(tmap[c["key"]], where),
                                        label=f"{s.get('total_label', 'Total')}: {c['label']}", section=key,
                                        sheet=sheet, row=row, col=j, formula=formula, grid_col=c["key"],
                                        is_total=True, **kw))
                row += 1
            chart = s.get("chart")
            if chart is not None and not (isinstance(chart, dict) and {chart.get("labels"), chart.get("values")}
                                          <= set(col_keys)):
                raise SpecError(f"{where}: chart needs labels and values, two of its columns")
            sections.append(Section(key, s["title"], "grid", s.get("help", ""),
                                    tuple(str(r["key"]) for r in rows), tuple(r["label"] for r in rows),
                                    tuple(col_keys),
                                    (str(chart.get("title", s["title"])), chart["labels"], chart["values"])
                                    if chart else None))
        else:
            raise SpecError(f"{where}: kind must be form or grid")
        row += 1

    by_name: dict[str, Field] = {}
    for f in fields:
        if f.name in by_name:
            raise SpecError(f"{origin}: the name {f.name!r} is used twice")
        by_name[f.name] = f
    for f in fields:
        if f.formula is not None:
            missing = f.formula.names - by_name.keys()
            if missing:
                raise SpecError(f"{origin}: formula of {f.name} uses unknown {sorted(missing)}")
    fields = _typed_formulas(fields, by_name, origin)
    by_name = {f.name: f for f in fields}
    spec = Spec(
        id=t["id"], version=str(t["version"]), kind=t["kind"], code_prefix=t["code_prefix"], title=t["title"],
        short_title=t["short_title"], return_to=t["return_to"], toolkit=t["toolkit"], file_name=t["file_name"],
        instructions=tuple(t.get("instructions", ())),
        sheet=sheet, widths=widths, sections=tuple(sections), fields=tuple(fields), texts=tuple(texts),
        last_col=last_col, last_row=row - 1, by_name=by_name,
        orientation=data["sheet"].get("orientation", "landscape"),
        issued_to=t.get("issued_to", "provision"), period_label=t.get("period", "Annual"),
    )
    if spec.issued_to not in ISSUED_TO:
        raise SpecError(f"{origin}: [template] issued_to must be one of {', '.join(ISSUED_TO)}")
    _attach_roles(spec, data.get("roles", {}), origin)
    if spec.orientation not in ("landscape", "portrait"):
        raise SpecError(f"{origin}: [sheet] orientation must be landscape or portrait")
    spec.formulas_in_order()  # raises on a cycle
    return spec


def _attach_roles(spec: Spec, raw: dict[str, Any], origin: str) -> None:
    """Resolve ``[roles]``: a role names a field or a list of fields, or (a table) a grid section and
    its columns by role. Every name must exist, so a renamed field fails here, not in a report."""
    sections = {s.key: s for s in spec.sections}
    for role, target in raw.items():
        where = f"{origin} [roles] {role}"
        if isinstance(target, dict):
            section = sections.get(str(target.get("section")))
            if section is None or section.kind != "grid":
                raise SpecError(f"{where}: section {target.get('section')!r} is not a grid section")
            columns: dict[str, tuple[str, ...]] = {}
            row_sets: dict[str, frozenset[str]] = {}
            for col_role, cols in target.items():
                if col_role == "section":
                    continue
                if col_role.startswith("rows_"):
                    unknown = [k for k in cols if k not in section.row_keys]
                    if unknown:
                        raise SpecError(f"{where}: {section.key} has no row {unknown[0]!r}")
                    row_sets[col_role.removeprefix("rows_")] = frozenset(cols)
                    continue
                keys = tuple(cols) if isinstance(cols, list) else (cols,)
                missing = [k for k in keys if k not in section.col_keys]
                if missing:
                    raise SpecError(f"{where}: {section.key} has no column {missing[0]!r}")
                columns[col_role] = keys
            spec.grid_roles[role] = Grid(section, columns, row_sets)
        else:
            names = tuple(target) if isinstance(target, list) else (target,)
            missing = [n for n in names if n not in spec.by_name]
            if missing:
                raise SpecError(f"{where}: there is no field {missing[0]!r}")
            spec.field_roles[role] = names


@cache
def load(kind: str) -> Spec:
    """The shipped spec of a kind (``spec.available()`` lists them)."""
    path = data_dir("workbook_templates") / f"{kind}.toml"
    if not path.is_file():
        raise SpecError(f"there is no template spec for {kind!r}")
    with path.open("rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as err:
            raise SpecError(f"{path.name}: {err}") from None
    try:
        return build(data, path.name)
    except KeyError as err:
        raise SpecError(f"{path.name}: missing {err}") from None


@cache
def header(kind: str) -> dict[str, Any]:
    """The ``[template]`` table of a shipped spec (id, version, code prefix ...), read without
    building the spec: what a received file or a rule code is matched against."""
    text = (data_dir("workbook_templates") / f"{kind}.toml").read_text(encoding="utf-8")
    found = re.search(r"^\[template\][^\n]*\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    try:
        return tomllib.loads(found.group(1)) if found else {}
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{kind}.toml [template]: {err}") from None


def available() -> list[str]:
    return sorted(p.stem for p in data_dir("workbook_templates").glob("*.toml"))
