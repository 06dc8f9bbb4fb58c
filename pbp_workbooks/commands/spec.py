from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", help="quarterly or annual")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    import json

    from .. import spec
    from ..errors import UsageError

    if args.kind not in spec.available():
        raise UsageError(f"there is no template called {args.kind!r}; choose one of {', '.join(spec.available())}")
    s = spec.load(args.kind)
    data = s.to_json()
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    print(f"{data['template']} version {data['version']}: {data['title']}")
    print(f"{'name':44} {'cell':6} {'type':13} {'role':10} req  label")
    for f in data["fields"]:
        print(f"{f['name']:44} {f['cell']:6} {f['type']:13} {f['role']:10} {'yes' if f['required'] else '   '}  "
              f"{f['label']}")
    return 0
