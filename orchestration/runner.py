"""Run a period through Dagster, recording runs in the instance: only the runs it needs."""

from __future__ import annotations

import contextlib
import functools
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import dagster as dg
from dagster._core.execution.execute_in_process_result import ExecuteInProcessResult
from dagster._core.utils import make_new_run_id

from assets.partitions import partition_tags, periods
from orchestration import plan
from schemas.lake import period_lock
from schemas.periods import check_period
from schemas.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def materialize_period(
    settings: Settings,
    period: str,
    instance: dg.DagsterInstance,
    log_level: str = "INFO",
    on_wait: Callable[[], None] | None = None,
    provinces: list[str] | None = None,
    beside_created: Callable[[str], None] | None = None,
    workspace_origin: bool = False,
) -> list:
    """Bring the period's tables and reports up to date with its landing folder.

    In order, each only when what it was last run on changed (orchestration.plan): admin_units;
    the landing snapshot; the provinces whose share of it changed, in ranged runs (`provinces`
    forces those) and, beside them in a child process, the coverage from the site lists and the
    grid; the publishing (plan.waves: its tables, then the maps with, beside them in a child
    process, the gap tables and the quality report). Nothing changed → no run, an empty list.
    `beside_created`: told the id of a run started in a child process (the CLI's progress follows
    it); `workspace_origin`: that run carries the workspace's origin, as the CLI's own runs do.
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

    ready: list[_Beside] = []  # a child process started ahead for the next run beside

    def ahead(runs: list[plan.Run]) -> list[plan.Run]:
        """`runs`; when there are any, with a child process started for a run beside to come
        (the coverage, the reports): it gets ready while they run."""
        if runs and not ready and _beside_possible(settings):
            ready.append(_Beside(settings, instance, log_level, workspace_origin))
        return runs

    def run(runs: list[plan.Run]) -> bool:
        for r in runs:
            results.append(_execute(_definitions(settings), settings, instance, r, log_level))
            if not results[-1].success:
                return False
        return True

    def together(here: list[plan.Run], beside: list[plan.Run], then: bool = False) -> bool:
        """`here` in this process and, when there is one of each, `beside` in a process of
        its own at the same time (two runs in threads of one process deadlock in Dagster's
        log capture); else one after the other. Results in the planned order. `then`: more
        runs beside follow (start a child for them)."""
        if not (here and len(beside) == 1 and _beside_possible(settings)):
            return run(here + beside)
        child = ready.pop() if ready else _Beside(settings, instance, log_level, workspace_origin)
        run_id = child.start(beside[0])
        if beside_created:  # the caller's progress follows it as it follows its own runs
            beside_created(run_id)
        try:
            done = run(ahead(here) if then else here)
        finally:  # never leave it running past the period's lock
            results.append(child.result(_definitions(settings)))
        return done and results[-1].success

    with period_lock(settings.lake, period, on_wait), _closing(ready):
        pipeline = plan.pipeline_fingerprint(settings)
        if not run(ahead(plan.plan_reference(settings, instance, pipeline))):
            return results
        if not run(ahead(plan.plan_snapshot(settings, instance, period))):
            return results
        ingest = plan.plan_ingest(settings, instance, period, pipeline, provinces)
        coverage = plan.plan_coverage(settings, instance, period, pipeline)
        # Independent (both read the snapshot, nothing of each other): the coverage run beside
        # the provinces' ingest.
        if not together(ingest, coverage, then=True):  # the publishing follows
            return results
        forced = bool(ingest or coverage)
        for wave in plan.waves(plan.plan_publish(settings, instance, period, pipeline, forced)):
            # the maps here, the reports beside them
            if not together(wave[:1], wave[1:]):
                break
    return results


@contextlib.contextmanager
def _closing(children: list[_Beside]):
    """Children started ahead and never given a run exit with the period's runs."""
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


def _beside_possible(settings: Settings) -> bool:
    """In process runs only (other executors spread steps themselves), on a lake another
    process sees (not an fsspec memory:// lake, which lives in this process alone)."""
    return settings.executor == "in_process" and not str(settings.tables).startswith("memory:")


class _Beside:
    """A process of its own for one in-process run beside this process's runs, on the same
    instance. Started ahead: it imports Dagster and the assets and builds the definitions while
    this process runs what comes first (seconds off a critical path of two runs side by side);
    `start` gives it its run, `result` waits for it and reads the run back from the instance's
    events, `close` lets it exit without one. The child runs `-c`, not `-m`: a process it spawns
    (the coverage's pool) then imports no __main__ module (Dagster) before its work."""

    def __init__(self, settings: Settings, instance, log_level: str, origin: bool) -> None:
        # stdout, stderr: the parent's (the run's console log where the parent's goes)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from orchestration.runner import _child; _child()"],
            stdin=subprocess.PIPE,
            cwd=ROOT,
        )
        pickle.dump((settings, instance.get_ref(), log_level, origin), self.proc.stdin)
        self.proc.stdin.flush()
        self.instance, self.run_id, self.job = instance, "", ""

    def start(self, r: plan.Run) -> str:
        """Run `r` there now; its run id."""
        self.run_id, self.job = make_new_run_id(), r.job
        try:
            pickle.dump((r, self.run_id), self.proc.stdin)
            self.proc.stdin.close()
        except BrokenPipeError:  # it died getting ready: result() says with which exit code
            pass
        return self.run_id

    def close(self) -> None:
        """No run for it: it exits on the end of its input."""
        with contextlib.suppress(BrokenPipeError):  # already gone
            self.proc.stdin.close()
        self.proc.wait()

    def result(self, defs: dg.Definitions) -> ExecuteInProcessResult:
        code = self.proc.wait()
        run = self.instance.get_run_by_id(self.run_id)
        if run is None or not run.is_finished:
            raise RuntimeError(
                f"the {self.job} run {self.run_id} ended without finishing: its process exited "
                f"with code {code}"
            )
        events = [e.dagster_event for e in self.instance.all_logs(self.run_id)]
        events = [e for e in events if e is not None]
        return ExecuteInProcessResult(events, run, None, defs.resolve_job_def(self.job))


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


def _child() -> None:
    """A _Beside process: the settings on stdin, then (once the parent needs it) its run; the
    end of stdin instead: not needed, nothing to do."""
    settings, ref, log_level, origin = pickle.load(sys.stdin.buffer)
    defs = _definitions(settings)  # ready before the run is asked for
    with dg.DagsterInstance.from_ref(ref) as instance:
        if origin:  # as the parent's runs: on the UI's timeline
            from orchestration.cli import as_workspace_runs

            as_workspace_runs(instance)
        try:
            r, run_id = pickle.load(sys.stdin.buffer)
        except EOFError:
            return
        _execute(defs, settings, instance, r, log_level, run_id)
