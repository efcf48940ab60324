"""Run the graph for a period through Dagster, in process, recording runs in the instance."""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from assets.indicators.gaps import check_period
from assets.ingest.period import provinces_touched, read_landing
from orchestration.definitions import JOBS_FROM_ENV, build_definitions
from orchestration.lake import period_lock, period_parts
from orchestration.partitions import partition_key, partition_tags, periods
from orchestration.settings import Settings


def materialize_period(
    settings: Settings,
    period: str,
    instance: dg.DagsterInstance,
    log_level: str = "INFO",
    on_wait: Callable[[], None] | None = None,
    provinces: list[str] | None = None,
) -> list:
    """Build admin_units, then ingest each province of the period, then publish the period.

    `provinces`: the partitions to (re)ingest; default those the landing files touch plus those
    in scope (DXLAKE_PROVINCES), so a province in scope that sent nothing shows as not reported,
    plus those the lake holds for the period, so a file that left a province (moved, corrected,
    skipped then read) leaves no row behind there. Every step reads the landing folder as the
    plan did (read_landing's pin).
    `log_level` is what the console shows (the instance records every event regardless).
    Holds the period's lock: a second run of the same period waits for the first.
    Stops after the first job that fails (a blocking check failing fails its run); returns the
    results of the jobs run (ExecuteInProcessResult or JobExecutionResult), so callers can
    read asset-check evaluations and events.
    With DXLAKE_EXECUTOR other than in_process, `settings` must be Settings.from_env(): the
    steps rebuild the job from the environment where they run.
    """
    check_period(period)
    if not instance.has_dynamic_partition(periods.name, period):
        instance.add_dynamic_partitions(periods.name, [period])
    defs = build_definitions(settings)
    with period_lock(settings.lake, period, on_wait):
        _, status = read_landing(settings, period, pin=True)  # what every step reads
        if provinces is None:  # and those written before: a file gone from one is gone there too
            written = [
                str(part).rsplit("province=", 1)[-1].removesuffix(".parquet")
                for part in period_parts(settings.tables, "file_status", period)
            ]
            provinces = sorted({*provinces_touched(status), *settings.provinces, *written})
        plan = [
            ("reference_job", None),
            *(("ingest_job", partition_key(period, p)) for p in provinces),
            ("publish_job", period),
        ]
        return _run_jobs(defs, settings, instance, plan, log_level)


def _run_jobs(defs, settings, instance, plan, log_level) -> list:
    results = []
    for job, partition in plan:
        run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
        if settings.executor == "in_process":
            result = defs.resolve_job_def(job).execute_in_process(
                instance=instance, partition_key=partition, raise_on_error=False,
                run_config=run_config,
            )  # fmt: skip
        else:  # steps run elsewhere (processes, a Dask cluster): they rebuild the job from env
            result = dg.execute_job(
                dg.reconstructable(JOBS_FROM_ENV[job]),
                instance,
                run_config=run_config,
                tags=partition_tags(partition),
            )
        results.append(result)
        if not result.success:
            break
    return results
