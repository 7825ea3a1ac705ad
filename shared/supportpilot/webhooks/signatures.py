"""Webhook signature schemes: verifiers for inbound requests and the signers that produce them.

Two schemes cover the four sources:

* body HMAC (Shopify, WooCommerce): a header carrying base64(HMAC-SHA256(raw body, secret));
* timestamped HMAC (Stripe, and the shop's contact form under its own header):
  ``t=<unix seconds>,v1=<hex HMAC-SHA256(f"{t}." + raw body)>[,v1=...]``. Any v1 may match, so a
  sender can sign with an old and a new secret while rotating.

Verifiers take the exact raw bytes received and a mapping of lower-cased header names. Every
problem, however malformed the input, is a `SignatureError` whose message names what is wrong
and never echoes the secret, the body or the header value. Signers return the header(s) to send,
with lower-case names (valid on the wire and the form the verifiers look up).
"""

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping

SHOPIFY_HEADER = "X-Shopify-Hmac-Sha256"
WOOCOMMERCE_HEADER = "X-WC-Webhook-Signature"
STRIPE_HEADER = "Stripe-Signature"
FORM_HEADER = "X-SupportPilot-Signature"

DEFAULT_TOLERANCE_SECONDS = 300
_MAX_HEADER_LENGTH = 4096
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


class SignatureError(Exception):
    """The request is not authentic: missing, malformed or non-matching signature, or too old."""


def _hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def _required_header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower())
    if not isinstance(value, str) or not value.strip():
        raise SignatureError(f"missing {name} header")
    if len(value) > _MAX_HEADER_LENGTH:
        raise SignatureError(f"{name} header is too long")
    return value.strip()


# --- body HMAC: base64(HMAC-SHA256(raw, secret)) -------------------------------------------------


def _verify_body_hmac(raw: bytes, headers: Mapping[str, str], secret: str, header: str) -> None:
    value = _required_header(headers, header)
    try:
        received = base64.b64decode(value, validate=True)
    except ValueError:  # binascii.Error, or non-ASCII characters
        raise SignatureError(f"{header} header is not valid base64") from None
    if not hmac.compare_digest(received, _hmac_sha256(secret, raw)):
        raise SignatureError("signature does not match")


def _sign_body_hmac(raw: bytes, secret: str, header: str) -> dict[str, str]:
    return {header.lower(): base64.b64encode(_hmac_sha256(secret, raw)).decode("ascii")}


# --- timestamped HMAC: t=<unix>,v1=<hex HMAC-SHA256(f"{t}." + raw)> ------------------------------


def _timestamped_digest(raw: bytes, secret: str, timestamp: str) -> str:
    return _hmac_sha256(secret, f"{timestamp}.".encode("ascii") + raw).hex()


def _parse_timestamped_header(value: str, header: str) -> tuple[str, list[str]]:
    """Split ``t=..,v1=..[,v1=..]`` into the timestamp text and the v1 signatures (others ignored)."""
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in value.split(","):
        key, separator, element = item.strip().partition("=")
        if not separator:
            raise SignatureError(f"{header} header is malformed")
        if key == "t":
            timestamps.append(element)
        elif key == "v1":
            signatures.append(element)
    if len(timestamps) != 1:
        raise SignatureError(f"{header} header must carry exactly one timestamp")
    if not _TIMESTAMP.fullmatch(timestamps[0]):
        raise SignatureError(f"{header} header has a malformed timestamp")
    if not signatures:
        raise SignatureError(f"{header} header has no v1 signature")
    return timestamps[0], signatures


def _verify_timestamped_hmac(
    raw: bytes, headers: Mapping[str, str], secret: str, header: str, now: float, tolerance: int
) -> None:
    timestamp, signatures = _parse_timestamped_header(_required_header(headers, header), header)
    expected = _timestamped_digest(raw, secret, timestamp)
    # Only well-formed candidates are compared: compare_digest rejects non-ASCII text with TypeError.
    if not any(
        _HEX_SHA256.fullmatch(candidate) and hmac.compare_digest(candidate, expected) for candidate in signatures
    ):
        raise SignatureError("signature does not match")
    if abs(now - int(timestamp)) > tolerance:
        raise SignatureError(f"timestamp outside the {tolerance} s tolerance")


def _sign_timestamped_hmac(raw: bytes, secret: str, header: str, timestamp: int) -> dict[str, str]:
    if timestamp < 0:
        raise ValueError("timestamp must be a non-negative number of seconds")
    return {header.lower(): f"t={timestamp},v1={_timestamped_digest(raw, secret, str(timestamp))}"}


# --- per source -----------------------------------------------------------------------------------


def verify_shopify(raw: bytes, headers: Mapping[str, str], secret: str) -> None:
    _verify_body_hmac(raw, headers, secret, SHOPIFY_HEADER)


def sign_shopify(raw: bytes, secret: str) -> dict[str, str]:
    return _sign_body_hmac(raw, secret, SHOPIFY_HEADER)


def verify_woocommerce(raw: bytes, headers: Mapping[str, str], secret: str) -> None:
    _verify_body_hmac(raw, headers, secret, WOOCOMMERCE_HEADER)


def sign_woocommerce(raw: bytes, secret: str) -> dict[str, str]:
    return _sign_body_hmac(raw, secret, WOOCOMMERCE_HEADER)


def verify_stripe(
    raw: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    _verify_timestamped_hmac(raw, headers, secret, STRIPE_HEADER, now, tolerance)


def sign_stripe(raw: bytes, secret: str, *, timestamp: int) -> dict[str, str]:
    return _sign_timestamped_hmac(raw, secret, STRIPE_HEADER, timestamp)


def verify_form(
    raw: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    _verify_timestamped_hmac(raw, headers, secret, FORM_HEADER, now, tolerance)


def sign_form(raw: bytes, secret: str, *, timestamp: int) -> dict[str, str]:
    return _sign_timestamped_hmac(raw, secret, FORM_HEADER, timestamp)
