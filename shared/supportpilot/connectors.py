"""Live order lookups at the shop platform (Shopify GraphQL Admin API, WooCommerce REST v3).

The enrich stage asks the shop for a customer's recent orders with a short timeout. Whatever goes
wrong (slow, down, refused, garbled) raises one `ConnectorUnavailable` whose reason is short and
carries no personal data, and the profile falls back to the stored timeline. Standard-library HTTP
only; redirects are never followed, so credentials go only to the configured host.
"""

import base64
import http.client
import ipaddress
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, TypeVar
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from supportpilot.models import Channel, OrderLine, OrderSummary
from supportpilot.profile import DeliveryStatus, ShopOrder, woocommerce_order_state
from supportpilot.regex_store import compiled

logger = Logger(child=True)

ORDERS_PER_LOOKUP = 10
_MAX_RESPONSE_BYTES = 2 * 1024 * 1024
_HOSTNAME = compiled(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
_ERROR_CODE = compiled(r"[A-Za-z][A-Za-z_]{0,39}")

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConnectorUnavailable(Exception):
    """The platform could not answer usefully. `reason` is short and holds no personal data."""

    def __init__(self, platform: str, reason: str) -> None:
        super().__init__(f"{platform} {reason}")
        self.platform = platform
        self.reason = reason


class ConnectorMisconfigured(ValueError):
    """The shop-API settings in the secret are incomplete or unsafe; the message names fields, never values."""


class ShopConnector(Protocol):
    def recent_orders(self, email: str) -> list[OrderSummary]: ...


def checked_base_url(url: str) -> str:
    """The URL without a trailing slash, if it is https (plain http only on loopback, for local fakes)."""
    parts = urlsplit(url)
    if parts.username or parts.password or parts.query or parts.fragment or not parts.hostname:
        raise ValueError("base URL must be scheme://host[:port][/path] without credentials, query or fragment")
    if parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(parts.hostname)):
        raise ValueError("base URL must use https (plain http only on a loopback address)")
    return url.rstrip("/")


def checked_shop_domain(domain: str) -> str:
    if not _HOSTNAME.fullmatch(domain):
        raise ValueError("shop domain must be a host name such as example.myshopify.com")
    return domain


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- HTTP --------------------------------------------------------------------------------------------


