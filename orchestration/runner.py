"""Run the graph for a period through Dagster, in process, recording runs in the instance."""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from assets.indicators.gaps import check_period
from orchestration.definitions import build_definitions
from orchestration.lake import period_lock
from orchestration.partitions import periods
from orchestration.settings import Settings


def materialize_period(
    settings: Settings,
    period: str,
    instance: dg.DagsterInstance,
    log_level: str = "INFO",
    on_wait: Callable[[], None] | None = None,
) -> list[dg.ExecuteInProcessResult]:
    """Build admin_units, then the period's partition of everything downstream.

    `log_level` is what the console shows (the instance records every event regardless).
    Holds the period's lock: a second run of the same period waits for the first.
    Stops after the first job that fails (a blocking check failing fails its run); returns the
    results of the jobs run, so callers can read asset-check evaluations and events.
    """
    check_period(period)
    if not instance.has_dynamic_partition(periods.name, period):
        instance.add_dynamic_partitions(periods.name, [period])
    defs = build_definitions(settings)
    with period_lock(settings.lake, period, on_wait):
        return _run_jobs(defs, instance, period, log_level)


def _run_jobs(defs, instance, period, log_level) -> list[dg.ExecuteInProcessResult]:
    results = []
    for job, partition in (("reference_job", None), ("period_job", period)):
        result = defs.resolve_job_def(job).execute_in_process(
            instance=instance,
            partition_key=partition,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
        results.append(result)
        if not result.success:
            break
    return results
