"""The learning loop wired to AWS: shared by the retrain function, the operator API and the CLI."""

import tempfile
from pathlib import Path
from typing import Any

from supportpilot.adapters.label_store import DynamoLabelStore
from supportpilot.adapters.model_store import DynamoModelRegistry, S3ModelArtifacts
from supportpilot.learning.retrain import RetrainService, RetrainSettings


class SeedCorpusMissing(RuntimeError):
    def __init__(self) -> None:
        super().__init__("no seed corpus in the model bucket: run `supportpilot models upload-seed --corpus corpus`")


def seed_from_bucket(artifacts: S3ModelArtifacts) -> list[Any]:
    from supportpilot.triage.training import read_corpus

    with tempfile.TemporaryDirectory() as scratch:
        if artifacts.download_seed(Path(scratch)) == 0:
            raise SeedCorpusMissing()
        return read_corpus(scratch)


def retrain_service(
    dynamodb: Any,
    s3: Any,
    table: str,
    bucket: str,
    retention_days: int,
    settings: RetrainSettings,
    corpus: Path | None = None,
) -> RetrainService:
    """Seed examples from `corpus` (a local directory) or, without it, from the bucket's `seed/`."""
    from supportpilot.triage.training import read_corpus

    artifacts = S3ModelArtifacts(s3, bucket)
    return RetrainService(
        DynamoLabelStore(dynamodb, table, retention_days),
        DynamoModelRegistry(dynamodb, table, retention_days),
        artifacts,
        (lambda: read_corpus(corpus)) if corpus is not None else (lambda: seed_from_bucket(artifacts)),
        settings,
    )
