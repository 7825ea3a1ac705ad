"""Routing: a ticket's triage and customer profile, under a policy, become one `RoutingDecision`.

`decide` is pure and fast: no I/O, no clock of its own (the caller passes `now`), and it never raises
for a valid triage and profile. It never reads name, gender or age; the profile holds none of them.

The automation level follows from two lists. Escalations (VIP, high emotional load, repeat contacts,
privacy, unsupported language, low confidence, anything triage flagged) always mean `human_now`.
Otherwise the category's automation rule decides: a prepared action means `suggest`, a template the
machine can fill with facts it holds means `auto_reply`, and neither means `human_now`. A prepared
action stays attached when a person is needed anyway.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from supportpilot.models import (
    AutomationLevel,
    CustomerProfile,
    OrderSummary,
    Priority,
    RoutingDecision,
    SuggestedAction,
    TeamQueue,
    TriageResult,
)
from supportpilot.routing.policy import CategoryPolicy, RoutingPolicy
from supportpilot.triage.interface import (
    OUT_OF_SCOPE,
    REASON_HIGH_EMOTIONAL_LOAD,
    REASON_LOW_CONFIDENCE,
    REASON_OUT_OF_SCOPE,
    REASON_PRIVACY,
    fold_text,
    unsupported_language_reason,
)

AUTO_REPLY_TRACKING_TEMPLATE = "order_status_tracking"
# The triage cue for a customer saying they wrote before; a profile over the threshold counts the same.
REPEAT_CONTACT_CUE = "repeat contact"


@dataclass(frozen=True)
class LateOrder:
    order: OrderSummary
    days_since_placed: int


@dataclass(frozen=True)
class Situation:
    """The facts one decision rests on, read once from triage, profile and policy."""

    triage: TriageResult
    profile: CustomerProfile
    policy: RoutingPolicy
    now: datetime
    rules: CategoryPolicy
    vip_reasons: list[str]
    high_emotional_load: bool
    repeat_contacts: bool
    privacy_request: bool
    unsupported_language: bool
    low_confidence: bool
    late_order: LateOrder | None

    @property
    def latest_order(self) -> OrderSummary | None:
        return self.profile.orders[0] if self.profile.orders else None


@dataclass
class Proposal:
    """What the category's automation rule prepared, and why (or why nothing)."""

    reasons: list[str] = field(default_factory=list)
    action: SuggestedAction | None = None
    template: str | None = None


def decide(triage: TriageResult, profile: CustomerProfile, policy: RoutingPolicy, now: datetime) -> RoutingDecision:
    now = _aware(now)
    situation = read_situation(triage, profile, policy, now)
    escalations = escalation_reasons(situation)
    proposal = propose(situation)
    level = automation_level(escalations, proposal)
    return RoutingDecision(
        queue=choose_queue(situation),
        priority=choose_priority(situation, level),
        automation_level=level,
        reasons=_unique([*escalations, *_late_order_reasons(situation), *proposal.reasons]),
        context_summary=context_summary(situation),
        empathy_hint=empathy_hint(situation) if situation.high_emotional_load else None,
        suggested_action=proposal.action,
        auto_reply_template=proposal.template if level == "auto_reply" else None,
        policy_version=policy.version,
        decided_at=now,
    )


# --- facts ----------------------------------------------------------------------------------------------


def read_situation(triage: TriageResult, profile: CustomerProfile, policy: RoutingPolicy, now: datetime) -> Situation:
    low_confidence = triage.confidence < policy.thresholds.min_confidence or REASON_LOW_CONFIDENCE in triage.reasons
    return Situation(
        triage=triage,
        profile=profile,
        policy=policy,
        now=now,
        rules=policy.fallback if low_confidence else policy.rules_for(triage.category),
        vip_reasons=_vip_reasons(profile, policy),
        high_emotional_load=_is_high_emotional_load(triage, policy),
        repeat_contacts=profile.contacts_last_7_days >= policy.thresholds.repeat_contacts_7_days,
        privacy_request=triage.category == "privacy_request" or REASON_PRIVACY in triage.reasons,
        unsupported_language=_is_unsupported_language(triage.language, policy),
        low_confidence=low_confidence,
        late_order=_late_order(triage, profile, policy, now),
    )


