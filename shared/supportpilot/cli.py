"""The `supportpilot` command."""

import argparse
import csv
import json
import sys
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from supportpilot.learning_cli import add_learning_commands

if TYPE_CHECKING:
    from supportpilot.triage import TriageInput


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
    from supportpilot.triage.training import (
        TrainingError,
        fine_tuner,
        installed_encoder,
        read_examples,
        train_cascade,
        train_model,
        write_model,
    )

    try:
        examples = read_examples(args.data, args.text_column, args.label_column)
        _progress("train")(f"read {len(examples)} rows")
        options = {
            key: getattr(args, key) for key in ("name", "holdout", "seed", "c") if getattr(args, key) is not None
        }
        progress = _progress("train")
        if args.fine_tune:
            tune = fine_tuner()
            model = train_cascade(
                examples, encoder=installed_encoder(), tune=tune, refit=args.refit, progress=progress, **options
            )
        else:
            encoder = installed_encoder() if args.encoder else None
            model = train_model(examples, refit=args.refit, encoder=encoder, progress=progress, **options)
        out = write_model(model, args.out)
    except TrainingError as error:
        return _fail("train", error)
    _progress("train")(f"wrote {out}")
    summary = {"model": str(out), "version": model.meta["version"], **model.meta["metrics"]}
    if "cascade" in model.meta:
        summary["cascade"] = model.meta["cascade"]
    print(json.dumps(summary, indent=2))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from supportpilot.triage.linear_model import load_model
    from supportpilot.triage.training import LABELS_NOT_IN_MODEL, evaluate_model, read_examples

    try:
        model = load_model(args.model)
        examples = read_examples(args.data, args.text_column, args.label_column)
    except (OSError, ValueError) as error:
        return _fail("evaluate", error)
    report = evaluate_model(model, examples, progress=_progress("evaluate"))
    if LABELS_NOT_IN_MODEL in report:
        unknown = ", ".join(report[LABELS_NOT_IN_MODEL])
        _progress("evaluate")(f"warning: labels the model was not trained on, their rows all count wrong: {unknown}")
    print(json.dumps(report, indent=2))
    return 0


def triage_lines(lines: Iterable[bytes], model_dir: str, out: TextIO) -> int:
    """One JSON result per input line, in order; a line that is no valid message gets an `error` object naming
    the problem, and the lines after it are still triaged."""
    from supportpilot.triage import load_triager

    triager = load_triager(model_dir)
    failures = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        message = _message_of(line)
        if isinstance(message, str):
            failures += 1
            print(f"supportpilot triage: line {number}: {message}", file=sys.stderr)
            out.write(json.dumps({"error": f"line {number}: {message}"}) + "\n")
            continue
        out.write(triager.triage(message).model_dump_json() + "\n")
    return 1 if failures else 0


def _message_of(line: bytes) -> "TriageInput | str":
    """The message a JSONL line holds, or what is wrong with the line.

    `json.loads`, not pydantic's JSON parser: that refuses an escaped lone surrogate ("\\ud83d"), which exports
    from tools that cut text in UTF-16 units hold, and the triager handles such a text."""
    from pydantic import ValidationError

    from supportpilot.triage import TriageInput

    try:
        value = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as error:
        return f"not UTF-8 (byte {error.start})"
    except ValueError as error:
        return f"not JSON ({error.msg})"
    if not isinstance(value, dict):
        return "not a JSON object with subject and body"
    try:
        return TriageInput.model_validate(value)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        return f"{field}: {first['msg']}"


def _triage(args: argparse.Namespace) -> int:
    from supportpilot.triage.interface import DEFAULT_MODEL_DIR

    model_dir = args.model or DEFAULT_MODEL_DIR
    try:
        if args.file == "-":
            return triage_lines(sys.stdin.buffer, model_dir, sys.stdout)
        with open(args.file, "rb") as handle:
            return triage_lines(handle, model_dir, sys.stdout)
    except (OSError, ValueError) as error:
        return _fail("triage", error)


class _FileCheckpoints:
    """The CLI's checkpoint: a JSON file next to the export (`<FILE>.checkpoint.json`)."""

    def __init__(self, path: Path):
        self._path = path

    def load(self):
        from supportpilot.timeline.models import Checkpoint

        return Checkpoint.model_validate_json(self._path.read_text()) if self._path.is_file() else None

    def save(self, checkpoint) -> None:
        partial = self._path.with_suffix(".partial")
        partial.write_text(checkpoint.model_dump_json())
        partial.replace(self._path)


