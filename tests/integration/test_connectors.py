"""Live shop connectors against a fake platform on 127.0.0.1 that answers with the documented shapes.

Shopify: GraphQL Admin API `orders` (connection `nodes`, `MoneyBag.shopMoney`, `Fulfillment.trackingInfo`),
GraphQL errors with `extensions.code`, and the 401 body `{"errors": "[API] Invalid API key ..."}`.
WooCommerce: REST v3 `GET /wp-json/wc/v3/orders` (a JSON array of orders; `price` is a number) and the
WordPress REST error body `{"code", "message", "data": {"status"}}`.
"""

import base64
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from supportpilot.connectors import (
    SHOPIFY_ORDERS_QUERY,
    ConnectorMisconfigured,
    ConnectorUnavailable,
    ShopifyConnector,
    WooCommerceConnector,
    connector_from_secret,
    lookup_orders,
    shopify_email_filter,
)
from supportpilot.profile import ShopOrder

EMAIL = "ann.devries@example.nl"
SHOPIFY_TOKEN = "shpat_00000000000000000000000000000000"
WOO_KEY, WOO_SECRET = "ck_0000000000000000000000000000000000000000", "cs_1111111111111111111111111111111111111111"
TINY_TIMEOUT = 0.2


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"[]"
    hold: bool = False  # answer only when the test is over: a platform slower than any timeout
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class FakeShop:
    def __init__(self) -> None:
        self.reply = Reply()
        self.received: list[Received] = []
        self.released = threading.Event()
        self.url = ""

    def answer(self, status: int = 200, body: object = None, raw: bytes | None = None, **options: object) -> None:
        payload = raw if raw is not None else json.dumps(body).encode()
        self.reply = Reply(status=status, body=payload, **options)


def _handler(shop: FakeShop) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            parts = urlsplit(self.path)
            shop.received.append(
                Received(self.command, parts.path, parse_qs(parts.query), dict(self.headers), self.rfile.read(length))
            )
            reply = shop.reply
            if reply.hold:
                shop.released.wait(timeout=10)
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:
                pass  # the connector gave up first, as it should

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def shop() -> Iterator[FakeShop]:
    fake = FakeShop()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield fake
    fake.released.set()
    server.shutdown()
    server.server_close()
    thread.join()


def shopify(shop: FakeShop, token: str = SHOPIFY_TOKEN) -> ShopifyConnector:
    return ShopifyConnector("example.myshopify.com", token, timeout_s=TINY_TIMEOUT, base_url=shop.url)


def woocommerce(shop: FakeShop) -> WooCommerceConnector:
    return WooCommerceConnector(shop.url, WOO_KEY, WOO_SECRET, timeout_s=TINY_TIMEOUT)


# --- documented answers ---------------------------------------------------------------------------------

SHOPIFY_ORDERS = {
    "data": {
        "orders": {
            "nodes": [
                {
                    "name": "#1003",
                    "createdAt": "2024-05-20T09:00:00Z",
                    "cancelledAt": None,
                    "displayFinancialStatus": "PAID",
                    "displayFulfillmentStatus": "FULFILLED",
                    "totalPriceSet": {"shopMoney": {"amount": "129.0", "currencyCode": "EUR"}},
                    "lineItems": {"nodes": [{"title": "Waterproof hiking jacket", "sku": "WHJ-L-GRN", "quantity": 1}]},
                    "fulfillments": [
                        {
                            "displayStatus": "IN_TRANSIT",
                            "deliveredAt": None,
                            "trackingInfo": [
                                {"number": "3STEST0000000003", "url": "https://tracking.example.com/3STEST0000000003"}
                            ],
                        }
                    ],
                    "customer": {"tags": ["VIP", "newsletter"]},
                },
                {
                    "name": "#1002",
                    "createdAt": "2024-05-02T07:40:11Z",
                    "cancelledAt": None,
                    "displayFinancialStatus": "PARTIALLY_REFUNDED",
                    "displayFulfillmentStatus": "FULFILLED",
                    "totalPriceSet": {"shopMoney": {"amount": "89.9", "currencyCode": "EUR"}},
                    "lineItems": {"nodes": [{"title": "Trail running shoes", "sku": None, "quantity": 2}]},
                    "fulfillments": [
                        {"displayStatus": "DELIVERED", "deliveredAt": "2024-05-04T14:05:30Z", "trackingInfo": []}
                    ],
                    "customer": {"tags": ["VIP", "newsletter"]},
                },
                {
                    "name": "#1001",
                    "createdAt": "2024-04-01T10:00:00Z",
                    "cancelledAt": "2024-04-01T12:00:00Z",
                    "displayFinancialStatus": "VOIDED",
                    "displayFulfillmentStatus": "UNFULFILLED",
                    "totalPriceSet": {"shopMoney": {"amount": "15.0", "currencyCode": "EUR"}},
                    "lineItems": {"nodes": []},
                    "fulfillments": [],
                    "customer": None,
                },
            ]
        }
    },
    "extensions": {
        "cost": {
            "requestedQueryCost": 52,
            "actualQueryCost": 14,
            "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1986, "restoreRate": 100.0},
        }
    },
}

