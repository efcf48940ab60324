"""Which executor runs the steps: a setting, so the same definitions run on a laptop or a cluster.

DXLAKE_EXECUTOR=in_process (default: one process, the simplest to debug), multiprocess (a
process per step), or dask (dagster-dask on a dask.distributed cluster: the scheduler at
DXLAKE_DASK_ADDRESS, e.g. tcp://10.0.0.5:8786, or a LocalCluster started for the run when unset).
"""

from __future__ import annotations

import dagster as dg
from dagster_dask import dask_executor

from orchestration.settings import Settings


def executor_for(settings: Settings) -> dg.ExecutorDefinition:
    if settings.executor == "in_process":
        return dg.in_process_executor
    if settings.executor == "multiprocess":
        return dg.multiprocess_executor
    cluster = (
        {"existing": {"address": settings.dask_address}}
        if settings.dask_address
        else {"local": {"n_workers": 2, "threads_per_worker": 1}}
    )
    return dask_executor.configured({"cluster": cluster})
