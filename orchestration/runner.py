"""Run a period through Dagster, recording runs in the instance: only the runs it needs."""

from __future__ import annotations

import functools
from collections.abc import Callable

import dagster as dg

from assets.indicators.gaps import check_period
from assets.partitions import partition_tags, periods
from orchestration import plan
from schemas.lake import period_lock
from schemas.settings import Settings


def materialize_period(
    settings: Settings,
    period: str,
    instance: dg.DagsterInstance,
    log_level: str = "INFO",
    on_wait: Callable[[], None] | None = None,
    provinces: list[str] | None = None,
) -> list:
    """Bring the period's tables and reports up to date with its landing folder.

    In order, each only when what it was last run on changed (orchestration.plan): admin_units;
    the landing snapshot; the provinces whose share of it changed, in ranged runs (`provinces`
    forces those); the coverage from the site lists and the grid; the publishing. Nothing changed → no run, an empty list.
    `log_level` is what the console shows (the instance records every event regardless).
    Holds the period's lock: a second run of the same period waits for the first.
    Stops after the first run that fails (a blocking check failing fails its run); returns the
    results of the runs (ExecuteInProcessResult or JobExecutionResult), so callers can read
    asset-check evaluations and events.
    With DXLAKE_EXECUTOR other than in_process, `settings` must be Settings.from_env(): the
    steps rebuild the job from the environment where they run.
    """
    check_period(period)
    if not instance.has_dynamic_partition(periods.name, period):
        instance.add_dynamic_partitions(periods.name, [period])
    results: list = []

    def run(runs: list[plan.Run]) -> bool:
        for r in runs:
            results.append(_execute(_definitions(settings), settings, instance, r, log_level))
            if not results[-1].success:
                return False
        return True

    with period_lock(settings.lake, period, on_wait):
        pipeline = plan.pipeline_fingerprint(settings)
        if not run(plan.plan_reference(settings, instance, pipeline)):
            return results
        if not run(plan.plan_snapshot(settings, instance, period)):
            return results
        work = plan.plan_ingest(settings, instance, period, pipeline, provinces)
        work += plan.plan_coverage(settings, instance, period, pipeline)
        if not run(work):
            return results
        run(plan.plan_publish(settings, instance, period, pipeline, forced=bool(work)))
    return results


@functools.cache
def _definitions(settings: Settings) -> dg.Definitions:
    """Built when a run is needed: a period with nothing to do never imports the assets."""
    from orchestration.definitions import build_definitions

    return build_definitions(settings)


def _execute(defs, settings: Settings, instance, r: plan.Run, log_level: str):
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    if settings.executor == "in_process":
        return defs.resolve_job_def(r.job).execute_in_process(
            instance=instance,
            partition_key=r.partition,
            tags=r.tags,
            raise_on_error=False,
            run_config=run_config,
        )
    # Steps run elsewhere (processes, a Dask cluster): they rebuild the job from the environment.
    from orchestration.definitions import JOBS_FROM_ENV

    return dg.execute_job(
        dg.reconstructable(JOBS_FROM_ENV[r.job]),
        instance,
        run_config=run_config,
        tags={**partition_tags(r.partition), **r.tags},
    )