SHOPIFY_THROTTLED = {
    "errors": [
        {
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
        }
    ],
    "extensions": {"cost": {"requestedQueryCost": 52, "throttleStatus": {"currentlyAvailable": 0}}},
}

SHOPIFY_BAD_TOKEN = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}


def woo_order(order_id: int, status: str, email: str, total: str, created: str, **extra: object) -> dict:
    return {
        "id": order_id,
        "parent_id": 0,
        "number": str(order_id),
        "order_key": f"wc_order_TEST{order_id}",
        "created_via": "checkout",
        "status": status,
        "currency": "EUR",
        "date_created": created,
        "date_created_gmt": created,
        "total": total,
        "customer_id": 0,
        "billing": {"first_name": "Ann", "last_name": "de Vries", "email": email, "phone": ""},
        "line_items": [
            {
                "id": 1,
                "name": "Leather ankle boots - 39",
                "quantity": 1,
                "total": total,
                "sku": "LAB-39",
                "price": 49.95,
            }
        ],
        "refunds": [],
        **extra,
    }


WOO_ORDERS = [
    woo_order(1207, "completed", EMAIL, "49.95", "2024-05-10T08:00:00"),
    # `search` also matches order notes and addresses: this one merely mentions the address.
    woo_order(1206, "processing", "someone.else@example.com", "19.95", "2024-05-09T08:00:00",
              customer_note=f"gift, send the invoice to {EMAIL}"),
    woo_order(1205, "refunded", EMAIL.upper(), "49.95", "2024-05-01T12:22:05"),
]  # fmt: skip

WOO_UNAUTHORISED = {
    "code": "woocommerce_rest_cannot_view",
    "message": "Sorry, you cannot list resources.",
    "data": {"status": 401},
}


# --- Shopify --------------------------------------------------------------------------------------------


def test_shopify_posts_the_orders_query_with_the_token_and_the_email_as_a_variable(shop):
    shop.answer(body=SHOPIFY_ORDERS)

    shopify(shop).recent_orders(EMAIL)

    (request,) = shop.received
    assert (request.method, request.path) == ("POST", "/admin/api/2025-01/graphql.json")
    assert request.headers["X-Shopify-Access-Token"] == SHOPIFY_TOKEN
    assert request.headers["Content-Type"] == "application/json"
    sent = json.loads(request.body)
    assert sent["variables"] == {"query": f'email:"{EMAIL}"'}
    assert EMAIL not in sent["query"]  # the address travels only as a variable
    assert sent["query"] == SHOPIFY_ORDERS_QUERY
    assert "orders(first: 10, sortKey: CREATED_AT, reverse: true, query: $query)" in sent["query"]


def test_shopify_orders_become_summaries_with_status_tracking_and_customer_tags(shop):
    shop.answer(body=SHOPIFY_ORDERS)

    orders = shopify(shop).recent_orders(EMAIL)

    assert all(isinstance(order, ShopOrder) for order in orders)
    in_transit, delivered, cancelled = orders
    assert in_transit.reference == "#1003"
    assert in_transit.placed_at == datetime(2024, 5, 20, 9, 0, tzinfo=UTC)
    assert (in_transit.financial_status, in_transit.delivery_status) == ("paid", "in_transit")
    assert (in_transit.total, in_transit.currency) == ("129.0", "EUR")
    assert in_transit.tracking_number == "3STEST0000000003"
    assert in_transit.tracking_url == "https://tracking.example.com/3STEST0000000003"
    assert [(line.title, line.sku, line.quantity) for line in in_transit.lines] == [
        ("Waterproof hiking jacket", "WHJ-L-GRN", 1)
    ]
    assert in_transit.customer_tags == ["VIP", "newsletter"]
    assert (delivered.financial_status, delivered.delivery_status) == ("partially_refunded", "delivered")
    assert delivered.delivered_at == datetime(2024, 5, 4, 14, 5, 30, tzinfo=UTC)
    assert cancelled.delivery_status == "cancelled"
    assert cancelled.customer_tags == []