def _vip_reasons(profile: CustomerProfile, policy: RoutingPolicy) -> list[str]:
    reasons = [f"VIP: {reason}" for reason in profile.vip_reasons] if profile.vip else []
    if profile.vip and not reasons:
        reasons.append("VIP: marked as VIP in the customer profile")
    thresholds = policy.thresholds.vip
    lifetime_value = _decimal(profile.lifetime_value)
    minimum = thresholds.min_lifetime_value
    if minimum is not None and lifetime_value is not None and lifetime_value >= minimum:
        currency = f" {profile.currency}" if profile.currency else ""
        reasons.append(f"VIP: lifetime value {profile.lifetime_value}{currency} >= {minimum}")
    if thresholds.min_order_count is not None and profile.order_count >= thresholds.min_order_count:
        reasons.append(f"VIP: {profile.order_count} orders >= {thresholds.min_order_count}")
    return _unique(reasons)


def _is_high_emotional_load(triage: TriageResult, policy: RoutingPolicy) -> bool:
    rules = policy.thresholds.emotional_load
    escalating_cue = any(cue in rules.escalating_cues for cue in triage.cues)
    return triage.high_emotional_load or triage.emotional_load >= rules.high_at or escalating_cue


def _is_unsupported_language(language: str, policy: RoutingPolicy) -> bool:
    # "und" (undetermined) is not unsupported: it only rules out an automatic reply.
    return language != "und" and language not in policy.supported_languages


def _late_order(
    triage: TriageResult, profile: CustomerProfile, policy: RoutingPolicy, now: datetime
) -> LateOrder | None:
    if triage.category not in policy.automation.late_order_categories or not profile.orders:
        return None
    order = profile.orders[0]
    if order.delivery_status not in policy.automation.late_order_statuses or order.placed_at is None:
        return None
    days = _days_between(order.placed_at, now)
    return LateOrder(order, days) if days > policy.thresholds.late_order_days else None


# --- level, queue, priority ----------------------------------------------------------------------------


def escalation_reasons(situation: Situation) -> list[str]:
    """Why a person must handle this right away; empty when nothing escalates."""
    triage, policy = situation.triage, situation.policy
    reasons = list(situation.vip_reasons)
    covered: set[str] = set()
    if situation.high_emotional_load:
        cues = f" ({', '.join(triage.cues)})" if triage.cues else ""
        reasons.append(f"high emotional load {triage.emotional_load:.2f}{cues}")
        covered.add(REASON_HIGH_EMOTIONAL_LOAD)
    if situation.repeat_contacts:
        reasons.append(f"{situation.profile.contacts_last_7_days} contacts in the last 7 days")
    if situation.privacy_request:
        reasons.append(_privacy_reason(situation))
        covered.add(REASON_PRIVACY)
    if situation.unsupported_language:
        reasons.append(f"unsupported language: {triage.language} (supported: {', '.join(policy.supported_languages)})")
        covered.add(unsupported_language_reason(triage.language))
    if triage.category == OUT_OF_SCOPE:
        reasons.append(REASON_OUT_OF_SCOPE)
        covered.update({REASON_OUT_OF_SCOPE, REASON_LOW_CONFIDENCE})
    elif situation.low_confidence:
        reasons.append(f"low confidence: {triage.confidence:.2f} for {triage.category}")
        covered.add(REASON_LOW_CONFIDENCE)
    reasons += [f"triage: {reason}" for reason in triage.reasons if reason not in covered]
    if triage.needs_human and not reasons:
        reasons.append("triage: needs a person")
    return reasons


def _privacy_reason(situation: Situation) -> str:
    deadline_days = situation.policy.privacy.legal_deadline_days
    if deadline_days is None:
        return "privacy request: handled by a person"
    due = (situation.now + timedelta(days=deadline_days)).date().isoformat()
    return f"privacy request: legal deadline {deadline_days} days, answer by {due}"


def automation_level(escalations: list[str], proposal: Proposal) -> AutomationLevel:
    if escalations:
        return "human_now"
    if proposal.action is not None:
        return "suggest"
    if proposal.template is not None:
        return "auto_reply"
    return "human_now"


def choose_queue(situation: Situation) -> TeamQueue:
    if situation.privacy_request:
        return situation.policy.privacy.queue
    return situation.rules.queue


def choose_priority(situation: Situation, level: AutomationLevel) -> Priority:
    priorities = situation.policy.priorities
    candidates: list[Priority] = [getattr(priorities, level)]
    if situation.vip_reasons:
        candidates.append(priorities.vip)
    if situation.high_emotional_load:
        candidates.append(priorities.high_emotional_load)
    if situation.privacy_request and situation.policy.privacy.legal_deadline_days is not None:
        candidates.append(priorities.privacy_request)
    return min(candidates)  # "P1" sorts before "P2"


