"""Model versions: artifacts and cards in the model bucket (S3, versioned, encrypted), the registry and
the promotion pointer on the one table.

| item                | pk                | sk                |
|---------------------|-------------------|-------------------|
| model version       | MODEL             | VERSION#<version> |
| promotion pointer   | MODEL             | #PROMOTED         |
| frozen holdout      | MODEL             | #HOLDOUT          |
| model audit entry   | MODEL             | AUDIT#<ulid>      |
| retrain lock        | LOCK#retrain      | #LOCK             |

S3 keys: `models/<version>/<file>` for each file of the model directory (`model.json`, `weights.bin`, ...),
`models/<version>/card.json`,
`holdouts/<holdout version>.json` (label references only, no text), `seed/seed_*.jsonl` (the seed corpus the
retrain function trains from, uploaded with `supportpilot models upload-seed`).
"""

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from supportpilot.adapters.dynamodb import ConditionFailed, DynamoTicketStore, serialise, translate_error
from supportpilot.ids import new_ulid
from supportpilot.learning.models import HoldoutManifest, ModelVersion, PromotedPointer
from supportpilot.learning.ports import LockHeld, ModelArtifactsUnavailable, PointerMoved, VersionNotFound
from supportpilot.models import AuditEntry

POINTER_KEY = {"pk": "MODEL", "sk": "#PROMOTED"}
HOLDOUT_KEY = {"pk": "MODEL", "sk": "#HOLDOUT"}
LOCK_KEY = {"pk": "LOCK#retrain", "sk": "#LOCK"}
SEED_PREFIX = "seed/"
SEED_PATTERN = "seed_*.jsonl"


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoModelRegistry(DynamoTicketStore):
    """Registry items never expire: a model card is the record of what served customers."""

    def save_version(self, version: ModelVersion) -> None:
        item = {"pk": "MODEL", "sk": f"VERSION#{version.version}", "kind": "model_version"}
        self._call("put_item", TableName=self._table, Item=serialise(item | version.model_dump(mode="json")))

    def get_version(self, version: str) -> ModelVersion:
        item = self._get({"pk": "MODEL", "sk": f"VERSION#{version}"})
        if item is None:
            raise VersionNotFound(version)
        return ModelVersion.model_validate(item)

    def versions(self) -> list[ModelVersion]:
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=serialise({":pk": "MODEL", ":prefix": "VERSION#"}),
        )
        return [ModelVersion.model_validate(item) for item in items]

    def promoted(self) -> PromotedPointer | None:
        item = self._get(POINTER_KEY)
        return PromotedPointer.model_validate(item) if item else None

    def promote(self, pointer: PromotedPointer, expected: str | None, audit: AuditEntry) -> None:
        put: dict[str, Any] = {"Item": POINTER_KEY | {"kind": "model_pointer"} | pointer.model_dump(mode="json")}
        if expected is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :expected"
            put["ExpressionAttributeValues"] = {":expected": expected}
        audit_item = {"pk": "MODEL", "sk": f"AUDIT#{new_ulid()}", "kind": "audit"} | audit.model_dump(mode="json")
        try:
            self._transact([{"Put": put}, {"Put": {"Item": audit_item}}])
        except ConditionFailed as exc:
            raise PointerMoved(f"the promoted version is no longer {expected}") from exc

    def model_audit(self) -> list[AuditEntry]:
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=serialise({":pk": "MODEL", ":prefix": "AUDIT#"}),
        )
        return [AuditEntry.model_validate(item) for item in items]

    def holdout(self) -> str | None:
        item = self._get(HOLDOUT_KEY)
        return item["version"] if item else None

    def set_holdout(self, version: str) -> None:
        self._call("put_item", TableName=self._table, Item=serialise(HOLDOUT_KEY | {"version": version}))

    # ---------- the retrain lock: a conditional write with an expiry ----------
    def acquire_lock(self, owner: str, now: datetime, seconds: int) -> None:
        item = LOCK_KEY | {
            "kind": "lock",
            "owner": owner,
            "since": now.isoformat(),
            "held_until": int(now.timestamp()) + seconds,
            "expires_at": int(now.timestamp()) + seconds,  # the table's TTL tidies up, late
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=serialise(item),
                ConditionExpression="attribute_not_exists(pk) OR held_until < :now",
                ExpressionAttributeValues=serialise({":now": int(now.timestamp())}),
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                holder = self.lock_holder(now)
                since = holder[1].isoformat() if holder else "a moment ago"
                raise LockHeld(f"another retrain is running (since {since}): try again when it has finished") from exc
            raise translate_error(exc) from exc

    def release_lock(self, owner: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=serialise(LOCK_KEY),
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues=serialise({":owner": owner}),
            )
        except ClientError as exc:
            if not _conditional_failed(exc):  # expired and taken over meanwhile: theirs now
                raise translate_error(exc) from exc

    def lock_holder(self, now: datetime) -> tuple[str, datetime] | None:
        item = self._get(LOCK_KEY)
        if item is None or item["held_until"] < int(now.timestamp()):
            return None
        return item["owner"], datetime.fromisoformat(item["since"])


class S3ModelArtifacts:
    def __init__(self, client: Any, bucket: str):
        self._client = client
        self._bucket = bucket

    def upload(self, version: str, directory: Path) -> dict[str, str]:
        """Every file of the model directory (`model.json`, `weights.bin`, and what else its format has, such as
        `encoder_weights.bin`); the digests the registry records name the version's files."""
        digests = {}
        for path in sorted(path for path in directory.iterdir() if path.is_file()):
            content = path.read_bytes()
            digests[path.name] = hashlib.sha256(content).hexdigest()
            self._put(f"models/{version}/{path.name}", content, "application/octet-stream")
        return digests

    def download(self, version: str, directory: Path, digests: dict[str, str]) -> None:
        for name in sorted(digests):
            if name in ("", ".", "..") or Path(name).name != name:
                raise ModelArtifactsUnavailable(f"version {version} names a file outside its directory")
            try:
                content = self._client.get_object(Bucket=self._bucket, Key=f"models/{version}/{name}")["Body"].read()
            except (ClientError, BotoCoreError) as exc:
                raise ModelArtifactsUnavailable(f"models/{version}/{name} could not be read ({exc})") from exc
            if hashlib.sha256(content).hexdigest() != digests[name]:
                raise ModelArtifactsUnavailable(f"models/{version}/{name} is not the file that was registered")
            (directory / name).write_bytes(content)

    def put_card(self, version: str, card_json: str) -> None:
        self._put(f"models/{version}/card.json", card_json.encode(), "application/json")

    def put_holdout(self, manifest: HoldoutManifest) -> None:
        self._put(f"holdouts/{manifest.version}.json", manifest.model_dump_json().encode(), "application/json")

    def get_holdout(self, version: str) -> HoldoutManifest:
        body = self._client.get_object(Bucket=self._bucket, Key=f"holdouts/{version}.json")["Body"].read()
        return HoldoutManifest.model_validate_json(body)

    def upload_seed(self, directory: Path) -> int:
        files = sorted(directory.glob(SEED_PATTERN))
        for path in files:
            self._put(f"{SEED_PREFIX}{path.name}", path.read_bytes(), "application/jsonl")
        return len(files)

    def download_seed(self, directory: Path) -> int:
        """The seed corpus files into `directory`; how many there were."""
        paginator = self._client.get_paginator("list_objects_v2")
        keys = [
            o["Key"]
            for page in paginator.paginate(Bucket=self._bucket, Prefix=SEED_PREFIX)
            for o in page.get("Contents", [])
        ]
        for key in keys:
            body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
            (directory / key.removeprefix(SEED_PREFIX)).write_bytes(body)
        return len(keys)

    def _put(self, key: str, content: bytes, content_type: str) -> None:
        self._client.put_object(Bucket=self._bucket, Key=key, Body=content, ContentType=content_type)
