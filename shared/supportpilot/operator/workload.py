"""The supervisors' insights: the workload view and the desk's figures for the report, per period of whole days."""

from collections.abc import Callable
from datetime import date, datetime, timedelta

from supportpilot.insights import (
    DeskFigures,
    InsightsStore,
    Period,
    PeriodInvalid,
    WorkloadView,
    desk_figures,
    workload,
)
from supportpilot.models import utc_now
from supportpilot.operator.models import Operator, Role
from supportpilot.operator.service import InvalidRequest

DEFAULT_DAYS = 7


class WorkloadDesk:
    def __init__(self, store: InsightsStore, clock: Callable[[], datetime] = utc_now):
        self._store = store
        self._clock = clock

    def workload(self, operator: Operator, first: date | None, last: date | None) -> WorkloadView:
        period = self._period(operator, first, last)
        return workload(self._store.tickets_touching(period.start), period)

    def figures(self, operator: Operator, first: date | None, last: date | None) -> DeskFigures:
        """What `supportpilot report` shows, for the same period rules as the workload view."""
        period = self._period(operator, first, last)
        return desk_figures(self._store.tickets_touching(period.start), period)

    def _period(self, operator: Operator, first: date | None, last: date | None) -> Period:
        """Default period: the last seven days up to today (UTC); a missing end is today."""
        operator.require(Role.SUPERVISOR)
        last = last or self._clock().date()
        first = first or last - timedelta(days=DEFAULT_DAYS - 1)
        try:
            return Period.of_days(first, last)
        except PeriodInvalid as exc:
            raise InvalidRequest("from", str(exc)) from None
