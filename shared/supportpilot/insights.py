"""The figures a shop manages its desk by, computed from stored tickets for a period.

One place for the definitions, used by `supportpilot report` (HTML and JSON) and by the supervisors'
workload view (`GET /api/workload`):

- a ticket belongs to the period when it was created in it (volume, response times, automation,
  corrections, CSAT); a ticket is *handled* in the period when it was closed in it;
- first response: the first reply to the customer, automated or a person's (`first_response_at`);
  acknowledgements do not count;
- automation prepared the work of a ticket when it was answered automatically (`auto_reply`) or a
  person approved its suggested action;
- correction rate: triaged tickets whose category an operator changed, over triaged tickets;
- handling time: from the claim (or, unclaimed, from creation) to closing;
- open: waiting on a person now; claimed: open and claimed by an operator;
- SLA breach: the escalation's breach time falls in the period.

Pure: tickets and the period come in as arguments, so the same tickets always give the same figures.
"""

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from pydantic import BaseModel, Field

from supportpilot.models import Ticket, TicketStatus

MAX_PERIOD_DAYS = 366
UNCATEGORISED = "uncategorised"
# Upper bounds (seconds) of the first-response histogram; the last bucket is open-ended.
FIRST_RESPONSE_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("< 15 min", 15 * 60),
    ("15-60 min", 3600),
    ("1-4 h", 4 * 3600),
    ("4-24 h", 24 * 3600),
    ("> 24 h", None),
)


class PeriodInvalid(ValueError):
    """The period cannot be reported on; the message says why."""


class Period(BaseModel):
    """[start, end) in UTC; from whole days."""

    start: datetime
    end: datetime

    @classmethod
    def of_days(cls, first: date, last: date) -> "Period":
        """From the first to the last day, both included."""
        if last < first:
            raise PeriodInvalid(f"the period ends ({last}) before it starts ({first})")
        if (last - first).days + 1 > MAX_PERIOD_DAYS:
            raise PeriodInvalid(f"a period covers at most {MAX_PERIOD_DAYS} days")
        start = datetime.combine(first, time(), tzinfo=UTC)
        return cls(start=start, end=datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC))

    @property
    def days(self) -> int:
        return max(1, round((self.end - self.start) / timedelta(days=1)))

    def covers(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end

    def day_list(self) -> list[date]:
        return [self.start.date() + timedelta(days=n) for n in range(self.days)]


class InsightsStore(Protocol):
    def tickets_touching(self, since: datetime) -> list[Ticket]:
        """Tickets created, closed or breached at or after `since`, and every ticket waiting on a person."""
        ...


# ---------- the figures ----------
class DayVolume(BaseModel):
    day: date
    by_category: dict[str, int]


class Bucket(BaseModel):
    label: str
    upper_seconds: int | None
    count: int


class DurationFigures(BaseModel):
    count: int
    median_seconds: float | None
    p90_seconds: float | None


class FirstResponseFigures(DurationFigures):
    buckets: list[Bucket]


class AutomationFigures(BaseModel):
    routed: int = Field(description="tickets of the period the routing policy decided on")
    auto_reply: int
    suggest: int
    human_now: int
    suggestions_made: int
    suggestions_approved: int
    suggestions_rejected: int
    suggestion_acceptance_rate: float | None = Field(description="approved / decided suggestions")
    automation_share: float | None = Field(description="(auto-replies + approved suggestions) / routed")


class CorrectionFigures(BaseModel):
    triaged: int
    corrected: int
    correction_rate: float | None = Field(description="the AI's error rate as operators see it")
    corrected_categories: dict[str, int] = Field(description="model category -> corrections")


class CsatFigures(BaseModel):
    votes: int
    average: float | None
    distribution: dict[str, int] = Field(description='rating "1".."5" -> votes')


class SlaFigures(BaseModel):
    breaches: int = Field(description="escalations that breached their SLA in the period")
    open_breached: int = Field(description="tickets waiting on a person now whose SLA is breached")
    by_queue: dict[str, int]


class WorkloadRow(BaseModel):
    """One operator's or one team's work. `key` is an operator id (Cognito `sub`) or a team queue."""

    key: str
    open: int = Field(description="waiting on a person now")
    claimed: int = Field(description="open and claimed by an operator now")
    handled: int = Field(description="closed in the period")
    handled_per_day: float
    median_handling_seconds: float | None = Field(description="claim (or creation) to close")
    automation_prepared_share: float | None = Field(
        description="share of the tickets (handled by the operator; of the team: created in the period) "
        "that an auto-reply or an approved suggestion prepared"
    )
    sla_breaches: int


class WorkloadView(BaseModel):
    period_start: datetime
    period_end: datetime
    days: int
    operators: list[WorkloadRow]
    teams: list[WorkloadRow]


class DeskFigures(BaseModel):
    period_start: datetime
    period_end: datetime
    days: int
    tickets: int = Field(description="created in the period")
    by_category: dict[str, int]
    by_channel: dict[str, int]
    by_language: dict[str, int]
    volume_by_day: list[DayVolume]
    first_response: FirstResponseFigures
    resolution: DurationFigures
    automation: AutomationFigures
    corrections: CorrectionFigures
    csat: CsatFigures
    sla: SlaFigures
    workload: WorkloadView


# ---------- helpers ----------
def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _durations(values: Sequence[float]) -> DurationFigures:
    if not values:
        return DurationFigures(count=0, median_seconds=None, p90_seconds=None)
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return DurationFigures(count=len(ordered), median_seconds=statistics.median(ordered), p90_seconds=p90)


def _seconds(later: datetime, earlier: datetime) -> float:
    return max(0.0, (later - earlier).total_seconds())


def category_of(ticket: Ticket) -> str:
    return ticket.triage.category if ticket.triage else UNCATEGORISED


def automation_prepared(ticket: Ticket) -> bool:
    routing = ticket.routing
    if routing is None:
        return False
    approved = routing.suggested_action is not None and routing.suggested_action.status == "approved"
    return routing.automation_level == "auto_reply" or approved


def is_open(ticket: Ticket) -> bool:
    return ticket.status == TicketStatus.WAITING_ON_HUMAN


def is_claimed(ticket: Ticket) -> bool:
    return is_open(ticket) and ticket.escalation is not None and ticket.escalation.state == "claimed"


def handled_in(ticket: Ticket, period: Period) -> bool:
    return ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED) and period.covers(ticket.closed_at)


