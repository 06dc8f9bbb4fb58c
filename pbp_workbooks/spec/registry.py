"""Every rule, declared once: the registry the catalogue, the CLI, JSON, feedback workbooks and the
RAG rating read.

Rules are declared in the rule files, not in code:

- ``validators/common.toml``: file (``F-``), email (``M-``), template and identity (``T-``) rules,
  and the field rules every input of every spec gets (a suffix: ``E101`` is ``Q-E101`` in the
  quarterly return, ``A-E101`` in the annual report);
- ``validators/<kind>.toml``: a return's cross-field rules (``[[rule]]``, a ``when`` condition that
  drives both the validator and the workbook's Checks sheet, loaded by ``rules``), the ones
  checked in Python (``[[python_rule]]``), the cross-return rules (``[[cross_return]]``) and the
  RAG ratings (``[[rating]]``).

The code that checks a rule asks the registry for its severity and message by code
(``rule("F-E012")``, ``field_rule(spec, "E101")``), so a code, its severity and its words live in
one place; ``tests/test_registry.py`` fails on a code used in the package that is not declared here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pbp_workbooks.base.errors import SpecError
from pbp_workbooks.spec import expr, rules
from pbp_workbooks.spec import model as spec_mod

LEVELS = ("file", "email", "template", "field", "cross-field", "cross-return", "rating")
_COMMON_APPLIES = {"file": "any received file", "email": "an email (.eml, .msg) given to pbp ingest",
                   "template": "every return type"}
_SUFFIX = re.compile(r"^[EW]\d{3}$")
_RATING_CODE = re.compile(r"^[A-Z]-R\d{3}$")
RATINGS = ("Red", "Amber")  # a return none of whose ratings holds is Green

_NUMBERS = ("money", "signed_money", "integer", "number", "percent")
# what `applies` in a [[field]] rule means: which inputs can break it
_FIELD_SCOPES: dict[str, Callable[[spec_mod.Field], bool]] = {
    "number": lambda f: f.type in _NUMBERS,
    "date": lambda f: f.type == "date",
    "quarter": lambda f: f.quarter is not None,
    "max_length": lambda f: f.max_length is not None,
    "choice": lambda f: f.type in ("choice", "yesno"),
    "email": lambda f: f.type == "email",
    "money": lambda f: f.type in ("money", "signed_money"),
    "period date": lambda f: f.window == "period",  # a date the return itself is prepared or signed on
}


@dataclass(frozen=True)
class RuleInfo:
    """One rule as the catalogue lists it and as findings take their severity and words from it."""

    code: str
    severity: str  # error | warning (a rating: its colour)
    level: str  # one of LEVELS
    title: str
    message: str  # a template: {detail}, {label}, {value} ... are filled in per finding
    applies: str  # to what, in words
    kind: str | None = None  # the return kind; None for rules every return has


@dataclass(frozen=True)
class Rating:
    """A RAG rating of a return (``[[rating]]``): ``when`` holds on the return's fields and the LA's
    thresholds; ``means`` is the name the outputs ask for (``deficit``, ``clawback`` ...)."""

    code: str
    rating: str  # Red | Amber
    means: str
    title: str
    when: expr.Expr
    reason: str


def _load(path_name: str) -> dict[str, Any]:
    return rules.rule_file(path_name)


def _severity(code: str, raw: dict[str, Any], where: str) -> str:
    severity = raw.get("severity", "error")
    letter = code.rsplit("-", 1)[-1][0]
    if severity not in rules.SEVERITIES or (severity == "error") != (letter == "E"):
        raise SpecError(f"{where}: {code} severity must match its code (E = error, W = warning)")
    return str(severity)


@cache
def _common() -> dict[str, RuleInfo]:
    data = _load("common.toml")
    out: dict[str, RuleInfo] = {}
    for level in ("file", "email", "template", "field"):
        for raw in data.get(level, []):
            code = raw["code"]
            if code in out:
                raise SpecError(f"common.toml: duplicate rule code {code!r}")
            if level == "field":
                if not _SUFFIX.match(code):
                    raise SpecError(f"common.toml: field rule {code!r} must be a suffix like E101")
                if raw.get("applies") is not None:
                    unknown = set(_scope_words(raw["applies"])) - set(_FIELD_SCOPES)
                    if unknown:
                        raise SpecError(f"common.toml: {code} applies to unknown kinds of field {sorted(unknown)}")
            applies = raw.get("applies", "") if level == "field" else _COMMON_APPLIES[level]
            out[code] = RuleInfo(code, _severity(code, raw, "common.toml"), level, raw["title"], raw["message"],
                                 applies)
    return out


def _scope_words(text: str) -> list[str]:
    return [w.strip() for w in text.split(",") if w.strip()]


def field_rule_applies(spec: spec_mod.Spec, suffix: str) -> bool:
    """Whether any input of the spec can break the field rule (the annual report has no
    per-quarter figures, so 'entered in a later quarter' is not listed for it)."""
    words = _scope_words(_common()[suffix].applies)
    return not words or any(f.is_input and any(_FIELD_SCOPES[w](f) for w in words) for f in spec.fields)


@cache
def _kind_rules(kind: str) -> dict[str, RuleInfo]:
    """A return kind's rules: the [[rule]] conditions (via ``rules``), then the Python-checked and
    cross-return ones."""
    s = spec_mod.load(kind)
    data = _load(f"{kind}.toml")
    out: dict[str, RuleInfo] = {}
    for d in rules.definitions(kind):
        where = f"each row of {d.each}" if d.each else ", ".join(d.cells)
        extra = "; shown on the Checks sheet" if d.check else ""
        if d.quarters:
            extra += "; in a " + " or ".join(f"Q{q}" for q in d.quarters) + " return only"
        out[d.code] = RuleInfo(d.code, d.severity, "cross-field", d.title, d.message,
                               f"{s.id}: {where}{extra}; when {d.when}", kind)
    for table, level, applies in (("python_rule", "cross-field", f"{s.id} (python rule)"),
                                  ("cross_return", "cross-return", f"{s.id}, against the LA's accepted returns")):
        for raw in data.get(table, []):
            code = raw["code"]
            if code in out or not code.startswith(f"{s.code_prefix}-"):
                raise SpecError(f"{kind}.toml: duplicate rule code {code!r}, or not a {s.code_prefix}- code")
            out[code] = RuleInfo(code, _severity(code, raw, f"{kind}.toml"), level, raw["title"], raw["message"],
                                 applies, kind)
    for r in ratings(s):
        out[r.code] = RuleInfo(r.code, r.rating.lower(), "rating", r.title, r.reason,
                               f"{s.id}: the RAG rating in the LA's outputs; when {r.when.source}", kind)
    return out


@cache
def ratings(spec: spec_mod.Spec) -> tuple[Rating, ...]:
    """The spec's RAG ratings, in the order they are tried."""
    out = []
    for raw in _load(f"{spec.kind}.toml").get("rating", []):
        code = raw["code"]
        if not _RATING_CODE.match(code) or raw["rating"] not in RATINGS:
            raise SpecError(f"{spec.kind}.toml: rating {code!r} needs a code like Q-R001 and a rating of "
                            f"{' or '.join(RATINGS)}")
        try:
            when = expr.typed(expr.parse(raw["when"]), rules.types(spec))
        except SpecError as err:
            raise SpecError(f"rating {code}: {err}") from None
        if when.type != expr.LOGICAL:
            raise SpecError(f"rating {code}: 'when' must be a condition")
        out.append(Rating(code, raw["rating"], raw["means"], raw["title"], when, raw["reason"]))
    return tuple(out)


