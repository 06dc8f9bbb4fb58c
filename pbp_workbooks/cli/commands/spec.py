from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pbp_workbooks.spec.model import Spec

FORMATS = ("table", "json", "pandera")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", help="which return: quarterly, annual, sla-review (every template spec shipped)")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="table (default), json (every field), or pandera (the field rules as a pandera schema in YAML)")
    p.add_argument("--json", action="store_true", help="machine-readable output (the same as --format json)")
    p.add_argument("--rules", action="store_true",
                   help="list the rules a return of this kind is checked against (with --json: as JSON), from the "
                        "rule registry (validators/*.toml); docs/rules.md has them all")
    p.add_argument("--year", help="with --format pandera: the financial year whose date windows apply "
                                  "(default: the current one)")
    p.add_argument("--quarter", help="with --format pandera, quarterly only: the reporting quarter, whose open "
                                     "inputs are the columns (default: 4, every quarter)")


def run(args: argparse.Namespace) -> int:
    import json

    from pbp_workbooks.base.errors import UsageError
    from pbp_workbooks.spec import model as spec

    if args.kind not in spec.available():
        raise UsageError(f"there is no template called {args.kind!r}; choose one of {', '.join(spec.available())}")
    if args.json and args.format not in (None, "json"):
        raise UsageError(f"choose one of --json and --format {args.format}")
    fmt = "json" if args.json else (args.format or "table")
    if fmt != "pandera" and (args.year is not None or args.quarter is not None):
        raise UsageError("--year and --quarter go with --format pandera")
    s = spec.load(args.kind)
    if args.rules:
        if fmt == "pandera":
            raise UsageError("--rules goes with --json or with nothing")
        return _rules(s, fmt == "json")
    if fmt == "pandera":
        print(_pandera_yaml(s, args.year, args.quarter), end="")
        return 0
    data = s.to_json()
    if fmt == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    print(f"{data['template']} version {data['version']}: {data['title']}")
    print(f"{'name':44} {'cell':6} {'type':13} {'role':10} req  label")
    for f in data["fields"]:
        print(f"{f['name']:44} {f['cell']:6} {f['type']:13} {f['role']:10} {'yes' if f['required'] else '   '}  "
              f"{f['label']}")
    return 0


def _rules(s: Spec, as_json: bool) -> int:
    import json
    from dataclasses import asdict

    from pbp_workbooks.spec import registry

    mine = [e for e in registry.entries() if e.kind in (None, s.kind)]
    if as_json:
        print(json.dumps([asdict(e) for e in mine], indent=2, ensure_ascii=False))
        return 0
    print(f"{s.id}: {len(mine)} rules (file, email and template rules apply to every return)")
    for e in mine:
        print(f"{e.code:7} {e.severity:8} {e.level:13} {e.title}")
    return 0


def _pandera_yaml(s: Spec, year: str | None, quarter: str | None) -> str:
    from datetime import date

    from pbp_workbooks.base.errors import UsageError
    from pbp_workbooks.base.periods import FinancialYear, parse_quarter

    fy = FinancialYear.parse(year) if year is not None else FinancialYear.containing(date.today())
    if s.kind != "quarterly":
        if quarter is not None:
            raise UsageError(f"the {s.short_title} has no quarter; leave out --quarter")
        q = None
    else:
        q = parse_quarter(quarter) if quarter is not None else 4
    from pbp_workbooks.intake import schemas  # pandas + pandera: only for this format

    return schemas.to_yaml(s, q, str(fy))
