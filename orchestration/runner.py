"""Run a period through Dagster, recording runs in the instance: only the runs it needs."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

import dagster as dg

from assets.ingest.snapshot import snapshot_exists
from assets.partitions import partition_tags, periods
from orchestration import plan
from orchestration.beside import PUBLISHING, Beside, beside_possible, warm, warm_for
from schemas.lake import period_lock
from schemas.periods import check_period
from schemas.settings import Settings


def materialize_period(
    settings: Settings,
    period: str,
    instance: dg.DagsterInstance,
    log_level: str = "INFO",
    on_wait: Callable[[], None] | None = None,
    provinces: list[str] | None = None,
    beside_created: Callable[[str], None] | None = None,
    workspace_origin: bool = False,
    early: Beside | None = None,
) -> list:
    """Bring the period's tables and reports up to date with its landing folder.

    In order, each only when what it was last run on changed (orchestration.plan): admin_units;
    the landing snapshot; the provinces whose share of it changed, in ranged runs (`provinces`
    forces those) and, beside them in a child process, the coverage from the site lists and the
    grid; the publishing (plan.PUBLISH_PARTS: the gaps and their tables in a child process,
    beside them the pages, started once the gaps are written). A child serves run after run:
    the gaps go to one done with its run (the ingest's on a resubmission), warm, rather than to
    a new process. Nothing changed → no run, an empty list.
    `beside_created`: told the id of a run started in a child process (the CLI's progress follows
    it); `workspace_origin`: that run carries the workspace's origin, as the CLI's own runs do.
    `early`: a child the caller started for the ingest (beside.warm_for), which runs it if one
    is planned, else is stopped.
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
    # Children for runs beside this process's: free ones (started ahead, or done with a run)
    # take the next; each stays until the period's runs are over.
    ready: list[Beside] = [early] if early else []
    children: list[Beside] = list(ready)

    def new_child(job: str) -> Beside:
        child = Beside(warm_for(job)).attach(settings, instance, log_level, workspace_origin)
        children.append(child)
        return child

    def child_for(r: plan.Run) -> Beside:
        """A free child that imported what `r` needs, else any free one (it imports the rest
        as the run needs it: sooner than a new process gets ready), else a new one."""
        ready[:] = [c for c in ready if c.proc.poll() is None]  # one that died idle is no use
        child = next((c for c in ready if c.serves(r.job)), None) or (
            ready[0] if ready else new_child(r.job)
        )
        if child in ready:
            ready.remove(child)
        return child.attach(settings, instance, log_level, workspace_origin)

    def run(runs: list[plan.Run]) -> bool:
        for r in runs:
            results.append(_execute(_definitions(settings), settings, instance, r, log_level))
            if not results[-1].success:
                return False
        return True

    def together(here: list[plan.Run], beside: list[plan.Run], after: str = "") -> bool:
        """`here` in this process and the first of each job of `beside` in a child process
        (the others here, after `here`), all at the same time (two runs in threads of one
        process deadlock in Dagster's log capture); in-process runs only, else one after the
        other. Results: this process's, then the children's (with `after`, the children's
        first). `after`: a step of the runs beside that `here` reads: they start once it has
        succeeded there (never if it did not)."""
        if not beside_possible(settings) or not beside:
            return run(beside + here) if after else run(here + beside)
        first = {r.job: k for k, r in reversed(list(enumerate(beside)))}
        alone = [beside[k] for k in sorted(first.values())]
        here = here + [r for k, r in enumerate(beside) if k not in first.values()]
        busy = [(child_for(r), r) for r in alone]
        for child, r in busy:
            run_id = child.start(r)
            if beside_created:  # the caller's progress follows it as it follows its own runs
                beside_created(run_id)
        if not here:  # ready this process for the publishing meanwhile, once the children
            for child, _ in busy:  # are past getting ready themselves (two cores)
                child.running()
            warm(PUBLISHING)
        mark = len(results)
        try:
            done = all(child.succeeded(after) for child, _ in busy) and run(here)
        finally:  # never leave one running past the period's lock
            theirs = [child.result(_definitions(settings)) for child, _ in busy]
            ready.extend(child for child, _ in busy)
            # in the order they started: `after` has the runs beside start first
            results[mark:] = theirs + results[mark:] if after else results[mark:] + theirs
        return done and all(r.success for r in theirs)

    with period_lock(settings.lake, period, on_wait), _closing(children):
        for child in ready:  # it builds the definitions and opens the instance meanwhile
            child.attach(settings, instance, log_level, workspace_origin)
        pipeline = plan.pipeline_fingerprint(settings)
        reference = plan.plan_reference(settings, instance, pipeline)
        first_read = reference or not snapshot_exists(settings.tables, period)
        if first_read and beside_possible(settings) and len(ready) < 2:
            # The coverage will run too (its inputs name the pipeline; a period's first read
            # has its site lists): a second child gets ready for it meanwhile.
            ready.append(new_child("coverage_job"))
        if not run(reference):
            return results
        if not run(plan.plan_snapshot(settings, instance, period)):
            return results
        ingest = plan.plan_ingest(settings, instance, period, pipeline, provinces)
        coverage = plan.plan_coverage(settings, instance, period, pipeline)
        # Independent (both read the snapshot, nothing of each other): the provinces' ingest
        # beside the coverage; in a child of its own too when one was started for it early
        # (GX imported while the snapshot was read), else here.
        here, beside = ([], ingest + coverage) if early else (ingest, coverage)
        if not together(here, beside):
            return results
        forced = bool(ingest or coverage)
        waves = plan.waves(plan.plan_publish(settings, instance, period, pipeline, forced))
        if len(waves) == 2:  # the gaps and their tables beside, the pages here once they are in
            together(waves[1], waves[0], after=plan.FEEDS)
        elif waves:  # one part alone: here
            run(waves[0])
    return results


@contextlib.contextmanager
def _closing(children: list[Beside]):
    """The children exit with the period's runs (stopped if never given one)."""
    try:
        yield
    finally:
        for child in children:
            child.close()


@functools.cache
def _definitions(settings: Settings) -> dg.Definitions:
    """Built when a run is needed: a period with nothing to do never imports the assets."""
    from orchestration.definitions import build_definitions

    return build_definitions(settings)


def _execute(
    defs, settings: Settings, instance, r: plan.Run, log_level: str, run_id: str | None = None
):
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    if settings.executor == "in_process":
        return defs.resolve_job_def(r.job).execute_in_process(
            instance=instance,
            partition_key=r.partition,
            tags=r.tags,
            raise_on_error=False,
            run_config=run_config,
            run_id=run_id,
            asset_selection=r.selection,
        )
    # Steps run elsewhere (processes, a Dask cluster): they rebuild the job from the environment.
    from orchestration.definitions import JOBS_FROM_ENV

    return dg.execute_job(
        dg.reconstructable(JOBS_FROM_ENV[r.job]),
        instance,
        run_config=run_config,
        tags={**partition_tags(r.partition), **r.tags},
        asset_selection=r.selection,
    )