def test_shopify_quotes_the_address_so_it_cannot_change_the_search():
    assert shopify_email_filter('odd"name OR x@example.com') == 'email:"odd\\"name OR x@example.com"'


# --- WooCommerce ----------------------------------------------------------------------------------------


def test_woocommerce_searches_orders_by_email_with_basic_auth(shop):
    shop.answer(body=WOO_ORDERS)

    woocommerce(shop).recent_orders(EMAIL)

    (request,) = shop.received
    assert (request.method, request.path) == ("GET", "/wp-json/wc/v3/orders")
    assert request.query == {"search": [EMAIL], "per_page": ["10"]}
    expected = base64.b64encode(f"{WOO_KEY}:{WOO_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


def test_woocommerce_keeps_only_orders_billed_to_the_address(shop):
    shop.answer(body=WOO_ORDERS)

    orders = woocommerce(shop).recent_orders(EMAIL)

    assert [(o.reference, o.financial_status, o.delivery_status) for o in orders] == [
        ("1207", "paid", "in_transit"),
        ("1205", "refunded", "refunded"),
    ]
    boots = orders[0]
    assert boots.placed_at == datetime(2024, 5, 10, 8, 0, tzinfo=UTC)
    assert (boots.total, boots.currency) == ("49.95", "EUR")
    assert [(line.title, line.sku, line.price) for line in boots.lines] == [
        ("Leather ankle boots - 39", "LAB-39", "49.95")
    ]


# --- failures: one error, a short reason, never the address ---------------------------------------------

CONNECTORS = {"shopify": shopify, "woocommerce": woocommerce}


@pytest.mark.parametrize("platform", CONNECTORS)
@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(hold=True), "timed out"),
        (Reply(status=500, body=b'{"errors": "Internal Server Error"}'), "answered HTTP 500"),
        (Reply(status=503, body=b"<html>maintenance</html>"), "answered HTTP 503"),
        (Reply(body=b'{"data": {"orders": {"nodes": [{"name": "#1'), "answered malformed JSON"),
        (Reply(body=b'{"data": {"orders": "none"}}'), "answered in an unexpected shape"),
        (Reply(status=302, headers={"Location": "https://elsewhere.example.com/"}), "answered HTTP 302"),
    ],
    ids=["slow", "500", "503-html", "malformed", "unexpected-shape", "redirect"],
)
def test_failures_raise_connector_unavailable_with_a_short_reason(shop, platform, reply, reason):
    shop.reply = reply

    with pytest.raises(ConnectorUnavailable) as raised:
        CONNECTORS[platform](shop).recent_orders(EMAIL)

    assert (raised.value.platform, raised.value.reason) == (platform, reason)
    assert str(raised.value) == f"{platform} {reason}"
    assert EMAIL not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert len(shop.received) == 1  # no retry, and a redirect is not followed


def test_shopify_graphql_errors_are_unavailable_with_their_codes(shop):
    shop.answer(body=SHOPIFY_THROTTLED)

    with pytest.raises(ConnectorUnavailable, match=r"^shopify answered GraphQL errors \(THROTTLED\)$"):
        shopify(shop).recent_orders(EMAIL)


def test_shopify_graphql_error_messages_are_not_repeated(shop):
    shop.answer(body={"errors": [{"message": f"No orders for {EMAIL}", "extensions": {"code": "not a code!"}}]})

    with pytest.raises(ConnectorUnavailable) as raised:
        shopify(shop).recent_orders(EMAIL)

    assert raised.value.reason == "answered GraphQL errors"


