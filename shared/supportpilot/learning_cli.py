"""`supportpilot retrain` and `supportpilot models ...`: the learning loop from a terminal, against the
local stack (`--endpoint-url` of `make demo`'s moto, fake credentials) or a real account (boto3's usual
credentials and region). Resources come from the stack (`--stack`, CloudFormation) or are named directly."""

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

EXIT_REFUSED = 3
EXIT_FAILED = 2


def _connect(args: argparse.Namespace) -> tuple[Any, Any, str, str]:
    import boto3

    if args.endpoint_url:
        from supportpilot.local.stack import use_local_aws

        use_local_aws(args.endpoint_url)
    session = boto3.session.Session(region_name=args.region) if args.region else boto3.session.Session()
    table, bucket = args.table, args.bucket
    if table is None or bucket is None:
        cloudformation = session.client("cloudformation")

        def physical(logical_id: str) -> str:
            found = cloudformation.describe_stack_resource(StackName=args.stack, LogicalResourceId=logical_id)
            return found["StackResourceDetail"]["PhysicalResourceId"]

        table, bucket = table or physical("DeskTable"), bucket or physical("ModelBucket")
    return session.client("dynamodb"), session.client("s3"), table, bucket


def _operator(args: argparse.Namespace) -> str:
    return args.operator or f"cli:{getpass.getuser()}"


def _retrain(args: argparse.Namespace) -> int:
    from supportpilot.adapters.learning_stack import retrain_service
    from supportpilot.learning.retrain import RetrainSettings

    dynamodb, s3, table, bucket = _connect(args)
    settings = RetrainSettings(
        min_labels_per_category=args.min_labels,
        holdout_percent=args.holdout_percent,
        sentence_encoder=args.encoder,
        fine_tune=args.fine_tune,
    )
    service = retrain_service(dynamodb, s3, table, bucket, args.retention_days, settings, args.corpus)
    outcome = service.retrain(_operator(args), refresh_holdout=args.refresh_holdout)
    print(outcome.model_dump_json(indent=2))
    print(f"supportpilot retrain: {outcome.status}: {outcome.message}", file=sys.stderr)
    return {"refused": EXIT_REFUSED, "failed": EXIT_FAILED}.get(outcome.status, 0)


def _models(args: argparse.Namespace) -> int:
    from supportpilot.adapters.model_store import DynamoModelRegistry, S3ModelArtifacts
    from supportpilot.learning.desk import promote_version
    from supportpilot.learning.ports import VersionNotFound
    from supportpilot.models import utc_now
    from supportpilot.operator.service import Conflict

    dynamodb, s3, table, bucket = _connect(args)
    registry = DynamoModelRegistry(dynamodb, table, args.retention_days)
    if args.models_command == "upload-seed":
        print(json.dumps({"seed_files": S3ModelArtifacts(s3, bucket).upload_seed(args.corpus)}))
        return 0
    if args.models_command == "rollback":
        try:
            promote_version(registry, args.version, _operator(args), utc_now())
        except (Conflict, VersionNotFound) as error:
            print(f"supportpilot models rollback: error: {type(error).__name__}: {error}", file=sys.stderr)
            return EXIT_FAILED
    pointer = registry.promoted()
    listing = {
        "serving_version": pointer.version if pointer else None,
        "versions": [
            {
                "version": v.version,
                "status": v.status,
                "created_at": v.created_at.isoformat(),
                "parent_version": v.card.parent_version,
                "macro_f1": (v.card.metrics or {}).get("macro_f1"),
                "flagged_labels": v.card.flagged_labels,
                "decision": v.card.decision.reasons if v.card.decision else None,
            }
            for v in sorted(registry.versions(), key=lambda v: v.version, reverse=True)
        ],
    }
    print(json.dumps(listing, indent=2))
    return 0


def _add_connection_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--stack", default=os.environ.get("SUPPORTPILOT_STACK", "supportpilot-local"))
    command.add_argument("--endpoint-url", help="local AWS (the moto URL `make demo` prints); omit for AWS")
    command.add_argument("--region", help="AWS region (default: boto3's configuration)")
    command.add_argument("--table", help="DeskTable name (default: from the stack)")
    command.add_argument("--bucket", help="ModelBucket name (default: from the stack)")
    command.add_argument("--operator", help="who asks, for the audit trail (default cli:<user name>)")
    command.add_argument("--retention-days", type=int, default=730, help=argparse.SUPPRESS)


def add_learning_commands(commands) -> None:
    retrain = commands.add_parser("retrain", help="retrain the triage model from verified labels (needs scikit-learn)")
    _add_connection_arguments(retrain)
    retrain.add_argument("--corpus", type=Path, help="seed corpus directory (default: the bucket's seed/)")
    retrain.add_argument("--refresh-holdout", action="store_true", help="cut a new frozen holdout")
    retrain.add_argument("--min-labels", type=int, default=10, help="trainable labels a category needs (10)")
    retrain.add_argument("--holdout-percent", type=int, default=15, help="share of labels reserved for the holdout")
    retrain.add_argument(
        "--encoder",
        action="store_true",
        help="train with the sentence encoder block (as RetrainFunction with EnableSentenceEncoder=true)",
    )
    retrain.add_argument(
        "--fine-tune",
        action="store_true",
        help="train a cascade with the encoder fine-tuned on the labels (as `supportpilot train --fine-tune`; needs "
        "jax and optax here, and EnableSentenceEncoder=true where it serves)",
    )
    retrain.set_defaults(run=_retrain)

    models = commands.add_parser("models", help="list model versions, roll back, upload the seed corpus")
    actions = models.add_subparsers(dest="models_command", required=True)
    listing = actions.add_parser("list", help="versions with status, macro F1 and decision; which one serves")
    rollback = actions.add_parser("rollback", help="serve an earlier (evaluated) version; audited")
    rollback.add_argument("version")
    upload = actions.add_parser("upload-seed", help="put the seed corpus where the retrain function reads it")
    upload.add_argument("--corpus", type=Path, default=Path("corpus"))
    for command in (listing, rollback, upload):
        _add_connection_arguments(command)
        command.set_defaults(run=_models)
