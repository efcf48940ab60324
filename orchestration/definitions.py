"""The Dagster code location: assets, checks, jobs and resources assembled in one place.

Loaded by workspace.yaml (`dagster dev -w workspace.yaml`) and by the `dxlake` CLI, so the UI
and scripted runs share one graph and, through DAGSTER_HOME, one instance.
"""

from __future__ import annotations

import dagster as dg

from assets.indicators.assets import coverage_gaps, indicator_values
from assets.ingest.assets import raw_reports
from assets.reference.assets import admin_units
from assets.reports.assets import coverage_maps, quality_report
from assets.validate import asset_checks
from assets.validate.assets import validated_observations
from orchestration.partitions import periods
from orchestration.resources import LakeIOManager, LakeResource
from orchestration.schedules import build_schedules
from orchestration.sensors import landing_sensor
from orchestration.settings import Settings

REFERENCE = dg.AssetSelection.assets("admin_units", "boundary_problems")

reference_job = dg.define_asset_job(
    "reference_job",
    selection=REFERENCE,
    description="Build admin_units (codes, names, geometry, remoteness) from the configured sources.",
)
period_job = dg.define_asset_job(
    "period_job",
    selection=dg.AssetSelection.all() - REFERENCE,
    partitions_def=periods,
    description="Ingest, validate and publish one reporting period: raw_reports → maps and the "
    "quality report.",
)


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=[
            admin_units,
            raw_reports,
            validated_observations,
            indicator_values,
            coverage_gaps,
            coverage_maps,
            quality_report,
        ],
        asset_checks=dg.load_asset_checks_from_modules([asset_checks]),
        jobs=[reference_job, period_job],
        sensors=[landing_sensor],
        schedules=build_schedules(settings),
        resources={
            "lake": LakeResource.from_settings(settings),
            "io_manager": LakeIOManager(home=str(settings.home)),
        },
        executor=dg.in_process_executor,
    )


defs = build_definitions(Settings.from_env())
