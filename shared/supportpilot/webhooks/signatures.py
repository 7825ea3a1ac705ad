"""Webhook signature schemes: verifiers for inbound requests and the signers that produce them.

Two schemes cover the six sources:

* body HMAC: a header carrying the HMAC-SHA256 of the raw body, encoded per platform: base64 (Shopify,
  WooCommerce), ``sha256=`` + base64 (X), ``sha256=`` + hex (Meta);
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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from supportpilot.regex_store import compiled

SHOPIFY_HEADER = "X-Shopify-Hmac-Sha256"
WOOCOMMERCE_HEADER = "X-WC-Webhook-Signature"
STRIPE_HEADER = "Stripe-Signature"
FORM_HEADER = "X-SupportPilot-Signature"
X_HEADER = "X-Twitter-Webhooks-Signature"
META_HEADER = "X-Hub-Signature-256"

DEFAULT_TOLERANCE_SECONDS = 300
_MAX_HEADER_LENGTH = 4096
_TIMESTAMP = compiled(r"[0-9]{1,12}")
_HEX_SHA256 = compiled(r"[0-9a-f]{64}")
_HEX_SHA256_ANY_CASE = compiled(r"[0-9a-fA-F]{64}")


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


# --- body HMAC: <prefix><base64 or hex of HMAC-SHA256(raw, secret)> -----------------------------


@dataclass(frozen=True)
class _BodyHmacScheme:
    header: str
    encoding: Literal["base64", "hex"]
    prefix: str = ""


_SHOPIFY_SCHEME = _BodyHmacScheme(SHOPIFY_HEADER, "base64")
_WOOCOMMERCE_SCHEME = _BodyHmacScheme(WOOCOMMERCE_HEADER, "base64")
_X_SCHEME = _BodyHmacScheme(X_HEADER, "base64", prefix="sha256=")
_META_SCHEME = _BodyHmacScheme(META_HEADER, "hex", prefix="sha256=")


def _encoded_hmac(message: bytes, secret: str, scheme: _BodyHmacScheme) -> str:
    digest = _hmac_sha256(secret, message)
    encoded = base64.b64encode(digest).decode("ascii") if scheme.encoding == "base64" else digest.hex()
    return scheme.prefix + encoded


def _decoded_signature(value: str, scheme: _BodyHmacScheme) -> bytes:
    if not value.startswith(scheme.prefix):
        raise SignatureError(f"{scheme.header} header does not start with {scheme.prefix}")
    encoded = value.removeprefix(scheme.prefix)
    if scheme.encoding == "hex":
        if not _HEX_SHA256_ANY_CASE.fullmatch(encoded):
            raise SignatureError(f"{scheme.header} header is not a hex SHA-256 digest")
        return bytes.fromhex(encoded)
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError:  # binascii.Error, or non-ASCII characters
        raise SignatureError(f"{scheme.header} header is not valid base64") from None


def _verify_body_hmac(raw: bytes, headers: Mapping[str, str], secret: str, scheme: _BodyHmacScheme) -> None:
    received = _decoded_signature(_required_header(headers, scheme.header), scheme)
    if not hmac.compare_digest(received, _hmac_sha256(secret, raw)):
        raise SignatureError("signature does not match")


def _sign_body_hmac(raw: bytes, secret: str, scheme: _BodyHmacScheme) -> dict[str, str]:
    return {scheme.header.lower(): _encoded_hmac(raw, secret, scheme)}


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
    _verify_body_hmac(raw, headers, secret, _SHOPIFY_SCHEME)


def sign_shopify(raw: bytes, secret: str) -> dict[str, str]:
    return _sign_body_hmac(raw, secret, _SHOPIFY_SCHEME)


def verify_woocommerce(raw: bytes, headers: Mapping[str, str], secret: str) -> None:
    _verify_body_hmac(raw, headers, secret, _WOOCOMMERCE_SCHEME)


def sign_woocommerce(raw: bytes, secret: str) -> dict[str, str]:
    return _sign_body_hmac(raw, secret, _WOOCOMMERCE_SCHEME)


def verify_x(raw: bytes, headers: Mapping[str, str], secret: str) -> None:
    _verify_body_hmac(raw, headers, secret, _X_SCHEME)


def sign_x(raw: bytes, secret: str) -> dict[str, str]:
    return _sign_body_hmac(raw, secret, _X_SCHEME)


def x_crc_response_token(crc_token: str, secret: str) -> str:
    """X's challenge-response check: the token signed like a request body (``sha256=`` + base64)."""
    return _encoded_hmac(crc_token.encode("utf-8"), secret, _X_SCHEME)


def verify_meta(raw: bytes, headers: Mapping[str, str], secret: str) -> None:
    _verify_body_hmac(raw, headers, secret, _META_SCHEME)


def sign_meta(raw: bytes, secret: str) -> dict[str, str]:
    return _sign_body_hmac(raw, secret, _META_SCHEME)


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
