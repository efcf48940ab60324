"""Sensors: the plan `dxlake run` follows (orchestration.plan), a step per tick, in the daemon.

- landing_sensor: a period folder whose stamps (names, sizes, times, inodes; never contents)
  held still since the previous tick and differ from what the last snapshot was taken of
  requests a landing_snapshot run; a folder whose stamps moved is still being copied and waits.
  Periods appear as dynamic partitions when their folder first holds files.
- ingest_after_snapshot: once a period's snapshot is taken, the provinces whose share changed
  are ingested, a period's provinces in one ranged run; the coverage is computed when the
  snapshot's site lists or the grid changed.
- publish_after_ingest: once a period's ingest runs have all finished, the period is published
  (if what it would be published from changed).
Run keys are the fingerprints the runs are planned on: the same content never runs twice.
All three start RUNNING: the daemon of `dxlake dev` ticks them without a switch in the UI (one
can still be stopped there; the instance then remembers it stopped).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import dagster as dg

from assets.ingest.snapshot import landing_fingerprint, snapshot_exists
from assets.partitions import periods
from assets.resources import LakeResource
from orchestration import plan
from orchestration.jobs import coverage_job, ingest_job, reference_job, snapshot_job
from schemas.periods import PeriodError, check_period
from schemas.settings import Settings

IN_FLIGHT = {
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
}


@dataclass
class LandingScan:
    """What a tick found: periods to add as partitions, periods settled, the next cursor."""

    new_periods: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    cursor: dict = field(default_factory=dict)


def evaluate_landing(settings: Settings, cursor: dict, known_periods: set[str]) -> LandingScan:
    """Compare each period folder's stamps with the previous tick's; plain Python, no Dagster.

    cursor: {"stamps": {"<period>": landing fingerprint at the previous tick}}.
    """
    before: dict[str, str] = cursor.get("stamps", {})
    landing = settings.landing
    scan = LandingScan(cursor={"stamps": {}})
    folders = sorted(p for p in landing.iterdir() if p.is_dir()) if landing.is_dir() else []
    for folder in folders:
        try:
            period = check_period(folder.name)
        except PeriodError:
            continue
        with os.scandir(folder) as entries:
            if next(entries, None) is None:
                continue
        stamp = scan.cursor["stamps"][period] = landing_fingerprint(folder, settings)
        if before.get(period) != stamp:
            continue  # new, or still being copied: the next tick tells
        if period not in known_periods:
            scan.new_periods.append(period)
        scan.settled.append(period)
    return scan


def _busy(instance: dg.DagsterInstance, period: str) -> bool:
    """A run of the period is queued or running: plan again when it is done."""
    return bool(
        instance.get_runs(
            filters=dg.RunsFilter(tags={plan.PERIOD_TAG: period}, statuses=list(IN_FLIGHT)),
            limit=1,
        )
    )


def _requests(runs: list[plan.Run]) -> list[dg.RunRequest]:
    return [
        dg.RunRequest(
            run_key=f"{r.job}:{r.partition or ''}:{sorted(r.tags.items())}",
            job_name=r.job,
            partition_key=r.partition,
            tags=r.tags,
            asset_selection=r.selection,
        )
        for r in runs
    ]


@dg.sensor(
    minimum_interval_seconds=30,
    jobs=[snapshot_job, reference_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches `$DXLAKE_HOME/landing/<period>/` by names, sizes and times: a folder "
    "that changed and then held still for a tick gets a landing_snapshot run; a folder still "
    "being copied waits for the next tick.",
)
def landing_sensor(context: dg.SensorEvaluationContext, lake: LakeResource):
    settings = lake.settings
    known = set(context.instance.get_dynamic_partitions(periods.name))
    cursor = json.loads(context.cursor) if context.cursor else {}
    scan = evaluate_landing(settings, cursor, known)
    runs = []
    if scan.settled:
        runs += plan.plan_reference(settings, context.instance, plan.pipeline_fingerprint(settings))
    for period in scan.settled:
        if not _busy(context.instance, period):
            runs += plan.plan_snapshot(settings, context.instance, period)
    return dg.SensorResult(
        run_requests=_requests(runs),
        dynamic_partitions_requests=(
            [periods.build_add_request(scan.new_periods)] if scan.new_periods else []
        ),
        cursor=json.dumps(scan.cursor, sort_keys=True),
    )


@dg.sensor(
    jobs=[ingest_job, coverage_job],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Once a period's landing snapshot is taken, ingest the provinces whose share "
    "of it changed (a period's provinces in one ranged run), and compute the coverage when its "
    "site lists or the grid changed.",
)
def ingest_after_snapshot(context: dg.SensorEvaluationContext, lake: LakeResource):
    settings = lake.settings
    pipeline = plan.pipeline_fingerprint(settings)
    runs = []
    for period in context.instance.get_dynamic_partitions(periods.name):
        if snapshot_exists(settings.tables, period) and not _busy(context.instance, period):
            runs += plan.plan_ingest(settings, context.instance, period, pipeline)
            runs += plan.plan_coverage(settings, context.instance, period, pipeline)
    return _requests(runs) or dg.SkipReason("no province's share changed")


def publish_requests(
    settings, instance: dg.DagsterInstance, period_keys: list[str]
) -> list[dg.RunRequest]:
    """The publish runs of each period whose ingest runs have all finished and whose published
    inputs changed, so 34 provinces landing together give one publishing, and a later
    resubmission another: its first wave (plan.waves); the next tick, once that is done, the
    next."""
    pipeline = plan.pipeline_fingerprint(settings)
    runs = []
    for period in period_keys:
        if plan.ingested_shares(instance, period) and not _busy(instance, period):
            publish = plan.plan_publish(settings, instance, period, pipeline, forced=False)
            runs += plan.waves(publish)[0] if publish else []
    return _requests(runs)


@dg.sensor(
    job_name="publish_job",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Once a period's ingest runs have all finished, publish the period: the gap "
    "table, the maps and the quality report from all its provinces.",
)
def publish_after_ingest(context: dg.SensorEvaluationContext, lake: LakeResource):
    keys = context.instance.get_dynamic_partitions(periods.name)
    return publish_requests(lake.settings, context.instance, keys) or dg.SkipReason(
        "nothing new to publish"
    )
