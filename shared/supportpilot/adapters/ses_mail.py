"""SES (v1 API) for outbound customer mail. Sender and recipients come from the MIME headers."""

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from supportpilot.notify.service import NotificationFailed


class SesMailSender:
    def __init__(self, client: Any, configuration_set: str | None = None):
        self._client = client
        self._configuration_set = configuration_set

    def send_raw(self, raw: bytes) -> str:
        request: dict[str, Any] = {"RawMessage": {"Data": raw}}
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            return self._client.send_raw_email(**request)["MessageId"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "unknown")
            # SES error messages can quote the recipient's address: keep only the code, drop the chain.
            raise NotificationFailed(f"SES did not accept the mail ({code})") from None
        except BotoCoreError as exc:
            raise NotificationFailed(f"SES could not be reached ({type(exc).__name__})") from None
