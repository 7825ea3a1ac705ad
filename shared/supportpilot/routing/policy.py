"""The routing policy document: where tickets go, how urgent they are and how much the machine may do.

The policy is data, versioned in the repository (`default_policy.json`) and replaceable at run time by
an override document (an SSM parameter in AWS). Every document is validated before use; a field that
is missing, mistyped or inconsistent is named in the `PolicyInvalid` message.
"""

from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from supportpilot.models import Priority, TeamQueue

DEFAULT_POLICY_FILE = "default_policy.json"

# What the machine may prepare for a category; each rule is implemented in `engine.py`.
AutomationRule = Literal["auto_reply_tracking", "approve_return", "handoff_technical_support", "correct_double_charge"]


class PolicyInvalid(ValueError):
    """A policy document that must not be used; the message names each offending field."""


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryPolicy(_Document):
    queue: TeamQueue
    wants: str = Field(min_length=1, description="what the customer wants, as the context summary says it")
    empathy_hint: str = Field(min_length=1, description="said to the operator when emotional load is high")
    automation: AutomationRule | None


class VipThresholds(_Document):
    """Customers at or above a threshold are treated as VIP even when their profile does not say so."""

    min_lifetime_value: Decimal | None = Field(ge=0)
    min_order_count: int | None = Field(ge=1)


class EmotionalLoadRules(_Document):
    high_at: float = Field(ge=0, le=1, description="a load at or above this is high, whatever triage said")
    escalating_cues: tuple[str, ...] = Field(description="any of these triage cues makes the load high")


class Thresholds(_Document):
    return_window_days: int = Field(ge=1)
    late_order_days: int = Field(ge=1, description="an undelivered order is late this many days after placing")
    repeat_contacts_7_days: int = Field(ge=1)
    min_confidence: float = Field(ge=0, le=1)
    vip: VipThresholds
    emotional_load: EmotionalLoadRules


class Priorities(_Document):
    """The most urgent of the automation level's priority and each trigger that applies wins."""

    auto_reply: Priority
    suggest: Priority
    human_now: Priority
    vip: Priority
    high_emotional_load: Priority
    privacy_request: Priority


class PrivacyRules(_Document):
    queue: TeamQueue
    legal_deadline_days: int | None = Field(ge=1, description="None: no legal deadline, no privacy priority")


class DoubleChargeRules(_Document):
    claim_terms: tuple[str, ...] = Field(min_length=1, description="in triage's explanation: a double-charge claim")
    evidence_terms: tuple[str, ...] = Field(min_length=1, description="in the profile's notes: evidence of one")
    duplicate_order_minutes: int = Field(ge=1, description="two paid orders of one amount this close are evidence")
    paid_statuses: tuple[str, ...] = Field(min_length=1)


class AutomationRules(_Document):
    auto_reply_languages: tuple[str, ...] = Field(description="languages the reply templates exist in")
    late_order_statuses: tuple[str, ...] = Field(min_length=1)
    late_order_categories: tuple[str, ...]
    late_order_coupon_percent: int = Field(ge=1, le=100)
    double_charge: DoubleChargeRules


class EmpathyHints(_Document):
    by_cue: dict[str, str] = Field(description="a sentence added per cue present, in this order")
    max_cue_sentences: int = Field(ge=0)


class RoutingPolicy(_Document):
    version: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}\.\d+$", description="date and sequence, e.g. 2026-11-27.1")
    supported_languages: tuple[str, ...] = Field(min_length=1)
    categories: dict[str, CategoryPolicy] = Field(min_length=1)
    fallback: CategoryPolicy = Field(description="for unknown categories and low-confidence triage")
    thresholds: Thresholds
    priorities: Priorities
    privacy: PrivacyRules
    automation: AutomationRules
    empathy: EmpathyHints

    @model_validator(mode="after")
    def _late_order_categories_exist(self) -> "RoutingPolicy":
        unknown = [name for name in self.automation.late_order_categories if name not in self.categories]
        if unknown:
            raise ValueError(f"automation.late_order_categories: not categories of this policy: {', '.join(unknown)}")
        return self

    @model_validator(mode="after")
    def _auto_replies_only_in_supported_languages(self) -> "RoutingPolicy":
        extra = [lang for lang in self.automation.auto_reply_languages if lang not in self.supported_languages]
        if extra:
            raise ValueError(f"automation.auto_reply_languages: not in supported_languages: {', '.join(extra)}")
        return self

    def rules_for(self, category: str) -> CategoryPolicy:
        return self.categories.get(category, self.fallback)


def _field_problems(error: ValidationError) -> str:
    # Field path and message only: pydantic's own text would echo the input values.
    problems = []
    for problem in error.errors(include_url=False):
        location = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        problems.append(f"{location}: {message}" if location else message)
    return "; ".join(problems)


def validate_policy(text: str | bytes) -> RoutingPolicy:
    """Parse and check a policy document (JSON). Raises PolicyInvalid naming every offending field."""
    try:
        return RoutingPolicy.model_validate_json(text)
    except ValidationError as exc:
        raise PolicyInvalid(f"routing policy is invalid: {_field_problems(exc)}") from None


@cache
def default_policy() -> RoutingPolicy:
    """The policy packaged with the code; a broken one is a build error, caught by the tests."""
    return validate_policy(
        resources.files("supportpilot.routing").joinpath(DEFAULT_POLICY_FILE).read_text(encoding="utf-8")
    )
