"""The Dagster code location: assets, checks, jobs and resources assembled in one place.

Loaded by workspace.yaml (`dagster dev -w workspace.yaml`) and by the `dxlake` CLI, so the UI
and scripted runs share one graph and, through DAGSTER_HOME, one instance.
"""

from __future__ import annotations

import dagster as dg

from assets.coverage import COVERAGE_ASSETS
from assets.coverage import checks as coverage_checks
from assets.indicators.assets import coverage_gaps, indicator_values
from assets.ingest.assets import landing_snapshot, raw_reports
from assets.reference.assets import admin_units
from assets.reports.assets import coverage_maps, gap_tables, quality_report, return_workbooks
from assets.resources import LakeIOManager, LakeResource
from assets.validate import asset_checks
from assets.validate.assets import validated_observations
from orchestration.executors import executor_for
from orchestration.jobs import (
    coverage_job,
    ingest_job,
    publish_job,
    reference_job,
    snapshot_job,
)
from orchestration.schedules import build_schedules
from orchestration.sensors import ingest_after_snapshot, landing_sensor, publish_after_ingest
from schemas.settings import Settings

# Who answers for each layer, shown in the UI: the data engineers run ingestion and
# validation, the reference geography has its own keepers, planners own what they publish.
OWNERS = {
    "reference": ["team:geodata"],
    "ingest": ["team:data-engineering"],
    "validate": ["team:data-engineering"],
    "indicators": ["team:planning"],
    "reports": ["team:planning"],
}


def _with_owners(assets: list) -> list:
    return dg.map_asset_specs(
        lambda spec: spec.replace_attributes(owners=OWNERS.get(spec.group_name, [])), assets
    )


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=_with_owners(
            [
                admin_units,
                landing_snapshot,
                raw_reports,
                validated_observations,
                indicator_values,
                coverage_gaps,
                coverage_maps,
                gap_tables,
                quality_report,
                return_workbooks,
                *COVERAGE_ASSETS,
            ]
        ),
        asset_checks=dg.load_asset_checks_from_modules([asset_checks, coverage_checks]),
        jobs=[reference_job, snapshot_job, coverage_job, ingest_job, publish_job],
        sensors=[landing_sensor, ingest_after_snapshot, publish_after_ingest],
        schedules=build_schedules(settings),
        resources={
            "lake": LakeResource.from_settings(settings),
            "io_manager": LakeIOManager(home=str(settings.home), lake_url=settings.lake_url),
        },
        executor=executor_for(settings),
    )


defs = build_definitions(Settings.from_env())


# Reconstructable jobs: executors that run steps in other processes or on a Dask cluster rebuild
# the job there from the environment (DXLAKE_* settings), not from this process's memory.
def reference_job_from_env() -> dg.JobDefinition:
    return build_definitions(Settings.from_env()).resolve_job_def("reference_job")


def snapshot_job_from_env() -> dg.JobDefinition:
    return build_definitions(Settings.from_env()).resolve_job_def("snapshot_job")


def coverage_job_from_env() -> dg.JobDefinition:
    return build_definitions(Settings.from_env()).resolve_job_def("coverage_job")


def ingest_job_from_env() -> dg.JobDefinition:
    return build_definitions(Settings.from_env()).resolve_job_def("ingest_job")


def publish_job_from_env() -> dg.JobDefinition:
    return build_definitions(Settings.from_env()).resolve_job_def("publish_job")


JOBS_FROM_ENV = {
    "reference_job": reference_job_from_env,
    "snapshot_job": snapshot_job_from_env,
    "coverage_job": coverage_job_from_env,
    "ingest_job": ingest_job_from_env,
    "publish_job": publish_job_from_env,
}
