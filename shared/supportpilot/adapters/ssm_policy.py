from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from supportpilot.routing.source import PolicyOverrideUnavailable


class SsmPolicyOverrides:
    """Reads the routing policy override from one SSM parameter; a missing parameter means no override."""

    def __init__(self, client: Any, parameter_name: str):
        self._client = client
        self._name = parameter_name

    def fetch_override(self) -> str | None:
        try:
            response = self._client.get_parameter(Name=self._name, WithDecryption=True)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ParameterNotFound":
                return None
            raise PolicyOverrideUnavailable(f"SSM get_parameter failed ({code})") from exc
        except BotoCoreError as exc:
            raise PolicyOverrideUnavailable(f"SSM get_parameter failed ({type(exc).__name__})") from exc
        return response["Parameter"]["Value"]