def _read_mapping(path: Path | None):
    from pydantic import ValidationError

    from supportpilot.timeline.models import ImportMapping

    if path is None:
        return ImportMapping()
    try:
        return ImportMapping.model_validate_json(path.read_bytes())
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'document'}: {e['msg']}" for e in error.errors())
        raise ValueError(f"{path}: {problems}") from None


def _export_training(args: argparse.Namespace, records, progress: Callable[[str], None]) -> int:
    from supportpilot.timeline.import_formats import Rejected
    from supportpilot.timeline.imports import training_rows

    written = skipped = 0
    with open(args.export_training, "w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=["text", "label", "language"])
        writer.writeheader()
        for line, row in training_rows(records, _read_mapping(args.mapping)):
            if isinstance(row, Rejected):
                skipped += 1
                progress(f"line {line}: skipped: {row.reason}")
                continue
            writer.writerow(row)
            written += 1
    print(json.dumps({"training_file": str(args.export_training), "rows": written, "skipped": skipped}))
    progress(f"wrote {written} rows; train with --text-column text --label-column label")
    return 0


def _import(args: argparse.Namespace) -> int:
    import os

    import boto3

    from supportpilot.adapters.timeline_store import DynamoTimelineStore
    from supportpilot.models import Actor
    from supportpilot.phone import DEFAULT_COUNTRY_CODE
    from supportpilot.timeline.import_formats import ImportFormatError, read_export
    from supportpilot.timeline.import_jobs import rejects_csv
    from supportpilot.timeline.imports import Importer

    progress = _progress("import")
    try:
        mapping = _read_mapping(args.mapping)
        with open(args.file, "rb") as export:
            records = read_export(args.source, str(args.file), export)
            if args.export_training:
                return _export_training(args, records, progress)
            table = args.table or os.environ.get("TABLE_NAME")
            if not table:
                return _fail("import", "name the ticket table with --table or TABLE_NAME")
            store = DynamoTimelineStore(
                boto3.client("dynamodb"), table, int(os.environ.get("TICKET_RETENTION_DAYS", "730"))
            )
            actor = Actor(kind="system", id="import-cli")
            country = args.country_code or DEFAULT_COUNTRY_CODE
            importer = Importer(store, store, args.source, mapping, actor, country, progress=progress)
            checkpoints = _FileCheckpoints(Path(f"{args.file}.checkpoint.json"))
            checkpoint = importer.run(records, checkpoints, resume=args.resume)
    except (OSError, ValueError, ImportFormatError) as error:
        return _fail("import", error)
    rejects = Path(f"{args.file}.rejects.csv")
    rejects.write_bytes(rejects_csv(checkpoint))
    summary = checkpoint.model_dump(include={"imported", "duplicates", "rejected", "last_line"})
    print(json.dumps({**summary, "rejects_file": str(rejects)}))
    return 1 if checkpoint.rejected else 0


def _add_import_command(commands) -> None:
    command = commands.add_parser(
        "import", help="load a Zendesk, Freshdesk or CSV export onto the customer timelines (resumable)"
    )
    command.add_argument("--source", required=True, choices=["zendesk", "freshdesk", "csv"])
    command.add_argument("file", type=Path, help="the export file (see docs/architecture.md for the layouts)")
    command.add_argument("--mapping", type=Path, help='JSON: {"categories": {old: new}, "unmapped": keep|drop}')
    command.add_argument("--resume", action="store_true", help="continue after the last checkpointed line")
    command.add_argument("--table", help="DynamoDB ticket table (default: $TABLE_NAME)")
    command.add_argument("--country-code", help="country code for national phone numbers (default 31)")
    command.add_argument(
        "--export-training",
        type=Path,
        metavar="OUT.csv",
        help="write text,label,language rows for `supportpilot train` instead of importing",
    )
    command.set_defaults(run=_import)


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
    train.add_argument(
        "--encoder",
        action="store_true",
        help="add the sentence encoder's embedding and first-layer mean as a feature block (more accurate, "
        "~10 ms a message; "
        "`make encoder` fetches it, and the model needs it wherever it is served)",
    )
    train.add_argument(
        "--fine-tune",
        action="store_true",
        help="a cascade: the n-gram model, and for the messages it is least sure of a model with the sentence "
        "encoder fine-tuned on these labels (most accurate; most messages at n-gram speed; needs jax and optax: "
        "pip install 'supportpilot[fine-tune]', and minutes of CPU)",
    )
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", help="print JSON metrics of a trained model on labelled messages")
    evaluate.add_argument("--model", required=True, help="model directory written by `supportpilot train`")
    _add_data_arguments(evaluate)
    evaluate.set_defaults(run=_evaluate)

    triage = commands.add_parser("triage", help="triage JSONL messages (subject, body, ...) into JSONL results")
    triage.add_argument(
        "--model",
        help="model directory (default: the shipped default model, which the classify stage serves until a "
        "retrained version is promoted)",
    )
    triage.add_argument("file", nargs="?", default="-", help="JSONL file, or - for standard input (default)")
    triage.set_defaults(run=_triage)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _desk_table(args: argparse.Namespace) -> str:
    """The table named by --table, or the DeskTable of the CloudFormation stack named by --stack."""
    if args.table:
        return args.table
    import boto3

    resource = boto3.client("cloudformation").describe_stack_resource(
        StackName=args.stack, LogicalResourceId="DeskTable"
    )
    return resource["StackResourceDetail"]["PhysicalResourceId"]


def _report(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from supportpilot.insights import Period, PeriodInvalid, desk_figures
    from supportpilot.ports import StoreUnavailable
    from supportpilot.report import write_report

    try:
        period = Period.of_days(args.from_day, args.to_day)
    except PeriodInvalid as error:
        return _fail("report", error)
    _use_endpoint(args)
    import boto3

    from supportpilot.adapters.insights_store import DynamoInsightsStore

    try:
        store = DynamoInsightsStore(boto3.client("dynamodb"), _desk_table(args), retention_days=730)
        tickets = store.tickets_touching(period.start)
    except (BotoCoreError, ClientError, StoreUnavailable, RuntimeError) as error:
        return _fail("report", error)
    figures = desk_figures(tickets, period)
    html_path, json_path = write_report(figures, args.out)
    _progress("report")(f"{figures.tickets} tickets from {args.from_day} to {args.to_day}")
    print(json.dumps({"html": str(html_path), "summary": str(json_path)}))
    return 0


def _use_endpoint(args: argparse.Namespace) -> None:
    if args.endpoint_url:
        from supportpilot.local.stack import use_local_aws

        use_local_aws(args.endpoint_url)


def _add_table_arguments(command: argparse.ArgumentParser) -> None:
    where = command.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="CloudFormation stack whose DeskTable to use (e.g. supportpilot-local)")
    where.add_argument("--table", help="DynamoDB table name")
    command.add_argument("--endpoint-url", help="local AWS (moto) URL printed by `supportpilot demo`")


def _add_report_command(commands) -> None:
    report = commands.add_parser(
        "report", help="write report.html and summary.json with the desk's figures for a period from stored tickets"
    )
    report.add_argument("--from", dest="from_day", type=_day, required=True, help="first day, YYYY-MM-DD (UTC)")
    report.add_argument("--to", dest="to_day", type=_day, required=True, help="last day, YYYY-MM-DD (included)")
    report.add_argument("--out", type=Path, required=True, help="directory for report.html and summary.json")
    _add_table_arguments(report)
    report.set_defaults(run=_report)


def _reindex(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from supportpilot.ports import StoreUnavailable

    _use_endpoint(args)
    import boto3

    from supportpilot.adapters.dynamodb import DynamoTicketStore

    try:
        store = DynamoTicketStore(boto3.client("dynamodb"), _desk_table(args), retention_days=730)
        indexed = store.index_tickets()
    except (BotoCoreError, ClientError, StoreUnavailable, RuntimeError) as error:
        return _fail("reindex", error)
    print(json.dumps({"indexed": indexed}))
    return 0


def _add_reindex_command(commands) -> None:
    reindex = commands.add_parser(
        "reindex",
        help="give tickets written before an upgrade the keys of the indexes tickets-by-time and open-by-due (once)",
    )
    _add_table_arguments(reindex)
    reindex.set_defaults(run=_reindex)


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
    _add_report_command(commands)
    _add_reindex_command(commands)
    _add_import_command(commands)
    add_learning_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