class _RefuseRedirects(HTTPRedirectHandler):
    """A redirect would carry the credentials to wherever it points: treat it as an HTTP error instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = build_opener(_RefuseRedirects)


def _http_reason(status: int) -> str:
    if status in (401, 403):
        return f"rejected the credentials (HTTP {status})"
    if status == 429:
        return "is rate limiting (HTTP 429)"
    return f"answered HTTP {status}"


def _exchange(platform: str, url: str, headers: dict[str, str], timeout_s: float, body: bytes | None = None) -> Any:
    """The decoded JSON answer. Exceptions are raised `from None`: their text would hold the URL and its query."""
    # Every URL starts with a base that checked_base_url allowed (https, or http on loopback).
    request = Request(url, data=body, headers={"Accept": "application/json", **headers})  # noqa: S310
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            raw = response.read(_MAX_RESPONSE_BYTES + 1)
    except HTTPError as exc:
        exc.close()
        raise ConnectorUnavailable(platform, _http_reason(exc.code)) from None
    except URLError as exc:
        reason = "timed out" if isinstance(exc.reason, TimeoutError) else "could not be reached"
        raise ConnectorUnavailable(platform, reason) from None
    except TimeoutError:
        raise ConnectorUnavailable(platform, "timed out") from None
    except (OSError, http.client.HTTPException):
        raise ConnectorUnavailable(platform, "broke off the connection") from None
    if len(raw) > _MAX_RESPONSE_BYTES:
        raise ConnectorUnavailable(platform, "answered more than 2 MiB")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ConnectorUnavailable(platform, "answered malformed JSON") from None


def _validated(platform: str, model: type[ModelT], answer: Any) -> ModelT:
    try:
        return model.model_validate(answer)
    except ValidationError:
        raise ConnectorUnavailable(platform, "answered in an unexpected shape") from None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _amount(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


# --- Shopify -----------------------------------------------------------------------------------------

SHOPIFY_ORDERS_QUERY = """
query RecentOrders($query: String!) {
  orders(first: 10, sortKey: CREATED_AT, reverse: true, query: $query) {
    nodes {
      name
      createdAt
      cancelledAt
      displayFinancialStatus
      displayFulfillmentStatus
      totalPriceSet { shopMoney { amount currencyCode } }
      lineItems(first: 20) { nodes { title sku quantity } }
      fulfillments(first: 10) { displayStatus deliveredAt trackingInfo(first: 1) { number url } }
      customer { tags }
    }
  }
}
""".strip()


class _ShopifyShape(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, frozen=True)


class _ShopifyMoney(_ShopifyShape):
    amount: Decimal
    currency_code: str


class _ShopifyMoneyBag(_ShopifyShape):
    shop_money: _ShopifyMoney


class _ShopifyLineItem(_ShopifyShape):
    title: str
    sku: str | None = None
    quantity: int = 1


class _ShopifyLineItems(_ShopifyShape):
    nodes: list[_ShopifyLineItem] = Field(default_factory=list)


class _ShopifyTracking(_ShopifyShape):
    number: str | None = None
    url: str | None = None


class _ShopifyFulfillment(_ShopifyShape):
    display_status: str | None = None
    delivered_at: datetime | None = None
    tracking_info: list[_ShopifyTracking] = Field(default_factory=list)


class _ShopifyCustomer(_ShopifyShape):
    tags: list[str] = Field(default_factory=list)


class _ShopifyOrder(_ShopifyShape):
    name: str
    created_at: datetime
    cancelled_at: datetime | None = None
    display_financial_status: str | None = None
    display_fulfillment_status: str | None = None
    total_price_set: _ShopifyMoneyBag | None = None
    line_items: _ShopifyLineItems = Field(default_factory=_ShopifyLineItems)
    fulfillments: list[_ShopifyFulfillment] = Field(default_factory=list)
    customer: _ShopifyCustomer | None = None


class _ShopifyOrders(_ShopifyShape):
    nodes: list[_ShopifyOrder]


class _ShopifyData(_ShopifyShape):
    orders: _ShopifyOrders


class _ShopifyError(_ShopifyShape):
    extensions: dict[str, Any] = Field(default_factory=dict)


class _ShopifyAnswer(_ShopifyShape):
    data: _ShopifyData | None = None
    errors: list[_ShopifyError] | None = None


def shopify_email_filter(email: str) -> str:
    """The orders search term for one address, quoted so its characters are not search syntax."""
    escaped = email.replace("\\", "\\\\").replace('"', '\\"')
    return f'email:"{escaped}"'


def _graphql_error_reason(errors: list[_ShopifyError]) -> str:
    codes = sorted(
        {code for e in errors if isinstance(code := e.extensions.get("code"), str) and _ERROR_CODE.fullmatch(code)}
    )
    return f"answered GraphQL errors ({', '.join(codes)})" if codes else "answered GraphQL errors"


_SHOPIFY_NOT_SHIPPED = frozenset({"CANCELED", "FAILURE", "LABEL_VOIDED", "NOT_DELIVERED"})


def _shopify_delivery(order: _ShopifyOrder) -> tuple[DeliveryStatus, datetime | None]:
    if order.cancelled_at is not None:
        return DeliveryStatus.CANCELLED, None
    if order.display_financial_status == "REFUNDED":
        return DeliveryStatus.REFUNDED, None
    shipments = [f for f in order.fulfillments if f.display_status not in _SHOPIFY_NOT_SHIPPED]
    delivered = [f.delivered_at for f in shipments if f.display_status == "DELIVERED" or f.delivered_at]
    if shipments and len(delivered) == len(shipments) and order.display_fulfillment_status == "FULFILLED":
        return DeliveryStatus.DELIVERED, max((_utc(d) for d in delivered if d), default=None)
    if order.display_fulfillment_status in ("FULFILLED", "PARTIALLY_FULFILLED"):
        return DeliveryStatus.IN_TRANSIT, None
    return DeliveryStatus.UNFULFILLED, None


def _shopify_tracking(order: _ShopifyOrder) -> _ShopifyTracking:
    found = [t for f in order.fulfillments for t in f.tracking_info if t.number or t.url]
    return found[-1] if found else _ShopifyTracking()


def _shopify_order(order: _ShopifyOrder) -> ShopOrder:
    delivery, delivered_at = _shopify_delivery(order)
    tracking = _shopify_tracking(order)
    money = order.total_price_set.shop_money if order.total_price_set else None
    return ShopOrder(
        reference=order.name,
        source=Channel.SHOPIFY,
        placed_at=_utc(order.created_at),
        financial_status=order.display_financial_status.lower() if order.display_financial_status else None,
        delivery_status=delivery,
        delivered_at=delivered_at,
        tracking_number=tracking.number,
        tracking_url=tracking.url,
        total=_amount(money.amount) if money else None,
        currency=money.currency_code if money else None,
        lines=[OrderLine(title=i.title, sku=i.sku or None, quantity=i.quantity) for i in order.line_items.nodes],
        customer_tags=order.customer.tags if order.customer else [],
    )


class ShopifyConnector:
    """Recent orders by email through the GraphQL Admin API.

    The token needs `read_orders`; without `read_all_orders` Shopify shows only the last 60 days.
    """

    platform = "shopify"

    def __init__(
        self,
        shop_domain: str,
        access_token: str,
        timeout_s: float = 2.0,
        api_version: str = "2025-01",
        base_url: str | None = None,
    ) -> None:
        root = checked_base_url(base_url) if base_url is not None else f"https://{checked_shop_domain(shop_domain)}"
        self.endpoint = f"{root}/admin/api/{api_version}/graphql.json"
        self._access_token = access_token
        self._timeout_s = timeout_s

    def recent_orders(self, email: str) -> list[OrderSummary]:
        body = {"query": SHOPIFY_ORDERS_QUERY, "variables": {"query": shopify_email_filter(email)}}
        headers = {"Content-Type": "application/json", "X-Shopify-Access-Token": self._access_token}
        raw_answer = _exchange(self.platform, self.endpoint, headers, self._timeout_s, json.dumps(body).encode())
        answer = _validated(self.platform, _ShopifyAnswer, raw_answer)
        if answer.errors:
            raise ConnectorUnavailable(self.platform, _graphql_error_reason(answer.errors))
        if answer.data is None:
            raise ConnectorUnavailable(self.platform, "answered in an unexpected shape")
        return [_shopify_order(order) for order in answer.data.orders.nodes]


# --- WooCommerce -------------------------------------------------------------------------------------


class _WooLineItem(BaseModel):
    name: str
    sku: str | None = None
    quantity: int = 1
    price: Decimal | None = None


class _WooBilling(BaseModel):
    email: str | None = None


class _WooOrder(BaseModel):
    id: int
    number: str | None = None
    status: str | None = None
    currency: str | None = None
    total: Decimal | None = None
    date_created_gmt: datetime | None = None
    billing: _WooBilling = Field(default_factory=_WooBilling)
    line_items: list[_WooLineItem] = Field(default_factory=list)


class _WooOrders(BaseModel):
    orders: list[_WooOrder]


def _woo_order(order: _WooOrder) -> ShopOrder:
    financial, delivery = woocommerce_order_state(order.status)
    return ShopOrder(
        reference=order.number or str(order.id),
        source=Channel.WOOCOMMERCE,
        placed_at=_utc(order.date_created_gmt) if order.date_created_gmt else None,
        financial_status=financial,
        delivery_status=delivery,
        total=_amount(order.total),
        currency=order.currency.upper() if order.currency else None,
        lines=[
            OrderLine(title=i.name, sku=i.sku or None, quantity=i.quantity, price=_amount(i.price))
            for i in order.line_items
        ],
    )


class WooCommerceConnector:
    """Recent orders by email through the REST API v3 with a read-only key (HTTP Basic over https)."""

    platform = "woocommerce"

    def __init__(self, base_url: str, consumer_key: str, consumer_secret: str, timeout_s: float = 2.0) -> None:
        self.orders_url = f"{checked_base_url(base_url)}/wp-json/wc/v3/orders"
        credentials = base64.b64encode(f"{consumer_key}:{consumer_secret}".encode()).decode("ascii")
        self._authorization = f"Basic {credentials}"
        self._timeout_s = timeout_s

    def recent_orders(self, email: str) -> list[OrderSummary]:
        query = urlencode({"search": email, "per_page": ORDERS_PER_LOOKUP})
        headers = {"Authorization": self._authorization}
        answer = _exchange(self.platform, f"{self.orders_url}?{query}", headers, self._timeout_s)
        orders = _validated(self.platform, _WooOrders, {"orders": answer}).orders
        # `search` matches any field (names, notes, addresses): keep only orders billed to this address.
        wanted = email.strip().lower()
        return [_woo_order(o) for o in orders if (o.billing.email or "").strip().lower() == wanted]


# --- configuration -----------------------------------------------------------------------------------


class ConnectorSettings(BaseModel):
    """The shop-API fields of the Secrets Manager JSON document; other keys (webhook secrets) are ignored.

    Shopify: `platform: "shopify"`, `shop_domain` (example.myshopify.com), `access_token`.
    WooCommerce: `platform: "woocommerce"`, `base_url` (https://shop.example.com), `consumer_key`,
    `consumer_secret`. `base_url` also points Shopify at a fake server locally.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    platform: Literal["shopify", "woocommerce"]
    shop_domain: str | None = None
    base_url: str | None = None
    access_token: SecretStr | None = None
    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    timeout_s: float = Field(default=2.0, gt=0, le=10)
    api_version: str = Field(default="2025-01", pattern=r"^(\d{4}-\d{2}|unstable)$")

    @field_validator("shop_domain")
    @classmethod
    def _valid_shop_domain(cls, value: str | None) -> str | None:
        return checked_shop_domain(value) if value is not None else None

    @field_validator("base_url")
    @classmethod
    def _safe_base_url(cls, value: str | None) -> str | None:
        return checked_base_url(value) if value is not None else None

    @model_validator(mode="after")
    def _platform_fields_present(self) -> "ConnectorSettings":
        if self.platform == "shopify":
            required = {"shop_domain or base_url": self.shop_domain or self.base_url, "access_token": self.access_token}
        else:
            required = {
                "base_url": self.base_url,
                "consumer_key": self.consumer_key,
                "consumer_secret": self.consumer_secret,
            }
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise ValueError(f"{self.platform} needs {', '.join(missing)}")
        return self

    def connector(self) -> ShopConnector:
        if self.platform == "shopify":
            return ShopifyConnector(
                self.shop_domain or "",
                _revealed(self.access_token),
                timeout_s=self.timeout_s,
                api_version=self.api_version,
                base_url=self.base_url,
            )
        return WooCommerceConnector(
            self.base_url or "",
            _revealed(self.consumer_key),
            _revealed(self.consumer_secret),
            timeout_s=self.timeout_s,
        )


def _revealed(secret: SecretStr | None) -> str:
    return secret.get_secret_value() if secret is not None else ""


def connector_from_secret(document: dict[str, Any]) -> ShopConnector | None:
    """The configured connector, or None when the document names no platform (live lookups off)."""
    if not document.get("platform"):
        return None
    try:
        settings = ConnectorSettings.model_validate(document)
    except ValidationError as exc:
        # The default message would quote the offending values, secrets included.
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'document'}: {e['msg']}" for e in exc.errors())
        raise ConnectorMisconfigured(f"shop connector settings are invalid: {problems}") from None
    return settings.connector()


def lookup_orders(connector: ShopConnector | None, email: str) -> tuple[list[OrderSummary] | None, str | None]:
    """(orders, None) from the platform; (None, "shopify timed out") when it failed; (None, None) when not set up."""
    if connector is None:
        return None, None
    try:
        return connector.recent_orders(email), None
    except ConnectorUnavailable as exc:
        logger.warning("live order lookup failed", extra={"platform": exc.platform, "reason": exc.reason})
        return None, str(exc)
