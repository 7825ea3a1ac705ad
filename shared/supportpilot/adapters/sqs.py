from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from supportpilot.ports import StoreUnavailable


class SqsWorkQueue:
    def __init__(self, client: Any, queue_url: str):
        self._client = client
        self._url = queue_url

    def send(self, work: BaseModel) -> None:
        try:
            self._client.send_message(QueueUrl=self._url, MessageBody=work.model_dump_json())
        except ClientError as exc:
            raise StoreUnavailable(f"SQS send failed ({exc.response.get('Error', {}).get('Code')})") from exc

    def send_many(self, works: list[BaseModel]) -> None:
        """Ten per request (SQS's batch limit); any entry SQS refuses fails the whole call, so the
        sender answers an error and the platform redelivers (the ingest stage deduplicates)."""
        for start in range(0, len(works), 10):
            entries = [
                {"Id": str(i), "MessageBody": work.model_dump_json()}
                for i, work in enumerate(works[start : start + 10])
            ]
            try:
                response = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            except ClientError as exc:
                raise StoreUnavailable(f"SQS send failed ({exc.response.get('Error', {}).get('Code')})") from exc
            if response.get("Failed"):
                raise StoreUnavailable(f"SQS refused {len(response['Failed'])} of {len(entries)} messages")
