"""The figures a shop owner reads, computed from generated tickets, and the report written from them."""

import base64
import hashlib
import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from supportpilot.ids import new_ulid
from supportpilot.insights import Period, PeriodInvalid, desk_figures, workload
from supportpilot.models import (
    Channel,
    CsatVote,
    CustomerIdentity,
    EscalationState,
    RoutingDecision,
    SuggestedAction,
    Ticket,
    TicketStatus,
    TriageResult,
)
from supportpilot.report import CONTENT_SECURITY_POLICY, render_html, write_report

DAY1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PERIOD = Period.of_days(date(2026, 3, 2), date(2026, 3, 8))
ALICE, BOB = "operator-alice-sub", "operator-bob-sub"


def make_ticket(
    created_at: datetime,
    category: str = "order_status",
    *,
    channel: Channel = Channel.EMAIL,
    language: str = "nl",
    level: str = "human_now",
    queue: str = "general",
    status: TicketStatus = TicketStatus.WAITING_ON_HUMAN,
    first_response_after: timedelta | None = None,
    claimed_by: str | None = None,
    claimed_after: timedelta | None = None,
    closed_by: str | None = None,
    closed_after: timedelta | None = None,
    suggestion: str | None = None,
    corrected_from: str | None = None,
    rating: int | None = None,
    breached: bool = False,
    sku_customer: int = 1,
) -> Ticket:
    """A generated ticket: example.com customers, no real-looking personal data."""
    escalation = None
    if claimed_by or breached or level != "auto_reply":
        escalation = EscalationState(
            state="breached" if breached and not claimed_by else ("claimed" if claimed_by else "waiting"),
            claimed_by=claimed_by,
            claimed_at=created_at + claimed_after if claimed_by and claimed_after else None,
            breached_at=created_at + timedelta(hours=5) if breached else None,
        )
    action = (
        SuggestedAction(kind="approve_return", summary="approve the return", status=suggestion) if suggestion else None
    )
    closed_at = created_at + closed_after if closed_after else None
    return Ticket(
        id=new_ulid(),
        channel=channel,
        customer=CustomerIdentity(id=f"C{sku_customer:024x}", kind="email", value=f"c{sku_customer}@example.com"),
        subject="generated",
        status=TicketStatus.CLOSED if closed_at else status,
        language=language,
        created_at=created_at,
        updated_at=created_at,
        queue=queue,
        triage=TriageResult(
            category=category,
            confidence=0.9,
            language=language,
            emotional_load=0.1,
            high_emotional_load=False,
            needs_human=level != "auto_reply",
            model_name="generated",
            model_version="1",
            corrected_from=corrected_from,
        ),
        routing=RoutingDecision(
            queue=queue,
            priority="P3",
            automation_level=level,
            reasons=[],
            context_summary="",
            suggested_action=action,
            policy_version="test",
        ),
        escalation=escalation,
        first_response_at=created_at + first_response_after if first_response_after else None,
        closed_at=closed_at,
        closed_by=closed_by if closed_at else None,
        csat=CsatVote(rating=rating, at=created_at + timedelta(days=1)) if rating else None,
    )


@pytest.fixture(scope="module")
def tickets() -> list[Ticket]:
    minutes = timedelta(minutes=1)
    return [
        # three automatic answers about order status, answered within a minute or two
        make_ticket(DAY1, level="auto_reply", status=TicketStatus.ROUTED, first_response_after=1 * minutes, rating=5),
        make_ticket(
            DAY1 + timedelta(days=1),
            level="auto_reply",
            status=TicketStatus.ROUTED,
            first_response_after=2 * minutes,
            rating=4,
        ),
        make_ticket(
            DAY1 + timedelta(days=1),
            level="auto_reply",
            status=TicketStatus.ROUTED,
            first_response_after=3 * minutes,
            channel=Channel.FORM,
        ),
        # returns handled by Alice: one suggestion approved, one rejected
        make_ticket(
            DAY1,
            "return_request",
            level="suggest",
            queue="returns",
            claimed_by=ALICE,
            claimed_after=10 * minutes,
            closed_by=ALICE,
            closed_after=70 * minutes,
            first_response_after=50 * minutes,
            suggestion="approved",
            rating=2,
        ),
        make_ticket(
            DAY1 + timedelta(days=2),
            "return_request",
            level="suggest",
            queue="returns",
            claimed_by=ALICE,
            claimed_after=20 * minutes,
            closed_by=ALICE,
            closed_after=140 * minutes,
            first_response_after=120 * minutes,
            suggestion="rejected",
            corrected_from="order_status",
        ),
        # a defect Bob claimed and still works on; one breached ticket nobody claimed
        make_ticket(
            DAY1 + timedelta(days=3),
            "product_defect",
            queue="technical_support",
            claimed_by=BOB,
            first_response_after=300 * minutes,
            language="en",
        ),
        make_ticket(
            DAY1 + timedelta(days=3),
            "product_defect",
            queue="technical_support",
            breached=True,
            corrected_from="delivery_problem",
            language="en",
        ),
        # outside the period: ignored for volume
        make_ticket(DAY1 - timedelta(days=3), level="auto_reply", status=TicketStatus.ROUTED),
    ]


