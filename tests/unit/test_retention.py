from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from supportpilot.retention import RetentionPolicy, RetentionSettings


def test_every_kind_keeps_the_stack_retention_unless_set_on_its_own():
    policy = RetentionPolicy.uniform(730, audit=3650, timeline_events=None)
    assert policy.model_dump() == {
        "tickets": 730,
        "audit": 3650,
        "timeline_events": 730,
        "delivery_markers": 730,
        "quarantine": 730,
    }


def test_an_item_expires_its_kinds_days_after_it_was_created():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    policy = RetentionPolicy.uniform(730, delivery_markers=30)
    assert policy.expires_at("delivery_markers", start) == int(datetime(2026, 1, 31, tzinfo=UTC).timestamp())
    assert policy.expires_at("tickets", start) == int(datetime(2028, 1, 1, tzinfo=UTC).timestamp())


@pytest.mark.parametrize("overrides", [{"audits": 10}, {"audit": 0}], ids=["unknown kind", "zero days"])
def test_a_policy_with_an_unknown_kind_or_no_days_is_refused(overrides):
    with pytest.raises(ValidationError):
        RetentionPolicy.uniform(730, **overrides)


def test_the_environment_sets_the_kinds_a_shop_wants_different_and_leaves_the_rest_at_the_ticket_days():
    settings = RetentionSettings.from_environment({"TICKET_RETENTION_DAYS": "365", "AUDIT_RETENTION_DAYS": "2555"})
    assert settings.retention_policy() == RetentionPolicy.uniform(365, audit=2555)
    assert RetentionSettings.from_environment({}).retention_policy() == RetentionPolicy.uniform(730)
