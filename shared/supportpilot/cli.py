"""The `supportpilot` command."""

import argparse
import sys
from pathlib import Path


def find_project_root(start: Path) -> Path:
    for directory in (start, *start.parents):
        if (directory / "template.yaml").is_file() and (directory / "events").is_dir():
            return directory
    packaged = Path(__file__).resolve().parents[2]
    if (packaged / "template.yaml").is_file():
        return packaged
    raise SystemExit("supportpilot: no template.yaml found here or above; use --project DIR")


def _demo(args: argparse.Namespace) -> int:
    from supportpilot.local.demo import run_demo

    root = args.project or find_project_root(Path.cwd())
    return run_demo(root, once=args.once, as_json=args.json, api_port=args.port, verbose=args.verbose, out=sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supportpilot", description="SupportPilot customer-service desk")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="run the whole pipeline on an embedded local AWS (moto) and replay the samples in events/"
    )
    demo.add_argument("--once", action="store_true", help="exit after the replay instead of serving the API")
    demo.add_argument("--json", action="store_true", help="print one JSON object per ticket instead of a board")
    demo.add_argument("--port", type=int, default=3000, help="port of the local API (default 3000; 0 picks a free one)")
    demo.add_argument("--project", type=Path, help="project directory holding template.yaml and events/")
    demo.add_argument("--verbose", action="store_true", help="show the functions' INFO logs on stderr")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