# --- automation rules ----------------------------------------------------------------------------------


def propose(situation: Situation) -> Proposal:
    rule = situation.rules.automation
    if rule is not None:
        proposal = _RULES[rule](situation)
    elif situation.low_confidence:
        proposal = Proposal()  # the low-confidence escalation says why
    else:
        proposal = Proposal([f"no automation for {situation.triage.category}: a person answers"])
    if proposal.action is None and situation.late_order and situation.vip_reasons:
        proposal.action = _coupon_for(situation, situation.late_order)
        proposal.reasons.append("late order for a VIP: coupon offer prepared")
    return proposal


def _order_status_tracking(situation: Situation) -> Proposal:
    order = situation.latest_order
    if order is None:
        return Proposal([_no_order_reason(situation.profile)])
    if not (order.tracking_number or order.tracking_url):
        return Proposal([f"no tracking number known for order {order.reference}"])
    if situation.late_order is not None:
        return Proposal()  # the late-order reason says why there is no automatic reply
    if situation.triage.language not in situation.policy.automation.auto_reply_languages:
        return Proposal([f"no reply template in language {situation.triage.language}"])
    status = order.delivery_status or "status unknown"
    return Proposal(
        [f"order {order.reference} has tracking ({status}): the machine can answer"],
        template=AUTO_REPLY_TRACKING_TEMPLATE,
    )


def _approve_return(situation: Situation) -> Proposal:
    order = next((o for o in situation.profile.orders if o.delivery_status == "delivered"), None)
    if order is None:
        return Proposal([f"no delivered order on file to return ({_no_order_reason(situation.profile)})"])
    measured_from, since = (
        ("delivered_at", order.delivered_at) if order.delivered_at else ("placed_at", order.placed_at)
    )
    if since is None:
        return Proposal([f"no delivery or order date known for order {order.reference}"])
    days = _days_between(since, situation.now)
    window = situation.policy.thresholds.return_window_days
    after = (
        "after delivery" if measured_from == "delivered_at" else "after the order was placed (delivery date unknown)"
    )
    if days > window:
        return Proposal([f"return requested {days} days {after}, outside the {window}-day window"])
    action = SuggestedAction(
        kind="approve_return",
        summary=f"Approve the return of order {order.reference}: {days} days {after}, window {window} days",
        parameters={
            "order_reference": order.reference,
            "days_since": days,
            "measured_from": measured_from,
            "return_window_days": window,
            "lines": [line.model_dump(mode="json") for line in order.lines],
        },
    )
    return Proposal([f"return requested {days} days {after}, inside the {window}-day window"], action=action)


def _handoff_technical_support(situation: Situation) -> Proposal:
    order = situation.latest_order
    if order is None:
        return Proposal([f"{_no_order_reason(situation.profile)}: a person asks which product is faulty"])
    products = ", ".join(line.title for line in order.lines) or "no product lines known"
    action = SuggestedAction(
        kind="handoff_technical_support",
        summary=f"Hand the defect report to technical support with order {order.reference} ({products})",
        parameters={
            "order_reference": order.reference,
            "order": order.model_dump(mode="json", exclude={"lines"}),
            "products": [line.model_dump(mode="json") for line in order.lines],
        },
    )
    return Proposal([f"defect reported: order {order.reference} and its products attached"], action=action)


def _correct_double_charge(situation: Situation) -> Proposal:
    rules = situation.policy.automation.double_charge
    duplicates = _duplicate_paid_orders(situation.profile.orders, rules.paid_statuses, rules.duplicate_order_minutes)
    noted = _mentions_any(situation.profile.notes, rules.evidence_terms)
    if duplicates:
        first, second = duplicates
        amount = " ".join(filter(None, [first.total, first.currency]))
        evidence = (
            f"orders {first.reference} and {second.reference}: same amount {amount}, "
            f"placed within {rules.duplicate_order_minutes} minutes"
        )
        references = [first.reference, second.reference]
    elif noted:
        evidence = "the payment events in the customer profile record a double charge"
        references = [situation.latest_order.reference] if situation.latest_order else []
    elif _mentions_any([situation.triage.explanation], rules.claim_terms):
        return Proposal(["no payment evidence of a double charge"])
    else:
        return Proposal(["billing question: a person checks the payment"])
    action = SuggestedAction(
        kind="correct_double_charge",
        summary=f"Correct the double charge ({', '.join(references) or 'order unknown'}) after checking the payment",
        parameters={"order_references": references, "evidence": evidence},
    )
    return Proposal([f"double charge: {evidence}"], action=action)


