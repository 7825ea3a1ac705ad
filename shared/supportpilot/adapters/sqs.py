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
