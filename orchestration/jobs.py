"""The jobs: a run's kind (orchestration.plan says which runs a period needs)."""

from __future__ import annotations

import dagster as dg

from assets.coverage import COVERAGE_SELECTION
from assets.partitions import period_province, periods
from orchestration.plan import PUBLISH_PARTS

REFERENCE = dg.AssetSelection.assets("admin_units", "boundary_problems")
SNAPSHOT = dg.AssetSelection.assets("landing_snapshot")
COVERAGE = COVERAGE_SELECTION
PUBLISH = dg.AssetSelection.assets(*(a for part in PUBLISH_PARTS.values() for a in part))

reference_job = dg.define_asset_job(
    "reference_job",
    selection=REFERENCE,
    description="Build admin_units (codes, names, geometry, remoteness) from the configured sources.",
)
snapshot_job = dg.define_asset_job(
    "snapshot_job",
    selection=SNAPSHOT,
    partitions_def=periods,
    description="Read a period's landing folder once: every file's status and rows, each row "
    "with its province (landing_snapshot).",
)
coverage_job = dg.define_asset_job(
    "coverage_job",
    selection=COVERAGE,
    partitions_def=periods,
    description="Compute a period's population coverage and dead zones from the cell-site lists "
    "of its snapshot and the population grid (cell_sites → computed_coverage, dead_zones).",
)
ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.all() - REFERENCE - SNAPSHOT - COVERAGE - PUBLISH,
    partitions_def=period_province,
    description="Ingest and validate provinces' shares of a period's snapshot: raw_reports → "
    "validated_observations, quarantined_rows → indicator_values, with their checks. One "
    "province from the UI; `dxlake run` and the sensors run a period's provinces in one run.",
)
publish_job = dg.define_asset_job(
    "publish_job",
    selection=PUBLISH,
    partitions_def=periods,
    description="Publish a period from all its provinces: the gap table, the planners' maps and "
    "the auditors' quality report.",
)
