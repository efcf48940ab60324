"""Which executor runs the steps: a setting, so the same definitions run on a laptop or a cluster.

DXLAKE_EXECUTOR=in_process (default: one process, the simplest to debug), multiprocess (a
process per step), or dask (dagster-dask on a dask.distributed cluster: the scheduler at
DXLAKE_DASK_ADDRESS, e.g. tcp://10.0.0.5:8786, or a LocalCluster started for the run when unset).
A cluster's workers should run with `distributed.worker.daemon: false` (the LocalCluster does):
a daemonic worker cannot start the processes that read landing files under their cost bound,
and reads them without it (with a warning in the run's log).

Why a DaskExecutor of our own: dagster-dask 0.29 hands each step's arguments (the run, its known
state) to `Client.submit` as they are, and dask ≥ 2025 walks every tuple among them; Dagster's
records are tuples that forbid it (a partitioned run's KeyRangesPartitionsSubset: "Iteration is
not allowed on `@record`"), so no partitioned run could start on Dask. Here the arguments go as
one pickled blob, opened on the worker, and the step's events come back the same way; the rest is dagster-dask's.
"""

from __future__ import annotations

import contextlib
import functools

import dagster as dg

from schemas.settings import Settings


def _run_step(dependencies: list, payload: bytes) -> bytes:
    """On the worker: the step's arguments unpickled, dagster-dask's own step runner, its
    events pickled back (dask would walk them too, to size them)."""
    import cloudpickle
    from dagster_dask.executor import query_on_dask_worker

    return cloudpickle.dumps(list(query_on_dask_worker(dependencies, *cloudpickle.loads(payload))))


@functools.cache
def _dask_executor() -> dg.ExecutorDefinition:
    """The Dask executor, built on first use: dagster-dask imports dask.dataframe and
    dask.array (seconds), which a run in process never needs."""
    import cloudpickle
    import dask
    import dask.distributed
    from dagster._core.definitions.executor_definition import (
        multiple_process_executor_requirements,
    )
    from dagster._core.errors import raise_execution_interrupts
    from dagster._utils import iterate_with_context
    from dagster_dask import dask_executor
    from dagster_dask.executor import DaskExecutor, get_dask_resource_requirements

    class PickledArgsDaskExecutor(DaskExecutor):
        """dagster-dask's executor on an existing scheduler or a LocalCluster, steps submitted
        with their arguments pickled (see the module docstring)."""

        def execute(self, plan_context, execution_plan):
            if self.cluster_type == "existing":
                cluster = contextlib.nullcontext(self.cluster_configuration["address"])
            else:  # its workers may start processes: the landing read's per-file cost bound
                with dask.config.set({"distributed.worker.daemon": False}):
                    cluster = dask.distributed.LocalCluster(
                        **self.build_dict(plan_context.job_name)
                    )
            instance_ref = plan_context.instance.get_ref()
            # The LocalCluster closed with the run: dagster-dask leaves it open, its workers
            # alive (their imports, what their steps read) until the process exits, so the runs
            # of one `dxlake run` added up their clusters' memory.
            with cluster as where, dask.distributed.Client(where) as client:
                futures: dict[str, dask.distributed.Future] = {}
                for level in execution_plan.get_steps_to_execute_by_level():
                    for step in level:
                        payload = cloudpickle.dumps(
                            (
                                plan_context.reconstructable_job,
                                plan_context.dagster_run,
                                plan_context.run_config,
                                [step.key],
                                instance_ref,
                                execution_plan.known_state,
                            )
                        )
                        futures[step.key] = client.submit(
                            _run_step,
                            [futures[k] for i in step.step_inputs for k in i.dependency_keys],
                            payload,
                            key=f"{plan_context.job_name}.{step.key}",
                            resources=get_dask_resource_requirements(step.tags),
                        )
                done = dask.distributed.as_completed(list(futures.values()), with_results=True)
                for _, events in iterate_with_context(raise_execution_interrupts, done):
                    yield from cloudpickle.loads(events)

    @dg.executor(
        name="dask",
        config_schema=dask_executor.config_schema,
        requirements=multiple_process_executor_requirements(),
    )
    def _dask(init_context: dg.InitExecutorContext) -> PickledArgsDaskExecutor:
        ((cluster_type, configuration),) = init_context.executor_config["cluster"].items()
        return PickledArgsDaskExecutor(cluster_type, configuration)

    return _dask


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
    return _dask_executor().configured({"cluster": cluster})