def breached_in(ticket: Ticket, period: Period) -> bool:
    return ticket.escalation is not None and period.covers(ticket.escalation.breached_at)


def handling_seconds(ticket: Ticket) -> float | None:
    if ticket.closed_at is None:
        return None
    started = (ticket.escalation.claimed_at if ticket.escalation else None) or ticket.created_at
    return _seconds(ticket.closed_at, started)


def first_response_seconds(ticket: Ticket) -> float | None:
    return _seconds(ticket.first_response_at, ticket.created_at) if ticket.first_response_at else None


# ---------- workload ----------
def _workload_row(
    key: str, current: list[Ticket], handled: list[Ticket], period: Period, prepared: list[Ticket], breaches: int
) -> WorkloadRow:
    handling = [s for s in map(handling_seconds, handled) if s is not None]
    return WorkloadRow(
        key=key,
        open=sum(map(is_open, current)),
        claimed=sum(map(is_claimed, current)),
        handled=len(handled),
        handled_per_day=round(len(handled) / period.days, 2),
        median_handling_seconds=statistics.median(handling) if handling else None,
        automation_prepared_share=share(sum(map(automation_prepared, prepared)), len(prepared)),
        sla_breaches=breaches,
    )


def workload(tickets: Iterable[Ticket], period: Period) -> WorkloadView:
    tickets = list(tickets)
    by_operator: dict[str, list[Ticket]] = defaultdict(list)  # open tickets they claimed
    handled_by: dict[str, list[Ticket]] = defaultdict(list)
    breached_by: Counter[str] = Counter()
    for ticket in tickets:
        claimer = ticket.escalation.claimed_by if ticket.escalation else None
        if claimer and is_open(ticket):
            by_operator[claimer].append(ticket)
        if ticket.closed_by and handled_in(ticket, period):
            handled_by[ticket.closed_by].append(ticket)
        if breached_in(ticket, period):
            for person in {claimer, ticket.closed_by} - {None}:
                breached_by[str(person)] += 1
    operators = [
        _workload_row(op, by_operator[op], handled_by[op], period, handled_by[op], breached_by[op])
        for op in sorted(set(by_operator) | set(handled_by) | set(breached_by))
    ]
    queues = sorted({t.queue for t in tickets})
    teams = []
    for queue in queues:
        of_team = [t for t in tickets if t.queue == queue]
        teams.append(
            _workload_row(
                queue,
                of_team,
                [t for t in of_team if handled_in(t, period)],
                period,
                [t for t in of_team if period.covers(t.created_at) and t.routing is not None],
                sum(breached_in(t, period) for t in of_team),
            )
        )
    return WorkloadView(
        period_start=period.start, period_end=period.end, days=period.days, operators=operators, teams=teams
    )


