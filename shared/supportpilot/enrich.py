"""Enrich stage: build the customer profile of a ticket from the timeline (and, optionally, the shop)."""

from collections.abc import Callable

from supportpilot.connectors import ShopConnector, lookup_orders
from supportpilot.envelopes import EnrichRequest, RouteRequest
from supportpilot.models import Actor, AuditEntry, CustomerProfile, utc_now
from supportpilot.ports import TicketStore, WorkQueue
from supportpilot.profile import VipRule, build_profile
from supportpilot.trends import ComplaintLog, complaints_of, is_complaint

ENRICH_ACTOR = Actor(kind="system", id="enrich")


class Enricher:
    def __init__(
        self,
        store: TicketStore,
        route_queue: WorkQueue,
        vip_rule: VipRule,
        shop_connector: Callable[[], ShopConnector | None] = lambda: None,
        complaints: ComplaintLog | None = None,
    ):
        """`complaints`: where complaint tickets are counted per SKU for the product-trend alerts."""
        self._store = store
        self._complaints = complaints
        self._route = route_queue
        self._vip_rule = vip_rule
        self._shop_connector = shop_connector

    def enrich(self, request: EnrichRequest) -> CustomerProfile:
        ticket = self._store.get_ticket(request.ticket_id)
        customer = ticket.customer
        live_orders, live_note = None, None
        if customer.kind == "email":
            live_orders, live_note = lookup_orders(self._shop_connector(), customer.value)
        profile = build_profile(
            customer.id,
            self._store.tickets_of_customer(customer.id),
            self._store.timeline(customer.id),
            utc_now(),
            self._vip_rule,
            ticket.id,
            live_orders,
            live_note,
        )
        audit = AuditEntry(
            actor=ENRICH_ACTOR,
            action="profile_built",
            detail={
                "contacts_last_7_days": profile.contacts_last_7_days,
                "orders": profile.order_count,
                "vip": profile.vip,
                "order_data_available": profile.order_data_available,
                "order_data_source": profile.order_data_source,
            },
        )
        enriched = ticket.model_copy(update={"profile": profile})
        self._store.save_ticket_fields(enriched, ["profile"], audit)
        if self._complaints is not None and is_complaint(enriched):
            message = self._store.get_message(ticket.id, request.message_id)
            self._complaints.record_complaints(complaints_of(enriched, f"{message.subject}\n{message.body}"))
        self._route.send(RouteRequest(ticket_id=ticket.id, message_id=request.message_id))
        return profile
