"""A run in a process of its own, beside this process's runs (orchestration.runner).

Light to import (no Dagster): the CLI starts a child before it imports anything heavy itself.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What a child imports ahead for a job's run, besides the definitions (the assets import their
# heavy work when they run): the ingest's validation GX (about 3 s, done while the snapshot is
# read). The command imports the pages' publishing (matplotlib, folium: about a second) while
# the ingest runs beside it.
WARM = {"ingest_job": ("great_expectations",)}
PUBLISHING = ("assets.reports.publish",)


def warm_for(job: str) -> tuple[str, ...]:
    """The modules a child for `job`'s run imports ahead."""
    return WARM.get(job, ())


def warm(modules: tuple[str, ...]) -> None:
    """Imported now, while there is time, rather than when a run needs them."""
    for module in modules:
        importlib.import_module(module)


def beside_possible(settings) -> bool:
    """In process runs only (other executors spread steps themselves), on a lake another
    process sees (not an fsspec memory:// lake, which lives in this process alone)."""
    return settings.executor == "in_process" and not str(settings.tables).startswith("memory:")


class Beside:
    """A process of its own for in-process runs beside this process's runs, on the same
    instance, one run at a time. Started ahead: it imports Dagster, the assets and `warm` (the
    modules its first run will need), then waits on stdin for `attach` (the settings and the
    instance: it builds the definitions and opens the instance) and its runs (`start`), all off
    the critical path of the runs before it. `result` waits for the run (the child says on a
    pipe of its own when it is done) and reads it back from the instance's events; the child
    then serves the next run it is given, already warm. `close` ends it. The child runs `-c`,
    not `-m`: a process it spawns (the coverage's pool) then imports no __main__ module
    (Dagster) before its work."""

    def __init__(self, warm: tuple[str, ...] = ()) -> None:
        self.warmed = set(warm)
        done, said = os.pipe()  # the child writes a line there after each run
        # stdout, stderr: the parent's (the run's console log where the parent's goes)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from orchestration.beside import _child; _child()"]
            + [str(said), *warm],
            stdin=subprocess.PIPE,
            cwd=ROOT,
            pass_fds=(said,),
        )
        os.close(said)
        self._done = os.fdopen(done, "rb")
        self.instance, self.run_id, self.job, self.runs = None, "", "", 0

    def serves(self, job: str) -> bool:
        """Whether it has imported what a run of `job` needs (beside.warm_for)."""
        return set(warm_for(job)) <= self.warmed

    def attach(self, settings, instance, log_level: str, origin: bool) -> Beside:
        """Its settings and instance (once): it builds the definitions and opens the instance.
        `origin`: its runs carry the workspace's origin, as the CLI's own runs do."""
        if self.instance is None:
            self.instance = instance
            self._send((settings, instance.get_ref(), log_level, origin))
        return self

    def start(self, r) -> str:
        """Run `r` (a plan.Run) there now; its run id."""
        from dagster._core.utils import make_new_run_id

        self.run_id, self.job = make_new_run_id(), r.job
        self.runs += 1
        self._send((r, self.run_id))
        self.warmed |= set(warm_for(r.job))  # its run imports them if it had not
        return self.run_id

    def running(self) -> bool:
        """Wait until its run has started (False: the process ended first)."""
        while self.instance.get_run_by_id(self.run_id) is None:
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return True

    def succeeded(self, step: str) -> bool:
        """Wait until its run's `step` has succeeded (True; at once for no step), or the run
        ended without (False)."""
        from dagster import DagsterEventType

        while step:
            run = self.instance.get_run_by_id(self.run_id)
            ended = (run is not None and run.is_finished) or self.proc.poll() is not None
            done = self.instance.all_logs(self.run_id, of_type=DagsterEventType.STEP_SUCCESS)
            if any(e.step_key == step for e in done):
                return True
            if ended:
                return False
            time.sleep(0.02)
        return True

    def close(self) -> None:
        """Its work is over: it exits (stopped where it is if it was never given a run)."""
        if not self.runs:
            self.proc.terminate()
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()
        self.proc.wait()
        self._done.close()

    def result(self, defs):
        """The run's result, once it is done there (ExecuteInProcessResult)."""
        from dagster._core.execution.execute_in_process_result import ExecuteInProcessResult

        said = self._done.readline()  # b"" when the process ended without saying
        run = self.instance.get_run_by_id(self.run_id)
        if not said or run is None or not run.is_finished:
            raise RuntimeError(
                f"the {self.job} run {self.run_id} ended without finishing: its process exited "
                f"with code {self.proc.wait()}"
            )
        events = [e.dagster_event for e in self.instance.all_logs(self.run_id)]
        events = [e for e in events if e is not None]
        return ExecuteInProcessResult(events, run, None, defs.resolve_job_def(self.job))

    def _send(self, message) -> None:
        try:
            pickle.dump(message, self.proc.stdin)
            self.proc.stdin.flush()
        except BrokenPipeError:  # it died: result() says with which exit code
            pass


def _child() -> None:
    """A Beside process: the imports first; then the settings on stdin and, as the parent
    gives them, its runs (each said done on the pipe). The end of stdin: the parent has no
    more work for it."""
    from orchestration.cli import hide_dagster_notes

    hide_dagster_notes()
    import orchestration.definitions  # noqa: F401  (the assets: most of the time to get ready)

    done = os.fdopen(int(sys.argv[1]), "wb", buffering=0)
    warm(tuple(sys.argv[2:]))
    try:
        settings, ref, log_level, origin = pickle.load(sys.stdin.buffer)
    except EOFError:
        return
    import dagster as dg

    from orchestration.runner import _definitions, _execute

    defs = _definitions(settings)  # ready before the run is asked for
    with dg.DagsterInstance.from_ref(ref) as instance:
        if origin:  # as the parent's runs: on the UI's timeline
            from orchestration.cli import as_workspace_runs

            as_workspace_runs(instance)
        while True:
            try:
                r, run_id = pickle.load(sys.stdin.buffer)
            except EOFError:
                break
            _execute(defs, settings, instance, r, log_level, run_id)
            done.write(f"{run_id}\n".encode())  # recorded: the parent reads it back
    exit_now(0)  # every run recorded and the instance closed


def exit_now(code: int) -> None:
    """Exit as multiprocessing's workers do, without the interpreter's teardown (a second of
    freeing Dagster's, GX's and a run's objects one by one): for a process whose work is all
    written and closed. Logs and standard streams are flushed first."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