# ---------- the whole picture ----------
def _first_response(tickets: list[Ticket]) -> FirstResponseFigures:
    values = [s for s in map(first_response_seconds, tickets) if s is not None]
    counts = Counter[str]()
    for value in values:
        label = next(label for label, upper in FIRST_RESPONSE_BUCKETS if upper is None or value < upper)
        counts[label] += 1
    buckets = [Bucket(label=label, upper_seconds=upper, count=counts[label]) for label, upper in FIRST_RESPONSE_BUCKETS]
    return FirstResponseFigures(**_durations(values).model_dump(), buckets=buckets)


def _automation(tickets: list[Ticket]) -> AutomationFigures:
    routed = [t for t in tickets if t.routing is not None]
    levels = Counter(t.routing.automation_level for t in routed if t.routing)
    actions = [t.routing.suggested_action for t in routed if t.routing and t.routing.suggested_action]
    decisions = Counter(a.status for a in actions)
    decided = decisions["approved"] + decisions["rejected"]
    return AutomationFigures(
        routed=len(routed),
        auto_reply=levels["auto_reply"],
        suggest=levels["suggest"],
        human_now=levels["human_now"],
        suggestions_made=len(actions),
        suggestions_approved=decisions["approved"],
        suggestions_rejected=decisions["rejected"],
        suggestion_acceptance_rate=share(decisions["approved"], decided),
        automation_share=share(sum(map(automation_prepared, routed)), len(routed)),
    )


def _corrections(tickets: list[Ticket]) -> CorrectionFigures:
    triaged = [t.triage for t in tickets if t.triage is not None]
    corrected = Counter(t.corrected_from for t in triaged if t and t.corrected_from)
    total = sum(corrected.values())
    return CorrectionFigures(
        triaged=len(triaged),
        corrected=total,
        correction_rate=share(total, len(triaged)),
        corrected_categories=dict(sorted(corrected.items())),
    )


def _csat(tickets: list[Ticket]) -> CsatFigures:
    ratings = [t.csat.rating for t in tickets if t.csat is not None]
    counts = Counter(ratings)
    return CsatFigures(
        votes=len(ratings),
        average=round(statistics.fmean(ratings), 2) if ratings else None,
        distribution={str(r): counts[r] for r in range(1, 6)},
    )


def _sla(tickets: list[Ticket], period: Period) -> SlaFigures:
    breached = [t for t in tickets if breached_in(t, period)]
    open_breached = [t for t in tickets if is_open(t) and t.escalation and t.escalation.state == "breached"]
    return SlaFigures(
        breaches=len(breached),
        open_breached=len(open_breached),
        by_queue=dict(sorted(Counter(t.queue for t in breached).items())),
    )


def _counts(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items(), key=lambda item: (-item[1], item[0])))


def desk_figures(tickets: Iterable[Ticket], period: Period) -> DeskFigures:
    tickets = list(tickets)
    created = [t for t in tickets if period.covers(t.created_at)]
    per_day: dict[date, Counter[str]] = {day: Counter() for day in period.day_list()}
    for ticket in created:
        per_day[ticket.created_at.astimezone(UTC).date()][category_of(ticket)] += 1
    closed = [t for t in tickets if handled_in(t, period)]
    return DeskFigures(
        period_start=period.start,
        period_end=period.end,
        days=period.days,
        tickets=len(created),
        by_category=_counts(map(category_of, created)),
        by_channel=_counts(t.channel.value for t in created),
        by_language=_counts(t.language or "unknown" for t in created),
        volume_by_day=[DayVolume(day=day, by_category=dict(sorted(c.items()))) for day, c in per_day.items()],
        first_response=_first_response(created),
        resolution=_durations([_seconds(t.closed_at, t.created_at) for t in closed if t.closed_at]),
        automation=_automation(created),
        corrections=_corrections(created),
        csat=_csat(created),
        sla=_sla(tickets, period),
        workload=workload(tickets, period),
    )
