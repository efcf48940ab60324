"""`dxlake run` that stops before a table's new version is renamed into place, so the crash-safety
test can SIGKILL it at the one moment that matters (test_crash_and_concurrency.py).

    python -m tests.hostile.paused_run <part of a table's path> run --period 2026-H1

The pause is patched into this process's os.replace: the product has no test hook. The run
behaves as after an upgrade of the pipeline's code (its fingerprint differs), so it rewrites
every table of the period even though the landing did not change.
"""

from __future__ import annotations

import os
import sys
import time

from orchestration import cli, plan


def _pausing(target: str):
    replace = os.replace

    def paused_replace(src, dst, *args, **kwargs):
        text = os.fsdecode(dst)
        if target in text and text.endswith(".parquet"):
            print(f"dxlake: paused before rename {text}", file=sys.stderr, flush=True)
            time.sleep(300)
        return replace(src, dst, *args, **kwargs)

    return paused_replace


def _upgraded(fingerprint):
    return lambda settings: fingerprint(settings) + "-upgraded"


if __name__ == "__main__":
    os.replace = _pausing(sys.argv[1])
    plan.pipeline_fingerprint = _upgraded(plan.pipeline_fingerprint)
    sys.exit(cli.main(sys.argv[2:]))
