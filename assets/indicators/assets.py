"""indicator_values and coverage_gaps for a period."""

import dagster as dg
import polars as pl

from assets.metadata import preview
from assets.partitions import (
    ALL_PROVINCES,
    period_province,
    periods,
    run_provinces,
)
from assets.resources import LakeResource
from schemas.lake import exists, read_table, table_path
from schemas.periods import previous_period

from .gaps import compute_coverage_gaps, compute_indicator_values


@dg.asset(
    partitions_def=period_province,
    backfill_policy=dg.BackfillPolicy.single_run(),  # a period's provinces in one run
    group_name="indicators",
    description="Gold: every unit of the province × every indicator: value, target, gap "
    "(floored at 0), meets_target, change since the previous period, remote flags. A unit that "
    "did not report has value null and status not_reported; every unit of a province with no "
    "figure at all in the period (it sent nothing) has status not_in_run.",
)
def indicator_values(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    validated_observations: dict[str, pl.DataFrame],
    admin_units: pl.DataFrame,  # the units' codes, names and flags: no shapes read
) -> dict[str, pl.DataFrame]:
    period, provinces = run_provinces(context)
    units, catalogue = admin_units, lake.catalogue()
    values = {}
    for province in provinces:
        in_scope = not lake.settings.provinces or province in lake.settings.provinces
        prev_path = table_path(
            lake.settings.tables, "indicator_values", previous_period(period), province
        )
        values[province] = compute_indicator_values(
            validated_observations[province],
            units,
            catalogue,
            period,
            [province] if in_scope else [],  # DXLAKE_PROVINCES narrows what is published
            read_table(prev_path) if exists(prev_path) else None,
        )
    every = pl.concat(values.values())
    context.add_output_metadata(
        {
            "provinces": ", ".join(p for p in provinces if len(values[p])),
            "not_reported": int((every["status"] == "not_reported").sum()),
            "not_in_run": int((every["status"] == "not_in_run").sum()),
            "meets_target": int(every["meets_target"].sum()),
        }
    )
    return values


@dg.asset(
    partitions_def=periods,
    group_name="indicators",
    ins={"indicator_values": dg.AssetIn(partition_mapping=ALL_PROVINCES)},
    description="The gap table of the period, all provinces: each unit and indicator classed "
    "(large, medium, small gap, meets target; not reported, not in this run) and ranked: largest "
    "class first, remote units first within a class, largest gap first; units without a figure "
    "last.",
)
def coverage_gaps(
    context: dg.AssetExecutionContext, lake: LakeResource, indicator_values: pl.DataFrame
) -> pl.DataFrame:
    gaps = compute_coverage_gaps(indicator_values, lake.catalogue())
    context.add_output_metadata(
        {
            "large_or_not_reported": int(gaps["gap_class"].is_in(["large", "not_reported"]).sum()),
            "preview": preview(
                gaps.filter(pl.col("rank") <= 3),
                ["indicator_id", "rank", "unit_name", "is_remote", "value", "target", "gap_class"],
                27,
            ),
        }
    )
    return gaps
