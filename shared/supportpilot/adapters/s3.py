from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from supportpilot.ports import StoreUnavailable


class BlobMissing(LookupError):
    pass


class S3BlobStore:
    def __init__(self, client: Any):
        self._client = client

    def read(self, bucket: str, key: str) -> bytes:
        try:
            return self._client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise BlobMissing(f"s3://{bucket}/{key} does not exist") from exc
            raise StoreUnavailable(f"S3 read failed ({exc.response.get('Error', {}).get('Code')})") from exc

    def write(self, bucket: str, key: str, content: bytes, content_type: str) -> None:
        try:
            self._client.put_object(Bucket=bucket, Key=key, Body=content, ContentType=content_type)
        except ClientError as exc:
            raise StoreUnavailable(f"S3 write failed ({exc.response.get('Error', {}).get('Code')})") from exc


class S3ExportFiles:
    """Export files uploaded for import: streamed line by line, never read whole into memory."""

    def __init__(self, client: Any):
        self._client = client

    def lines(self, bucket: str, key: str) -> Iterator[bytes]:
        try:
            body = self._client.get_object(Bucket=bucket, Key=key)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise BlobMissing(f"s3://{bucket}/{key} does not exist") from exc
            raise StoreUnavailable(f"S3 read failed ({exc.response.get('Error', {}).get('Code')})") from exc
        return body.iter_lines(keepends=True)

    def upload_url(self, bucket: str, key: str, expires_in: int) -> str:
        return self._client.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in, HttpMethod="PUT"
        )
