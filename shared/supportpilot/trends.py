"""Product-trend alerts: complaints per SKU in the last 24 hours against the 28 days before.

Which product a ticket is about: the enrich stage knows the customer's orders (timeline events from
Shopify or WooCommerce, or a live lookup), each with lines and SKUs. The ticket is about
1. the order whose reference (e.g. `#1001` or `1001`) appears in the ticket's subject or message, else
2. the customer's newest order placed before the ticket, at most `RECENT_ORDER_DAYS` earlier, else
3. no order: the ticket is not counted.
Every distinct SKU on that order counts once for the ticket (a customer rarely names the line; a
spike needs many tickets sharing a SKU, so co-ordered SKUs seldom cross the threshold together).

Counting is cheap and idempotent: the enrich stage writes one small item per (ticket, SKU) into a
partition per day, so a redelivery overwrites instead of counting twice and the hourly job reads
only the day partitions it needs (no table scan). A state item per alerting SKU, written with a
condition, keeps an alert from repeating while the spike lasts; it is removed (re-armed) when the
spike ends.
"""

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from supportpilot import desk_metrics
from supportpilot.models import OrderSummary, Ticket, utc_now
from supportpilot.notify.service import NotificationFailed, TeamChannel, publish_alert
from supportpilot.regex_store import compiled

COMPLAINT_CATEGORIES = frozenset({"product_defect", "delivery_problem", "return_request"})
RECENT_ORDER_DAYS = 90
MAX_EXAMPLES = 5
_REFERENCE_TOKEN = compiled(r"#?([0-9A-Za-z][0-9A-Za-z-]{2,})")


class Complaint(BaseModel):
    """One complaint ticket about one SKU. No customer data: ids, product and category only."""

    ticket_id: str
    sku: str
    title: str | None = None
    category: str
    at: datetime  # when the ticket was opened


class SpikeRule(BaseModel):
    """A spike: at least `min_complaints` in the window and at least `factor` times the baseline,
    the average per window over the `baseline_days` before it."""

    model_config = ConfigDict(frozen=True)

    min_complaints: int = Field(default=5, ge=1)
    factor: float = Field(default=3.0, ge=1)
    window_hours: int = Field(default=24, ge=1)
    baseline_days: int = Field(default=28, ge=1)

    def baseline_per_window(self, baseline_count: int) -> float:
        return baseline_count / (self.baseline_days * 24 / self.window_hours)

    def is_spike(self, count: int, baseline_count: int) -> bool:
        return count >= self.min_complaints and count >= self.factor * self.baseline_per_window(baseline_count)


class SpikeAlert(BaseModel):
    sku: str
    title: str | None
    complaints: int
    baseline_per_window: float
    by_category: dict[str, int]
    example_ticket_ids: list[str]
    window_hours: int
    baseline_days: int
    detected_at: datetime


class TrendRun(BaseModel):
    """What one run did; safe to log."""

    skus_checked: int
    alerted: list[str]
    still_alerting: list[str]
    rearmed: list[str]


class ComplaintLog(Protocol):
    def record_complaints(self, complaints: Sequence[Complaint]) -> None: ...
    def complaints_between(self, start: datetime, end: datetime, sku: str | None = None) -> list[Complaint]:
        """Complaints opened in [start, end), of one SKU or all."""
        ...


class AlertState(Protocol):
    def open_alert(self, alert: SpikeAlert) -> bool:
        """Marks the SKU as alerting; False when it was already (conditional write)."""
        ...

    def close_alert(self, sku: str) -> None: ...
    def alerting_skus(self) -> list[str]: ...


# ---------- from a ticket to its complaints ----------
def _plain(reference: str) -> str:
    return reference.lstrip("#").casefold()


def order_about(orders: Sequence[OrderSummary], text: str, opened_at: datetime) -> OrderSummary | None:
    """The order a ticket is about (see the module's rule). `orders` are newest first."""
    named = {_plain(token) for token in _REFERENCE_TOKEN.findall(text)}
    for order in orders:
        if _plain(order.reference) in named:
            return order
    earliest = opened_at - timedelta(days=RECENT_ORDER_DAYS)
    placed = [o for o in orders if o.placed_at is not None and earliest <= o.placed_at <= opened_at]
    return max(placed, key=lambda o: o.placed_at or opened_at) if placed else None


