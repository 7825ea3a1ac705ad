"""Team alert channels: an SNS topic, and Slack or Microsoft Teams incoming webhooks.

Teams: Microsoft 365 (Office 365) connectors are retired; a Teams "Workflows" webhook ("When a Teams
webhook request is received") takes Adaptive Cards only, wrapped in a message with attachments.
"""

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from supportpilot.notify.service import NotificationFailed

ChatKind = Literal["slack", "teams"]
_SNS_SUBJECT = "SupportPilot: a ticket needs attention"


class SnsTeamChannel:
    name = "sns"

    def __init__(self, client: Any, topic_arn: str, subject: str = _SNS_SUBJECT):
        self._client = client
        self._topic_arn = topic_arn
        self._subject = subject

    def publish(self, text: str) -> None:
        try:
            self._client.publish(TopicArn=self._topic_arn, Subject=self._subject, Message=text)
        except ClientError as exc:
            raise NotificationFailed(f"SNS publish failed ({exc.response.get('Error', {}).get('Code')})") from exc
        except BotoCoreError as exc:
            raise NotificationFailed(f"SNS could not be reached ({type(exc).__name__})") from exc


def slack_payload(text: str) -> dict[str, Any]:
    return {"text": text}


def teams_payload(text: str) -> dict[str, Any]:
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [{"type": "TextBlock", "text": line, "wrap": True} for line in text.splitlines() if line],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


_PAYLOADS: dict[ChatKind, Callable[[str], dict[str, Any]]] = {"slack": slack_payload, "teams": teams_payload}


class ChatWebhookChannel:
    """POSTs JSON to an incoming-webhook URL. The URL is a credential: it never appears in an error."""

    def __init__(self, kind: ChatKind, url: str, timeout_seconds: float = 5.0):
        if urlsplit(url).scheme not in ("https", "http"):
            raise ValueError(f"the {kind} webhook URL must be http(s)")
        self.name = self._kind = kind
        self._url = url
        self._payload = _PAYLOADS[kind]
        self._timeout = timeout_seconds

    def publish(self, text: str) -> None:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self._url,
            data=json.dumps(self._payload(text)).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout):  # noqa: S310
                return
        except urllib.error.HTTPError as exc:
            raise NotificationFailed(f"{self._kind} webhook answered HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise NotificationFailed(f"{self._kind} webhook could not be reached ({type(exc).__name__})") from None


def chat_channels_from_secret(document: Any) -> list[ChatWebhookChannel]:
    """The Slack or Teams incoming webhooks named in the chat secret ({"slack_webhook_url": ...} or teams)."""
    document = document if isinstance(document, dict) else {}
    kinds: tuple[ChatKind, ...] = ("slack", "teams")
    return [
        ChatWebhookChannel(kind, document[f"{kind}_webhook_url"])
        for kind in kinds
        if document.get(f"{kind}_webhook_url")
    ]
