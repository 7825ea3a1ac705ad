"""The customer profile the enrich stage puts on a ticket: contacts, orders, lifetime value, VIP.

Pure: everything comes in as arguments (the customer's stored tickets and timeline events, and
optionally orders from a live shop lookup), so the same inputs always give the same profile. It never
reads a name, gender or age: the profile describes what the customer did, not who they are.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from supportpilot.models import (
    OPEN_STATUSES,
    Channel,
    CustomerProfile,
    OrderLine,
    OrderSummary,
    PastContact,
    Ticket,
    TimelineEvent,
)

MAX_PAST_CONTACTS = 20
_SHOP_SOURCES = frozenset({Channel.SHOPIFY, Channel.WOOCOMMERCE})
_ORDER_KINDS = frozenset({"order_created", "order_updated", "order_paid", "order_fulfilled", "order_cancelled"})
_FULFILMENT_KINDS = frozenset({"fulfillment_created", "fulfillment_updated"})
_REFUND_KIND = "refund_created"


class DeliveryStatus(StrEnum):
    UNFULFILLED = "unfulfilled"
    IN_TRANSIT = "in_transit"  # handed to the carrier (or marked fulfilled); delivery not confirmed
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


_FINAL = frozenset({DeliveryStatus.CANCELLED, DeliveryStatus.REFUNDED})
_PROGRESS = {DeliveryStatus.UNFULFILLED: 0, DeliveryStatus.IN_TRANSIT: 1, DeliveryStatus.DELIVERED: 2}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# WooCommerce has one order status for payment and shipping: (financial status, delivery status).
# Core WooCommerce knows no delivery: "completed" means the shop sent it.
_WOOCOMMERCE_STATUSES: dict[str, tuple[str | None, DeliveryStatus]] = {
    "pending": ("pending", DeliveryStatus.UNFULFILLED),
    "on-hold": ("on-hold", DeliveryStatus.UNFULFILLED),
    "failed": ("failed", DeliveryStatus.UNFULFILLED),
    "processing": ("paid", DeliveryStatus.UNFULFILLED),
    "completed": ("paid", DeliveryStatus.IN_TRANSIT),
    "cancelled": (None, DeliveryStatus.CANCELLED),
    "refunded": ("refunded", DeliveryStatus.REFUNDED),
}


class ShopOrder(OrderSummary):
    """An order as a live shop lookup returns it, with the tags the platform has on its customer."""

    customer_tags: list[str] = Field(default_factory=list)


class VipRule(BaseModel):
    """When a customer counts as VIP: any one rule met is enough. `None` switches a rule off."""

    model_config = ConfigDict(frozen=True)

    min_lifetime_value: Decimal | None = Decimal(1000)
    min_order_count: int | None = 10
    tags: frozenset[str] = frozenset({"VIP"})


def woocommerce_order_state(status: str | None) -> tuple[str | None, DeliveryStatus | None]:
    """(financial status, delivery status) of a WooCommerce order status; custom statuses say nothing on delivery."""
    if status is None:
        return None, None
    return _WOOCOMMERCE_STATUSES.get(status, (status, None))


def _advance_delivery(current: str | None, proposed: DeliveryStatus | None) -> str | None:
    """Cancelled and refunded stick; otherwise an order only moves forward.

    Platforms keep sending order updates that say 'fulfilled' after the carrier reported 'delivered'.
    """
    if proposed is None:
        return current
    if current is None:
        return proposed.value
    current_status = DeliveryStatus(current)
    if current_status in _FINAL:
        return current
    if proposed in _FINAL:
        return proposed.value
    return max(current_status, proposed, key=_PROGRESS.__getitem__).value


# --- orders from the stored timeline -----------------------------------------------------------------


def _shopify_order_state(kind: str, details: dict[str, Any]) -> tuple[str | None, DeliveryStatus]:
    financial = details.get("financial_status")
    if kind == "order_cancelled" or "cancel_reason" in details:
        return financial, DeliveryStatus.CANCELLED
    if financial == "refunded":
        return financial, DeliveryStatus.REFUNDED
    if details.get("fulfillment_status") in ("fulfilled", "partial"):
        return financial, DeliveryStatus.IN_TRANSIT
    return financial, DeliveryStatus.UNFULFILLED


def _order_lines(details: dict[str, Any]) -> list[OrderLine] | None:
    items = [item for item in details.get("line_items", []) if isinstance(item, dict) and item.get("title")]
    return [OrderLine.model_validate(item) for item in items] or None


def _latest_tracking(details: dict[str, Any]) -> dict[str, Any]:
    found = [t for t in details.get("tracking", []) if isinstance(t, dict) and (t.get("number") or t.get("url"))]
    return found[-1] if found else {}


def _with_order_event(order: OrderSummary, event: TimelineEvent) -> OrderSummary:
    details = event.details
    if event.source == Channel.WOOCOMMERCE:
        financial, delivery = woocommerce_order_state(details.get("status"))
    else:
        financial, delivery = _shopify_order_state(event.kind, details)
    tracking = _latest_tracking(details)
    # An order payload reports delivery per fulfilment (orders/updated after the carrier's scan).
    delivered = tracking.get("shipment_status") == "delivered"
    if delivered:
        delivery = DeliveryStatus.DELIVERED
    update = {
        "placed_at": event.occurred_at if event.kind == "order_created" else order.placed_at,
        "delivered_at": order.delivered_at or (event.occurred_at if delivered else None),
        "financial_status": financial or order.financial_status,
        "delivery_status": _advance_delivery(order.delivery_status, delivery),
        "total": event.amount or order.total,
        "currency": event.currency or order.currency,
        "lines": _order_lines(details) or order.lines,
        "tracking_number": tracking.get("number", order.tracking_number),
        "tracking_url": tracking.get("url", order.tracking_url),
    }
    return order.model_copy(update=update)


def _with_fulfilment_event(order: OrderSummary, event: TimelineEvent) -> OrderSummary:
    details = event.details
    tracking = _latest_tracking(details)
    delivered = details.get("shipment_status") == "delivered"
    if delivered:
        delivery: DeliveryStatus | None = DeliveryStatus.DELIVERED
    elif details.get("status") in ("cancelled", "error", "failure"):
        delivery = None
    else:
        delivery = DeliveryStatus.IN_TRANSIT
    update = {
        "delivery_status": _advance_delivery(order.delivery_status, delivery),
        "delivered_at": event.occurred_at if delivered else order.delivered_at,
        "tracking_number": tracking.get("number", order.tracking_number),
        "tracking_url": tracking.get("url", order.tracking_url),
    }
    return order.model_copy(update=update)


def _decimal(value: str | None) -> Decimal | None:
    try:
        parsed = Decimal(value) if value is not None else None
    except InvalidOperation:
        return None
    return parsed if parsed is not None and parsed.is_finite() else None


def _with_refund_event(order: OrderSummary, event: TimelineEvent) -> OrderSummary:
    refunded, total = _decimal(event.amount), _decimal(order.total)
    if refunded is not None and total is not None and refunded < total:
        return order.model_copy(update={"financial_status": "partially_refunded"})
    update = {
        "financial_status": "refunded",
        "delivery_status": _advance_delivery(order.delivery_status, DeliveryStatus.REFUNDED),
    }
    return order.model_copy(update=update)


def _with_event(order: OrderSummary, event: TimelineEvent) -> OrderSummary:
    if event.kind in _ORDER_KINDS:
        return _with_order_event(order, event)
    if event.kind in _FULFILMENT_KINDS:
        return _with_fulfilment_event(order, event)
    return _with_refund_event(order, event)


def _is_order_event(event: TimelineEvent) -> bool:
    return event.source in _SHOP_SOURCES and (
        event.kind in _ORDER_KINDS or event.kind in _FULFILMENT_KINDS or event.kind == _REFUND_KIND
    )


def _order_reference(event: TimelineEvent, names: dict[tuple[Channel, str], str]) -> str | None:
    """Order events carry the order's name (#1001); fulfilments and refunds point at it by the platform's id."""
    if event.kind in _ORDER_KINDS:
        return event.reference
    order_id = event.details.get("order_id")
    return names.get((event.source, order_id)) or order_id or event.reference


def orders_from_timeline(events: Iterable[TimelineEvent]) -> list[OrderSummary]:
    """One summary per order (events of one order folded oldest first), newest order first."""
    chronological = sorted((e for e in events if _is_order_event(e)), key=lambda e: e.occurred_at)
    names = {
        (e.source, e.details["order_id"]): e.reference
        for e in chronological
        if e.kind in _ORDER_KINDS and e.reference and e.details.get("order_id")
    }
    by_order: dict[tuple[Channel, str], list[TimelineEvent]] = defaultdict(list)
    for event in chronological:
        reference = _order_reference(event, names)
        if reference:
            by_order[(event.source, reference)].append(event)
    orders = []
    for (source, reference), order_events in by_order.items():
        order = OrderSummary(reference=reference, source=source)
        for event in order_events:
            order = _with_event(order, event)
        orders.append(order)
    return _newest_first(orders)


def _newest_first(orders: Iterable[OrderSummary]) -> list[OrderSummary]:
    """Orders without a known creation time go last: they were placed before the desk heard of them."""
    return sorted(orders, key=lambda o: (o.placed_at is not None, o.placed_at or _EPOCH), reverse=True)


# --- the profile -------------------------------------------------------------------------------------


def _plain_order(order: OrderSummary) -> OrderSummary:
    return OrderSummary.model_validate(order.model_dump(include=set(OrderSummary.model_fields)))


def _merged_orders(stored: list[OrderSummary], live: Sequence[OrderSummary]) -> tuple[list[OrderSummary], str]:
    """Live orders replace stored ones of the same reference; also says where the orders came from."""
    live_references = {(order.source, order.reference) for order in live}
    kept = [order for order in stored if (order.source, order.reference) not in live_references]
    return _newest_first([*map(_plain_order, live), *kept]), "live+timeline" if kept else "live"


def _lifetime_value(orders: list[OrderSummary]) -> tuple[Decimal, str | None, list[str]]:
    """Sum of the orders the customer kept (not cancelled or refunded), in the most recent order's currency."""
    counted = [o for o in orders if o.delivery_status not in _FINAL and _decimal(o.total) is not None]
    priced = [o for o in counted if o.currency]
    if not priced:
        return Decimal(0), None, []
    currency = priced[0].currency
    same_currency = [o for o in priced if o.currency == currency]
    value = sum((Decimal(o.total or 0) for o in same_currency), Decimal(0))
    left_out = len(priced) - len(same_currency)
    if not left_out:
        return value, currency, []
    return value, currency, [f"lifetime value counts only {currency} orders; {left_out} in other currencies left out"]