def is_complaint(ticket: Ticket) -> bool:
    return ticket.triage is not None and ticket.triage.category in COMPLAINT_CATEGORIES


def complaints_of(ticket: Ticket, message_text: str) -> list[Complaint]:
    if not is_complaint(ticket) or ticket.profile is None or ticket.triage is None:
        return []
    order = order_about(ticket.profile.orders, f"{ticket.subject}\n{message_text}", ticket.created_at)
    if order is None:
        return []
    titles: dict[str, str | None] = {}
    for line in order.lines:
        if line.sku and line.sku.strip():
            titles.setdefault(line.sku.strip(), line.title)
    return [
        Complaint(ticket_id=ticket.id, sku=sku, title=title, category=ticket.triage.category, at=ticket.created_at)
        for sku, title in titles.items()
    ]


# ---------- the hourly job ----------
def alert_text(alert: SpikeAlert, desk_url: str) -> str:
    """SKU, product title, counts and ticket ids: never a customer or a message."""
    product = f"{alert.sku} ({alert.title})" if alert.title else alert.sku
    kinds = ", ".join(f"{category} {count}" for category, count in sorted(alert.by_category.items()))
    return "\n".join(
        [
            f"SupportPilot: complaints about {product} are rising",
            f"{alert.complaints} complaints in the last {alert.window_hours} h; usual: "
            f"{alert.baseline_per_window:.1f} per {alert.window_hours} h (previous {alert.baseline_days} days)",
            f"By kind: {kinds}",
            "Example tickets: "
            + ", ".join(f"{desk_url.rstrip('/')}/tickets/{ticket_id}" for ticket_id in alert.example_ticket_ids),
            "You hear about this SKU again after the spike has ended.",
        ]
    )


class TrendAlerter:
    def __init__(
        self,
        log: ComplaintLog,
        state: AlertState,
        channels: Callable[[], Sequence[TeamChannel]],
        rule: SpikeRule,
        desk_url: str,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._log = log
        self._state = state
        self._channels = channels
        self._rule = rule
        self._desk_url = desk_url
        self._clock = clock

    def spikes(self, now: datetime) -> tuple[int, list[SpikeAlert]]:
        """How many SKUs had complaints in the window, and the ones that spike."""
        window_start = now - timedelta(hours=self._rule.window_hours)
        baseline_start = window_start - timedelta(days=self._rule.baseline_days)
        recent: dict[str, list[Complaint]] = defaultdict(list)
        for complaint in self._log.complaints_between(window_start, now):
            recent[complaint.sku].append(complaint)
        alerts = []
        for sku, complaints in sorted(recent.items()):
            tickets = {c.ticket_id: c for c in complaints}  # one per ticket, whatever was stored
            if len(tickets) < self._rule.min_complaints:
                continue
            baseline = len({c.ticket_id for c in self._log.complaints_between(baseline_start, window_start, sku)})
            if not self._rule.is_spike(len(tickets), baseline):
                continue
            newest = sorted(tickets.values(), key=lambda c: c.at, reverse=True)
            alerts.append(
                SpikeAlert(
                    sku=sku,
                    title=next((c.title for c in newest if c.title), None),
                    complaints=len(tickets),
                    baseline_per_window=round(self._rule.baseline_per_window(baseline), 2),
                    by_category=dict(Counter(c.category for c in tickets.values())),
                    example_ticket_ids=[c.ticket_id for c in newest[:MAX_EXAMPLES]],
                    window_hours=self._rule.window_hours,
                    baseline_days=self._rule.baseline_days,
                    detected_at=now,
                )
            )
        return len(recent), alerts

    def run(self) -> TrendRun:
        checked, alerts = self.spikes(self._clock())
        alerted, still = [], []
        for alert in alerts:
            if not self._state.open_alert(alert):
                still.append(alert.sku)
                continue
            try:
                publish_alert(list(self._channels()), alert_text(alert, self._desk_url), audience="product-team")
            except NotificationFailed:
                self._state.close_alert(alert.sku)  # so the retry alerts again
                raise
            desk_metrics.record(desk_metrics.TREND_ALERTS)
            alerted.append(alert.sku)
        spiking = {alert.sku for alert in alerts}
        rearmed = [sku for sku in self._state.alerting_skus() if sku not in spiking]
        for sku in rearmed:
            self._state.close_alert(sku)
        return TrendRun(skus_checked=checked, alerted=alerted, still_alerting=still, rearmed=rearmed)
