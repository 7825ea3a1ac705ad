"""Inbound webhooks (shop contact form, Shopify, WooCommerce, Stripe): verify, parse, normalise.

Pure functions, no AWS and no I/O. The receiving Lambda looks a source up with `get_source`, calls
its `verify` and `parse` and queues the `WebhookEnvelope`; the worker calls its `normalise`.
"""

from supportpilot.webhooks.signatures import (
    SignatureError,
    sign_form,
    sign_shopify,
    sign_stripe,
    sign_woocommerce,
    verify_form,
    verify_shopify,
    verify_stripe,
    verify_woocommerce,
)
from supportpilot.webhooks.sources import (
    SOURCES,
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
    "Normalised",
    "Ping",
    "SignatureError",
    "TicketOpening",
    "WebhookEnvelope",
    "WebhookRejected",
    "WebhookSource",
    "get_source",
    "sign_form",
    "sign_shopify",
    "sign_stripe",
    "sign_woocommerce",
    "verify_form",
    "verify_shopify",
    "verify_stripe",
    "verify_woocommerce",
]