def test_volume_counts_tickets_created_in_the_period_per_category_channel_and_day(tickets):
    figures = desk_figures(tickets, PERIOD)
    assert figures.tickets == 7
    assert figures.by_category == {"order_status": 3, "product_defect": 2, "return_request": 2}
    assert figures.by_channel == {"email": 6, "form": 1}
    assert figures.by_language == {"nl": 5, "en": 2}
    assert len(figures.volume_by_day) == 7
    assert figures.volume_by_day[0].by_category == {"order_status": 1, "return_request": 1}
    assert figures.volume_by_day[3].by_category == {"product_defect": 2}
    assert figures.volume_by_day[6].by_category == {}


def test_first_response_median_and_histogram(tickets):
    first = desk_figures(tickets, PERIOD).first_response
    # answered after 1, 2, 3, 50, 120 and 300 minutes: median between 3 and 50 minutes
    assert first.count == 6
    assert first.median_seconds == pytest.approx(26.5 * 60)
    assert {b.label: b.count for b in first.buckets} == {
        "< 15 min": 3,
        "15-60 min": 1,
        "1-4 h": 1,
        "4-24 h": 1,
        "> 24 h": 0,
    }


def test_automation_corrections_csat_and_breaches(tickets):
    figures = desk_figures(tickets, PERIOD)
    automation = figures.automation
    assert (automation.routed, automation.auto_reply, automation.suggest, automation.human_now) == (7, 3, 2, 2)
    assert automation.suggestion_acceptance_rate == 0.5
    assert automation.automation_share == round(4 / 7, 4)  # three auto-replies and one approved suggestion
    assert figures.corrections.corrected == 2
    assert figures.corrections.correction_rate == round(2 / 7, 4)
    assert figures.corrections.corrected_categories == {"delivery_problem": 1, "order_status": 1}
    assert figures.csat.votes == 3
    assert figures.csat.average == pytest.approx(3.67)
    assert figures.csat.distribution == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    assert (figures.sla.breaches, figures.sla.open_breached) == (1, 1)
    assert figures.sla.by_queue == {"technical_support": 1}
    assert figures.resolution.count == 2
    assert figures.resolution.median_seconds == pytest.approx(105 * 60)


def test_workload_per_operator_and_team(tickets):
    view = workload(tickets, PERIOD)
    operators = {row.key: row for row in view.operators}
    assert set(operators) == {ALICE, BOB}
    alice, bob = operators[ALICE], operators[BOB]
    assert (alice.open, alice.claimed, alice.handled) == (0, 0, 2)
    assert alice.handled_per_day == round(2 / 7, 2)
    assert alice.median_handling_seconds == pytest.approx(90 * 60)  # 60 and 120 minutes from claim to close
    assert alice.automation_prepared_share == 0.5
    assert (bob.open, bob.claimed, bob.handled, bob.median_handling_seconds) == (1, 1, 0, None)
    teams = {row.key: row for row in view.teams}
    assert (teams["technical_support"].open, teams["technical_support"].claimed) == (2, 1)
    assert teams["technical_support"].sla_breaches == 1
    assert teams["returns"].handled == 2
    assert teams["general"].automation_prepared_share == 1.0


@pytest.mark.parametrize(
    ("first", "last", "problem"),
    [(date(2026, 3, 8), date(2026, 3, 2), "before it starts"), (date(2025, 1, 1), date(2026, 3, 2), "at most")],
)
def test_a_period_that_ends_before_it_starts_or_is_too_long_is_refused(first, last, problem):
    with pytest.raises(PeriodInvalid, match=problem):
        Period.of_days(first, last)


def test_report_is_self_contained_html_with_charts_and_a_json_summary(tickets, tmp_path):
    html_path, json_path = write_report(desk_figures(tickets, PERIOD), tmp_path / "out")
    html = html_path.read_text()
    summary = json.loads(json_path.read_text())
    assert summary["tickets"] == 7
    assert summary["by_category"]["order_status"] == 3
    assert summary["first_response"]["median_seconds"] == pytest.approx(26.5 * 60)
    assert summary["workload"]["operators"][0]["key"] in (ALICE, BOB)
    # self-contained: no scripts, no external stylesheets, fonts or images
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["']?https?:""", html)
    assert "@import" not in html and "url(" not in html
    assert html.count("<svg") >= 5
    assert 'data-figure="median-first">' in html and "<b>26 min</b>" in html
    assert "order_status (3)" in html
    assert ALICE in html


def test_texts_from_tickets_are_escaped_in_the_report(tmp_path):
    hostile = make_ticket(DAY1, "<script>alert(1)</script>", closed_by="<b>x</b>", closed_after=timedelta(hours=1))
    html_path, _ = write_report(desk_figures([hostile], PERIOD), tmp_path)
    html = html_path.read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>x</b>" not in html


def test_the_reports_policy_allows_exactly_its_own_stylesheet_and_nothing_inline(tickets):
    html = render_html(desk_figures(tickets, PERIOD))
    (stylesheet,) = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(stylesheet.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert not re.search(r"\sstyle=", html), "a style attribute would be blocked by the policy"
