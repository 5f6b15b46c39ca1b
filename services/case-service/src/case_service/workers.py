"""Background work of the case-service (listed in ``SERVICE.workers``): the overdue-review count."""

from __future__ import annotations

from hhpu_shared.background import BackgroundWorker
from hhpu_shared.runtime import ServiceRuntime

from case_service.service import retention
from case_service.settings import CaseSettings


def count_overdue_reviews(runtime: ServiceRuntime) -> dict[str, int]:
    """Count the people overdue for MoPI review by group and publish it (a count: nothing audited)."""
    with runtime.unit_of_work(read_only=True) as uow:
        return retention.publish_overdue(uow)


def _interval(settings: object) -> float:
    assert isinstance(settings, CaseSettings)
    return settings.review_metric_interval_s


# Every CASE_REVIEW_METRIC_INTERVAL_S (0: off), in every replica (a read; the dashboards take the max).
OVERDUE_REVIEWS = BackgroundWorker(
    name="overdue-reviews", task=count_overdue_reviews, interval_s=_interval, elected=False
)