def rule(code: str) -> RuleInfo:
    """Any declared rule by its code (``F-E001``, ``T-E004``, ``Q-E101``, ``Q-E301``, ``Q-R001`` ...)."""
    common = _common()
    if code in common:
        return common[code]
    prefix, _, suffix = code.partition("-")
    kind = _kind_of_prefix().get(prefix)
    if kind is not None:
        s = spec_mod.load(kind)
        if suffix in common and common[suffix].level == "field":
            return field_rule(s, suffix)
        found = _kind_rules(kind).get(code)
        if found is not None:
            return found
    raise KeyError(f"rule {code} is not declared in validators/*.toml")


@cache
def _kind_of_prefix() -> dict[str, str]:
    """Code prefix -> return kind, from the templates' headers (without building every spec)."""
    return {str(spec_mod.header(kind).get("code_prefix")): kind for kind in spec_mod.available()}


def field_rule(spec: spec_mod.Spec, suffix: str) -> RuleInfo:
    """A field rule as the spec has it: ``E101`` of the quarterly return is ``Q-E101``."""
    base = _common()[suffix]
    return RuleInfo(f"{spec.code_prefix}-{suffix}", base.severity, "field", base.title, base.message,
                    f"{spec.id} (every input, from the spec)", spec.kind)


def entries() -> list[RuleInfo]:
    """Every rule, in catalogue order: file, email, template, then each return's by code."""
    out = [r for r in _common().values() if r.level != "field"]
    suffixes = [r.code for r in _common().values() if r.level == "field"]
    for kind in spec_mod.available():
        s = spec_mod.load(kind)
        out += [field_rule(s, suffix) for suffix in suffixes if field_rule_applies(s, suffix)]
        out += list(_kind_rules(kind).values())
    return sorted(out, key=lambda e: ("FMT".find(e.code[0]) % 4, e.code))


def codes(level: str) -> set[str]:
    """The codes of one level (``file``, ``email``, ``template``; ``field`` gives the suffixes)."""
    if level not in LEVELS:
        raise ValueError(level)
    return {r.code for r in _common().values() if r.level == level} | {
        r.code for kind in spec_mod.available() for r in _kind_rules(kind).values() if r.level == level}
