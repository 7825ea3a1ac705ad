"""Imports uploaded through the operator API: an admin asks for an upload URL (a job item remembers
source, mapping and who asked), PUTs the export to `imports/<import id>/<file>`, and S3's
EventBridge notification queues an `Object Created` event for the import function.

The function streams the file through the same `Importer` as the CLI, checkpointing in the job's
partition. Before its time runs out it saves the checkpoint and queues the same event again, so a
file of any size finishes over several invocations; a crash resumes from the last checkpoint.
"""

import csv
import io
import logging
from collections.abc import Callable, Iterator
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from supportpilot.ids import new_ulid
from supportpilot.models import Actor
from supportpilot.operator.models import Operator, Role
from supportpilot.phone import DEFAULT_COUNTRY_CODE
from supportpilot.ports import BlobStore, TicketNotFound, WorkQueue
from supportpilot.timeline.customers import CustomerDirectory
from supportpilot.timeline.import_formats import ImportFormatError, read_export
from supportpilot.timeline.imports import CheckpointStore, Importer, ImportSink
from supportpilot.timeline.models import Checkpoint, ImportJob, ImportStatus, ImportUpload, ImportUploadBody

logger = logging.getLogger(__name__)
UPLOAD_PREFIX = "imports/"
REPORT_PREFIX = "import-reports/"
UPLOAD_URL_SECONDS = 900


class ImportJobStore(ImportSink, CustomerDirectory, Protocol):
    def save_job(self, job: ImportJob) -> None: ...
    def job(self, import_id: str) -> ImportJob | None: ...
    def checkpoints(self, import_id: str) -> CheckpointStore: ...


class ExportFiles(Protocol):
    def lines(self, bucket: str, key: str) -> Iterator[bytes]: ...
    def upload_url(self, bucket: str, key: str, expires_in: int) -> str: ...


class _Bucket(BaseModel):
    name: str


class _Object(BaseModel):
    key: str


class _ObjectDetail(BaseModel):
    bucket: _Bucket
    object: _Object


class ExportUploaded(BaseModel):
    """S3's EventBridge `Object Created` event, as far as the import reads it."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    detail_type: str = Field(alias="detail-type")
    detail: _ObjectDetail

    @property
    def import_id(self) -> str | None:
        parts = self.detail.object.key.split("/")
        return parts[1] if len(parts) == 3 and f"{parts[0]}/" == UPLOAD_PREFIX else None


class ImportJobs:
    """The admin's side: upload URLs and progress."""

    def __init__(self, store: ImportJobStore, files: ExportFiles, bucket: str):
        self._store = store
        self._files = files
        self._bucket = bucket

    def request_upload(self, operator: Operator, body: ImportUploadBody) -> ImportUpload:
        operator.require(Role.ADMIN)
        import_id = new_ulid()
        key = f"{UPLOAD_PREFIX}{import_id}/{body.file_name}"
        job = ImportJob(id=import_id, source=body.source, bucket=self._bucket, key=key, requested_by=operator.id)
        if body.mapping is not None:
            job.mapping = body.mapping
        self._store.save_job(job)
        logger.info("import upload requested", extra={"import_id": import_id, "operator_id": operator.id})
        url = self._files.upload_url(self._bucket, key, UPLOAD_URL_SECONDS)
        return ImportUpload(import_id=import_id, upload_url=url, key=key, expires_in=UPLOAD_URL_SECONDS)

    def status(self, operator: Operator, import_id: str) -> ImportStatus:
        operator.require(Role.ADMIN)
        job = self._store.job(import_id)
        if job is None:
            raise TicketNotFound(f"import {import_id}")
        return ImportStatus(job=job, progress=self._store.checkpoints(import_id).load())


class UnknownImport(LookupError):
    """An object under imports/ without a job: uploaded around the API. Dead-lettered for a person."""


class ImportJobRunner:
    def __init__(
        self,
        store: ImportJobStore,
        files: ExportFiles,
        reports: BlobStore,
        continuation: WorkQueue,
        country_code: str = DEFAULT_COUNTRY_CODE,
    ):
        self._store = store
        self._files = files
        self._reports = reports
        self._continuation = continuation
        self._country_code = country_code

    def run(self, uploaded: ExportUploaded, out_of_time: Callable[[], bool]) -> Checkpoint:
        job = self._store.job(uploaded.import_id) if uploaded.import_id else None
        if job is None or job.key != uploaded.detail.object.key:
            raise UnknownImport("no import job for this object: request uploads through POST /api/imports")
        importer = Importer(
            self._store,
            self._store,
            job.source,
            job.mapping,
            Actor(kind="operator", id=job.requested_by),
            self._country_code,
        )
        checkpoints = self._store.checkpoints(job.id)
        try:
            records = read_export(job.source, job.key, self._files.lines(job.bucket, job.key))
            checkpoint = importer.run(records, checkpoints, resume=True, out_of_time=out_of_time)
        except ImportFormatError as error:  # the message names file, line and column, no content
            checkpoint = (checkpoints.load() or Checkpoint()).model_copy(update={"finished": True, "error": str(error)})
            checkpoints.save(checkpoint)
        if not checkpoint.finished:
            self._continuation.send(uploaded)
            logger.info("import continues", extra={"import_id": job.id, "line": checkpoint.last_line})
            return checkpoint
        self._reports.write(job.bucket, f"{REPORT_PREFIX}{job.id}/rejects.csv", rejects_csv(checkpoint), "text/csv")
        logger.info(
            "import finished",
            extra={
                "import_id": job.id,
                "imported": checkpoint.imported,
                "duplicates": checkpoint.duplicates,
                "rejected": checkpoint.rejected,
                "error": checkpoint.error,
            },
        )
        return checkpoint


def rejects_csv(checkpoint: Checkpoint) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "reason"])
    writer.writerows([reject.line, reject.reason] for reject in checkpoint.rejects)
    return out.getvalue().encode()