def _vip_reasons(rule: VipRule, value: Decimal, currency: str | None, order_count: int, tags: set[str]) -> list[str]:
    reasons = []
    if rule.min_lifetime_value is not None and currency and value >= rule.min_lifetime_value:
        reasons.append(f"lifetime value {value} {currency} >= {rule.min_lifetime_value}")
    if rule.min_order_count is not None and order_count >= rule.min_order_count:
        reasons.append(f"{order_count} orders >= {rule.min_order_count}")
    wanted = {tag.casefold() for tag in rule.tags}
    reasons.extend(f"platform tag '{tag}'" for tag in sorted(tags) if tag.casefold() in wanted)
    return reasons


def _customer_tags(live: Sequence[OrderSummary]) -> set[str]:
    return {tag for order in live if isinstance(order, ShopOrder) for tag in order.customer_tags}


def _contacts_since(others: list[Ticket], since: datetime) -> int:
    """Tickets opened since then, plus the current contact (which a lagging index may not list yet)."""
    return 1 + sum(1 for ticket in others if ticket.created_at >= since)


def _past_contact(ticket: Ticket) -> PastContact:
    category = ticket.triage.category if ticket.triage else None
    return PastContact(ticket_id=ticket.id, opened_at=ticket.created_at, category=category, status=ticket.status)


