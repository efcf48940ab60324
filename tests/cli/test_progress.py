"""The progress `dxlake run` prints is read from the instance's event log while the run runs:
a step sees its own start announced before it ends, a long step is said to be running, and
runs the command did not create (the daemon's) are not shown."""

from __future__ import annotations

import time

import dagster as dg

from orchestration.cli import as_workspace_runs
from orchestration.plan import PERIOD_TAG
from orchestration.progress import RunProgress

SAID: list[str] = []


def _wait_for(text: str, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(text in line for line in SAID):
            return True
        time.sleep(0.1)
    return False


@dg.op
def read_landing() -> int:
    # Still running: the run and this step have already been announced, and, the step being
    # long, said to be running.
    assert _wait_for("▶ compile_job 2026-H1: 2 bước / steps")
    assert _wait_for("[1/2] read_landing ...")
    assert _wait_for("[1/2] read_landing đang chạy / running")
    return 1


@dg.op
def publish(n: int) -> None:
    assert _wait_for("[1/2] read_landing xong / done")


@dg.job
def compile_job():
    publish(read_landing())


def test_progress_is_printed_while_the_run_runs(tmp_path):
    SAID.clear()
    with dg.instance_for_test(temp_dir=str(tmp_path)) as daemons:
        ours = dg.DagsterInstance.from_ref(daemons.get_ref())  # this command's, on the same home
        shown = RunProgress(ours, SAID.append, every=0.2, heartbeat=1.0)
        as_workspace_runs(ours, created=shown.watch)
        with shown:
            ran = compile_job.execute_in_process(instance=ours, tags={PERIOD_TAG: "2026-H1"})
            other = compile_job.execute_in_process(instance=daemons, tags={PERIOD_TAG: "2026-H1"})
        assert ran.success and other.success  # the ops' own checks held
        assert shown.watched == [ran.run_id]
        assert daemons.get_run_by_id(ran.run_id).remote_job_origin.job_name == "compile_job"
    assert SAID[-1].startswith("dxlake: ✓ compile_job xong / done ")
    assert sum("▶ compile_job" in line for line in SAID) == 1  # not the other run
    assert "dxlake:   [2/2] publish ..." in SAID
