"""Customer identity: normalised addresses and the pseudonymous customer key used everywhere else.

The key is what logs, metrics and DynamoDB partition keys carry, so no raw address leaves the
ticket and timeline items themselves.
"""

import hashlib

from supportpilot.models import CustomerIdentity
from supportpilot.regex_store import compiled

_EMAIL = compiled(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def normalise_email(address: str) -> str | None:
    candidate = address.strip().strip("<>").lower()
    return candidate if _EMAIL.match(candidate) else None


def customer_key(kind: str, value: str) -> str:
    digest = hashlib.sha256(f"{kind}:{value.strip().lower()}".encode()).hexdigest()
    return f"C{digest[:24]}"


def email_customer(address: str, display_name: str | None = None) -> CustomerIdentity | None:
    normalised = normalise_email(address)
    if normalised is None:
        return None
    return CustomerIdentity(
        id=customer_key("email", normalised), kind="email", value=normalised, display_name=display_name
    )
