from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["check"],
                   help="check: list every problem in roster.xlsx with its sheet and cell (exit 2), or say what it "
                        "holds (exit 0)")


def run(args: argparse.Namespace) -> int:
    from pbp_workbooks.base.roster import check
    from pbp_workbooks.base.workspace import find

    ws = find()
    found = check(ws.roster_path)
    for problem in found.problems:
        print(problem)
    if found.problems:
        n = len(found.problems)
        print(f"{n} {'problem' if n == 1 else 'problems'} in {ws.roster_path}: fix {'it' if n == 1 else 'them'} in "
              "Excel (its Instructions sheet says what each column holds) and run 'pbp roster check' again.")
        return 2
    print(found.summary())
    for note in found.notes:
        print(f"note: {note}")
    return 0
