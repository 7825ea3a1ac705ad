"""Product-trend alerts: which product a ticket is about, the spike rule, no repeat, re-arm."""

from datetime import UTC, datetime, timedelta

import pytest

from supportpilot.models import Channel, CustomerProfile, OrderLine, OrderSummary
from supportpilot.notify.service import NotificationFailed
from supportpilot.trends import Complaint, SpikeAlert, SpikeRule, TrendAlerter, complaints_of, order_about
from tests.unit.test_insights import make_ticket

NOW = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)


class MemoryTrendStore:
    def __init__(self):
        self.complaints: dict[tuple[str, str], Complaint] = {}
        self.alerting: dict[str, SpikeAlert] = {}

    def record_complaints(self, complaints):
        self.complaints.update({(c.sku, c.ticket_id): c for c in complaints})

    def complaints_between(self, start, end, sku=None):
        return [c for c in self.complaints.values() if start <= c.at < end and sku in (None, c.sku)]

    def open_alert(self, alert):
        if alert.sku in self.alerting:
            return False
        self.alerting[alert.sku] = alert
        return True

    def close_alert(self, sku):
        self.alerting.pop(sku, None)

    def alerting_skus(self):
        return list(self.alerting)


class RecordingChannel:
    name = "slack"

    def __init__(self, fail: bool = False):
        self.texts: list[str] = []
        self.fail = fail

    def publish(self, text: str) -> None:
        if self.fail:
            raise NotificationFailed("chat webhook answered HTTP 500")
        self.texts.append(text)


def complaints(sku: str, count: int, start: datetime, spacing: timedelta, category="product_defect"):
    return [
        Complaint(
            ticket_id=f"T{sku}{start:%j}{n:04d}",
            sku=sku,
            title="Kettle 1.7 l",
            category=category,
            at=start + n * spacing,
        )
        for n in range(count)
    ]


@pytest.fixture
def desk():
    store, channel = MemoryTrendStore(), RecordingChannel()
    clock = {"now": NOW}
    alerter = TrendAlerter(
        store,
        store,
        lambda: [channel],
        SpikeRule(min_complaints=5, factor=3.0),
        "https://desk.example.com",
        clock=lambda: clock["now"],
    )
    return store, channel, alerter, clock


def test_a_sku_with_many_more_complaints_than_usual_alerts_the_product_team_once(desk):
    store, channel, alerter, clock = desk
    # usual: 7 complaints in 28 days (0.25 a day); today: 6 in the last 24 hours
    store.record_complaints(complaints("KET-17", 7, NOW - timedelta(days=28), timedelta(days=3)))
    store.record_complaints(complaints("KET-17", 6, NOW - timedelta(hours=20), timedelta(hours=3)))
    store.record_complaints(complaints("MUG-01", 2, NOW - timedelta(hours=5), timedelta(hours=1)))

    run = alerter.run()

    assert run.alerted == ["KET-17"]
    assert run.skus_checked == 2
    (text,) = channel.texts
    assert "KET-17 (Kettle 1.7 l)" in text
    assert "6 complaints in the last 24 h" in text
    assert "usual: 0.2 per 24 h" in text
    assert "https://desk.example.com/tickets/TKET-17" in text
    assert "@" not in text  # no customer addresses

    clock["now"] = NOW + timedelta(hours=1)
    again = alerter.run()
    assert again.alerted == [] and again.still_alerting == ["KET-17"]
    assert len(channel.texts) == 1, "no repeat while the spike lasts"


def test_the_alert_re_arms_when_the_spike_ends_and_fires_again_on_a_new_spike(desk):
    store, channel, alerter, clock = desk
    store.record_complaints(complaints("KET-17", 6, NOW - timedelta(hours=20), timedelta(hours=3)))
    assert alerter.run().alerted == ["KET-17"]

    clock["now"] = NOW + timedelta(days=1)  # the complaints left the 24-hour window
    ended = alerter.run()
    assert ended.rearmed == ["KET-17"] and store.alerting_skus() == []

    clock["now"] = NOW + timedelta(days=3)
    store.record_complaints(complaints("KET-17", 8, clock["now"] - timedelta(hours=10), timedelta(hours=1)))
    assert alerter.run().alerted == ["KET-17"]
    assert len(channel.texts) == 2


def test_a_steady_seller_with_complaints_at_its_usual_rate_does_not_alert(desk):
    store, channel, alerter, _ = desk
    # 6 a day for 28 days, 6 today: many complaints, but nothing unusual
    store.record_complaints(complaints("BEST-1", 168, NOW - timedelta(days=29), timedelta(hours=4)))
    store.record_complaints(complaints("BEST-1", 6, NOW - timedelta(hours=23), timedelta(hours=3)))
    assert alerter.run().alerted == []
    assert channel.texts == []


def test_fewer_complaints_than_the_minimum_never_alert(desk):
    store, _, alerter, _ = desk
    store.record_complaints(complaints("NEW-1", 4, NOW - timedelta(hours=4), timedelta(minutes=30)))
    assert alerter.run().alerted == []


def test_a_failed_notification_leaves_the_sku_armed_so_the_retry_alerts(desk):
    store, _, _, _ = desk
    store.record_complaints(complaints("KET-17", 6, NOW - timedelta(hours=20), timedelta(hours=3)))
    failing = TrendAlerter(
        store, store, lambda: [RecordingChannel(fail=True)], SpikeRule(), "https://x.example.com", clock=lambda: NOW
    )
    with pytest.raises(NotificationFailed):
        failing.run()
    assert store.alerting_skus() == []


ORDERS = [
    OrderSummary(
        reference="#1002",
        source=Channel.SHOPIFY,
        placed_at=NOW - timedelta(days=2),
        lines=[OrderLine(title="Mug", sku="MUG-01"), OrderLine(title="Mug", sku="MUG-01")],
    ),
    OrderSummary(
        reference="#1001",
        source=Channel.SHOPIFY,
        placed_at=NOW - timedelta(days=20),
        lines=[OrderLine(title="Kettle 1.7 l", sku="KET-17"), OrderLine(title="Gift card")],
    ),
]


def test_the_order_named_in_the_message_wins_over_the_newest_order():
    assert order_about(ORDERS, "Mijn waterkoker van bestelling 1001 lekt", NOW).reference == "#1001"
    assert order_about(ORDERS, "Re: order #1001", NOW).reference == "#1001"
    assert order_about(ORDERS, "it broke", NOW).reference == "#1002"
    assert order_about(ORDERS, "it broke", NOW + timedelta(days=200)) is None


def test_a_complaint_ticket_counts_each_sku_of_its_order_once_and_other_tickets_not_at_all():
    defect = make_ticket(NOW, "product_defect")
    defect = defect.model_copy(update={"profile": _profile(defect.customer.id)})
    (complaint,) = complaints_of(defect, "bestelling 1001 is kapot")
    assert (complaint.sku, complaint.title, complaint.category) == ("KET-17", "Kettle 1.7 l", "product_defect")
    assert [c.sku for c in complaints_of(defect, "broken")] == ["MUG-01"]
    question = make_ticket(NOW, "order_status").model_copy(update={"profile": _profile(defect.customer.id)})
    assert complaints_of(question, "bestelling 1001") == []


def _profile(customer_id):
    return CustomerProfile(customer_id=customer_id, orders=ORDERS, order_count=2)