def _duplicate_paid_orders(
    orders: list[OrderSummary], paid_statuses: tuple[str, ...], window_minutes: int
) -> tuple[OrderSummary, OrderSummary] | None:
    """Two paid orders of the same amount placed close together, the usual trace of a double charge."""
    paid = sorted(
        (
            (_aware(order.placed_at), order)
            for order in orders
            if order.placed_at and order.financial_status in paid_statuses and _decimal(order.total) is not None
        ),
        key=lambda pair: pair[0],
    )
    window = timedelta(minutes=window_minutes)
    for index, (first_at, first) in enumerate(paid):
        for second_at, second in paid[index + 1 :]:
            if second_at - first_at > window:
                break
            if _decimal(first.total) == _decimal(second.total) and first.currency == second.currency:
                return first, second
    return None


def _coupon_for(situation: Situation, late: LateOrder) -> SuggestedAction:
    percent = situation.policy.automation.late_order_coupon_percent
    return SuggestedAction(
        kind="offer_coupon",
        summary=f"Offer a {percent}% coupon for the late order {late.order.reference}",
        parameters={
            "order_reference": late.order.reference,
            "coupon_percent": percent,
            "days_since_placed": late.days_since_placed,
            "delivery_status": late.order.delivery_status,
        },
    )


_RULES = {
    "auto_reply_tracking": _order_status_tracking,
    "approve_return": _approve_return,
    "handoff_technical_support": _handoff_technical_support,
    "correct_double_charge": _correct_double_charge,
}


def _late_order_reasons(situation: Situation) -> list[str]:
    late = situation.late_order
    if late is None:
        return []
    after = situation.policy.thresholds.late_order_days
    return [
        f"order {late.order.reference} still {late.order.delivery_status} {late.days_since_placed} days after it was "
        f"placed (late after {after} days)"
    ]


# --- what the operator reads --------------------------------------------------------------------------


def context_summary(situation: Situation) -> str:
    triage, profile = situation.triage, situation.profile
    topic = f"{triage.category} ({triage.language})"
    if situation.low_confidence:
        topic = f"{triage.category}? ({triage.language}, confidence {triage.confidence:.2f})"
    contacts = profile.contacts_last_7_days
    parts = [
        topic,
        _order_summary(situation),
        f"{contacts} contact{'' if contacts == 1 else 's'} in 7 days",
        "VIP" if situation.vip_reasons else "not VIP",
        f"wants: {situation.rules.wants}",
    ]
    return " · ".join(parts)


def _order_summary(situation: Situation) -> str:
    order = situation.latest_order
    if order is None:
        return _no_order_reason(situation.profile)
    status = order.delivery_status or "status unknown"
    placed = f", placed {_days_between(order.placed_at, situation.now)} days ago" if order.placed_at else ""
    return f"order {order.reference} {status}{placed}"


def empathy_hint(situation: Situation) -> str:
    cues = set(situation.triage.cues)
    if situation.repeat_contacts:
        cues.add(REPEAT_CONTACT_CUE)
    empathy = situation.policy.empathy
    extra = [sentence for cue, sentence in empathy.by_cue.items() if cue in cues][: empathy.max_cue_sentences]
    return " ".join([situation.rules.empathy_hint, *extra])


# --- helpers -------------------------------------------------------------------------------------------


def _no_order_reason(profile: CustomerProfile) -> str:
    return "no order on file" if profile.order_data_available else "order data unavailable"


def _aware(moment: datetime) -> datetime:
    # Stored times are UTC; a naive one (from an older record) must not make the subtraction raise.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _days_between(earlier: datetime, later: datetime) -> int:
    return max(0, (_aware(later) - _aware(earlier)).days)


def _decimal(text: str | None) -> Decimal | None:
    try:
        value = Decimal(text) if text is not None else None
    except InvalidOperation:
        return None
    return value if value is not None and value.is_finite() else None


def _mentions_any(texts: list[str], terms: tuple[str, ...]) -> bool:
    folded = [fold_text(text) for text in texts]
    return any(fold_text(term) in text for term in terms for text in folded)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