def test_shopify_wrong_token_is_rejected_credentials(shop):
    shop.answer(status=401, body=SHOPIFY_BAD_TOKEN)

    with pytest.raises(ConnectorUnavailable) as raised:
        shopify(shop, token="shpat_wrong").recent_orders(EMAIL)

    assert raised.value.reason == "rejected the credentials (HTTP 401)"
    assert shop.received[0].headers["X-Shopify-Access-Token"] == "shpat_wrong"


def test_woocommerce_wrong_keys_are_rejected_credentials(shop):
    shop.answer(status=401, body=WOO_UNAUTHORISED)

    with pytest.raises(ConnectorUnavailable, match=r"^woocommerce rejected the credentials \(HTTP 401\)$"):
        woocommerce(shop).recent_orders(EMAIL)


def test_a_refused_connection_is_unavailable():
    with socket.socket() as probe:  # a port nobody listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(ConnectorUnavailable, match=r"^woocommerce could not be reached$"):
        WooCommerceConnector(f"http://127.0.0.1:{port}", WOO_KEY, WOO_SECRET, timeout_s=TINY_TIMEOUT).recent_orders(
            EMAIL
        )


# --- lookup_orders, the helper the enrich stage calls ---------------------------------------------------


def test_lookup_orders_returns_the_orders(shop):
    shop.answer(body=SHOPIFY_ORDERS)

    orders, note = lookup_orders(shopify(shop), EMAIL)

    assert note is None
    assert [o.reference for o in orders] == ["#1003", "#1002", "#1001"]


def test_lookup_orders_turns_a_failure_into_a_note(shop):
    shop.reply = Reply(hold=True)

    assert lookup_orders(shopify(shop), EMAIL) == (None, "shopify timed out")


def test_lookup_orders_without_a_connector_looks_nothing_up():
    assert lookup_orders(None, EMAIL) == (None, None)


# --- configuration from the secret ----------------------------------------------------------------------


@pytest.mark.parametrize("document", [{}, {"platform": ""}, {"form": "x", "shopify": "webhook-secret"}])
def test_no_platform_in_the_secret_means_no_live_lookups(document):
    assert connector_from_secret(document) is None


def test_a_shopify_secret_gives_a_connector_that_talks_to_the_configured_host(shop):
    shop.answer(body=SHOPIFY_ORDERS)
    document = {
        "form": "webhook-form-secret",
        "platform": "shopify",
        "shop_domain": "example.myshopify.com",
        "access_token": SHOPIFY_TOKEN,
        "base_url": shop.url,
        "timeout_s": TINY_TIMEOUT,
    }

    connector = connector_from_secret(document)

    assert isinstance(connector, ShopifyConnector)
    assert len(connector.recent_orders(EMAIL)) == 3
    assert shop.received[0].headers["X-Shopify-Access-Token"] == SHOPIFY_TOKEN


def test_a_production_shopify_secret_uses_https():
    connector = connector_from_secret(
        {"platform": "shopify", "shop_domain": "example.myshopify.com", "access_token": SHOPIFY_TOKEN}
    )

    assert isinstance(connector, ShopifyConnector)
    assert connector.endpoint == "https://example.myshopify.com/admin/api/2025-01/graphql.json"


def test_a_woocommerce_secret_gives_a_connector(shop):
    shop.answer(body=WOO_ORDERS)
    document = {"platform": "woocommerce", "base_url": shop.url, "consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET}

    connector = connector_from_secret(document)

    assert isinstance(connector, WooCommerceConnector)
    assert [o.reference for o in connector.recent_orders(EMAIL)] == ["1207", "1205"]


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ({"platform": "woocommerce", "base_url": "http://shop.example.com"}, "base_url"),
        (
            {"platform": "woocommerce", "base_url": "https://shop.example.com", "consumer_key": WOO_KEY},
            "consumer_secret",
        ),
        ({"platform": "shopify", "shop_domain": "example.myshopify.com"}, "access_token"),
        (
            {"platform": "shopify", "shop_domain": "https://evil.example.com/?", "access_token": WOO_SECRET},
            "shop_domain",
        ),
        ({"platform": "magento", "access_token": WOO_SECRET}, "platform"),
    ],
)
def test_a_misconfigured_secret_names_the_field_but_never_a_value(document, named):
    with pytest.raises(ConnectorMisconfigured) as raised:
        connector_from_secret(document)

    message = str(raised.value)
    assert named in message
    assert WOO_KEY not in message and WOO_SECRET not in message and "shop.example.com" not in message
