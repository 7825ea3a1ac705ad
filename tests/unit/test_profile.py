"""The customer profile: contact windows, past contacts, orders folded from the timeline, value, VIP, fallback."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from supportpilot.identity import email_customer
from supportpilot.models import Channel, OrderSummary, Ticket, TicketStatus, TimelineEvent, TriageResult
from supportpilot.profile import MAX_PAST_CONTACTS, ShopOrder, VipRule, build_profile
from supportpilot.webhooks import SOURCES, WebhookEnvelope, get_source

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
DISPLAY_NAME = "Annemarie Jansen-de Vries"
CUSTOMER = email_customer("annemarie.jansen@example.nl", DISPLAY_NAME)
CURRENT = "T-CURRENT"
RULE = VipRule()
SAMPLES = Path(__file__).resolve().parents[2] / "events" / "receive_webhook"


def ticket(
    ticket_id: str, days_ago: float, status: TicketStatus = TicketStatus.RESOLVED, category: str | None = None
) -> Ticket:
    opened = NOW - timedelta(days=days_ago)
    triage = None
    if category:
        triage = TriageResult(
            category=category,
            confidence=0.9,
            language="nl",
            emotional_load=0.1,
            high_emotional_load=False,
            needs_human=False,
            model_name="keyword-baseline",
            model_version="1",
        )
    return Ticket(
        id=ticket_id,
        channel=Channel.EMAIL,
        customer=CUSTOMER,
        subject="Waar blijft mijn bestelling?",
        status=status,
        created_at=opened,
        updated_at=opened,
        triage=triage,
    )


def event(
    kind: str,
    days_ago: float,
    reference: str | None,
    source: Channel = Channel.SHOPIFY,
    amount: str | None = None,
    currency: str | None = None,
    **details: object,
) -> TimelineEvent:
    at = NOW - timedelta(days=days_ago)
    return TimelineEvent(
        customer_id=CUSTOMER.id,
        id=f"EV-{kind}-{reference}-{days_ago}",
        kind=kind,
        source=source,
        occurred_at=at,
        reference=reference,
        amount=amount,
        currency=currency,
        details=details,
    )


def placed(reference: str, days_ago: float, total: str, currency: str = "EUR", **details: object) -> TimelineEvent:
    order_id = f"45000{reference.lstrip('#')}"
    return event("order_created", days_ago, reference, amount=total, currency=currency, order_id=order_id, **details)


def profile(tickets=(), events=(), rule: VipRule = RULE, **live):
    return build_profile(CUSTOMER.id, list(tickets), list(events), NOW, rule, CURRENT, **live)


# --- contacts -------------------------------------------------------------------------------------------


def test_contact_windows_count_the_current_contact_and_earlier_tickets_inside_each_window():
    tickets = [
        ticket(CURRENT, 0),
        ticket("T1", 1),
        ticket("T2", 6.9),
        ticket("T3", 8),
        ticket("T4", 29),
        ticket("T5", 31),
    ]

    result = profile(tickets)

    assert result.contacts_last_7_days == 3
    assert result.contacts_last_30_days == 5


def test_the_third_contact_in_a_week_counts_as_three_even_before_the_index_lists_the_current_ticket():
    result = profile([ticket("T1", 2), ticket("T2", 4)])

    assert result.contacts_last_7_days == 3


def test_a_first_contact_counts_as_one():
    result = profile([ticket(CURRENT, 0)])

    assert (result.contacts_last_7_days, result.contacts_last_30_days) == (1, 1)
    assert result.past_contacts == []
    assert result.open_ticket_ids == []


def test_past_contacts_are_earlier_tickets_newest_first_with_category_and_status():
    tickets = [
        ticket("T-OLD", 40, TicketStatus.CLOSED, "refund"),
        ticket(CURRENT, 0, TicketStatus.NEW),
        ticket("T-RECENT", 2, TicketStatus.WAITING_ON_HUMAN, "order_status"),
        ticket("T-UNTRIAGED", 5, TicketStatus.NEW),
    ]

    result = profile(tickets)

    assert [(c.ticket_id, c.category, c.status) for c in result.past_contacts] == [
        ("T-RECENT", "order_status", TicketStatus.WAITING_ON_HUMAN),
        ("T-UNTRIAGED", None, TicketStatus.NEW),
        ("T-OLD", "refund", TicketStatus.CLOSED),
    ]
    assert result.open_ticket_ids == ["T-RECENT", "T-UNTRIAGED"]


def test_past_contacts_stop_at_twenty():
    tickets = [ticket(f"T{n:02d}", n) for n in range(1, 31)]

    result = profile(tickets)

    assert len(result.past_contacts) == MAX_PAST_CONTACTS
    assert [c.ticket_id for c in result.past_contacts][:2] == ["T01", "T02"]


# --- orders from the timeline ---------------------------------------------------------------------------


def test_events_of_one_order_merge_into_one_summary_with_tracking_and_delivery():
    events = [
        placed("#1001", 10, "129.00", line_items=[{"title": "Hiking jacket", "sku": "HJ-L", "quantity": 1}]),
        event("order_paid", 9.9, "#1001", Channel.SHOPIFY, "129.00", "EUR", order_id="450001001",
              financial_status="paid"),
        event(
            "fulfillment_created",
            8,
            "#1001.1",
            order_id="450001001",
            status="success",
            tracking=[{"company": "PostNL", "number": "3STEST01", "url": "https://tracking.example.com/3STEST01"}],
        ),
        event("fulfillment_updated", 6, "#1001.1", order_id="450001001", status="success", shipment_status="delivered"),
        # Shopify keeps sending order updates that only say "fulfilled" after the carrier said "delivered".
        event("order_updated", 5, "#1001", amount="129.00", currency="EUR", order_id="450001001",
              financial_status="paid", fulfillment_status="fulfilled"),
    ]  # fmt: skip

    result = profile(events=events)

    assert result.order_count == 1
    order = result.orders[0]
    assert order.reference == "#1001"
    assert order.placed_at == NOW - timedelta(days=10)
    assert order.financial_status == "paid"
    assert order.delivery_status == "delivered"
    assert order.delivered_at == NOW - timedelta(days=6)
    assert (order.tracking_number, order.tracking_url) == ("3STEST01", "https://tracking.example.com/3STEST01")
    assert [(line.title, line.sku) for line in order.lines] == [("Hiking jacket", "HJ-L")]
    assert (order.total, order.currency) == ("129.00", "EUR")


def test_delivery_status_follows_what_happened_to_each_order():
    events = [
        placed("#1001", 20, "10.00"),
        placed("#1002", 19, "20.00"),
        event("order_fulfilled", 18, "#1002", order_id="450001002", fulfillment_status="fulfilled"),
        placed("#1003", 17, "30.00"),
        event("order_cancelled", 16, "#1003", order_id="450001003", cancel_reason="customer"),
        placed("#1004", 15, "40.00"),
        event("refund_created", 14, "450001004", amount="40.00", currency="EUR", order_id="450001004"),
        placed("#1005", 13, "50.00"),
        event("refund_created", 12, "450001005", amount="5.00", currency="EUR", order_id="450001005"),
    ]

    statuses = {o.reference: (o.delivery_status, o.financial_status) for o in profile(events=events).orders}

    assert statuses == {
        "#1001": ("unfulfilled", None),
        "#1002": ("in_transit", None),
        "#1003": ("cancelled", None),
        "#1004": ("refunded", "refunded"),
        "#1005": ("unfulfilled", "partially_refunded"),
    }


def test_woocommerce_order_statuses_map_to_delivery_statuses():
    woo = Channel.WOOCOMMERCE
    events = [
        event("order_created", 9, "301", woo, "15.00", "EUR", order_id="301", status="processing"),
        event("order_created", 8, "302", woo, "25.00", "EUR", order_id="302", status="processing"),
        event("order_updated", 7, "302", woo, "25.00", "EUR", order_id="302", status="completed"),
        event("order_created", 6, "303", woo, "35.00", "EUR", order_id="303", status="processing"),
        event("refund_created", 5, "303", woo, "35.00", "EUR", order_id="303", status="refunded"),
    ]

    statuses = {o.reference: (o.delivery_status, o.financial_status) for o in profile(events=events).orders}

    assert statuses == {
        "301": ("unfulfilled", "paid"),
        "302": ("in_transit", "paid"),
        "303": ("refunded", "refunded"),
    }


def test_orders_are_newest_first_and_payment_events_without_an_order_are_not_orders():
    events = [
        placed("#1001", 30, "10.00"),
        placed("#1003", 2, "30.00"),
        placed("#1002", 15, "20.00"),
        event("dispute_created", 1, "ch_3TEST", Channel.STRIPE, "30.00", "EUR", reason="fraudulent"),
        event("charge_refunded", 1, "ch_3TEST", Channel.STRIPE, "30.00", "EUR"),
    ]

    result = profile(events=events)

    assert [o.reference for o in result.orders] == ["#1003", "#1002", "#1001"]


def _sample_events(*names: str) -> list[TimelineEvent]:
    events = []
    for name in names:
        sample = json.loads((SAMPLES / name).read_text())
        headers = {key.lower(): value for key, value in sample["headers"].items()}
        envelope = get_source(name.split("_")[0]).parse(sample["body"].encode(), headers, NOW)
        assert isinstance(envelope, WebhookEnvelope)
        events.extend(SOURCES[envelope.source].normalise(envelope).timeline_events)
    return events


def test_orders_from_the_sample_webhooks_as_ingest_stores_them():
    shopify = profile(events=_sample_events("shopify_orders_fulfilled.json"))
    woocommerce = profile(events=_sample_events("woocommerce_order_updated.json"))

    jacket = shopify.orders[0]
    assert (jacket.reference, jacket.delivery_status, jacket.tracking_number) == (
        "#1002",
        "in_transit",
        "3STEST0000000001",
    )
    assert (shopify.lifetime_value, shopify.currency) == ("129.00", "EUR")
    boots = woocommerce.orders[0]
    assert (boots.reference, boots.delivery_status) == ("1205", "refunded")
    assert woocommerce.lifetime_value == "0"


# --- lifetime value and VIP -----------------------------------------------------------------------------


def test_lifetime_value_sums_kept_orders_and_leaves_out_cancelled_ones():
    events = [
        placed("#1001", 30, "100.00"),
        placed("#1002", 20, "50.50"),
        placed("#1003", 10, "999.00"),
        event("order_cancelled", 9, "#1003", order_id="450001003", cancel_reason="customer"),
    ]

    result = profile(events=events)

    assert (result.lifetime_value, result.currency, result.order_count) == ("150.50", "EUR", 3)
    assert result.notes == []


def test_mixed_currencies_count_only_the_most_recent_orders_currency_and_say_so():
    events = [placed("#1001", 30, "100.00", "USD"), placed("#1002", 20, "40.00"), placed("#1003", 5, "60.00")]

    result = profile(events=events)

    assert (result.lifetime_value, result.currency) == ("100.00", "EUR")
    assert result.notes == ["lifetime value counts only EUR orders; 1 in other currencies left out"]


def test_vip_by_lifetime_value_says_why():
    events = [placed("#1001", 30, "1000.00"), placed("#1002", 5, "250.00")]

    result = profile(events=events)

    assert result.vip
    assert result.vip_reasons == ["lifetime value 1250.00 EUR >= 1000"]


def test_vip_by_order_count():
    events = [placed(f"#10{n:02d}", n, "5.00") for n in range(1, 4)]

    result = profile(events=events, rule=VipRule(min_lifetime_value=None, min_order_count=3))

    assert result.vip_reasons == ["3 orders >= 3"]


def test_vip_by_platform_tag_from_a_live_lookup_ignores_case():
    live = [ShopOrder(reference="#1001", source=Channel.SHOPIFY, placed_at=NOW, customer_tags=["vip", "newsletter"])]

    result = profile(live_orders=live)

    assert result.vip_reasons == ["platform tag 'vip'"]
    assert "customer_tags" not in result.model_dump()["orders"][0]


def test_no_rule_met_means_no_vip():
    result = profile(events=[placed("#1001", 3, "999.99")], rule=VipRule(min_lifetime_value=Decimal(1000)))

    assert (result.vip, result.vip_reasons) == (False, [])


# --- live orders and the fallback -----------------------------------------------------------------------


def test_live_orders_replace_stored_orders_of_the_same_reference():
    events = [placed("#1001", 30, "10.00"), placed("#1002", 3, "20.00")]
    live = [
        ShopOrder(reference="#1002", source=Channel.SHOPIFY, placed_at=NOW - timedelta(days=3), total="20.00",
                  currency="EUR", delivery_status="delivered", tracking_number="3STEST02"),
        ShopOrder(reference="#1003", source=Channel.SHOPIFY, placed_at=NOW - timedelta(days=1), total="30.00",
                  currency="EUR", delivery_status="unfulfilled"),
    ]  # fmt: skip

    result = profile(events=events, live_orders=live)

    assert [(o.reference, o.delivery_status) for o in result.orders] == [
        ("#1003", "unfulfilled"),
        ("#1002", "delivered"),
        ("#1001", "unfulfilled"),
    ]
    assert (result.order_count, result.lifetime_value) == (3, "60.00")
    assert result.order_data_source == "live+timeline"
    assert all(type(order) is OrderSummary for order in result.orders)


def test_only_live_orders_say_so():
    live = [ShopOrder(reference="#1001", source=Channel.SHOPIFY, placed_at=NOW, total="10.00", currency="EUR")]

    assert profile(live_orders=live).order_data_source == "live"


def test_a_failed_lookup_without_stored_orders_marks_order_data_unavailable():
    result = profile(live_orders=None, live_note="shopify timed out")

    assert result.order_data_available is False
    assert result.notes == ["order data unavailable: shopify timed out"]
    assert result.orders == []


def test_a_failed_lookup_falls_back_to_the_stored_timeline():
    result = profile(events=[placed("#1001", 3, "20.00")], live_note="woocommerce answered HTTP 500")

    assert result.order_data_available is True
    assert [o.reference for o in result.orders] == ["#1001"]
    assert result.order_data_source == "timeline"
    assert result.notes == ["live order lookup failed (woocommerce answered HTTP 500); orders from the stored timeline"]


def test_no_shop_platform_configured_is_not_unavailable_data():
    result = profile()

    assert (result.order_data_available, result.order_count, result.lifetime_value) == (True, 0, "0")


# --- privacy --------------------------------------------------------------------------------------------


def test_the_profile_holds_no_name_gender_or_age():
    tickets = [ticket(CURRENT, 0, TicketStatus.NEW), ticket("T1", 3, TicketStatus.RESOLVED, "refund")]
    events = [placed("#1001", 3, "20.00")]

    serialised = profile(tickets, events).model_dump_json()

    assert DISPLAY_NAME not in serialised
    assert "Annemarie" not in serialised
    assert CUSTOMER.value not in serialised
    keys = set(json.loads(serialised))
    assert not keys & {"name", "display_name", "first_name", "last_name", "gender", "age", "email"}
