"""The routing policy: where a triaged ticket goes, how urgent it is, and what the machine may do."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supportpilot.models import (
    Channel,
    CustomerIdentity,
    CustomerProfile,
    OrderLine,
    OrderSummary,
    Ticket,
    TriageResult,
)
from supportpilot.routing import (
    PolicyInvalid,
    PolicyOverrideUnavailable,
    PolicyProblem,
    PolicySource,
    RoutingPolicy,
    decide,
    default_policy,
    validate_policy,
)
from supportpilot.triage.interface import CATEGORIES, OUT_OF_SCOPE

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
POLICY = default_policy()


def triage(category: str = "order_status", **changes: Any) -> TriageResult:
    values: dict[str, Any] = {
        "category": category,
        "confidence": 0.8,
        "language": "en",
        "emotional_load": 0.1,
        "high_emotional_load": False,
        "needs_human": False,
        "model_name": "keyword-baseline",
        "model_version": "1",
    }
    return TriageResult(**(values | changes))


def order(reference: str = "#1001", **changes: Any) -> OrderSummary:
    values: dict[str, Any] = {
        "reference": reference,
        "source": Channel.SHOPIFY,
        "placed_at": NOW - timedelta(days=3),
        "financial_status": "paid",
        "delivery_status": "in_transit",
        "total": "49.95",
        "currency": "EUR",
        "lines": [OrderLine(title="Kettle 1.7 l", sku="KT-17", price="49.95")],
    }
    return OrderSummary(**(values | changes))


def profile(*orders: OrderSummary, **changes: Any) -> CustomerProfile:
    values: dict[str, Any] = {
        "customer_id": "c-0001",
        "contacts_last_7_days": 1,
        "orders": list(orders),
        "order_count": len(orders),
        "lifetime_value": "49.95",
        "currency": "EUR",
    }
    return CustomerProfile(**(values | changes))


def vip_profile(*orders: OrderSummary) -> CustomerProfile:
    return profile(*orders, lifetime_value="1250.00", vip=False)


def tracked(**changes: Any) -> OrderSummary:
    return order(tracking_number="3SABC0000000001", tracking_url="https://track.example.com/3SABC0000000001", **changes)


# --- order status ----------------------------------------------------------------------------------------


def test_an_order_status_question_with_tracking_gets_an_automatic_reply():
    decision = decide(triage("order_status"), profile(tracked()), POLICY, NOW)

    assert decision.automation_level == "auto_reply"
    assert decision.auto_reply_template == "order_status_tracking"
    assert decision.priority == "P3"
    assert decision.queue == "general"
    assert decision.suggested_action is None
    assert decision.empathy_hint is None
    assert decision.policy_version == "2026-11-27.1"
    assert decision.decided_at == NOW
    assert any("#1001 has tracking" in reason for reason in decision.reasons)


def test_an_order_status_question_without_tracking_is_not_answered_by_the_machine():
    decision = decide(triage("order_status"), profile(order()), POLICY, NOW)

    assert decision.automation_level == "human_now"
    assert decision.auto_reply_template is None
    assert decision.priority == "P2"
    assert "no tracking number known for order #1001" in decision.reasons


def test_an_order_status_question_without_any_order_goes_to_a_person():
    decision = decide(triage("order_status"), profile(), POLICY, NOW)

    assert decision.automation_level == "human_now"
    assert "no order on file" in decision.reasons


def test_a_late_order_is_not_answered_automatically_even_with_tracking():
    late = tracked(placed_at=NOW - timedelta(days=12))

    decision = decide(triage("order_status"), profile(late), POLICY, NOW)

    assert decision.automation_level == "human_now"
    assert "order #1001 still in_transit 12 days after it was placed (late after 7 days)" in decision.reasons
    assert decision.suggested_action is None  # the coupon is for VIPs


def test_an_automatic_reply_needs_a_template_language():
    decision = decide(triage("order_status", language="und"), profile(tracked()), POLICY, NOW)

    assert decision.automation_level == "human_now"
    assert "no reply template in language und" in decision.reasons


def test_anything_that_flags_the_ticket_rules_out_the_automatic_reply():
    flagged = triage("order_status", needs_human=True, reasons=["message truncated for triage"])

    decision = decide(flagged, profile(tracked()), POLICY, NOW)

    assert decision.automation_level == "human_now"
    assert "triage: message truncated for triage" in decision.reasons
    assert decision.auto_reply_template is None


# --- returns ---------------------------------------------------------------------------------------------


def test_a_return_inside_the_window_is_suggested_for_approval():
    delivered = order(delivery_status="delivered", placed_at=NOW - timedelta(days=15), delivered_at=NOW - timedelta(12))

    decision = decide(triage("return_request"), profile(delivered), POLICY, NOW)

    assert decision.automation_level == "suggest"
    assert decision.queue == "returns"
    assert decision.priority == "P2"
    assert "return requested 12 days after delivery, inside the 30-day window" in decision.reasons
    action = decision.suggested_action
    assert action is not None and action.kind == "approve_return" and action.status == "proposed"
    assert action.parameters["order_reference"] == "#1001"
    assert action.parameters["measured_from"] == "delivered_at"
    assert action.parameters["lines"][0]["title"] == "Kettle 1.7 l"


def test_a_return_outside_the_window_goes_to_a_person():
    delivered = order(delivery_status="delivered", delivered_at=NOW - timedelta(days=45))

    decision = decide(triage("return_request"), profile(delivered), POLICY, NOW)

    assert decision.automation_level == "human_now"
    assert decision.queue == "returns"
    assert decision.suggested_action is None
    assert "return requested 45 days after delivery, outside the 30-day window" in decision.reasons


def test_a_return_without_a_delivery_date_is_measured_from_the_order_date_and_says_so():
    delivered = order(delivery_status="delivered", placed_at=NOW - timedelta(days=20), delivered_at=None)

    decision = decide(triage("return_request"), profile(delivered), POLICY, NOW)

    assert decision.automation_level == "suggest"
    assert decision.suggested_action is not None
    assert decision.suggested_action.parameters["measured_from"] == "placed_at"
    assert (
        "return requested 20 days after the order was placed (delivery date unknown), inside the 30-day window"
        in decision.reasons
    )


def test_the_return_window_comes_from_the_policy():
    delivered = order(delivery_status="delivered", delivered_at=NOW - timedelta(days=20))
    strict = with_changes(thresholds={"return_window_days": 14})

    decision = decide(triage("return_request"), profile(delivered), strict, NOW)

    assert decision.automation_level == "human_now"
    assert "return requested 20 days after delivery, outside the 14-day window" in decision.reasons


def test_a_return_of_an_undelivered_order_goes_to_a_person():
    decision = decide(triage("return_request"), profile(order()), POLICY, NOW)

    assert decision.automation_level == "human_now"
    assert decision.suggested_action is None


# --- defects, billing ------------------------------------------------------------------------------------


def test_a_defect_is_suggested_as_a_handoff_to_technical_support_with_product_and_order():
    delivered = order(delivery_status="delivered", delivered_at=NOW - timedelta(days=40))

    decision = decide(triage("product_defect"), profile(delivered), POLICY, NOW)

    assert decision.automation_level == "suggest"
    assert decision.queue == "technical_support"
    action = decision.suggested_action
    assert action is not None and action.kind == "handoff_technical_support"
    assert action.parameters["order"]["reference"] == "#1001"
    assert action.parameters["order"]["delivery_status"] == "delivered"
    assert action.parameters["products"] == [{"title": "Kettle 1.7 l", "sku": "KT-17", "quantity": 1, "price": "49.95"}]
    assert "Kettle 1.7 l" in action.summary


def test_a_double_charge_with_two_identical_paid_orders_is_suggested_for_correction():
    first = order("#1001", placed_at=NOW - timedelta(days=2, minutes=3))
    second = order("#1002", placed_at=NOW - timedelta(days=2))
    claim = triage("billing_error", explanation="matched: 'charged me twice'")

    decision = decide(claim, profile(second, first), POLICY, NOW)

    assert decision.automation_level == "suggest"
    assert decision.queue == "billing"
    action = decision.suggested_action
    assert action is not None and action.kind == "correct_double_charge"
    assert action.parameters["order_references"] == ["#1001", "#1002"]
    assert any("same amount 49.95 EUR" in reason for reason in decision.reasons)


def test_a_double_charge_recorded_in_the_profile_notes_is_suggested_for_correction():
    claim = triage("billing_error", explanation="matched: 'dubbel afgeschreven'")
    noted = profile(order(), notes=["Stripe: Duplicate payment captured for the latest order"])

    decision = decide(claim, noted, POLICY, NOW)

    assert decision.automation_level == "suggest"
    assert decision.suggested_action is not None
    assert decision.suggested_action.parameters["order_references"] == ["#1001"]


def test_a_double_charge_without_payment_evidence_goes_to_a_person():
    claim = triage("billing_error", explanation="matched: 'charged me twice'")
    apart = [order("#1001", placed_at=NOW - timedelta(days=9)), order("#1002", placed_at=NOW - timedelta(days=2))]

    decision = decide(claim, profile(*apart), POLICY, NOW)

    assert decision.automation_level == "human_now"
    assert decision.queue == "billing"
    assert decision.suggested_action is None
    assert "no payment evidence of a double charge" in decision.reasons


# --- people right away -----------------------------------------------------------------------------------


def test_a_vip_with_a_late_order_gets_a_person_now_with_a_coupon_suggestion():
    late = tracked(delivery_status="unfulfilled", placed_at=NOW - timedelta(days=10))

    decision = decide(triage("order_status"), vip_profile(late), POLICY, NOW)

    assert decision.automation_level == "human_now"
    assert decision.priority == "P1"
    assert decision.auto_reply_template is None
    assert "VIP: lifetime value 1250.00 EUR >= 1000" in decision.reasons
    assert "late order for a VIP: coupon offer prepared" in decision.reasons
    action = decision.suggested_action
    assert action is not None and action.kind == "offer_coupon"
    assert action.parameters == {
        "order_reference": "#1001",
        "coupon_percent": 10,
        "days_since_placed": 10,
        "delivery_status": "unfulfilled",
    }
    assert "VIP" in decision.context_summary.split(" · ")


def test_a_vip_marked_by_the_profile_always_gets_a_person():
    marked = profile(tracked(), vip=True, vip_reasons=["12 orders in the last year"])

    decision = decide(triage("order_status"), marked, POLICY, NOW)

    assert decision.automation_level == "human_now"
    assert decision.priority == "P1"
    assert "VIP: 12 orders in the last year" in decision.reasons


def test_an_angry_third_contact_gets_a_person_now_with_an_empathy_hint_and_both_reasons():
    angry = triage(
        "order_status",
        emotional_load=0.85,
        high_emotional_load=True,
        cues=["anger", "repeat contact"],
        needs_human=True,
        reasons=["high emotional load"],
    )
    late = tracked(placed_at=NOW - timedelta(days=9))

    decision = decide(angry, profile(late, contacts_last_7_days=3), POLICY, NOW)

    assert decision.automation_level == "human_now"
    assert decision.priority == "P1"
    assert "high emotional load 0.85 (anger, repeat contact)" in decision.reasons
    assert "3 contacts in the last 7 days" in decision.reasons
    assert "triage: high emotional load" not in decision.reasons  # said once, by routing
    assert decision.empathy_hint is not None
    assert decision.empathy_hint.startswith("This customer is irritated about a late delivery")
    assert "write several times" in decision.empathy_hint


def test_the_empathy_hint_names_the_cause_per_category_and_cue():
    upset = {"emotional_load": 0.7, "high_emotional_load": True}
    defect = decide(triage("product_defect", **upset, cues=["threat: legal action"]), profile(order()), POLICY, NOW)
    billing = decide(triage("billing_error", **upset, cues=["insult"]), profile(order()), POLICY, NOW)

    assert defect.empathy_hint is not None and billing.empathy_hint is not None
    assert "product failed" in defect.empathy_hint and "legal steps" in defect.empathy_hint
    assert "overcharged" in billing.empathy_hint and "harsh" in billing.empathy_hint
    assert defect.automation_level == billing.automation_level == "human_now"


def test_an_escalating_cue_alone_counts_as_high_emotional_load():
    threat = triage("refund", emotional_load=0.35, cues=["threat: chargeback"])

    decision = decide(threat, profile(order()), POLICY, NOW)

    assert decision.priority == "P1"
    assert decision.empathy_hint is not None and "chargeback" in decision.empathy_hint


@pytest.mark.parametrize(
    "result",
    [
        triage(
            OUT_OF_SCOPE,
            confidence=0.0,
            needs_human=True,
            reasons=["low confidence", "out of scope: no known topic recognised"],
        ),
        triage("return_request", confidence=0.2, needs_human=True, reasons=["low confidence"]),
    ],
    ids=["out of scope", "low confidence"],
)
def test_out_of_scope_or_low_confidence_goes_to_a_person_in_the_general_queue(result):
    delivered = order(delivery_status="delivered", delivered_at=NOW - timedelta(days=2))

    decision = decide(result, profile(delivered), POLICY, NOW)

    assert decision.automation_level == "human_now"
    assert decision.queue == "general"
    assert decision.suggested_action is None
    assert decision.priority == "P2"
    assert any(reason.startswith(("out of scope", "low confidence")) for reason in decision.reasons)
    assert not any(reason.startswith("triage: ") for reason in decision.reasons)


def test_a_privacy_request_goes_to_the_privacy_queue_now_with_its_legal_deadline():
    privacy = triage(
        "privacy_request", language="nl", needs_human=True, reasons=["privacy request: handled by a person"]
    )

    decision = decide(privacy, profile(), POLICY, NOW)

    assert decision.queue == "privacy"
    assert decision.automation_level == "human_now"
    assert decision.priority == "P1"
    assert "privacy request: legal deadline 30 days, answer by 2026-12-27" in decision.reasons


def test_a_privacy_signal_in_another_category_still_goes_to_the_privacy_queue():
    account = triage("account", needs_human=True, reasons=["privacy request: handled by a person"])

    assert decide(account, profile(), POLICY, NOW).queue == "privacy"


def test_an_unsupported_language_goes_to_a_person():
    french = triage("order_status", language="fr", needs_human=True, reasons=["unsupported language: fr"])

    decision = decide(french, profile(tracked()), POLICY, NOW)

    assert decision.automation_level == "human_now"
    assert "unsupported language: fr (supported: nl, en)" in decision.reasons
    assert "triage: unsupported language: fr" not in decision.reasons


def test_three_contacts_in_a_week_go_to_a_person():
    decision = decide(triage("order_status"), profile(tracked(), contacts_last_7_days=3), POLICY, NOW)

    assert decision.automation_level == "human_now"
    assert "3 contacts in the last 7 days" in decision.reasons
    assert decision.empathy_hint is None  # calm, so no hint


def test_the_context_summary_gives_the_operator_the_essentials_in_one_line():
    decision = decide(triage("order_status", language="nl"), profile(order(), contacts_last_7_days=2), POLICY, NOW)

    assert decision.context_summary == (
        "order_status (nl) · order #1001 in_transit, placed 3 days ago · 2 contacts in 7 days · not VIP"
        " · wants: to know where the order is"
    )


# --- fairness --------------------------------------------------------------------------------------------


NAME_LIKE_FIELDS = {"name", "display_name", "first_name", "last_name", "full_name", "gender", "age", "birth_date"}


def test_the_profile_holds_no_name_gender_or_age():
    assert not NAME_LIKE_FIELDS & set(CustomerProfile.model_fields)
    assert not NAME_LIKE_FIELDS & set(TriageResult.model_fields)


def test_decisions_do_not_depend_on_the_customers_name():
    def ticket_of(display_name: str, address: str) -> Ticket:
        return Ticket(
            id="01JD0000000000000000000000",
            channel=Channel.EMAIL,
            customer=CustomerIdentity(id=f"c-{address}", kind="email", value=address, display_name=display_name),
            created_at=NOW,
            updated_at=NOW,
            triage=triage("return_request", emotional_load=0.7, high_emotional_load=True, cues=["anger"]),
            profile=vip_profile(order(delivery_status="delivered", delivered_at=NOW - timedelta(days=5))).model_copy(
                update={"customer_id": f"c-{address}"}
            ),
        )

    first = ticket_of("Anna de Vries", "anna.devries@example.nl")
    second = ticket_of("Mohammed El Amrani", "m.elamrani@example.com")
    assert first.customer != second.customer and first.profile != second.profile

    assert decide(first.triage, first.profile, POLICY, NOW) == decide(second.triage, second.profile, POLICY, NOW)


# --- the policy document ---------------------------------------------------------------------------------


def policy_document(**changes: Any) -> dict[str, Any]:
    document = POLICY.model_dump(mode="json")
    for key, value in changes.items():
        document[key] = document[key] | value if isinstance(value, dict) else value
    return document


def with_changes(**changes: Any) -> RoutingPolicy:
    return validate_policy(json.dumps(policy_document(**changes)))


def test_the_packaged_policy_is_valid_and_versioned():
    assert POLICY.version == "2026-11-27.1"
    assert set(CATEGORIES) | {OUT_OF_SCOPE} <= set(POLICY.categories)
    assert validate_policy(json.dumps(policy_document())) == POLICY


@pytest.mark.parametrize(
    ("document", "named"),
    [
        (policy_document(thresholds={"return_window_days": 0}), "thresholds.return_window_days"),
        (policy_document(priorities={"vip": "P0"}), "priorities.vip"),
        (policy_document(version="latest"), "version"),
        ({k: v for k, v in policy_document().items() if k != "fallback"}, "fallback"),
        (policy_document(categories={"refund": {"queue": "finance"}}), "categories.refund.queue"),
        (policy_document(surprise=True), "surprise"),
        (
            policy_document(automation={"late_order_categories": ["order_status", "shipping"]}),
            "automation.late_order_categories",
        ),
    ],
)
def test_an_invalid_policy_is_rejected_naming_the_field(document, named):
    with pytest.raises(PolicyInvalid, match=named.replace(".", r"\.")):
        validate_policy(json.dumps(document))


def test_a_policy_that_is_not_json_is_rejected_clearly():
    with pytest.raises(PolicyInvalid, match="routing policy is invalid: Invalid JSON"):
        validate_policy('{"version": ')


# --- the policy in force ---------------------------------------------------------------------------------


class FakeOverrides:
    def __init__(self, text: str | None = None):
        self.text = text
        self.failure: Exception | None = None
        self.reads = 0

    def fetch_override(self) -> str | None:
        self.reads += 1
        if self.failure:
            raise self.failure
        return self.text


class FakeClock:
    def __init__(self):
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def source_with(overrides: FakeOverrides, problems: list[PolicyProblem]) -> tuple[PolicySource, FakeClock]:
    clock = FakeClock()
    return PolicySource(overrides, on_problem=problems.append, max_age_seconds=60, clock=clock), clock


def stricter_policy_text() -> str:
    return json.dumps(policy_document(version="2026-11-28.1", thresholds={"return_window_days": 10}))


def test_without_an_override_the_packaged_policy_is_in_force():
    problems: list[PolicyProblem] = []
    source, _ = source_with(FakeOverrides(None), problems)

    assert source.current() == POLICY
    assert PolicySource().current() == POLICY
    assert problems == []


def test_a_valid_override_changes_decisions_once_the_cache_expires():
    overrides, problems = FakeOverrides(None), []
    source, clock = source_with(overrides, problems)
    delivered = order(delivery_status="delivered", delivered_at=NOW - timedelta(days=20))
    route = lambda: decide(triage("return_request"), profile(delivered), source.current(), NOW)  # noqa: E731
    assert route().automation_level == "suggest"

    overrides.text = stricter_policy_text()
    clock.seconds += 59
    assert route().automation_level == "suggest"  # still cached
    clock.seconds += 1
    changed = route()

    assert changed.automation_level == "human_now"
    assert changed.policy_version == "2026-11-28.1"
    assert overrides.reads == 2
    assert problems == []


def test_an_invalid_override_keeps_the_previous_policy_and_reports_the_error():
    overrides, problems = FakeOverrides(stricter_policy_text()), []
    source, clock = source_with(overrides, problems)
    assert source.current().version == "2026-11-28.1"

    overrides.text = json.dumps(policy_document(version="2026-11-29.1", thresholds={"late_order_days": -1}))
    clock.seconds += 60

    assert source.current().version == "2026-11-28.1"
    (problem,) = problems
    assert problem.kind == "override_invalid"
    assert "thresholds.late_order_days" in problem.message
    assert problem.version_in_force == "2026-11-28.1"


def test_an_unreadable_override_store_keeps_the_policy_and_reports_it_without_raising():
    overrides, problems = FakeOverrides(), []
    overrides.failure = PolicyOverrideUnavailable("SSM get_parameter failed (ThrottlingException)")
    source, _ = source_with(overrides, problems)

    assert source.current() == POLICY
    assert [problem.kind for problem in problems] == ["override_unavailable"]


def test_a_failing_problem_reporter_does_not_reach_the_handler():
    def broken_reporter(problem: PolicyProblem) -> None:
        raise RuntimeError("metrics down")

    source = PolicySource(FakeOverrides("not json"), on_problem=broken_reporter)

    assert source.current() == POLICY


def test_removing_the_override_brings_back_the_packaged_policy():
    overrides, problems = FakeOverrides(stricter_policy_text()), []
    source, clock = source_with(overrides, problems)
    assert source.current().version == "2026-11-28.1"

    overrides.text = None
    clock.seconds += 60

    assert source.current() == POLICY


# --- properties ------------------------------------------------------------------------------------------

moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
naive_or_aware = st.one_of(st.none(), moments, st.datetimes(min_value=datetime(1990, 1, 1)))
some_text = st.text(max_size=20)
amounts = st.one_of(st.none(), st.decimals(allow_nan=True).map(str), some_text)
orders = st.builds(
    OrderSummary,
    reference=some_text,
    source=st.sampled_from(Channel),
    placed_at=naive_or_aware,
    financial_status=st.one_of(st.none(), st.sampled_from(["paid", "authorized", "refunded"]), some_text),
    delivery_status=st.one_of(st.none(), st.sampled_from(["unfulfilled", "in_transit", "delivered"]), some_text),
    delivered_at=naive_or_aware,
    tracking_number=st.one_of(st.none(), some_text),
    total=amounts,
    currency=st.one_of(st.none(), st.sampled_from(["EUR", "USD"])),
    lines=st.lists(st.builds(OrderLine, title=some_text), max_size=3),
)
profiles = st.builds(
    CustomerProfile,
    customer_id=some_text,
    contacts_last_7_days=st.integers(0, 50),
    orders=st.lists(orders, max_size=5),
    order_count=st.integers(0, 500),
    lifetime_value=st.one_of(st.decimals(allow_nan=True).map(str), some_text),
    currency=st.one_of(st.none(), st.just("EUR")),
    vip=st.booleans(),
    vip_reasons=st.lists(some_text, max_size=2),
    order_data_available=st.booleans(),
    notes=st.lists(st.one_of(some_text, st.just("duplicate payment")), max_size=3),
)
known_cues = ["anger", "insult", "despair", "repeat contact", "threat: chargeback", "capitals", "3 contacts in 7 days"]
triages = st.builds(
    TriageResult,
    category=st.one_of(st.sampled_from([*CATEGORIES, OUT_OF_SCOPE]), some_text),
    confidence=st.floats(0, 1),
    language=st.one_of(st.sampled_from(["nl", "en", "und", "fr"]), some_text),
    emotional_load=st.floats(0, 1),
    high_emotional_load=st.booleans(),
    cues=st.lists(st.one_of(st.sampled_from(known_cues), some_text), max_size=4),
    needs_human=st.booleans(),
    reasons=st.lists(st.one_of(st.sampled_from(["low confidence", "high emotional load"]), some_text), max_size=3),
    model_name=st.just("keyword-baseline"),
    model_version=st.just("1"),
    explanation=st.one_of(st.just("matched: 'charged twice'"), some_text),
)


@settings(max_examples=300, deadline=None)
@given(triage_result=triages, customer=profiles, now=moments)
def test_decide_never_raises_and_always_gives_one_level_with_a_reason(triage_result, customer, now):
    decision = decide(triage_result, customer, POLICY, now)

    assert decision.automation_level in {"auto_reply", "suggest", "human_now"}
    assert decision.reasons and all(decision.reasons)
    assert (decision.auto_reply_template is not None) == (decision.automation_level == "auto_reply")
    if decision.automation_level == "suggest":
        assert decision.suggested_action is not None
    if triage_result.needs_human or customer.vip:
        assert decision.automation_level == "human_now"
