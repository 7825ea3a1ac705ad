"""The `supportpilot` command."""

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from supportpilot.learning_cli import add_learning_commands


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


def _fail(command: str, message: object) -> int:
    print(f"supportpilot {command}: error: {message}", file=sys.stderr)
    return 2


def _progress(command: str) -> Callable[[str], None]:
    return lambda message: print(f"supportpilot {command}: {message}", file=sys.stderr, flush=True)


def _train(args: argparse.Namespace) -> int:
    from supportpilot.triage.training import TrainingError, read_examples, train_model, write_model

    try:
        examples = read_examples(args.data, args.text_column, args.label_column)
        _progress("train")(f"read {len(examples)} rows")
        options = {
            key: getattr(args, key) for key in ("name", "holdout", "seed", "c") if getattr(args, key) is not None
        }
        model = train_model(examples, refit=args.refit, progress=_progress("train"), **options)
        out = write_model(model, args.out)
    except TrainingError as error:
        return _fail("train", error)
    _progress("train")(f"wrote {out}")
    print(json.dumps({"model": str(out), "version": model.meta["version"], **model.meta["metrics"]}, indent=2))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from supportpilot.triage.linear_model import LinearModel
    from supportpilot.triage.training import evaluate_model, read_examples

    try:
        model = LinearModel.load(args.model)
        examples = read_examples(args.data, args.text_column, args.label_column)
    except (OSError, ValueError) as error:
        return _fail("evaluate", error)
    print(json.dumps(evaluate_model(model, examples, progress=_progress("evaluate")), indent=2))
    return 0


def triage_lines(lines: Iterable[str], model_dir: str | None, out: TextIO) -> int:
    """One JSON result per input line, in order; a line that is no valid message gets an `error` object."""
    from pydantic import ValidationError

    from supportpilot.triage import TriageInput, load_triager

    triager = load_triager(model_dir)
    failures = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            message = TriageInput.model_validate_json(line)
        except ValidationError:
            failures += 1
            print(f"supportpilot triage: line {number}: not a JSON message object", file=sys.stderr)
            out.write(json.dumps({"error": f"line {number}: not a JSON message object"}) + "\n")
            continue
        out.write(triager.triage(message).model_dump_json() + "\n")
    return 1 if failures else 0


def _triage(args: argparse.Namespace) -> int:
    try:
        if args.file == "-":
            return triage_lines(sys.stdin, args.model, sys.stdout)
        with open(args.file, encoding="utf-8") as handle:
            return triage_lines(handle, args.model, sys.stdout)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return _fail("triage", error)


def _add_data_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--data", type=Path, required=True, help="CSV or JSONL file (JSONL unless it ends in .csv)")
    command.add_argument("--text-column", required=True, help="column or key holding the message text")
    command.add_argument("--label-column", required=True, help="column or key holding the label")


def _add_triage_commands(commands) -> None:
    train = commands.add_parser("train", help="train a triage model from labelled messages (needs scikit-learn)")
    _add_data_arguments(train)
    train.add_argument("--out", type=Path, required=True, help="model directory to write (replaced atomically)")
    train.add_argument("--name", help="model name reported in every result (default supportpilot-linear)")
    train.add_argument("--holdout", type=float, help="stratified share held out for metrics and threshold (0.2)")
    train.add_argument("--seed", type=int, help="seed of the holdout split (fixed by default: reproducible)")
    train.add_argument("--c", type=float, help="inverse regularisation strength of the classifier (20)")
    train.add_argument(
        "--refit", action="store_true", help="after measuring on the holdout, fit the exported model on all rows"
    )
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", help="print JSON metrics of a trained model on labelled messages")
    evaluate.add_argument("--model", required=True, help="model directory written by `supportpilot train`")
    _add_data_arguments(evaluate)
    evaluate.set_defaults(run=_evaluate)

    triage = commands.add_parser("triage", help="triage JSONL messages (subject, body, ...) into JSONL results")
    triage.add_argument("--model", help="model directory (default: the keyword baseline)")
    triage.add_argument("file", nargs="?", default="-", help="JSONL file, or - for standard input (default)")
    triage.set_defaults(run=_triage)


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
    _add_triage_commands(commands)
    add_learning_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
