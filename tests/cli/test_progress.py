"""The progress `dxlake run` prints is read from the instance's event log while the run runs:
a step sees its own start announced before it ends, and a long step is said to be running."""

from __future__ import annotations

import time

import dagster as dg

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
    with (
        dg.instance_for_test(temp_dir=str(tmp_path)) as instance,
        RunProgress(instance, "2026-H1", SAID.append, every=0.2, heartbeat=1.0),
    ):
        ran = compile_job.execute_in_process(instance=instance, tags={PERIOD_TAG: "2026-H1"})
        other = compile_job.execute_in_process(instance=instance, tags={PERIOD_TAG: "2025-H2"})
    assert ran.success and other.success  # the ops' own checks held
    assert SAID[-1].startswith("dxlake: ✓ compile_job xong / done ")
    assert sum("▶ compile_job" in line for line in SAID) == 1  # not the other period's run
    assert "dxlake:   [2/2] publish ..." in SAID