def build_profile(
    customer_id: str,
    tickets: list[Ticket],
    events: list[TimelineEvent],
    now: datetime,
    vip_rule: VipRule,
    current_ticket_id: str,
    live_orders: Sequence[OrderSummary] | None = None,
    live_note: str | None = None,
) -> CustomerProfile:
    """The profile of a customer at `now`.

    `live_orders` (a successful shop lookup) replace stored orders of the same reference. `live_note`
    says why a lookup failed ("shopify timed out"); with no stored orders either, order data is
    marked unavailable.
    """
    others = sorted((t for t in tickets if t.id != current_ticket_id), key=lambda t: t.created_at, reverse=True)
    stored = orders_from_timeline(events)
    orders, order_data_source = (stored, "timeline") if live_orders is None else _merged_orders(stored, live_orders)
    value, currency, notes = _lifetime_value(orders)
    order_data_available = True
    if live_orders is None and live_note:
        if stored:
            notes.append(f"live order lookup failed ({live_note}); orders from the stored timeline")
        else:
            order_data_available = False
            notes.append(f"order data unavailable: {live_note}")
    vip_reasons = _vip_reasons(vip_rule, value, currency, len(orders), _customer_tags(live_orders or []))
    return CustomerProfile(
        customer_id=customer_id,
        contacts_last_7_days=_contacts_since(others, now - timedelta(days=7)),
        contacts_last_30_days=_contacts_since(others, now - timedelta(days=30)),
        past_contacts=[_past_contact(t) for t in others[:MAX_PAST_CONTACTS]],
        open_ticket_ids=[t.id for t in others if t.status in OPEN_STATUSES],
        orders=orders,
        order_count=len(orders),
        lifetime_value=str(value),
        currency=currency,
        vip=bool(vip_reasons),
        vip_reasons=vip_reasons,
        order_data_available=order_data_available,
        order_data_source=order_data_source,
        notes=notes,
    )
