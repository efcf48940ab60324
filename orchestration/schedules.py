"""Compilation runs that follow the plans' reporting calendar (seeds/README.md).

Half-year reports are due 5–10 June and year reports 20 November – 10 December; the day after
each configured deadline (DXLAKE_DEADLINES) the period is compiled from whatever has landed: a
fresh landing snapshot (the sensors then ingest the provinces whose share changed and publish).
"""

from __future__ import annotations

import calendar

import dagster as dg

from assets.partitions import periods
from orchestration.plan import PERIOD_TAG
from schemas.settings import Settings


def _day_after(month: int, day: int) -> tuple[int, int]:
    """(month, day) of the day after a deadline; the 31 December deadline runs on 1 January."""
    if day < calendar.monthrange(2001, month)[1]:
        return month, day + 1
    return month % 12 + 1, 1


def _schedule(settings: Settings, month: int, day: int, half: str) -> dg.ScheduleDefinition:
    run_month, run_day = _day_after(month, day)

    def evaluate(context: dg.ScheduleEvaluationContext):
        when = context.scheduled_execution_time
        year = when.year - 1 if run_month < month else when.year  # ran in the new year
        period = f"{year}-{half}"
        if not context.instance.has_dynamic_partition(periods.name, period):
            yield dg.SkipReason(f"no files have landed for {period}")
            return
        yield dg.RunRequest(
            run_key=f"compile:{period}:{when.date()}",
            partition_key=period,
            tags={PERIOD_TAG: period},
        )

    return dg.ScheduleDefinition(
        name=f"compile_{half.lower()}_after_{month:02d}_{day:02d}",
        cron_schedule=f"0 6 {run_day} {run_month} *",
        execution_timezone="Asia/Ho_Chi_Minh",
        job_name="snapshot_job",
        execution_fn=evaluate,
        description=f"Compile {half} reports the day after the {day:02d}/{month:02d} deadline.",
    )


def build_schedules(settings: Settings) -> list[dg.ScheduleDefinition]:
    return [_schedule(settings, m, d, h) for m, d, h in settings.deadlines]
