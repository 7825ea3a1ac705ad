from aws_lambda_powertools.utilities import parameters


class SecretsManagerWebhookSecrets:
    """Reads the webhook-secrets JSON document, cached for five minutes so rotation takes effect."""

    def __init__(self, secret_id: str, max_age_seconds: int = 300):
        self._secret_id = secret_id
        self._max_age = max_age_seconds

    def webhook_secret(self, source: str) -> str | None:
        document = parameters.get_secret(self._secret_id, transform="json", max_age=self._max_age)
        value = document.get(source) if isinstance(document, dict) else None
        return value or None
