"""Inbound webhooks (shop contact form, Shopify, WooCommerce, Stripe, X, Meta): verify, parse, normalise.

Pure functions, no AWS and no I/O. The receiving Lambda looks a source up with `get_source`, calls
its `verify` and `parse` and queues the `WebhookEnvelope`(s); the worker calls its `normalise`. A
platform's GET check of the endpoint goes to the source's `handshake`.
"""

from supportpilot.webhooks.signatures import (
    SignatureError,
    sign_form,
    sign_meta,
    sign_shopify,
    sign_stripe,
    sign_woocommerce,
    sign_x,
    verify_form,
    verify_meta,
    verify_shopify,
    verify_stripe,
    verify_woocommerce,
    verify_x,
    x_crc_response_token,
)
from supportpilot.webhooks.sources import (
    SOURCES,
    HandshakeResponse,
    Normalised,
    Ping,
    TicketOpening,
    WebhookEnvelope,
    WebhookRejected,
    WebhookSource,
    get_source,
)

__all__ = [
    "SOURCES",
    "HandshakeResponse",
    "Normalised",
    "Ping",
    "SignatureError",
    "TicketOpening",
    "WebhookEnvelope",
    "WebhookRejected",
    "WebhookSource",
    "get_source",
    "sign_form",
    "sign_meta",
    "sign_shopify",
    "sign_stripe",
    "sign_woocommerce",
    "sign_x",
    "verify_form",
    "verify_meta",
    "verify_shopify",
    "verify_stripe",
    "verify_woocommerce",
    "verify_x",
    "x_crc_response_token",
]
